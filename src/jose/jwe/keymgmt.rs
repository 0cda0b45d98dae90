//! Key management dispatch (RFC 7518 §4): how the CEK is recovered
//! (decryption) or produced (minting). Which key fits which algorithm is
//! [`fit`]'s decision, checked first in both directions.

use super::{aesgcmkw, aeskw, ecdh, rsaoaep};
use crate::jose::alg::{ContentEncryptionAlg, KeyManagementAlg};
use crate::jose::b64;
use crate::jose::fit;
use crate::jose::header::JweHeader;
use crate::jose::jwk::{Key, RsaKey};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// A freshly wrapped CEK for minting.
pub struct Wrapped {
    pub cek: Zeroizing<Vec<u8>>,
    pub encrypted_key: Vec<u8>,
    /// Header members the algorithm adds (`epk`, `iv`, `tag`).
    pub header_members: Map<String, Value>,
}

fn expect_len(
    cek: Zeroizing<Vec<u8>>,
    enc: ContentEncryptionAlg,
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    if cek.len() == enc.key_len() {
        Ok(cek)
    } else {
        Err("CEK length does not match enc")
    }
}

/// Recover the CEK for `header.enc` from `encrypted_key` with `key`.
pub fn unwrap_cek(
    header: &JweHeader,
    key: &Key,
    encrypted_key: &[u8],
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    use KeyManagementAlg::*;
    if !fit::decryption(header, encrypted_key.len(), key) {
        return Err("the key does not fit the token");
    }
    let cek = match (header.alg, key) {
        (Dir, Key::Oct(k)) => {
            if !encrypted_key.is_empty() {
                return Err("dir with a non-empty encrypted key");
            }
            Zeroizing::new(k.to_vec())
        }
        (A128Kw | A192Kw | A256Kw, Key::Oct(k)) => aeskw::unwrap(k, encrypted_key)?,
        (A128GcmKw | A192GcmKw | A256GcmKw, Key::Oct(k)) => {
            let (Some(iv), Some(tag)) = (&header.iv, &header.tag) else {
                return Err("AES-GCMKW without iv and tag");
            };
            aesgcmkw::unwrap(k, iv, tag, encrypted_key)?
        }
        (RsaOaep | RsaOaep256 | RsaOaep384 | RsaOaep512, Key::Rsa(RsaKey::Private(k))) => {
            rsaoaep::unwrap(header.alg, k, encrypted_key)?
        }
        (EcdhEs | EcdhEsA128Kw | EcdhEsA192Kw | EcdhEsA256Kw, _) => {
            let epk = header.epk.as_ref().ok_or("ECDH-ES without epk")?;
            let z = ecdh::agree(key, epk)?;
            match header.alg.wrap_key_len() {
                None => {
                    if !encrypted_key.is_empty() {
                        return Err("ECDH-ES with a non-empty encrypted key");
                    }
                    ecdh::concat_kdf(
                        &z,
                        header.enc.name(),
                        &header.apu,
                        &header.apv,
                        header.enc.key_len(),
                    )?
                }
                Some(len) => {
                    let kek =
                        ecdh::concat_kdf(&z, header.alg.name(), &header.apu, &header.apv, len)?;
                    aeskw::unwrap(&kek, encrypted_key)?
                }
            }
        }
        _ => return Err("the key does not fit the algorithm"),
    };
    expect_len(cek, header.enc)
}

/// Generate (or derive) a CEK for `enc` and wrap it to `key` (minting).
pub fn wrap_cek(
    alg: KeyManagementAlg,
    enc: ContentEncryptionAlg,
    key: &Key,
    apu: &[u8],
    apv: &[u8],
) -> Result<Wrapped, &'static str> {
    use KeyManagementAlg::*;
    if !fit::key_management(alg, enc, key) {
        return Err("the key does not fit the algorithm");
    }
    let mut header_members = Map::new();
    let fresh = || ecdh::random_key(enc.key_len());
    let (cek, encrypted_key) = match (alg, key) {
        (Dir, Key::Oct(k)) => (expect_len(Zeroizing::new(k.to_vec()), enc)?, Vec::new()),
        (A128Kw | A192Kw | A256Kw, Key::Oct(k)) => {
            let cek = fresh()?;
            let wrapped = aeskw::wrap(k, &cek)?;
            (cek, wrapped)
        }
        (A128GcmKw | A192GcmKw | A256GcmKw, Key::Oct(k)) => {
            let cek = fresh()?;
            let sealed = aesgcmkw::wrap(k, &cek)?;
            header_members.insert("iv".into(), Value::from(b64::encode(&sealed.iv)));
            header_members.insert("tag".into(), Value::from(b64::encode(&sealed.tag)));
            (cek, sealed.ciphertext)
        }
        (RsaOaep | RsaOaep256 | RsaOaep384 | RsaOaep512, Key::Rsa(k)) => {
            let public = match k {
                RsaKey::Private(p) => p.as_public_key(),
                RsaKey::Public(p) => p,
            };
            let cek = fresh()?;
            let wrapped = rsaoaep::wrap(alg, public, &cek)?;
            (cek, wrapped)
        }
        (EcdhEs | EcdhEsA128Kw | EcdhEsA192Kw | EcdhEsA256Kw, _) => {
            let peer = ecdh::recipient_public(key)?;
            let (ephemeral, epk) = ecdh::ephemeral_for(key)?;
            let z = ecdh::agree(&ephemeral, &peer)?;
            header_members.insert("epk".into(), epk);
            if !apu.is_empty() {
                header_members.insert("apu".into(), ecdh::party_info(apu));
            }
            if !apv.is_empty() {
                header_members.insert("apv".into(), ecdh::party_info(apv));
            }
            match alg.wrap_key_len() {
                None => (
                    ecdh::concat_kdf(&z, enc.name(), apu, apv, enc.key_len())?,
                    Vec::new(),
                ),
                Some(len) => {
                    let kek = ecdh::concat_kdf(&z, alg.name(), apu, apv, len)?;
                    let cek = fresh()?;
                    let wrapped = aeskw::wrap(&kek, &cek)?;
                    (cek, wrapped)
                }
            }
        }
        _ => return Err("the key does not fit the algorithm"),
    };
    Ok(Wrapped {
        cek,
        encrypted_key,
        header_members,
    })
}
