//! Canonical associated data that binds a ciphertext to its place.
//!
//! Sealing a field with the org, module, field and record in the AAD means a
//! ciphertext copied to another row or tenant no longer opens.

use std::fmt;

/// Associated data built from a domain and labelled parts, encoded unambiguously.
///
/// Each part is written as a u32-BE length-prefixed label followed by a
/// u32-BE length-prefixed value, so `("ab", "c")` never encodes like `("a", "bc")`.
/// The domain is the first part, labelled `domain`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Aad {
    bytes: Vec<u8>,
}

impl Aad {
    /// Starts associated data for a domain, e.g. `"listone/field/v1"`.
    pub fn new(domain: &str) -> Self {
        let mut aad = Aad { bytes: Vec::new() };
        aad.push_part(b"domain", domain.as_bytes());
        aad
    }

    /// Appends a labelled part; order matters, so build it the same way when opening.
    ///
    /// # Panics
    /// If the label or value is longer than `u32::MAX` bytes, which would be a
    /// programming error (parts are identifiers, not payloads).
    #[must_use]
    pub fn with(mut self, label: &str, value: impl AsRef<[u8]>) -> Self {
        self.push_part(label.as_bytes(), value.as_ref());
        self
    }

    /// The canonical encoding, fed to AES-GCM as associated data.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn push_part(&mut self, label: &[u8], value: &[u8]) {
        self.push_field(label);
        self.push_field(value);
    }

    fn push_field(&mut self, field: &[u8]) {
        // Clamping would make the encoding ambiguous, so refuse loudly instead.
        let Ok(len) = u32::try_from(field.len()) else {
            panic!("AAD part longer than u32::MAX bytes");
        };
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(field);
    }
}

impl fmt::Debug for Aad {
    // AAD is public context (ids and names), so showing it helps debug "wrong context" failures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aad(\"{}\")", self.bytes.escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn aad_encoding_is_unambiguous() {
        let a = Aad::new("d").with("ab", "c");
        let b = Aad::new("d").with("a", "bc");
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn aad_encoding_is_length_prefixed_big_endian() {
        let aad = Aad::new("x").with("k", [7u8]);
        let expected: Vec<u8> =
            [&[0, 0, 0, 6][..], b"domain", &[0, 0, 0, 1], b"x", &[0, 0, 0, 1], b"k", &[0, 0, 0, 1], &[7]].concat();
        assert_eq!(aad.as_bytes(), expected.as_slice());
    }

    #[test]
    fn part_order_label_and_domain_all_matter() {
        let base = Aad::new("d").with("org", "1").with("record", "2");
        assert_ne!(base, Aad::new("d").with("record", "2").with("org", "1"));
        assert_ne!(base, Aad::new("e").with("org", "1").with("record", "2"));
        assert_ne!(base, Aad::new("d").with("org", "2").with("record", "1"));
        assert_eq!(base, Aad::new("d").with("org", "1").with("record", "2"));
    }

    #[test]
    fn empty_parts_are_not_dropped() {
        assert_ne!(Aad::new("d"), Aad::new("d").with("", ""));
    }
}
