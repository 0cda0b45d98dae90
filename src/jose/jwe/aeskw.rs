//! AES Key Wrap (RFC 3394) for A128KW, A192KW, A256KW and the key-wrapping
//! step of ECDH-ES+AxxxKW (RFC 7518 §4.4).

use aes_kw::aes::cipher::KeyInit;
use aes_kw::aes::{Aes128, Aes192, Aes256};
use aes_kw::AesKw;
use zeroize::Zeroizing;

/// The RFC 3394 integrity block adds 8 bytes.
const OVERHEAD: usize = 8;

/// Unwrap `wrapped` with `kek` (16, 24 or 32 bytes). Fails on any length or
/// integrity error.
pub fn unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let len = wrapped
        .len()
        .checked_sub(OVERHEAD)
        .ok_or("wrapped key too short")?;
    if len < 16 || len % 8 != 0 {
        return Err("wrapped key has a wrong length");
    }
    let mut out = Zeroizing::new(vec![0u8; len]);
    let result = match kek.len() {
        16 => AesKw::<Aes128>::new_from_slice(kek)
            .map(|kw| kw.unwrap_key(wrapped, &mut out).map(|_| ())),
        24 => AesKw::<Aes192>::new_from_slice(kek)
            .map(|kw| kw.unwrap_key(wrapped, &mut out).map(|_| ())),
        32 => AesKw::<Aes256>::new_from_slice(kek)
            .map(|kw| kw.unwrap_key(wrapped, &mut out).map(|_| ())),
        _ => return Err("key-wrapping key has a wrong length"),
    };
    match result {
        Ok(Ok(())) => Ok(out),
        _ => Err("key unwrap failed"),
    }
}

/// Wrap `cek` with `kek` (16, 24 or 32 bytes).
pub fn wrap(kek: &[u8], cek: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = vec![0u8; cek.len() + OVERHEAD];
    let result = match kek.len() {
        16 => AesKw::<Aes128>::new_from_slice(kek).map(|kw| kw.wrap_key(cek, &mut out).map(|_| ())),
        24 => AesKw::<Aes192>::new_from_slice(kek).map(|kw| kw.wrap_key(cek, &mut out).map(|_| ())),
        32 => AesKw::<Aes256>::new_from_slice(kek).map(|kw| kw.wrap_key(cek, &mut out).map(|_| ())),
        _ => return Err("key-wrapping key has a wrong length"),
    };
    match result {
        Ok(Ok(())) => Ok(out),
        _ => Err("key wrap failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3394 §4.1: wrap 128 bits of key data with a 128-bit KEK.
    #[test]
    fn rfc3394_known_answer() {
        let kek: Vec<u8> = (0u8..16).collect();
        let data = [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ];
        let wrapped = wrap(&kek, &data).unwrap();
        assert_eq!(
            wrapped,
            [
                0x1f, 0xa6, 0x8b, 0x0a, 0x81, 0x12, 0xb4, 0x47, 0xae, 0xf3, 0x4b, 0xd8, 0xfb, 0x5a,
                0x7b, 0x82, 0x9d, 0x3e, 0x86, 0x23, 0x71, 0xd2, 0xcf, 0xe5
            ]
        );
        assert_eq!(unwrap(&kek, &wrapped).unwrap().as_slice(), data);
        let mut bad = wrapped.clone();
        bad[0] ^= 1;
        assert!(unwrap(&kek, &bad).is_err());
        assert!(unwrap(&kek, &wrapped[..16]).is_err());
        assert!(unwrap(&kek[..15], &wrapped).is_err());
    }
}
