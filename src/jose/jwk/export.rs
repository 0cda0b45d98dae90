//! Writing keys back out as JWK JSON. STUB.

use super::Jwk;
use serde_json::Value;

/// The public half of `jwk` as a JWK object (with `kid`, `alg`, `use`).
pub fn public_jwk(_jwk: &Jwk) -> Option<Value> {
    None
}

/// The full private JWK (RSA with CRT parameters).
pub fn private_jwk(_jwk: &Jwk) -> Option<Value> {
    None
}
