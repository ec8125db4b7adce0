//! RFC 6238 Appendix B: every test vector, for HMAC-SHA1, HMAC-SHA256 and HMAC-SHA512, 8 digits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use listone_identity::{Totp, TotpAlgorithm, TotpDigits, TotpSecret};

const SHA1_KEY: &[u8] = b"12345678901234567890";
const SHA256_KEY: &[u8] = b"12345678901234567890123456789012";
const SHA512_KEY: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

/// (Unix time, SHA1 code, SHA256 code, SHA512 code) from the RFC's table.
type Vector = (u64, &'static str, &'static str, &'static str);

const VECTORS: [Vector; 6] = [
    (59, "94287082", "46119246", "90693936"),
    (1_111_111_109, "07081804", "68084774", "25091201"),
    (1_111_111_111, "14050471", "67062674", "99943326"),
    (1_234_567_890, "89005924", "91819424", "93441116"),
    (2_000_000_000, "69279037", "90698825", "38618901"),
    (20_000_000_000, "65353130", "77737706", "47863826"),
];

fn totp(key: &[u8], algorithm: TotpAlgorithm) -> Totp {
    Totp::new(TotpSecret::from_bytes(key.to_vec()).unwrap()).with_algorithm(algorithm).with_digits(TotpDigits::Eight)
}

fn check(key: &[u8], algorithm: TotpAlgorithm, pick: fn(&Vector) -> &'static str) {
    let totp = totp(key, algorithm);
    for vector in &VECTORS {
        let (time, expected) = (vector.0, pick(vector));
        assert_eq!(totp.code_at(time), expected, "{algorithm:?} at {time}");
        assert_eq!(totp.verify(expected, time, 0, None), Ok(totp.step_at(time)), "{algorithm:?} at {time}");
    }
}

#[test]
fn rfc6238_hmac_sha1_vectors() {
    check(SHA1_KEY, TotpAlgorithm::Sha1, |v| v.1);
}

#[test]
fn rfc6238_hmac_sha256_vectors() {
    check(SHA256_KEY, TotpAlgorithm::Sha256, |v| v.2);
}

#[test]
fn rfc6238_hmac_sha512_vectors() {
    check(SHA512_KEY, TotpAlgorithm::Sha512, |v| v.3);
}

#[test]
fn rfc6238_time_steps_match_the_table() {
    // The RFC lists T as hex: 0x1, 0x23523EC, 0x23523ED, 0x273EF07, 0x3F940AA, 0x27BC86AA.
    let totp = totp(SHA1_KEY, TotpAlgorithm::Sha1);
    let steps: Vec<u64> = VECTORS.iter().map(|v| totp.step_at(v.0)).collect();
    assert_eq!(steps, [0x1, 0x23523EC, 0x23523ED, 0x273EF07, 0x3F940AA, 0x27BC86AA]);
}
