//! Compact JWE encryption, for minting (CLI and tests). STUB.

use crate::jose::alg::{ContentEncryptionAlg, KeyManagementAlg};
use crate::jose::jwk::Jwk;
use serde_json::{Map, Value};

/// Encrypt `plaintext` to `key` as a compact JWE. `extra` members (e.g. `cty`,
/// `typ`) are added to the protected header; `kid` comes from the key.
pub fn encrypt_compact(
    _alg: KeyManagementAlg,
    _enc: ContentEncryptionAlg,
    _key: &Jwk,
    _extra: Map<String, Value>,
    _plaintext: &[u8],
) -> Result<String, &'static str> {
    Err("not implemented")
}
