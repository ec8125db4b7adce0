//! Single-use recovery codes: the way back in when the TOTP authenticator is lost.
//!
//! Codes are shown once and stored only as Argon2id hashes made by the same [`PasswordHasher`]
//! as passwords: they are human secrets of about 50 bits, so a fast hash would not do.

use listone_core::{Error, Secret};
use zeroize::Zeroizing;

use super::password::PasswordHasher;

/// Recovery codes: generation and matching. The caller deletes a matched hash in the same
/// transaction as the sign-in it allows, which is what makes each code single-use.
#[derive(Debug, Clone, Copy)]
pub struct RecoveryCodes;

impl RecoveryCodes {
    /// Codes issued per set.
    pub const COUNT: usize = 10;
    /// Characters per code, not counting the dash.
    pub const CODE_CHARS: usize = 10;
    /// Lowercase letters and digits without look-alikes (0/o, 1/l/i): 31 symbols, ~4.95 bits each.
    pub const ALPHABET: &'static [u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

    /// A fresh set: the codes to show the user once (`xxxxx-xxxxx`), and the hashes to store.
    pub fn generate(hasher: &PasswordHasher) -> Result<(Vec<Secret<String>>, Vec<String>), Error> {
        let mut shown = Vec::with_capacity(Self::COUNT);
        let mut hashes = Vec::with_capacity(Self::COUNT);
        for _ in 0..Self::COUNT {
            let code = Zeroizing::new(random_code()?);
            hashes.push(hasher.hash(&Secret::new(code.to_string()))?);
            let (left, right) = code.split_at(Self::CODE_CHARS / 2);
            shown.push(Secret::new(format!("{left}-{right}")));
        }
        Ok((shown, hashes))
    }

    /// The index of the stored hash `code` matches, if any. Case, dashes and spaces are ignored;
    /// input that cannot be a code is refused without hashing.
    pub fn find_match(
        hasher: &PasswordHasher,
        code: &Secret<String>,
        hashes: &[String],
    ) -> Result<Option<usize>, Error> {
        let Some(normalized) = normalize(code.expose()) else {
            return Ok(None);
        };
        let candidate = Secret::new(normalized.to_string());
        for (index, phc) in hashes.iter().enumerate() {
            // Stopping at the match only reveals its position, which is no secret.
            if hasher.verify(&candidate, phc)? {
                return Ok(Some(index));
            }
        }
        Ok(None)
    }
}

/// `CODE_CHARS` symbols drawn uniformly from the alphabet by rejection sampling.
fn random_code() -> Result<String, Error> {
    let symbols = RecoveryCodes::ALPHABET.len();
    // The largest multiple of the alphabet size that fits a byte; bytes above it would bias.
    let limit = 256 - 256 % symbols;
    let mut code = String::with_capacity(RecoveryCodes::CODE_CHARS);
    while code.len() < RecoveryCodes::CODE_CHARS {
        let batch = Zeroizing::new(listone_crypto::random_bytes::<32>()?);
        for &byte in batch.iter().filter(|&&byte| usize::from(byte) < limit) {
            if code.len() == RecoveryCodes::CODE_CHARS {
                break;
            }
            if let Some(&symbol) = RecoveryCodes::ALPHABET.get(usize::from(byte) % symbols) {
                code.push(char::from(symbol));
            }
        }
    }
    Ok(code)
}

/// Lowercase, without dashes and whitespace; `None` unless exactly `CODE_CHARS` alphabet symbols.
fn normalize(input: &str) -> Option<Zeroizing<String>> {
    if input.len() > 4 * RecoveryCodes::CODE_CHARS {
        return None;
    }
    let code: Zeroizing<String> = Zeroizing::new(
        input.chars().filter(|c| *c != '-' && !c.is_whitespace()).map(|c| c.to_ascii_lowercase()).collect(),
    );
    let well_formed =
        code.len() == RecoveryCodes::CODE_CHARS && code.bytes().all(|byte| RecoveryCodes::ALPHABET.contains(&byte));
    well_formed.then_some(code)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::credentials::password::HashCost;

    fn hasher() -> PasswordHasher {
        // Cheap parameters for tests only; production uses the same hasher as passwords.
        PasswordHasher::new(HashCost { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap()
    }

    #[test]
    fn alphabet_has_no_look_alikes() {
        for ambiguous in b"01ilo" {
            assert!(!RecoveryCodes::ALPHABET.contains(ambiguous));
        }
        assert_eq!(RecoveryCodes::ALPHABET.len(), 31);
    }

    #[test]
    fn generates_ten_distinct_grouped_codes_and_their_argon2id_hashes() {
        let hasher = hasher();
        let (shown, hashes) = RecoveryCodes::generate(&hasher).unwrap();
        assert_eq!((shown.len(), hashes.len()), (10, 10));
        for (code, phc) in shown.iter().zip(&hashes) {
            let code = code.expose();
            assert_eq!(code.len(), 11);
            assert_eq!(code.as_bytes()[5], b'-');
            assert!(code.bytes().filter(|&b| b != b'-').all(|b| RecoveryCodes::ALPHABET.contains(&b)));
            assert!(phc.starts_with("$argon2id$"));
            assert!(!phc.contains(&code.replace('-', "")));
        }
        let mut distinct: Vec<_> = shown.iter().map(|c| c.expose().clone()).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 10);
    }

    #[test]
    fn a_code_matches_its_own_hash_whatever_the_case_dashes_or_spaces() {
        let hasher = hasher();
        let (shown, hashes) = RecoveryCodes::generate(&hasher).unwrap();
        let code = shown[3].expose();
        let sloppy = format!(" {} ", code.to_uppercase().replace('-', " "));
        let undashed = code.replace('-', "");
        for typed in [code.clone(), sloppy, undashed] {
            assert_eq!(RecoveryCodes::find_match(&hasher, &Secret::new(typed), &hashes).unwrap(), Some(3));
        }
    }

    #[test]
    fn a_used_code_whose_hash_was_removed_no_longer_matches() {
        let hasher = hasher();
        let (shown, mut hashes) = RecoveryCodes::generate(&hasher).unwrap();
        let index = RecoveryCodes::find_match(&hasher, &shown[0], &hashes).unwrap().unwrap();
        hashes.remove(index);
        assert_eq!(RecoveryCodes::find_match(&hasher, &shown[0], &hashes).unwrap(), None);
        assert_eq!(RecoveryCodes::find_match(&hasher, &shown[1], &hashes).unwrap(), Some(0));
    }

    #[test]
    fn wrong_or_malformed_codes_match_nothing() {
        let hasher = hasher();
        let (_, hashes) = RecoveryCodes::generate(&hasher).unwrap();
        for typed in ["22222-22222", "", "short", "00000-00000", "abcde-fghjk-m", &"x".repeat(1000)] {
            assert_eq!(RecoveryCodes::find_match(&hasher, &Secret::new(typed.to_owned()), &hashes).unwrap(), None);
        }
    }

    #[test]
    fn a_corrupt_stored_hash_is_an_error() {
        let hasher = hasher();
        let (shown, _) = RecoveryCodes::generate(&hasher).unwrap();
        let found = RecoveryCodes::find_match(&hasher, &shown[0], &["garbage".to_owned()]);
        assert!(matches!(found, Err(Error::Internal { .. })));
    }

    #[test]
    fn symbols_are_spread_over_the_whole_alphabet() {
        let mut seen = [false; 31];
        for _ in 0..100 {
            for byte in random_code().unwrap().bytes() {
                seen[RecoveryCodes::ALPHABET.iter().position(|&s| s == byte).unwrap()] = true;
            }
        }
        assert!(seen.iter().all(|&s| s), "1000 draws should hit all 31 symbols");
    }
}
