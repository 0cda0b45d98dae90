//! JWS signatures (RFC 7515, RFC 7518 §3, RFC 8037), one module per family.
//! STUB: to be implemented.

use crate::jose::alg::SignatureAlg;
use crate::jose::jwk::{Jwk, Key};
use serde_json::{Map, Value};

/// True when `key` has the type, curve and size `alg` needs.
pub fn fits(_alg: SignatureAlg, _key: &Key) -> bool {
    false
}

/// Verify `signature` over `signing_input`.
pub fn verify(_alg: SignatureAlg, _key: &Key, _signing_input: &[u8], _signature: &[u8]) -> bool {
    false
}

/// Sign `signing_input` (CLI and tests).
pub fn sign(
    _alg: SignatureAlg,
    _key: &Key,
    _signing_input: &[u8],
) -> Result<Vec<u8>, &'static str> {
    Err("not implemented")
}

/// Sign `payload` as a compact JWS; `extra` members go into the header, `kid` from the key.
pub fn sign_compact(
    _alg: SignatureAlg,
    _key: &Jwk,
    _extra: Map<String, Value>,
    _payload: &[u8],
) -> Result<String, &'static str> {
    Err("not implemented")
}
