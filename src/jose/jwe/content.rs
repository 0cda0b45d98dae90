//! Content encryption (RFC 7518 §5): AES-GCM (§5.3) and
//! AES-CBC-HMAC-SHA2 (§5.2).
//!
//! Every length is checked exactly (CEK, IV, tag), and every failure is the
//! same error. For CBC-HS the tag is verified in constant time before any
//! decryption, so padding is never examined for unauthenticated input.

use crate::jose::alg::ContentEncryptionAlg;
use crate::jose::random;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadCore, AeadInOut, KeyInit};
use aes_gcm::aes::{Aes128, Aes192, Aes256};
use aes_gcm::AesGcm;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The output of content encryption.
pub struct Sealed {
    pub iv: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub tag: Vec<u8>,
}

/// The one error of content decryption.
const FAILED: &str = "content decryption failed";

const GCM_IV: usize = 12;
const GCM_TAG: usize = 16;
const CBC_IV: usize = 16;

/// Decrypt and authenticate. Any failure (key, IV or tag length, tag
/// mismatch, padding) is one error.
pub fn decrypt(
    enc: ContentEncryptionAlg,
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    use ContentEncryptionAlg::*;
    if cek.len() != enc.key_len() {
        return Err(FAILED);
    }
    match enc {
        A128Gcm => gcm_decrypt::<AesGcm<Aes128, U12>>(cek, iv, aad, ciphertext, tag),
        A192Gcm => gcm_decrypt::<AesGcm<Aes192, U12>>(cek, iv, aad, ciphertext, tag),
        A256Gcm => gcm_decrypt::<AesGcm<Aes256, U12>>(cek, iv, aad, ciphertext, tag),
        A128CbcHs256 => {
            cbc_hs_decrypt::<cbc::Decryptor<Aes128>, Hmac<Sha256>>(cek, iv, aad, ciphertext, tag)
        }
        A192CbcHs384 => {
            cbc_hs_decrypt::<cbc::Decryptor<Aes192>, Hmac<Sha384>>(cek, iv, aad, ciphertext, tag)
        }
        A256CbcHs512 => {
            cbc_hs_decrypt::<cbc::Decryptor<Aes256>, Hmac<Sha512>>(cek, iv, aad, ciphertext, tag)
        }
    }
}

/// Encrypt with a fresh random IV.
pub fn encrypt(
    enc: ContentEncryptionAlg,
    cek: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Sealed, &'static str> {
    use ContentEncryptionAlg::*;
    if cek.len() != enc.key_len() {
        return Err("CEK length does not match enc");
    }
    match enc {
        A128Gcm => gcm_encrypt::<AesGcm<Aes128, U12>>(cek, aad, plaintext),
        A192Gcm => gcm_encrypt::<AesGcm<Aes192, U12>>(cek, aad, plaintext),
        A256Gcm => gcm_encrypt::<AesGcm<Aes256, U12>>(cek, aad, plaintext),
        A128CbcHs256 => cbc_hs_encrypt::<cbc::Encryptor<Aes128>, Hmac<Sha256>>(cek, aad, plaintext),
        A192CbcHs384 => cbc_hs_encrypt::<cbc::Encryptor<Aes192>, Hmac<Sha384>>(cek, aad, plaintext),
        A256CbcHs512 => cbc_hs_encrypt::<cbc::Encryptor<Aes256>, Hmac<Sha512>>(cek, aad, plaintext),
    }
}

fn gcm_decrypt<A: AeadInOut + KeyInit>(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    if iv.len() != GCM_IV || tag.len() != GCM_TAG {
        return Err(FAILED);
    }
    let cipher = A::new_from_slice(key).map_err(|_| FAILED)?;
    let nonce = aes_gcm::aead::Nonce::<A>::try_from(iv).map_err(|_| FAILED)?;
    let tag = aes_gcm::aead::Tag::<A>::try_from(tag).map_err(|_| FAILED)?;
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_inout_detached(&nonce, aad, buffer.as_mut_slice().into(), &tag)
        .map_err(|_| FAILED)?;
    Ok(buffer)
}

fn gcm_encrypt<A: AeadInOut + KeyInit + AeadCore>(
    key: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Sealed, &'static str> {
    let mut iv = [0u8; GCM_IV];
    random::fill(&mut iv).map_err(|_| "no randomness")?;
    let cipher = A::new_from_slice(key).map_err(|_| "bad key")?;
    let nonce = aes_gcm::aead::Nonce::<A>::try_from(&iv[..]).map_err(|_| "bad IV")?;
    let mut buffer = plaintext.to_vec();
    let tag = cipher
        .encrypt_inout_detached(&nonce, aad, buffer.as_mut_slice().into())
        .map_err(|_| "encryption failed")?;
    Ok(Sealed {
        iv: iv.to_vec(),
        ciphertext: buffer,
        tag: tag.to_vec(),
    })
}

/// The CBC-HS tag: the first half of HMAC(MAC_KEY, AAD || IV || C || AL).
fn cbc_hs_tag<M: Mac + KeyInit>(
    mac_key: &[u8],
    aad: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Option<Vec<u8>> {
    let mut mac = <M as KeyInit>::new_from_slice(mac_key).ok()?;
    let al = (aad.len() as u64).checked_mul(8)?.to_be_bytes();
    mac.update(aad);
    mac.update(iv);
    mac.update(ciphertext);
    mac.update(&al);
    let full = mac.finalize().into_bytes();
    full.get(..mac_key.len()).map(<[u8]>::to_vec)
}

fn cbc_hs_decrypt<D: KeyIvInit + BlockModeDecrypt, M: Mac + KeyInit>(
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let (mac_key, enc_key) = cek.split_at(cek.len() / 2);
    if iv.len() != CBC_IV || tag.len() != mac_key.len() {
        return Err(FAILED);
    }
    let expected = cbc_hs_tag::<M>(mac_key, aad, iv, ciphertext).ok_or(FAILED)?;
    if !bool::from(expected.as_slice().ct_eq(tag)) {
        return Err(FAILED);
    }
    let decryptor = D::new_from_slices(enc_key, iv).map_err(|_| FAILED)?;
    decryptor
        .decrypt_padded_vec::<Pkcs7>(ciphertext)
        .map(Zeroizing::new)
        .map_err(|_| FAILED)
}

fn cbc_hs_encrypt<E: KeyIvInit + BlockModeEncrypt, M: Mac + KeyInit>(
    cek: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Sealed, &'static str> {
    let (mac_key, enc_key) = cek.split_at(cek.len() / 2);
    let mut iv = [0u8; CBC_IV];
    random::fill(&mut iv).map_err(|_| "no randomness")?;
    let encryptor = E::new_from_slices(enc_key, &iv).map_err(|_| "bad key")?;
    let ciphertext = encryptor.encrypt_padded_vec::<Pkcs7>(plaintext);
    let tag = cbc_hs_tag::<M>(mac_key, aad, &iv, &ciphertext).ok_or("MAC failed")?;
    Ok(Sealed {
        iv: iv.to_vec(),
        ciphertext,
        tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7518 Appendix B.1: AES_128_CBC_HMAC_SHA_256 test case.
    #[test]
    fn rfc7518_b1_cbc_hs256_known_answer() {
        let k: Vec<u8> = (0u8..32).collect();
        let p = b"A cipher system must not be required to be secret, and it must be able to fall into the hands of the enemy without inconvenience";
        let iv = [
            0x1a, 0xf3, 0x8c, 0x2d, 0xc2, 0xb9, 0x6f, 0xfd, 0xd8, 0x66, 0x94, 0x09, 0x23, 0x41,
            0xbc, 0x04,
        ];
        let a = b"The second principle of Auguste Kerckhoffs";
        let (mac_key, enc_key) = k.split_at(16);
        let ciphertext = cbc::Encryptor::<Aes128>::new_from_slices(enc_key, &iv)
            .unwrap()
            .encrypt_padded_vec::<Pkcs7>(p);
        let tag = cbc_hs_tag::<Hmac<Sha256>>(mac_key, a, &iv, &ciphertext).unwrap();
        assert_eq!(
            tag,
            [
                0x65, 0x2c, 0x3f, 0xa3, 0x6b, 0x0a, 0x7c, 0x5b, 0x32, 0x19, 0xfa, 0xb3, 0xa3, 0x0b,
                0xc1, 0xc4
            ]
        );
        let out = decrypt(
            ContentEncryptionAlg::A128CbcHs256,
            &k,
            &iv,
            a,
            &ciphertext,
            &tag,
        )
        .unwrap();
        assert_eq!(out.as_slice(), p);
    }

    #[test]
    fn every_enc_round_trips_and_rejects_tampering() {
        for enc in ContentEncryptionAlg::ALL {
            let cek = vec![7u8; enc.key_len()];
            let sealed = encrypt(*enc, &cek, b"aad", b"hello world").unwrap();
            let ok = decrypt(
                *enc,
                &cek,
                &sealed.iv,
                b"aad",
                &sealed.ciphertext,
                &sealed.tag,
            )
            .unwrap();
            assert_eq!(ok.as_slice(), b"hello world", "{enc}");
            // Altered AAD, ciphertext, tag, IV; truncated tag; wrong CEK length.
            assert!(decrypt(
                *enc,
                &cek,
                &sealed.iv,
                b"aaD",
                &sealed.ciphertext,
                &sealed.tag
            )
            .is_err());
            let mut ct = sealed.ciphertext.clone();
            ct[0] ^= 1;
            assert!(decrypt(*enc, &cek, &sealed.iv, b"aad", &ct, &sealed.tag).is_err());
            let mut tag = sealed.tag.clone();
            tag[0] ^= 1;
            assert!(decrypt(*enc, &cek, &sealed.iv, b"aad", &sealed.ciphertext, &tag).is_err());
            let mut iv = sealed.iv.clone();
            iv[0] ^= 1;
            assert!(decrypt(*enc, &cek, &iv, b"aad", &sealed.ciphertext, &sealed.tag).is_err());
            let short = &sealed.tag[..sealed.tag.len() - 1];
            assert!(decrypt(*enc, &cek, &sealed.iv, b"aad", &sealed.ciphertext, short).is_err());
            assert!(decrypt(
                *enc,
                &cek[1..],
                &sealed.iv,
                b"aad",
                &sealed.ciphertext,
                &sealed.tag
            )
            .is_err());
            assert!(decrypt(
                *enc,
                &cek,
                &sealed.iv[1..],
                b"aad",
                &sealed.ciphertext,
                &sealed.tag
            )
            .is_err());
        }
    }
}
