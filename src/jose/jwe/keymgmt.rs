//! Key management dispatch (RFC 7518 §4). STUB: to be implemented.

use crate::jose::alg::{ContentEncryptionAlg, KeyManagementAlg};
use crate::jose::header::JweHeader;
use crate::jose::jwk::Key;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// A freshly wrapped CEK for minting.
pub struct Wrapped {
    pub cek: Zeroizing<Vec<u8>>,
    pub encrypted_key: Vec<u8>,
    /// Header members the algorithm adds (`epk`, `iv`, `tag`).
    pub header_members: Map<String, Value>,
}

/// True when `key` has the type (and curve) `alg` needs for decryption.
pub fn fits(_alg: KeyManagementAlg, _key: &Key) -> bool {
    false
}

/// Recover the CEK for `header.enc` from `encrypted_key` with `key`.
pub fn unwrap_cek(
    _header: &JweHeader,
    _key: &Key,
    _encrypted_key: &[u8],
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    Err("not implemented")
}

/// Generate (or derive) a CEK for `enc` and wrap it to `key`.
pub fn wrap_cek(
    _alg: KeyManagementAlg,
    _enc: ContentEncryptionAlg,
    _key: &Key,
    _apu: &[u8],
    _apv: &[u8],
) -> Result<Wrapped, &'static str> {
    Err("not implemented")
}
