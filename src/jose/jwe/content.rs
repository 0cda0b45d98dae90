//! Content encryption (RFC 7518 §5): AES-GCM and AES-CBC with HMAC-SHA2.
//! STUB: to be implemented.

use crate::jose::alg::ContentEncryptionAlg;
use zeroize::Zeroizing;

/// The output of content encryption.
pub struct Sealed {
    pub iv: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub tag: Vec<u8>,
}

/// Decrypt and authenticate. Any failure (key, IV or tag length, tag mismatch)
/// is one error.
pub fn decrypt(
    _enc: ContentEncryptionAlg,
    _cek: &[u8],
    _iv: &[u8],
    _aad: &[u8],
    _ciphertext: &[u8],
    _tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    Err("not implemented")
}

/// Encrypt with a fresh random IV.
pub fn encrypt(
    _enc: ContentEncryptionAlg,
    _cek: &[u8],
    _aad: &[u8],
    _plaintext: &[u8],
) -> Result<Sealed, &'static str> {
    Err("not implemented")
}
