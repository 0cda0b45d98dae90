//! Step 2: decrypt the outer JWE.
//!
//! The token must be a compact JWE (five segments). Its protected header is
//! parsed strictly and refused algorithms fail here, before any key is
//! touched. Candidate keys are chosen by `kid` and by what the token needs
//! (at most [`MAX_KEY_ATTEMPTS`], and one RSA key); for each, the CEK is unwrapped and, if unwrapping
//! fails for any reason, a random CEK is used instead (RFC 7516 §11.5), so
//! every failure takes the same path and ends at the content tag check.
//!
//! The plaintext must be a compact JWS (the nested JWT). A JWE inside a JWE is
//! refused; claims JSON without a signature is accepted only when the
//! configuration says `require_signature: false`.

use crate::admission::{self, Gate, Unmetered};
use crate::config::CompiledConfig;
use crate::error::Reason;
use crate::jose::header::JweHeader;
use crate::jose::jwe::{content, keymgmt};
use crate::jose::jwk::Jwk;
use crate::jose::{b64, fit, json, random};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// Most keys tried for one token: bounds the work an attacker can cause by
/// omitting `kid`. Only keys that fit the token count, so for ECDH-ES these
/// are keys on the `epk`'s curve (which of several fits cannot be told
/// without trying).
pub const MAX_KEY_ATTEMPTS: usize = 4;

/// Most RSA private-key operations for one token: one, of at most
/// [`MAX_RSA_DECRYPTION_BITS`](crate::jose::jwk::MAX_RSA_DECRYPTION_BITS).
/// With several RSA decryption keys of the same size, a token without `kid`
/// is tried only with the first of them: issuers must send `kid`.
pub const MAX_RSA_ATTEMPTS: usize = 1;

/// The one reason for a token that no candidate key opens, whether the key
/// unwrap or the content tag failed: a log that told them apart would be an
/// RSA-OAEP padding-validity oracle.
pub const DECRYPTION_FAILED: Reason = Reason::Decrypt("decryption failed");

/// What the JWE contained.
#[derive(Debug)]
pub enum Inner {
    /// A compact JWS: the nested, signed JWT.
    Jws(String),
    /// Claims JSON without a signature (only with `require_signature: false`).
    Claims(Map<String, Value>),
}

/// A decrypted JWE.
#[derive(Debug)]
pub struct Decrypted {
    /// The outer protected header.
    pub header: JweHeader,
    /// The plaintext, classified.
    pub inner: Inner,
}

/// The five segments of a compact JWE, as text.
struct Segments<'a> {
    header: &'a str,
    encrypted_key: &'a str,
    iv: &'a str,
    ciphertext: &'a str,
    tag: &'a str,
}

fn split(token: &str) -> Result<Segments<'_>, Reason> {
    let mut parts = token.split('.');
    let mut next = || {
        parts
            .next()
            .ok_or(Reason::Malformed("wrong number of segments"))
    };
    let segments = Segments {
        header: next()?,
        encrypted_key: next()?,
        iv: next()?,
        ciphertext: next()?,
        tag: next()?,
    };
    if parts.next().is_some() {
        return Err(Reason::Malformed("wrong number of segments"));
    }
    Ok(segments)
}

fn decode(segment: &str) -> Result<Vec<u8>, Reason> {
    b64::decode(segment.as_bytes()).ok_or(Reason::Malformed("segment is not base64url"))
}

/// The shape of a token, by its number of dots, so a plain JWS is named as
/// such rather than as a malformed JWE.
pub(crate) fn segment_count(token: &str) -> usize {
    token
        .bytes()
        .filter(|&b| b == b'.')
        .count()
        .saturating_add(1)
}

/// A compact JWE whose header is parsed and allowed, and whose segments are
/// decoded: everything that can be checked before touching a key.
#[derive(Debug)]
pub struct Parsed<'t> {
    /// The protected header.
    pub header: JweHeader,
    /// The encoded protected header: the AAD (RFC 7516 §5.2 step 14).
    aad: &'t str,
    encrypted_key: Vec<u8>,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

/// Check the token's size and shape, parse its header, apply the allow-lists
/// and decode its segments.
pub fn parse<'t>(token: &'t str, config: &CompiledConfig) -> Result<Parsed<'t>, Reason> {
    if token.len() > config.max_token_bytes {
        return Err(Reason::TooLarge);
    }
    match segment_count(token) {
        5 => {}
        3 => {
            return Err(Reason::Refused(
                "plain JWS bearer: the token must be encrypted",
            ))
        }
        _ => return Err(Reason::Malformed("wrong number of segments")),
    }
    let segments = split(token)?;
    let header = JweHeader::parse(&decode(segments.header)?)?;
    if !config.key_management.contains(&header.alg) {
        return Err(Reason::Refused("JWE alg not in the allow-list"));
    }
    if !config.content_encryption.contains(&header.enc) {
        return Err(Reason::Refused("JWE enc not in the allow-list"));
    }
    Ok(Parsed {
        encrypted_key: decode(segments.encrypted_key)?,
        iv: decode(segments.iv)?,
        ciphertext: decode(segments.ciphertext)?,
        tag: decode(segments.tag)?,
        aad: segments.header,
        header,
    })
}

/// Decrypt a parsed JWE with the configured keys and classify its content.
/// The private-key work the candidate keys will cost is asked of `gate`
/// first ([`admission::decrypt_units`]); a token no key fits asks nothing.
pub fn open(
    parsed: Parsed<'_>,
    config: &CompiledConfig,
    gate: &mut dyn Gate,
) -> Result<Decrypted, Reason> {
    let plaintext = plaintext_with(&parsed, &config.decryption_keys, gate)?;
    Ok(Decrypted {
        inner: classify(&plaintext, config)?,
        header: parsed.header,
    })
}

/// Decrypt a parsed JWE with `keys`, returning the raw plaintext.
///
/// Each candidate key is tried in turn; a failed unwrap continues with a
/// random CEK, so the only observable failure is the content tag check, and
/// every failure is [`DECRYPTION_FAILED`].
pub fn plaintext(parsed: &Parsed<'_>, keys: &[Jwk]) -> Result<Zeroizing<Vec<u8>>, Reason> {
    plaintext_with(parsed, keys, &mut Unmetered)
}

/// [`plaintext`], asking `gate` for the candidates' work before any key is
/// used.
pub(crate) fn plaintext_with(
    parsed: &Parsed<'_>,
    keys: &[Jwk],
    gate: &mut dyn Gate,
) -> Result<Zeroizing<Vec<u8>>, Reason> {
    let header = &parsed.header;
    let candidates = candidates(header, parsed.encrypted_key.len(), keys);
    if candidates.is_empty() {
        return Err(Reason::Decrypt("no decryption key fits kid and alg"));
    }
    let work = candidates
        .iter()
        .map(|k| admission::decrypt_units(admission::key_work(&k.key)))
        .fold(0u64, u64::saturating_add);
    gate.admit(work).map_err(Reason::Overloaded)?;
    let opened = open_with(parsed, &candidates);
    gate.done();
    opened
}

/// Try each candidate key in turn (see [`plaintext`]).
fn open_with(parsed: &Parsed<'_>, candidates: &[&Jwk]) -> Result<Zeroizing<Vec<u8>>, Reason> {
    let header = &parsed.header;
    // Drawn before any key is used, so that even a failing random source
    // cannot tell a failed unwrap from a good one.
    let substitute = random_cek(header.enc.key_len())?;
    for key in candidates {
        // A failed unwrap is not told apart from a failed tag: the CEK is
        // replaced and the content check fails like any other, and the one
        // detail below is all a log or the CLI ever sees.
        let unwrapped = keymgmt::unwrap_cek(header, &key.key, &parsed.encrypted_key).ok();
        let cek = unwrapped.as_ref().unwrap_or(&substitute);
        let opened = content::decrypt(
            header.enc,
            cek,
            &parsed.iv,
            parsed.aad.as_bytes(),
            &parsed.ciphertext,
            &parsed.tag,
        );
        if let Ok(plaintext) = opened {
            return Ok(plaintext);
        }
    }
    Err(DECRYPTION_FAILED)
}

/// [`parse`] then [`open`], unmetered.
pub fn decrypt(token: &str, config: &CompiledConfig) -> Result<Decrypted, Reason> {
    open(parse(token, config)?, config, &mut Unmetered)
}

/// Keys that may decrypt this token, in the order they are tried
/// ([`fit::candidates`]: by `kid`, bounded). Each must fit the token
/// ([`fit::decryption`]: the `epk`'s curve, the key length `alg` or `enc`
/// needs, an RSA modulus as long as the encrypted key) and have JWK
/// metadata that permits it. At most [`MAX_RSA_ATTEMPTS`] for RSA-OAEP and
/// [`MAX_KEY_ATTEMPTS`] otherwise, which bounds the private-key work one
/// token can cause.
fn candidates<'a>(header: &JweHeader, encrypted_key_len: usize, keys: &'a [Jwk]) -> Vec<&'a Jwk> {
    let limit = if fit::is_rsa_decryption(header.alg) {
        MAX_RSA_ATTEMPTS
    } else {
        MAX_KEY_ATTEMPTS
    };
    let fits = |k: &Jwk| {
        k.permits_decryption(header.alg, header.enc)
            && fit::decryption(header, encrypted_key_len, &k.key)
    };
    fit::candidates(keys, header.kid.as_deref(), fits, limit)
}

fn random_cek(len: usize) -> Result<Zeroizing<Vec<u8>>, Reason> {
    let mut cek = Zeroizing::new(vec![0u8; len]);
    random::fill(&mut cek).map_err(|_| Reason::Decrypt("no randomness for the substitute CEK"))?;
    Ok(cek)
}

/// Classify the plaintext: a compact JWS, a nested JWE (refused), or claims.
fn classify(plaintext: &[u8], config: &CompiledConfig) -> Result<Inner, Reason> {
    let text =
        std::str::from_utf8(plaintext).map_err(|_| Reason::Malformed("plaintext is not UTF-8"))?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.starts_with('{') {
        if config.require_signature {
            return Err(Reason::Refused("unsigned JWE (claims without a JWS)"));
        }
        return json::parse_object(text.as_bytes())
            .map(Inner::Claims)
            .ok_or(Reason::Malformed("claims are not a strict JSON object"));
    }
    match segment_count(text) {
        3 => Ok(Inner::Jws(text.to_string())),
        5 => Err(Reason::Refused("JWE inside a JWE")),
        _ => Err(Reason::Malformed("plaintext is neither a JWS nor claims")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::jwk::{generate, public_jwk, KeyType};
    use serde_json::json;

    fn keys(kinds: &[KeyType]) -> Vec<Jwk> {
        kinds
            .iter()
            .map(|&k| Jwk::bare(generate(k).unwrap()))
            .collect()
    }

    fn header(value: serde_json::Value) -> JweHeader {
        JweHeader::parse(value.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn ecdh_candidates_are_on_the_epk_curve_and_bounded() {
        let mut kinds = vec![KeyType::X25519, KeyType::P384, KeyType::P521];
        kinds.extend([KeyType::P256; 6]);
        let keys = keys(&kinds);
        let epk = public_jwk(&Jwk::bare(generate(KeyType::P256).unwrap())).unwrap();
        let h = header(json!({"alg": "ECDH-ES", "enc": "A128GCM", "epk": epk}));
        let found = candidates(&h, 0, &keys);
        assert_eq!(found.len(), MAX_KEY_ATTEMPTS);
        assert!(found
            .iter()
            .all(|k| fit::curve(&k.key) == Some(fit::Curve::P256)));
    }

    #[test]
    fn one_rsa_candidate_of_the_encrypted_key_length() {
        let keys = keys(&[
            KeyType::Rsa { bits: 2048 },
            KeyType::Rsa { bits: 2048 },
            KeyType::Rsa { bits: 3072 },
        ]);
        let h = header(json!({"alg": "RSA-OAEP-256", "enc": "A128GCM"}));
        let found = candidates(&h, 256, &keys);
        assert_eq!(found.len(), MAX_RSA_ATTEMPTS);
        assert!(std::ptr::eq(found[0], &keys[0]));
        let found = candidates(&h, 384, &keys);
        assert_eq!(found.len(), 1);
        assert!(std::ptr::eq(found[0], &keys[2]));
        assert!(candidates(&h, 300, &keys).is_empty(), "no modulus fits");
    }

    #[test]
    fn symmetric_candidates_have_the_exact_length() {
        let keys = keys(&[
            KeyType::Oct { bytes: 32 },
            KeyType::Oct { bytes: 16 },
            KeyType::Oct { bytes: 24 },
        ]);
        let kw = header(json!({"alg": "A192KW", "enc": "A128GCM"}));
        assert!(matches!(&candidates(&kw, 24, &keys)[..], [k] if std::ptr::eq(*k, &keys[2])));
        let dir = header(json!({"alg": "dir", "enc": "A128GCM"}));
        assert!(matches!(&candidates(&dir, 0, &keys)[..], [k] if std::ptr::eq(*k, &keys[1])));
    }
}
