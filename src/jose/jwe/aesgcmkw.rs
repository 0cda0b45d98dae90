//! AES-GCM key wrap, A128GCMKW/A192GCMKW/A256GCMKW (RFC 7518 §4.7): the CEK
//! is encrypted with AES-GCM under the shared key, with the `iv` and `tag`
//! carried in the header and no AAD.

use super::content::{self, Sealed};
use crate::jose::alg::ContentEncryptionAlg;
use zeroize::Zeroizing;

/// AES-GCM with a key of this length.
fn gcm_for(kek: &[u8]) -> Result<ContentEncryptionAlg, &'static str> {
    match kek.len() {
        16 => Ok(ContentEncryptionAlg::A128Gcm),
        24 => Ok(ContentEncryptionAlg::A192Gcm),
        32 => Ok(ContentEncryptionAlg::A256Gcm),
        _ => Err("key-wrapping key has a wrong length"),
    }
}

/// Decrypt the CEK (`iv` 12 bytes and `tag` 16 bytes, checked by AES-GCM).
pub fn unwrap(
    kek: &[u8],
    iv: &[u8],
    tag: &[u8],
    encrypted_key: &[u8],
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    content::decrypt(gcm_for(kek)?, kek, iv, b"", encrypted_key, tag)
        .map_err(|_| "key unwrap failed")
}

/// Encrypt the CEK: the result's `iv` and `tag` go into the header.
pub fn wrap(kek: &[u8], cek: &[u8]) -> Result<Sealed, &'static str> {
    content::encrypt(gcm_for(kek)?, kek, b"", cek)
}
