//! Passwords: the NIST SP 800-63B policy a new password must pass, and Argon2id hashing.

use std::fmt;

use argon2::password_hash::Error as PhcError;
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _};
use listone_core::{Error, Secret, Violations};

/// The request field every password violation names.
const FIELD: &str = "password";

/// NIST SP 800-63B: at least 8 characters, 15 recommended; the platform default is 12.
pub const DEFAULT_MIN_CHARS: usize = 12;
/// Long passphrases are welcome; unbounded input is not.
pub const DEFAULT_MAX_CHARS: usize = 128;
/// zxcvbn score (0..=4) a password must reach; 3 means more than 10^8 guesses are needed.
pub const DEFAULT_MIN_SCORE: u8 = 3;
/// Name or email fragments shorter than this are too common to refuse ("al", "jo").
const MIN_CONTEXT_CHARS: usize = 3;
/// Longest input the hasher accepts: 128 four-byte characters and then some; bounds the work.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Salt length in bytes (the Argon2 and OWASP recommendation).
const SALT_LEN: usize = 16;
/// Argon2 output length in bytes.
const OUTPUT_LEN: usize = 32;

/// What a new password must satisfy. No composition rules (no "one digit, one symbol").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters (Unicode scalar values).
    pub min_chars: usize,
    /// Maximum length in characters.
    pub max_chars: usize,
    /// Minimum zxcvbn score, 0 (refuse nothing) to 4.
    pub min_score: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_chars: DEFAULT_MIN_CHARS, max_chars: DEFAULT_MAX_CHARS, min_score: DEFAULT_MIN_SCORE }
    }
}

impl PasswordPolicy {
    /// Checks a new password; `context` holds the user's email and name, which it must not contain.
    ///
    /// Every failed rule is reported on field `password`; descriptions never echo the password.
    pub fn validate(&self, password: &Secret<String>, context: &[&str]) -> Result<(), Error> {
        let password = password.expose();
        let chars = password.chars().count();
        let mut violations = Violations::new();
        if chars < self.min_chars {
            violations.add(FIELD, format!("must be at least {} characters", self.min_chars));
        }
        if chars > self.max_chars {
            violations.add(FIELD, format!("must be at most {} characters", self.max_chars));
            // Estimating strength of over-long input is wasted work.
            return violations.into_result();
        }
        let fragments = context_fragments(context);
        let lowered = password.to_lowercase();
        if fragments.iter().any(|fragment| lowered.contains(fragment.as_str())) {
            violations.add(FIELD, "must not contain your name or email address");
        }
        let user_inputs: Vec<&str> = fragments.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(password, &user_inputs);
        if u8::from(estimate.score()) < self.min_score {
            let description = match estimate.feedback().and_then(|feedback| feedback.warning()) {
                // zxcvbn warnings are fixed sentences about the pattern, never the password itself.
                Some(warning) => format!("is too easy to guess: {warning}"),
                None => "is too easy to guess".to_owned(),
            };
            violations.add(FIELD, description);
        }
        violations.into_result()
    }
}

/// Lowercased words a password must not contain: each email's local part, each name, and their parts.
fn context_fragments(context: &[&str]) -> Vec<String> {
    let mut fragments: Vec<String> = Vec::new();
    let mut push = |candidate: &str| {
        if candidate.chars().count() >= MIN_CONTEXT_CHARS && !fragments.iter().any(|f| f == candidate) {
            fragments.push(candidate.to_owned());
        }
    };
    for entry in context {
        let lowered = entry.trim().to_lowercase();
        let personal = lowered.rsplit_once('@').map_or(lowered.as_str(), |(local, _domain)| local);
        push(personal);
        for word in personal.split(|c: char| !c.is_alphanumeric()) {
            push(word);
        }
    }
    fragments
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

impl HashCost {
    /// OWASP Password Storage Cheat Sheet: m=19456 KiB (19 MiB), t=2, p=1.
    pub const OWASP: Self = Self { memory_kib: 19_456, iterations: 2, parallelism: 1 };
}

impl Default for HashCost {
    fn default() -> Self {
        Self::OWASP
    }
}

/// Hashes and verifies passwords as Argon2id (v19) PHC strings with a 16-byte random salt.
#[derive(Clone)]
pub struct PasswordHasher {
    cost: HashCost,
    params: Params,
    /// Hash of a random password nobody knows, made with the live cost, for [`Self::verify_dummy`].
    dummy_phc: String,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher").field("cost", &self.cost).finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher with `cost`; computes one hash up front for [`Self::verify_dummy`].
    pub fn new(cost: HashCost) -> Result<Self, Error> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, Some(OUTPUT_LEN))
            .map_err(|err| Error::internal(format!("argon2 parameters {cost:?}: {err}")))?;
        let mut hasher = Self { cost, params, dummy_phc: String::new() };
        let unknown = Secret::new(listone_crypto::random_token(32)?);
        hasher.dummy_phc = hasher.hash(&unknown)?;
        Ok(hasher)
    }

    /// A hasher with [`HashCost::OWASP`].
    pub fn owasp() -> Result<Self, Error> {
        Self::new(HashCost::OWASP)
    }

    /// The cost new hashes are made with.
    pub fn cost(&self) -> HashCost {
        self.cost
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, argon2::Version::V0x13, self.params.clone())
    }

    /// Hashes `password` with a fresh salt into a PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
    pub fn hash(&self, password: &Secret<String>) -> Result<String, Error> {
        let password = password.expose().as_bytes();
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(Error::invalid(FIELD, format!("must be at most {MAX_PASSWORD_BYTES} bytes")));
        }
        let salt = listone_crypto::random_bytes::<SALT_LEN>()?;
        let phc = self
            .argon2()
            .hash_password_with_salt(password, &salt)
            .map_err(|err| Error::internal(format!("argon2 hash: {err}")))?;
        Ok(phc.to_string())
    }

    /// Whether `password` matches the stored `phc`; the comparison is constant time.
    ///
    /// The cost comes from `phc`, so old hashes keep verifying after the cost changes. A stored
    /// value that is not an Argon2id PHC string is an internal error, not a wrong password.
    pub fn verify(&self, password: &Secret<String>, phc: &str) -> Result<bool, Error> {
        let parsed = PasswordHash::new(phc)
            .map_err(|err| Error::internal(format!("stored password hash is not a PHC string: {err}")))?;
        if parsed.algorithm != ARGON2ID_IDENT {
            return Err(Error::internal("stored password hash is not argon2id"));
        }
        let password = password.expose().as_bytes();
        if password.len() > MAX_PASSWORD_BYTES {
            // Refused, but only after the usual amount of work.
            return Ok(self.verify_dummy(&Secret::new(String::new())));
        }
        match self.argon2().verify_password(password, &parsed) {
            Ok(()) => Ok(true),
            Err(PhcError::PasswordInvalid) => Ok(false),
            Err(err) => Err(Error::internal(format!("argon2 verify: {err}"))),
        }
    }

    /// Spends the time of one verification and returns `false`: call it for unknown accounts so
    /// response time does not reveal whether an account exists.
    pub fn verify_dummy(&self, password: &Secret<String>) -> bool {
        let password = password.expose().as_bytes();
        let password = password.get(..MAX_PASSWORD_BYTES).unwrap_or(password);
        let outcome =
            PasswordHash::new(&self.dummy_phc).map(|parsed| self.argon2().verify_password(password, &parsed).is_ok());
        // Keep the work observable so it is never optimised away.
        let _ = std::hint::black_box(outcome);
        false
    }

    /// Whether `phc` was made with another algorithm, version or cost and should be replaced
    /// by a fresh [`Self::hash`] after the next successful [`Self::verify`].
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.algorithm != ARGON2ID_IDENT
            || parsed.version != Some(argon2::Version::V0x13.into())
            || params.m_cost() != self.params.m_cost()
            || params.t_cost() != self.params.t_cost()
            || params.p_cost() != self.params.p_cost()
            || params.output_len() != Some(OUTPUT_LEN)
            || parsed.salt.is_none_or(|salt| salt.len() < SALT_LEN)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Cheap parameters so tests stay fast; production uses [`HashCost::OWASP`].
    const TEST_COST: HashCost = HashCost { memory_kib: 64, iterations: 1, parallelism: 1 };

    fn secret(s: &str) -> Secret<String> {
        Secret::new(s.to_owned())
    }

    fn descriptions(err: Error) -> Vec<String> {
        match err {
            Error::InvalidArgument { violations } => {
                assert!(violations.iter().all(|v| v.field == "password"));
                violations.into_iter().map(|v| v.description).collect()
            }
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn default_policy_follows_nist_800_63b() {
        let policy = PasswordPolicy::default();
        assert_eq!((policy.min_chars, policy.max_chars, policy.min_score), (12, 128, 3));
    }

    #[test]
    fn long_unpredictable_passphrase_without_composition_rules_passes() {
        let policy = PasswordPolicy::default();
        policy.validate(&secret("correct horse battery staple"), &["alice@example.com", "Alice Martin"]).unwrap();
        policy.validate(&secret("quietly orbiting walrus lanterns"), &[]).unwrap();
    }

    #[test]
    fn short_password_is_refused_with_the_minimum_named() {
        let found = descriptions(PasswordPolicy::default().validate(&secret("Xk9#qT2!"), &[]).unwrap_err());
        assert!(found.contains(&"must be at least 12 characters".to_owned()), "{found:?}");
    }

    #[test]
    fn over_long_password_is_refused() {
        let long = "walrus lantern ".repeat(9);
        let found = descriptions(PasswordPolicy::default().validate(&secret(&long), &[]).unwrap_err());
        assert_eq!(found, ["must be at most 128 characters"]);
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let policy = PasswordPolicy { min_score: 0, ..PasswordPolicy::default() };
        // 12 characters, 24 bytes.
        policy.validate(&secret("ééééééééééé7"), &[]).unwrap();
        assert!(policy.validate(&secret("éééééééééé7"), &[]).is_err());
    }

    #[test]
    fn common_and_guessable_passwords_are_refused() {
        let policy = PasswordPolicy::default();
        for weak in ["password1234", "qwertyuiopasdf", "aaaaaaaaaaaaaaaa", "123456789012"] {
            let found = descriptions(policy.validate(&secret(weak), &[]).unwrap_err());
            assert!(found.iter().any(|d| d.starts_with("is too easy to guess")), "{weak}: {found:?}");
        }
    }

    #[test]
    fn min_score_is_configurable() {
        let lenient = PasswordPolicy { min_score: 0, ..PasswordPolicy::default() };
        lenient.validate(&secret("password1234"), &[]).unwrap();
    }

    #[test]
    fn password_containing_email_local_part_or_name_is_refused() {
        let policy = PasswordPolicy::default();
        let context = ["Alice.Martin@example.com", "Zebulon Quartermaine"];
        for leaky in ["xyz-alice.martin-orbiting", "walrus MARTIN lantern 42", "lanterns zebulon orbit"] {
            let found = descriptions(policy.validate(&secret(leaky), &context).unwrap_err());
            assert!(found.contains(&"must not contain your name or email address".to_owned()), "{leaky}: {found:?}");
        }
    }

    #[test]
    fn email_domain_and_tiny_name_parts_are_not_treated_as_personal() {
        let policy = PasswordPolicy::default();
        policy.validate(&secret("quietly orbiting example walrus"), &["bo@example.com", "Al Li"]).unwrap();
    }

    #[test]
    fn violations_are_all_reported_and_never_echo_the_password() {
        let found =
            descriptions(PasswordPolicy::default().validate(&secret("alice1"), &["alice@example.com"]).unwrap_err());
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().all(|d| !d.contains("alice1")));
    }

    #[test]
    fn owasp_cost_is_the_default() {
        assert_eq!(HashCost::default(), HashCost { memory_kib: 19_456, iterations: 2, parallelism: 1 });
    }

    #[test]
    fn hash_is_an_argon2id_phc_string_that_verifies() {
        let hasher = PasswordHasher::new(TEST_COST).unwrap();
        let password = secret("correct horse battery staple");
        let phc = hasher.hash(&password).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(hasher.verify(&password, &phc).unwrap());
        assert!(!hasher.verify(&secret("correct horse battery stapler"), &phc).unwrap());
    }

    #[test]
    fn the_same_password_gets_a_different_salt_each_time() {
        let hasher = PasswordHasher::new(TEST_COST).unwrap();
        let password = secret("correct horse battery staple");
        assert_ne!(hasher.hash(&password).unwrap(), hasher.hash(&password).unwrap());
    }

    #[test]
    fn hashes_made_with_an_older_cost_still_verify_but_need_rehash() {
        let old = PasswordHasher::new(TEST_COST).unwrap();
        let new = PasswordHasher::new(HashCost { memory_kib: 128, ..TEST_COST }).unwrap();
        let password = secret("correct horse battery staple");
        let phc = old.hash(&password).unwrap();
        assert!(new.verify(&password, &phc).unwrap());
        assert!(new.needs_rehash(&phc));
        assert!(!old.needs_rehash(&phc));
        assert!(!new.needs_rehash(&new.hash(&password).unwrap()));
    }

    #[test]
    fn other_algorithms_and_garbage_need_rehash() {
        let hasher = PasswordHasher::new(TEST_COST).unwrap();
        let phc = hasher.hash(&secret("correct horse battery staple")).unwrap();
        assert!(hasher.needs_rehash(&phc.replacen("argon2id", "argon2i", 1)));
        assert!(hasher.needs_rehash(&phc.replacen("v=19", "v=16", 1)));
        assert!(hasher.needs_rehash("not a hash"));
    }

    #[test]
    fn a_corrupt_or_foreign_stored_hash_is_an_internal_error_not_a_wrong_password() {
        let hasher = PasswordHasher::new(TEST_COST).unwrap();
        let password = secret("correct horse battery staple");
        assert!(matches!(hasher.verify(&password, "not a hash"), Err(Error::Internal { .. })));
        let argon2i = hasher.hash(&password).unwrap().replacen("argon2id", "argon2i", 1);
        assert!(matches!(hasher.verify(&password, &argon2i), Err(Error::Internal { .. })));
    }

    #[test]
    fn dummy_verification_never_succeeds() {
        let hasher = PasswordHasher::new(TEST_COST).unwrap();
        assert!(!hasher.verify_dummy(&secret("correct horse battery staple")));
        assert!(!hasher.verify_dummy(&secret("")));
    }

    #[test]
    fn oversized_input_is_refused_for_hashing_and_never_verifies() {
        let hasher = PasswordHasher::new(TEST_COST).unwrap();
        let huge = secret(&"x".repeat(MAX_PASSWORD_BYTES + 1));
        assert!(matches!(hasher.hash(&huge), Err(Error::InvalidArgument { .. })));
        let phc = hasher.hash(&secret("correct horse battery staple")).unwrap();
        assert!(!hasher.verify(&huge, &phc).unwrap());
    }

    #[test]
    fn debug_shows_the_cost_only() {
        let hasher = PasswordHasher::new(TEST_COST).unwrap();
        let debug = format!("{hasher:?}");
        assert!(debug.contains("memory_kib: 64") && !debug.contains("argon2id"), "{debug}");
    }
}
