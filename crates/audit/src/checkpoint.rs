//! Signed checkpoints: a C2SP tlog-checkpoint body (<https://c2sp.org/tlog-checkpoint>) in a C2SP
//! signed note (<https://c2sp.org/signed-note>), signed with Ed25519. The format is the Go
//! `golang.org/x/mod/sumdb/note` one, so Go verifiers and witnesses read our checkpoints.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::digest::{SHA256, digest};
use ring::signature::{ED25519, UnparsedPublicKey};
use thiserror::Error;

use crate::entry::Hash;

/// Signature type byte of Ed25519 in signed notes and verifier keys.
const ALG_ED25519: u8 = 0x01;
/// Starts every signature line: EM DASH (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";
/// Most signature lines a note may carry; the spec asks verifiers to accept at least 16.
pub const MAX_SIGNATURES: usize = 100;

/// Why a checkpoint or signed note was refused, or a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// The text is not exactly an origin, a tree size and a root hash line.
    #[error("malformed checkpoint: {0}")]
    MalformedBody(&'static str),
    /// The note is not text, a blank line and `— name signature` lines.
    #[error("malformed signed note: {0}")]
    MalformedNote(&'static str),
    /// A key name that is empty or holds spaces, '+' or control characters.
    #[error("invalid key name {0:?}: use a non-empty name without spaces or '+', e.g. listone.dev/audit")]
    InvalidKeyName(String),
    /// A verifier key not of the form `<name>+<8 hex digits>+<base64 of 0x01 and 32 key bytes>`.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// A verifier key whose key hash does not belong to its name and public key.
    #[error("verifier key hash does not match its name and public key")]
    KeyHashMismatch,
    /// A signature line from the trusted key that does not verify: the note was altered.
    #[error("the signature by {key} does not verify")]
    BadSignature { key: String },
    /// No signature line from the trusted key.
    #[error("the note carries no signature by {key}")]
    NotSignedByKey { key: String },
}

/// A log's signed statement of its tree: who (origin), how many leaves (size) and the root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique log identity, e.g. `listone.dev/audit/<org id>`.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash at that size.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `<origin>\n<size>\n<base64 root>\n` (no extension lines).
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root))
    }

    /// Parses a note text. Extension lines are refused: we emit none, and accepting them would
    /// silently drop signed content.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        use CheckpointError::MalformedBody as Malformed;
        let lines = text.strip_suffix('\n').ok_or(Malformed("the text must end with a newline"))?;
        if has_control_character(text) {
            return Err(Malformed("control characters other than newline"));
        }
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root), None) = (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err(Malformed("expected exactly three lines: origin, tree size, root hash"));
        };
        if origin.is_empty() {
            return Err(Malformed("empty origin"));
        }
        let canonical_decimal = size.bytes().all(|b| b.is_ascii_digit()) && (size == "0" || !size.starts_with('0'));
        let size = size
            .parse::<u64>()
            .ok()
            .filter(|_| canonical_decimal)
            .ok_or(Malformed("tree size must be decimal digits without leading zeros, at most 2^64-1"))?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes).ok())
            .ok_or(Malformed("root hash must be standard base64 of 32 bytes"))?;
        Ok(Self { origin: origin.to_owned(), size, root })
    }
}

/// An Ed25519 key that signs without handing out its private half (the crypto crate's
/// `SigningKeyPair` keeps it wrapped at rest and zeroized in memory).
pub trait Ed25519Signer: Send + Sync {
    /// The 32-byte public key.
    fn public_key(&self) -> [u8; 32];
    /// The 64-byte signature of `message`.
    fn sign(&self, message: &[u8]) -> [u8; 64];
}

impl Ed25519Signer for listone_crypto::SigningKeyPair {
    fn public_key(&self) -> [u8; 32] {
        listone_crypto::SigningKeyPair::public_key(self)
    }
    fn sign(&self, message: &[u8]) -> [u8; 64] {
        listone_crypto::SigningKeyPair::sign(self, message)
    }
}

/// Signs checkpoints as signed notes with one Ed25519 key under one key name.
pub struct NoteSigner {
    name: String,
    key_pair: Box<dyn Ed25519Signer>,
    public_key: [u8; 32],
    key_hash: [u8; 4],
}

impl NoteSigner {
    /// A signer for key `name` (e.g. `listone.dev/audit`).
    pub fn new(name: impl Into<String>, key_pair: impl Ed25519Signer + 'static) -> Result<Self, CheckpointError> {
        let name = name.into();
        check_key_name(&name)?;
        let public_key = key_pair.public_key();
        let key_hash = ed25519_key_hash(&name, &public_key);
        Ok(Self { name, key_pair: Box::new(key_pair), public_key, key_hash })
    }

    /// The key name signature lines carry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// First 4 bytes of SHA-256(name || "\n" || 0x01 || public key): the key ID in signature lines.
    pub fn key_hash(&self) -> [u8; 4] {
        self.key_hash
    }

    /// The verifier key to publish: `<name>+<hex key hash>+<base64(0x01 || public key)>`.
    pub fn verifier_key(&self) -> String {
        self.verifier().verifier_key()
    }

    /// The verifier for this signer's signatures.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), key_hash: self.key_hash, public_key: self.public_key }
    }

    /// The signed note: the checkpoint body, a blank line and one signature line over the body bytes.
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<String, CheckpointError> {
        let body = checkpoint.body();
        // Never sign what a verifier would refuse to read (e.g. an origin holding a newline).
        Checkpoint::parse_body(&body)?;
        Ok(self.sign_text(&body))
    }

    fn sign_text(&self, text: &str) -> String {
        let signature = self.key_pair.sign(text.as_bytes());
        let blob = STANDARD.encode([&self.key_hash[..], &signature[..]].concat());
        format!("{text}\n{SIGNATURE_PREFIX}{} {blob}\n", self.name)
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSigner({}+{}, <private key redacted>)", self.name, listone_crypto::hex(&self.key_hash))
    }
}

/// Verifies signed checkpoints against one trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_hash: [u8; 4],
    public_key: [u8; 32],
}

impl NoteVerifier {
    /// A verifier for the Ed25519 `public_key` published under `name`.
    pub fn for_ed25519(name: &str, public_key: [u8; 32]) -> Result<Self, CheckpointError> {
        check_key_name(name)?;
        Ok(Self { name: name.to_owned(), key_hash: ed25519_key_hash(name, &public_key), public_key })
    }

    /// Parses a verifier key `<name>+<8 hex digits>+<base64(0x01 || 32-byte key)>` and checks its key hash.
    pub fn from_verifier_key(verifier_key: &str) -> Result<Self, CheckpointError> {
        use CheckpointError::MalformedVerifierKey as Malformed;
        let mut parts = verifier_key.splitn(3, '+');
        let (Some(name), Some(hash_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Malformed("expected <name>+<key hash>+<key>"));
        };
        check_key_name(name)?;
        let hex_digits = hash_hex.len() == 8 && hash_hex.bytes().all(|b| b.is_ascii_hexdigit());
        let key_hash = u32::from_str_radix(hash_hex, 16)
            .ok()
            .filter(|_| hex_digits)
            .ok_or(Malformed("the key hash must be 8 hex digits"))?
            .to_be_bytes();
        let key = STANDARD.decode(key_b64).map_err(|_| Malformed("the key must be standard base64"))?;
        let Some((&ALG_ED25519, public_key)) = key.split_first() else {
            return Err(Malformed("only Ed25519 keys (type 0x01) are supported"));
        };
        let public_key: [u8; 32] = public_key.try_into().map_err(|_| Malformed("an Ed25519 key has 32 bytes"))?;
        if key_hash != ed25519_key_hash(name, &public_key) {
            return Err(CheckpointError::KeyHashMismatch);
        }
        Ok(Self { name: name.to_owned(), key_hash, public_key })
    }

    /// The trusted key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The trusted key's 4-byte key ID.
    pub fn key_hash(&self) -> [u8; 4] {
        self.key_hash
    }

    /// The verifier key string this verifier was (or could have been) parsed from.
    pub fn verifier_key(&self) -> String {
        let key = STANDARD.encode([&[ALG_ED25519][..], &self.public_key].concat());
        format!("{}+{}+{key}", self.name, listone_crypto::hex(&self.key_hash))
    }

    /// Opens a signed checkpoint. Signature lines from other keys are ignored; a line from this key
    /// that fails to verify rejects the note. The caller still checks the origin is the log it expects.
    pub fn verify(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::parse_body(self.open(note)?)
    }

    /// The note text, once a signature by this key over it has verified.
    fn open<'a>(&self, note: &'a str) -> Result<&'a str, CheckpointError> {
        use CheckpointError::MalformedNote as Malformed;
        if has_control_character(note) {
            return Err(Malformed("control characters other than newline"));
        }
        let split = note.rfind("\n\n").ok_or(Malformed("no blank line before the signatures"))?;
        let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
        let lines =
            signatures.strip_suffix('\n').ok_or(Malformed("the last signature line must end with a newline"))?;
        let mut verified = false;
        for (count, line) in lines.split('\n').enumerate() {
            if count == MAX_SIGNATURES {
                return Err(Malformed("too many signatures"));
            }
            let (name, blob) = line
                .strip_prefix(SIGNATURE_PREFIX)
                .and_then(|rest| rest.split_once(' '))
                .filter(|(name, _)| check_key_name(name).is_ok())
                .ok_or(Malformed("a signature line must be '\u{2014} <key name> <base64 signature>'"))?;
            let blob = STANDARD.decode(blob).map_err(|_| Malformed("a signature must be standard base64"))?;
            let (key_id, signature) = blob
                .split_first_chunk::<4>()
                .filter(|(_, signature)| !signature.is_empty())
                .ok_or(Malformed("a signature must hold a 4-byte key ID and signature bytes"))?;
            if name == self.name && *key_id == self.key_hash {
                UnparsedPublicKey::new(&ED25519, &self.public_key)
                    .verify(text.as_bytes(), signature)
                    .map_err(|_| CheckpointError::BadSignature { key: self.name.clone() })?;
                verified = true;
            }
        }
        if verified { Ok(text) } else { Err(CheckpointError::NotSignedByKey { key: self.name.clone() }) }
    }
}

/// Key names are non-empty and hold no (Unicode) spaces, no '+' and no control characters.
fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control() || c == '+') {
        return Err(CheckpointError::InvalidKeyName(name.to_owned()));
    }
    Ok(())
}

/// Signed notes may hold no ASCII control character but newline.
fn has_control_character(text: &str) -> bool {
    text.chars().any(|c| c < ' ' && c != '\n')
}

/// SHA-256(name || "\n" || 0x01 || public key)[..4], as the signed-note spec recommends for Ed25519.
fn ed25519_key_hash(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let hash = digest(&SHA256, &[name.as_bytes(), b"\n", &[ALG_ED25519], public_key].concat());
    hash.as_ref().first_chunk::<4>().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    // golang.org/x/mod/sumdb/note's reference key and note (note_test.go).
    const GO_SEED: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; // 0x01 || 32-byte seed
    const GO_VERIFIER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const GO_SIGNATURE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const GO_OTHER_SIGNATURE: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    /// The Go reference key, straight from its seed (test-only; production keys live in the crypto crate).
    struct SeedKey(ring::signature::Ed25519KeyPair);

    impl Ed25519Signer for SeedKey {
        fn public_key(&self) -> [u8; 32] {
            use ring::signature::KeyPair as _;
            self.0.public_key().as_ref().try_into().unwrap()
        }
        fn sign(&self, message: &[u8]) -> [u8; 64] {
            self.0.sign(message).as_ref().try_into().unwrap()
        }
    }

    fn go_signer() -> NoteSigner {
        let seed = STANDARD.decode(GO_SEED).unwrap();
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed[1..]).unwrap();
        NoteSigner::new("PeterNeumann", SeedKey(pair)).unwrap()
    }
    fn signer(name: &str) -> NoteSigner {
        NoteSigner::new(name, listone_crypto::SigningKeyPair::generate().unwrap()).unwrap()
    }
    fn checkpoint() -> Checkpoint {
        let root = STANDARD.decode("Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=").unwrap().try_into().unwrap();
        Checkpoint { origin: "example.com/log".into(), size: 5, root }
    }

    #[test]
    fn body_is_origin_size_and_base64_root_each_on_its_own_line() {
        // The root of the RFC 6962 test tree of size 5 (4e3bbb1f...).
        let body = "example.com/log\n5\nTju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=\n";
        assert_eq!(checkpoint().body(), body);
        assert_eq!(Checkpoint::parse_body(body).unwrap(), checkpoint());
        let empty = Checkpoint { origin: "o".into(), size: 0, root: [0; 32] };
        assert_eq!(Checkpoint::parse_body(&empty.body()).unwrap(), empty);
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        let root = "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=";
        for size in ["05", "00", "+5", "-1", " 5", "5 ", "", "0x5", "5\u{0660}", "18446744073709551616"] {
            assert!(Checkpoint::parse_body(&format!("o\n{size}\n{root}\n")).is_err(), "size {size:?}");
        }
        assert_eq!(Checkpoint::parse_body(&format!("o\n18446744073709551615\n{root}\n")).unwrap().size, u64::MAX);
        for bad_root in [
            "",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
            "Tju7H3tHjc_nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=",
            "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ",
        ] {
            assert!(Checkpoint::parse_body(&format!("o\n5\n{bad_root}\n")).is_err(), "root {bad_root:?}");
        }
        for text in [
            format!("o\n5\n{root}"),
            format!("o\n5\n{root}\nextension\n"),
            format!("\n5\n{root}\n"),
            "o\n5\n".to_owned(),
            format!("o\t1\n5\n{root}\n"),
            format!("o\r\n5\n{root}\n"),
        ] {
            assert!(matches!(Checkpoint::parse_body(&text), Err(CheckpointError::MalformedBody(_))), "{text:?}");
        }
    }

    #[test]
    fn go_reference_key_and_note_are_reproduced_byte_for_byte() {
        let signer = go_signer();
        assert_eq!(signer.verifier_key(), GO_VERIFIER_KEY);
        assert_eq!(signer.key_hash(), [0xc7, 0x4f, 0x20, 0xa3]);
        let note = format!("{GO_TEXT}\n{GO_SIGNATURE}");
        assert_eq!(signer.sign_text(GO_TEXT), note);
        let verifier = NoteVerifier::from_verifier_key(GO_VERIFIER_KEY).unwrap();
        assert_eq!(verifier.open(&note).unwrap(), GO_TEXT);
        // A signature from an unknown key is ignored, before or after ours.
        assert_eq!(verifier.open(&format!("{GO_TEXT}\n{GO_OTHER_SIGNATURE}{GO_SIGNATURE}")).unwrap(), GO_TEXT);
        let unsigned = verifier.open(&format!("{GO_TEXT}\n{GO_OTHER_SIGNATURE}")).err();
        assert_eq!(unsigned, Some(CheckpointError::NotSignedByKey { key: "PeterNeumann".into() }));
        let forged = format!("{GO_TEXT}\n{}ABCD{}", &GO_SIGNATURE[..60], &GO_SIGNATURE[60..]);
        assert_eq!(verifier.open(&forged), Err(CheckpointError::BadSignature { key: "PeterNeumann".into() }));
    }

    #[test]
    fn a_signed_checkpoint_verifies_and_reads_back_the_same_checkpoint() {
        let signer = signer("listone.dev/audit");
        let note = signer.sign(&checkpoint()).unwrap();
        assert!(note.starts_with(&format!("{}\n\u{2014} listone.dev/audit ", checkpoint().body())));
        let verifier = NoteVerifier::from_verifier_key(&signer.verifier_key()).unwrap();
        assert_eq!(verifier, signer.verifier());
        assert_eq!(verifier.verify(&note).unwrap(), checkpoint());
    }

    #[test]
    fn altering_any_byte_of_the_body_or_signature_fails_verification() {
        let signer = signer("listone.dev/audit");
        let note = signer.sign(&checkpoint()).unwrap();
        for i in 0..note.len() {
            let mut bytes = note.clone().into_bytes();
            bytes[i] ^= 0x01;
            if let Ok(altered) = String::from_utf8(bytes) {
                assert!(signer.verifier().verify(&altered).is_err(), "byte {i} altered: {altered:?}");
            }
        }
    }

    #[test]
    fn signatures_by_other_keys_do_not_count() {
        let (ours, impostor, other) =
            (signer("listone.dev/audit"), signer("listone.dev/audit"), signer("other.example/log"));
        let key = || "listone.dev/audit".to_owned();
        for note in [impostor.sign(&checkpoint()).unwrap(), other.sign(&checkpoint()).unwrap()] {
            assert_eq!(ours.verifier().verify(&note), Err(CheckpointError::NotSignedByKey { key: key() }));
        }
        // Another key claiming our name and key ID: its signature is checked against our key, and fails.
        let impostor_note = impostor.sign(&checkpoint()).unwrap();
        let impostor_blob = STANDARD.decode(impostor_note.trim_end().rsplit(' ').next().unwrap()).unwrap();
        let claimed = STANDARD.encode([&ours.key_hash()[..], &impostor_blob[4..]].concat());
        let forged = format!("{}\n\u{2014} listone.dev/audit {claimed}\n", checkpoint().body());
        assert_eq!(ours.verifier().verify(&forged), Err(CheckpointError::BadSignature { key: key() }));
        // Cosigned by another key as well: still verifies as ours.
        let other_line = other.sign(&checkpoint()).unwrap().rsplit_once("\n\n").unwrap().1.to_owned();
        let cosigned = format!("{}{other_line}", ours.sign(&checkpoint()).unwrap());
        assert_eq!(ours.verifier().verify(&cosigned).unwrap(), checkpoint());
    }

    #[test]
    fn verifier_keys_round_trip_and_any_mangling_is_rejected() {
        let verifier = NoteVerifier::from_verifier_key(GO_VERIFIER_KEY).unwrap();
        assert_eq!((verifier.name(), verifier.key_hash()), ("PeterNeumann", [0xc7, 0x4f, 0x20, 0xa3]));
        assert_eq!(verifier.verifier_key(), GO_VERIFIER_KEY);
        let bytes = GO_VERIFIER_KEY.as_bytes();
        for i in 0..bytes.len() {
            for j in i + 1..=bytes.len() {
                if (i, j) != (0, bytes.len()) {
                    assert!(
                        NoteVerifier::from_verifier_key(&GO_VERIFIER_KEY[i..j]).is_err(),
                        "{}",
                        &GO_VERIFIER_KEY[i..j]
                    );
                }
            }
            let mut mangled = bytes.to_vec();
            mangled[i] += 1;
            assert!(NoteVerifier::from_verifier_key(std::str::from_utf8(&mangled).unwrap()).is_err());
        }
        // Go's wrong-length and unknown-algorithm keys, each with a key hash that matches.
        assert!(
            NoteVerifier::from_verifier_key(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            )
            .is_err()
        );
        assert!(
            NoteVerifier::from_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                .is_err()
        );
    }

    #[test]
    fn key_names_with_spaces_or_plus_are_refused() {
        for name in ["", "a b", "a+b", "a\u{00a0}b", "a\nb"] {
            let key = listone_crypto::SigningKeyPair::generate().unwrap();
            assert_eq!(NoteSigner::new(name, key).unwrap_err(), CheckpointError::InvalidKeyName(name.into()));
            assert!(NoteVerifier::for_ed25519(name, [0; 32]).is_err());
        }
        let signer = signer("a");
        for origin in ["", "two\nlines", "tab\there"] {
            let bad = Checkpoint { origin: origin.into(), ..checkpoint() };
            assert!(matches!(signer.sign(&bad), Err(CheckpointError::MalformedBody(_))), "{origin:?}");
        }
    }

    #[test]
    fn malformed_notes_are_rejected() {
        let verifier = NoteVerifier::from_verifier_key(GO_VERIFIER_KEY).unwrap();
        // golang.org/x/mod/sumdb/note's bad messages, and one with too many signatures.
        let bad = [
            GO_TEXT.to_owned(),
            format!("{GO_TEXT}\n"),
            format!("{GO_TEXT}\n{}", GO_SIGNATURE.trim_end_matches('\n')),
            format!("\u{1}{GO_TEXT}\n{GO_SIGNATURE}"),
            format!(
                "{GO_TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
            ),
            format!("{GO_TEXT}\n{GO_SIGNATURE}Unexpected line.\n"),
            format!("{GO_TEXT}\n- PeterNeumann {}", &GO_SIGNATURE[17..]),
            format!("{GO_TEXT}\n\u{2014} PeterNeumann AAAA\n"),
            format!("{GO_TEXT}\n{}", GO_SIGNATURE.repeat(MAX_SIGNATURES + 1)),
        ];
        for note in bad {
            assert!(matches!(verifier.open(&note), Err(CheckpointError::MalformedNote(_))), "{note:?}");
        }
        assert_eq!(verifier.open(&format!("{GO_TEXT}\n{}", GO_SIGNATURE.repeat(MAX_SIGNATURES))).unwrap(), GO_TEXT);
    }
}
