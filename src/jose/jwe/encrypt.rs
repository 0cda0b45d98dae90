//! Compact JWE encryption (RFC 7516 §5.1), for minting in the CLI and tests.

use super::{content, keymgmt};
use crate::jose::alg::{ContentEncryptionAlg, KeyManagementAlg};
use crate::jose::b64;
use crate::jose::jwk::Jwk;
use serde_json::{Map, Value};

/// Encrypt `plaintext` to `key` as a compact JWE. `extra` members (e.g.
/// `cty`, `typ`) are added to the protected header; `kid` comes from the key.
pub fn encrypt_compact(
    alg: KeyManagementAlg,
    enc: ContentEncryptionAlg,
    key: &Jwk,
    extra: Map<String, Value>,
    plaintext: &[u8],
) -> Result<String, &'static str> {
    let wrapped = keymgmt::wrap_cek(alg, enc, &key.key, b"", b"")?;
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(alg.name()));
    header.insert("enc".into(), Value::from(enc.name()));
    if let Some(kid) = &key.kid {
        header.insert("kid".into(), Value::from(kid.as_str()));
    }
    header.extend(extra);
    header.extend(wrapped.header_members);
    let header =
        b64::encode(&serde_json::to_vec(&header).map_err(|_| "header does not serialize")?);
    let sealed = content::encrypt(enc, &wrapped.cek, header.as_bytes(), plaintext)?;
    Ok(format!(
        "{header}.{}.{}.{}.{}",
        b64::encode(&wrapped.encrypted_key),
        b64::encode(&sealed.iv),
        b64::encode(&sealed.ciphertext),
        b64::encode(&sealed.tag)
    ))
}
