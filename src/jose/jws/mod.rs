//! JWS signatures (RFC 7515, RFC 7518 §3, RFC 8037), one module per family:
//! [`rsa`] (RS*, PS*), [`ecdsa`] (ES*), [`eddsa`] (`EdDSA` and `Ed25519`) and
//! [`hmac`] (HS*).
//!
//! [`offload`] hands RS* and ES* checks to the host's cryptography when the
//! glue offers it ([`verify_with`]).
//!
//! [`fit::signature`] decides which key may verify which algorithm. It is
//! the defence against algorithm confusion: an HMAC algorithm only ever fits
//! an `oct` key, so a token "signed" with HS256 over an RSA public key's
//! bytes finds no key at all.

pub mod ecdsa;
pub mod eddsa;
pub mod hmac;
pub mod offload;
pub mod rsa;

use crate::jose::alg::SignatureAlg;
use crate::jose::b64;
use crate::jose::fit;
use crate::jose::jwk::{Jwk, Key};
pub use offload::HostVerify;
use offload::Prepared;
use serde_json::{Map, Value};

/// Verify `signature` over `signing_input`. False for any mismatch,
/// including a key that does not fit the algorithm.
pub fn verify(alg: SignatureAlg, key: &Key, signing_input: &[u8], signature: &[u8]) -> bool {
    if !fit::signature(alg, key) {
        return false;
    }
    match key {
        Key::Rsa(k) => rsa::verify(alg, k, signing_input, signature),
        Key::Ec(k) => ecdsa::verify(k, signing_input, signature),
        Key::Okp(k) => eddsa::verify(k, signing_input, signature),
        Key::Oct(secret) => hmac::verify(alg, secret, signing_input, signature),
    }
}

/// [`verify`], with the RS* and ES* checks done by `host` (Envoy's
/// `verify_signature`, [`offload`]) when there is one and it answers; the
/// module's own code checks everything else, and whatever the host cannot.
pub fn verify_with(
    alg: SignatureAlg,
    key: &Key,
    signing_input: &[u8],
    signature: &[u8],
    host: Option<HostVerify>,
) -> bool {
    if !fit::signature(alg, key) {
        return false;
    }
    if let Some(call) = host {
        match offload::prepare(alg, key, signing_input, signature) {
            Prepared::Host(args) => {
                if let Some(valid) = call(&args).and_then(|result| offload::verdict(&result)) {
                    return valid;
                }
            }
            Prepared::Refused => return false,
            Prepared::Module => {}
        }
    }
    verify(alg, key, signing_input, signature)
}

/// Sign `signing_input` (CLI and tests).
pub fn sign(alg: SignatureAlg, key: &Key, signing_input: &[u8]) -> Result<Vec<u8>, &'static str> {
    if !fit::signature(alg, key) {
        return Err("the key does not fit the algorithm");
    }
    match key {
        Key::Rsa(k) => rsa::sign(alg, k, signing_input),
        Key::Ec(k) => ecdsa::sign(k, signing_input),
        Key::Okp(k) => eddsa::sign(k, signing_input),
        Key::Oct(secret) => hmac::sign(alg, secret, signing_input),
    }
}

/// Sign `payload` as a compact JWS: header `{"alg", "kid" (from the key),
/// ...extra}`.
pub fn sign_compact(
    alg: SignatureAlg,
    key: &Jwk,
    extra: Map<String, Value>,
    payload: &[u8],
) -> Result<String, &'static str> {
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(alg.name()));
    if let Some(kid) = &key.kid {
        header.insert("kid".into(), Value::from(kid.as_str()));
    }
    header.extend(extra);
    let header = serde_json::to_vec(&header).map_err(|_| "header does not serialize")?;
    let input = format!("{}.{}", b64::encode(&header), b64::encode(payload));
    let signature = sign(alg, &key.key, input.as_bytes())?;
    Ok(format!("{input}.{}", b64::encode(&signature)))
}
