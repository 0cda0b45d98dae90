//! Ed25519 signatures, named `EdDSA` (RFC 8037 §3.1) or `Ed25519` (RFC 9864
//! §2.2), verified strictly (no small-order keys or non-canonical
//! signatures). Ed448 is not supported.

use crate::jose::jwk::OkpKey;
use ed25519_dalek::{Signature, Signer};

/// Verify an Ed25519 signature.
pub fn verify(key: &OkpKey, input: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    match key {
        OkpKey::Ed25519Private(k) => k.verifying_key().verify_strict(input, &signature).is_ok(),
        OkpKey::Ed25519Public(k) => k.verify_strict(input, &signature).is_ok(),
        _ => false,
    }
}

/// Sign with Ed25519.
pub fn sign(key: &OkpKey, input: &[u8]) -> Result<Vec<u8>, &'static str> {
    match key {
        OkpKey::Ed25519Private(k) => Ok(k.sign(input).to_bytes().to_vec()),
        _ => Err("signing needs an Ed25519 private key"),
    }
}
