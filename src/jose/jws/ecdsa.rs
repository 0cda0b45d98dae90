//! ES256 (P-256, SHA-256), ES384 (P-384, SHA-384), ES512 (P-521, SHA-512),
//! RFC 7518 §3.4. JOSE signatures are the fixed-length concatenation `r || s`
//! (64, 96 or 132 bytes), never DER.

use crate::jose::jwk::EcKey;
use p256::ecdsa::signature::{Signer, Verifier};

macro_rules! verify_with {
    ($curve:ident, $public:expr, $input:expr, $signature:expr) => {{
        let Ok(signature) = $curve::ecdsa::Signature::from_slice($signature) else {
            return false;
        };
        $curve::ecdsa::VerifyingKey::from($public)
            .verify($input, &signature)
            .is_ok()
    }};
}

/// Verify a JOSE ECDSA signature with the key's curve and hash.
pub fn verify(key: &EcKey, input: &[u8], signature: &[u8]) -> bool {
    match key {
        EcKey::P256Private(k) => verify_with!(p256, &k.public_key(), input, signature),
        EcKey::P256Public(k) => verify_with!(p256, k, input, signature),
        EcKey::P384Private(k) => verify_with!(p384, &k.public_key(), input, signature),
        EcKey::P384Public(k) => verify_with!(p384, k, input, signature),
        EcKey::P521Private(k) => verify_with!(p521, &k.public_key(), input, signature),
        EcKey::P521Public(k) => verify_with!(p521, k, input, signature),
    }
}

/// Sign (deterministic nonces, RFC 6979), returning `r || s`.
pub fn sign(key: &EcKey, input: &[u8]) -> Result<Vec<u8>, &'static str> {
    Ok(match key {
        EcKey::P256Private(k) => {
            let s: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(k).sign(input);
            s.to_bytes().to_vec()
        }
        EcKey::P384Private(k) => {
            let s: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(k).sign(input);
            s.to_bytes().to_vec()
        }
        EcKey::P521Private(k) => {
            let s: p521::ecdsa::Signature = p521::ecdsa::SigningKey::from(k).sign(input);
            s.to_bytes().to_vec()
        }
        _ => return Err("signing needs a private key"),
    })
}
