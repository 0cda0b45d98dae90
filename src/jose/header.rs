//! Protected headers of the outer JWE and the inner JWS.
//!
//! Parsing is ordered so that refusals cost nothing: the header JSON is parsed
//! strictly (duplicate names are an error), then `alg` is checked, and a
//! refused algorithm (`none`, `RSA1_5`, `PBES2-*`) fails before any other
//! member, such as a `p2c` iteration count, is even looked at.
//!
//! `jku`, `x5u`, `jwk` and `x5c` are never read: keys come only from
//! configuration.

use super::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use super::{b64, json, jwk};
use crate::error::Reason;
use serde_json::{Map, Value};

/// Largest accepted `apu`/`apv`, in decoded bytes.
const MAX_PARTY_INFO: usize = 1024;

/// The protected header of a compact JWE, with its values typed.
#[derive(Debug, Clone)]
pub struct JweHeader {
    pub alg: KeyManagementAlg,
    pub enc: ContentEncryptionAlg,
    pub kid: Option<String>,
    pub typ: Option<String>,
    pub cty: Option<String>,
    /// ECDH-ES ephemeral public key, validated on its curve.
    pub epk: Option<jwk::Key>,
    /// ECDH-ES `apu` (decoded), empty when absent.
    pub apu: Vec<u8>,
    /// ECDH-ES `apv` (decoded), empty when absent.
    pub apv: Vec<u8>,
    /// AES-GCMKW `iv` (decoded).
    pub iv: Option<Vec<u8>>,
    /// AES-GCMKW `tag` (decoded).
    pub tag: Option<Vec<u8>>,
}

/// The protected header of a compact JWS.
#[derive(Debug, Clone)]
pub struct JwsHeader {
    pub alg: SignatureAlg,
    pub kid: Option<String>,
    pub typ: Option<String>,
    pub cty: Option<String>,
}

fn object(bytes: &[u8]) -> Result<Map<String, Value>, Reason> {
    json::parse_object(bytes).ok_or(Reason::Malformed("header is not a strict JSON object"))
}

fn required_str<'a>(map: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, Reason> {
    match map.get(name) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(Reason::Malformed(match name {
            "alg" => "header alg missing or not a string",
            "enc" => "header enc missing or not a string",
            _ => "header member missing or not a string",
        })),
    }
}

fn optional_str(map: &Map<String, Value>, name: &str) -> Result<Option<String>, Reason> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Reason::Malformed("header member is not a string")),
    }
}

fn optional_b64(
    map: &Map<String, Value>,
    name: &str,
    max: usize,
) -> Result<Option<Vec<u8>>, Reason> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if s.len() <= max.saturating_mul(2) => b64::decode(s.as_bytes())
            .map(Some)
            .ok_or(Reason::Malformed("header member is not base64url")),
        Some(_) => Err(Reason::Malformed(
            "header member is not a bounded base64url string",
        )),
    }
}

/// Members every header may carry but that we refuse: we understand no
/// critical extension, and decompression is refused.
fn refuse_extensions(map: &Map<String, Value>) -> Result<(), Reason> {
    if map.contains_key("crit") {
        return Err(Reason::Refused(
            "crit names an extension we do not understand",
        ));
    }
    if map.contains_key("zip") {
        return Err(Reason::Refused("zip (compression) is refused"));
    }
    Ok(())
}

impl JweHeader {
    /// Parse the decoded protected header of a JWE.
    pub fn parse(bytes: &[u8]) -> Result<Self, Reason> {
        let map = object(bytes)?;
        let alg = KeyManagementAlg::parse(required_str(&map, "alg")?)?;
        let enc = ContentEncryptionAlg::parse(required_str(&map, "enc")?)?;
        refuse_extensions(&map)?;
        let epk = match (map.get("epk"), alg) {
            (Some(value), _) => Some(
                jwk::parse_public_jwk_value(value)
                    .map_err(|_| Reason::Malformed("epk is not a valid public key"))?,
            ),
            (None, KeyManagementAlg::EcdhEs)
            | (None, KeyManagementAlg::EcdhEsA128Kw)
            | (None, KeyManagementAlg::EcdhEsA192Kw)
            | (None, KeyManagementAlg::EcdhEsA256Kw) => {
                return Err(Reason::Malformed("ECDH-ES without epk"))
            }
            (None, _) => None,
        };
        Ok(JweHeader {
            alg,
            enc,
            kid: optional_str(&map, "kid")?,
            typ: optional_str(&map, "typ")?,
            cty: optional_str(&map, "cty")?,
            epk,
            apu: optional_b64(&map, "apu", MAX_PARTY_INFO)?.unwrap_or_default(),
            apv: optional_b64(&map, "apv", MAX_PARTY_INFO)?.unwrap_or_default(),
            iv: optional_b64(&map, "iv", 64)?,
            tag: optional_b64(&map, "tag", 64)?,
        })
    }
}

impl JwsHeader {
    /// Parse the decoded protected header of a JWS.
    pub fn parse(bytes: &[u8]) -> Result<Self, Reason> {
        let map = object(bytes)?;
        let alg = SignatureAlg::parse(required_str(&map, "alg")?)?;
        refuse_extensions(&map)?;
        if map.contains_key("enc") {
            return Err(Reason::Malformed("JWS header carries enc"));
        }
        Ok(JwsHeader {
            alg,
            kid: optional_str(&map, "kid")?,
            typ: optional_str(&map, "typ")?,
            cty: optional_str(&map, "cty")?,
        })
    }
}
