//! A signature checked by the host's own cryptography: Envoy's
//! `verify_signature` foreign function (BoringSSL's `EVP_DigestVerify`),
//! 7–20 × faster than the same check in Wasm (BENCHMARKS.md).
//!
//! What it covers, and how the filter stays as strict as its own code:
//!
//! - **RS256/384/512** (RSASSA-PKCS1-v1_5) and **ES256/384/512** (ECDSA on
//!   P-256, P-384, P-521). Not RSA-PSS, EdDSA or HMAC: those stay in the
//!   module ([`prepare`] says [`Prepared::Module`]).
//! - The host accepts any key size, any hash with any curve, a trailing
//!   byte after a DER key. None of that reaches it: the key is one the
//!   filter parsed and checked (sizes, curve) and encodes here as a
//!   SubjectPublicKeyInfo; the hash is fixed by the algorithm table; an ES*
//!   signature of the wrong length is refused here, as the module refuses
//!   it, and its `r ‖ s` is re-encoded as the minimal DER the host reads.
//! - `tests/host/signature_parity.rs` runs the Wycheproof RSA PKCS#1 v1.5
//!   and ECDSA (P1363) vectors through both paths inside Envoy and requires
//!   the same answer from each, and Wycheproof's.
//!
//! The host is reached through a function the glue hands over
//! ([`HostVerify`]: encoded arguments in, encoded result out); the encoding
//! (the protobuf messages `VerifySignatureArguments` and
//! `VerifySignatureResult` of Envoy's `verify_signature.proto`) is here, so
//! the core stays pure and is tested natively.

use crate::jose::alg::SignatureAlg;
use crate::jose::jwk::{EcKey, Key, RsaKey};
use spki::EncodePublicKey;

/// The host's `verify_signature`: encoded arguments in, the encoded result
/// out; `None` when the host has no such function or refused the arguments
/// (then the module checks the signature itself).
pub type HostVerify = fn(&[u8]) -> Option<Vec<u8>>;

/// What [`prepare`] made of a signature check.
#[derive(Debug, PartialEq, Eq)]
pub enum Prepared {
    /// The host can check it: these are the encoded arguments.
    Host(Vec<u8>),
    /// Refused before any cryptography (an ES* signature of the wrong
    /// length, which the module refuses too).
    Refused,
    /// Not the host's kind: the module checks it.
    Module,
}

/// The arguments of the host's check of `signature` over `input` with
/// `key` under `alg` (which must fit the key: [`crate::jose::fit`]).
pub fn prepare(alg: SignatureAlg, key: &Key, input: &[u8], signature: &[u8]) -> Prepared {
    use SignatureAlg::*;
    let (hash, der, signature) = match (alg, key) {
        (Rs256 | Rs384 | Rs512, Key::Rsa(k)) => {
            let public = match k {
                RsaKey::Private(k) => k.as_public_key(),
                RsaKey::Public(k) => k,
            };
            let Ok(der) = public.to_public_key_der() else {
                return Prepared::Module;
            };
            let hash = match alg {
                Rs256 => "sha256",
                Rs384 => "sha384",
                _ => "sha512",
            };
            (hash, der, signature.to_vec())
        }
        (Es256 | Es384 | Es512, Key::Ec(k)) => {
            // The curve must be the algorithm's ([`crate::jose::fit`] says
            // so too; checked again here, as `prepare` is public).
            let (hash, width, der) = match (alg, k) {
                (Es256, EcKey::P256Private(k)) => {
                    ("sha256", 32, k.public_key().to_public_key_der())
                }
                (Es256, EcKey::P256Public(k)) => ("sha256", 32, k.to_public_key_der()),
                (Es384, EcKey::P384Private(k)) => {
                    ("sha384", 48, k.public_key().to_public_key_der())
                }
                (Es384, EcKey::P384Public(k)) => ("sha384", 48, k.to_public_key_der()),
                (Es512, EcKey::P521Private(k)) => {
                    ("sha512", 66, k.public_key().to_public_key_der())
                }
                (Es512, EcKey::P521Public(k)) => ("sha512", 66, k.to_public_key_der()),
                _ => return Prepared::Module,
            };
            let Some(signature) = ecdsa_der(signature, width) else {
                return Prepared::Refused;
            };
            let Ok(der) = der else {
                return Prepared::Module;
            };
            (hash, der, signature)
        }
        _ => return Prepared::Module,
    };
    let capacity = der
        .as_bytes()
        .len()
        .saturating_add(signature.len())
        .saturating_add(input.len())
        .saturating_add(24);
    let mut args = Vec::with_capacity(capacity);
    field(&mut args, 1, hash.as_bytes());
    field(&mut args, 2, der.as_bytes());
    field(&mut args, 3, &signature);
    field(&mut args, 4, input);
    Prepared::Host(args)
}

/// The host's answer: `Some(true)` only for a well-formed result whose
/// `result` field is true; `Some(false)` for any other well-formed one;
/// `None` for bytes that do not parse (the module decides then).
pub fn verdict(result: &[u8]) -> Option<bool> {
    let mut rest = result;
    let mut valid = false;
    while !rest.is_empty() {
        let (tag, after) = varint(rest)?;
        rest = after;
        match (tag >> 3, tag & 7) {
            (1, 0) => {
                let (value, after) = varint(rest)?;
                valid = value == 1;
                rest = after;
            }
            (_, 0) => rest = varint(rest)?.1,
            (_, 2) => {
                let (len, after) = varint(rest)?;
                let len = usize::try_from(len).ok()?;
                rest = after.get(len..)?;
            }
            _ => return None,
        }
    }
    Some(valid)
}

/// A JOSE ECDSA signature (`r ‖ s`, each `width` bytes) as the DER
/// `SEQUENCE { INTEGER r, INTEGER s }` the host reads; `None` for the wrong
/// length. Zero or out-of-range values are encoded as they are and refused
/// by the host, as by the module.
fn ecdsa_der(signature: &[u8], width: usize) -> Option<Vec<u8>> {
    if signature.len() != width.checked_mul(2)? {
        return None;
    }
    let (r, s) = signature.split_at(width);
    let mut body = Vec::with_capacity(signature.len() + 6);
    der_integer(&mut body, r);
    der_integer(&mut body, s);
    let mut der = Vec::with_capacity(body.len() + 3);
    der.push(0x30);
    // At most 2 × (2 + 67) = 138 bytes: one length byte, long form above 127.
    let len = u8::try_from(body.len()).ok()?;
    if len > 127 {
        der.push(0x81);
    }
    der.push(len);
    der.extend_from_slice(&body);
    Some(der)
}

/// An unsigned big-endian integer as a minimal DER INTEGER.
fn der_integer(out: &mut Vec<u8>, value: &[u8]) {
    let first = value.iter().position(|&b| b != 0).unwrap_or(value.len());
    let digits = value.get(first..).unwrap_or_default();
    let pad = digits.first().is_none_or(|&b| b & 0x80 != 0);
    out.push(0x02);
    // A value of at most 66 bytes: the length fits one byte, short form.
    out.push((digits.len() + usize::from(pad)) as u8);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
}

/// A length-delimited protobuf field `number` holding `bytes`.
fn field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    put_varint(out, number << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A protobuf varint at the start of `bytes`, and what follows it; `None`
/// when it is cut short or longer than ten bytes.
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, bytes.get(i + 1..)?));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::jwk::{generate, KeyType};

    #[test]
    fn ecdsa_signatures_become_minimal_der() {
        // High bit set: a zero byte in front; leading zeros dropped.
        let mut rs = vec![0u8; 64];
        rs[0] = 0x80;
        rs[63] = 0x01;
        let der = ecdsa_der(&rs, 32).unwrap();
        assert_eq!(&der[..5], &[0x30, 0x26, 0x02, 0x21, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 0x01, 0x01]);
        // Zero stays a (refusable) INTEGER 0.
        assert_eq!(
            ecdsa_der(&[0u8; 64], 32).unwrap(),
            [0x30, 6, 2, 1, 0, 2, 1, 0]
        );
        // P-521 with both high bits set: 2 × (2 + 67) = 138, long form.
        let der = ecdsa_der(&[0xffu8; 132], 66).unwrap();
        assert_eq!(&der[..3], &[0x30, 0x81, 138]);
        assert_eq!(der.len(), 141);
        // The wrong length is refused.
        assert!(ecdsa_der(&[1u8; 63], 32).is_none());
        assert!(ecdsa_der(&[1u8; 65], 32).is_none());
    }

    #[test]
    fn the_verdict_is_true_only_for_result_one() {
        assert_eq!(verdict(&[0x08, 0x01]), Some(true));
        // `error` after it is skipped.
        assert_eq!(verdict(&[0x08, 0x01, 0x12, 0x02, b'o', b'k']), Some(true));
        assert_eq!(verdict(&[0x12, 0x03, b'b', b'a', b'd']), Some(false));
        assert_eq!(verdict(&[]), Some(false));
        assert_eq!(verdict(&[0x08, 0x02]), Some(false));
        // A later field 1 wins, as in protobuf.
        assert_eq!(verdict(&[0x08, 0x01, 0x08, 0x00]), Some(false));
        // Cut short, an overlong varint, a wire type it does not know.
        assert_eq!(verdict(&[0x08]), None);
        assert_eq!(verdict(&[0x12, 0x05, b'x']), None);
        assert_eq!(
            verdict(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            None
        );
        assert_eq!(verdict(&[0x0d, 0, 0, 0, 0]), None);
    }

    /// The length-delimited fields of `bytes`, in order.
    fn fields(mut bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let (tag, rest) = varint(bytes).unwrap();
            assert_eq!(tag & 7, 2);
            let (len, rest) = varint(rest).unwrap();
            let (value, rest) = rest.split_at(len as usize);
            out.push((tag >> 3, value.to_vec()));
            bytes = rest;
        }
        out
    }

    fn key(kind: KeyType) -> Key {
        generate(kind).unwrap()
    }

    #[test]
    fn arguments_are_the_protobuf_fields_in_order() {
        let ec = key(KeyType::P384);
        let Prepared::Host(args) = prepare(SignatureAlg::Es384, &ec, b"input", &[7u8; 96]) else {
            panic!("ES384 goes to the host");
        };
        let f = fields(&args);
        let numbers: Vec<u64> = f.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [1, 2, 3, 4]);
        assert_eq!(f[0].1, b"sha384");
        let Key::Ec(EcKey::P384Private(secret)) = &ec else {
            panic!("a P-384 key");
        };
        assert_eq!(
            f[1].1,
            secret.public_key().to_public_key_der().unwrap().as_bytes()
        );
        assert_eq!(f[2].1, ecdsa_der(&[7u8; 96], 48).unwrap());
        assert_eq!(f[3].1, b"input");

        let rsa = key(KeyType::Rsa { bits: 2048 });
        let Prepared::Host(args) = prepare(SignatureAlg::Rs512, &rsa, b"in", &[1u8; 256]) else {
            panic!("RS512 goes to the host");
        };
        let f = fields(&args);
        assert_eq!(f[0].1, b"sha512");
        assert_eq!(f[2].1, [1u8; 256]);
    }

    #[test]
    fn only_rs_and_es_go_to_the_host_and_a_short_es_signature_is_refused() {
        let rsa = key(KeyType::Rsa { bits: 2048 });
        for alg in [
            SignatureAlg::Ps256,
            SignatureAlg::Ps384,
            SignatureAlg::Ps512,
        ] {
            assert_eq!(prepare(alg, &rsa, b"x", &[0; 256]), Prepared::Module);
        }
        let ed = key(KeyType::Ed25519);
        assert_eq!(
            prepare(SignatureAlg::EdDsa, &ed, b"x", &[0; 64]),
            Prepared::Module
        );
        let ec = key(KeyType::P256);
        assert_eq!(
            prepare(SignatureAlg::Es256, &ec, b"x", &[1; 63]),
            Prepared::Refused
        );
        assert_eq!(
            prepare(SignatureAlg::Es256, &ec, b"x", &[]),
            Prepared::Refused
        );
        // A key that does not fit the algorithm is never the host's.
        assert_eq!(
            prepare(SignatureAlg::Es256, &rsa, b"x", &[1; 64]),
            Prepared::Module
        );
        // Nor a curve other than the algorithm's.
        let p384 = key(KeyType::P384);
        assert_eq!(
            prepare(SignatureAlg::Es256, &p384, b"x", &[1; 64]),
            Prepared::Module
        );
        assert_eq!(
            prepare(SignatureAlg::Es512, &ec, b"x", &[1; 132]),
            Prepared::Module
        );
    }

    fn host_says_yes(_: &[u8]) -> Option<Vec<u8>> {
        Some(vec![0x08, 0x01])
    }
    fn host_says_no(_: &[u8]) -> Option<Vec<u8>> {
        Some(vec![0x12, 0x01, b'x'])
    }
    fn host_declines(_: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn host_garbles(_: &[u8]) -> Option<Vec<u8>> {
        Some(vec![0x08])
    }

    #[test]
    fn verify_with_takes_the_hosts_answer_only_where_it_is_the_hosts() {
        use crate::jose::jws::{sign, verify_with};
        let ec = key(KeyType::P256);
        let good = sign(SignatureAlg::Es256, &ec, b"input").unwrap();
        let mut bad = good.clone();
        bad[5] ^= 1;
        // The host's answer decides ES256, either way.
        assert!(verify_with(
            SignatureAlg::Es256,
            &ec,
            b"input",
            &bad,
            Some(host_says_yes)
        ));
        assert!(!verify_with(
            SignatureAlg::Es256,
            &ec,
            b"input",
            &good,
            Some(host_says_no)
        ));
        // Declined or unreadable: the module decides.
        for host in [host_declines, host_garbles] {
            assert!(verify_with(
                SignatureAlg::Es256,
                &ec,
                b"input",
                &good,
                Some(host)
            ));
            assert!(!verify_with(
                SignatureAlg::Es256,
                &ec,
                b"input",
                &bad,
                Some(host)
            ));
        }
        // A wrong-length signature never reaches the host.
        assert!(!verify_with(
            SignatureAlg::Es256,
            &ec,
            b"input",
            &good[..63],
            Some(host_says_yes)
        ));
        // Nor does what is not its kind, nor a key that does not fit.
        let ed = key(KeyType::Ed25519);
        let ed_bad = [0u8; 64];
        assert!(!verify_with(
            SignatureAlg::EdDsa,
            &ed,
            b"input",
            &ed_bad,
            Some(host_says_yes)
        ));
        let rsa = key(KeyType::Rsa { bits: 2048 });
        assert!(!verify_with(
            SignatureAlg::Ps256,
            &rsa,
            b"input",
            &[0; 256],
            Some(host_says_yes)
        ));
        assert!(!verify_with(
            SignatureAlg::Es256,
            &rsa,
            b"input",
            &good,
            Some(host_says_yes)
        ));
        // No host: the module.
        assert!(verify_with(SignatureAlg::Es256, &ec, b"input", &good, None));
        assert!(!verify_with(SignatureAlg::Es256, &ec, b"input", &bad, None));
    }
}
