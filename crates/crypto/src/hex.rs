//! Lowercase hex for non-secret identifiers (key ids, blind indexes).

/// Lowercase hex encoding. Not constant time: only use on public values.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Decodes test vectors; panics on bad input, which is what a test wants.
#[cfg(test)]
pub(crate) fn decode(text: &str) -> Vec<u8> {
    #![allow(clippy::unwrap_used)]
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lowercase_and_round_trips() {
        assert_eq!(encode(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(decode("00abff"), vec![0x00, 0xab, 0xff]);
    }
}
