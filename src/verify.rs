//! Step 3: verify the inner JWS with the issuer's keys.
//!
//! The provider is chosen by the claims' `iss` (exact match), then the
//! signature is verified with that provider's keys only: the same `kid` (or
//! a key without one), a type that fits the algorithm, and JWK metadata that
//! permits it, at most [`MAX_KEY_ATTEMPTS`](crate::decrypt::MAX_KEY_ATTEMPTS)
//! keys. HMAC algorithms only ever fit `oct` keys, which is what defeats alg
//! confusion.

use crate::admission::{self, Gate, Unmetered};
use crate::config::{CompiledConfig, Provider};
use crate::decrypt::{Inner, MAX_KEY_ATTEMPTS};
use crate::error::Reason;
use crate::fetch_schedule::KeySource;
use crate::jose::header::JwsHeader;
use crate::jose::jwk::{Jwk, Purpose};
use crate::jose::{b64, fit, json, jws};
use serde_json::{Map, Value};

/// A verified inner token.
#[derive(Debug)]
pub struct VerifiedJws<'c> {
    /// The provider that issued it.
    pub provider: &'c Provider,
    /// The inner JWS header (`None` for an unsigned token).
    pub header: Option<JwsHeader>,
    /// The claims.
    pub claims: Map<String, Value>,
    /// The still-signed inner JWT, for forwarding.
    pub jws: Option<String>,
}

/// The reason for a `kid` (or algorithm) that matches none of the issuer's
/// keys: with `remote_jwks`, a hint that the keys rotated.
pub const NO_KEY_FITS: Reason = Reason::Signature("no verification key fits kid and alg");

/// A verification failure: the reason, and the provider once `iss` named one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: Reason,
    pub provider: Option<usize>,
}

impl From<Reason> for Failure {
    fn from(reason: Reason) -> Self {
        Failure {
            reason,
            provider: None,
        }
    }
}

/// Verify the decrypted content and find its provider; the signature work
/// is asked of `gate` first.
pub fn verify<'c>(
    inner: Inner,
    config: &'c CompiledConfig,
    keys: &'c dyn KeySource,
    gate: &mut dyn Gate,
) -> Result<VerifiedJws<'c>, Failure> {
    match inner {
        Inner::Claims(claims) => {
            let provider = provider_for(&claims, config)?;
            Ok(VerifiedJws {
                provider,
                header: None,
                claims,
                jws: None,
            })
        }
        Inner::Jws(compact) => verify_jws(compact, config, keys, gate),
    }
}

fn provider_for<'c>(
    claims: &Map<String, Value>,
    config: &'c CompiledConfig,
) -> Result<&'c Provider, Reason> {
    match claims.get("iss") {
        Some(Value::String(iss)) => config.provider_for_issuer(iss).ok_or(Reason::Issuer),
        _ => Err(Reason::Issuer),
    }
}

/// A compact JWS split and decoded (strict base64url, strict JSON header),
/// not yet verified.
#[derive(Debug)]
pub struct ParsedJws<'t> {
    pub header: JwsHeader,
    /// The decoded payload.
    pub payload: Vec<u8>,
    signature: Vec<u8>,
    /// `header.payload`, exactly as signed.
    signing_input: &'t [u8],
}

/// Split and decode a compact JWS; `alg` must be in `allowed`.
pub fn parse_jws<'t>(
    compact: &'t str,
    allowed: &std::collections::BTreeSet<crate::jose::alg::SignatureAlg>,
) -> Result<ParsedJws<'t>, Reason> {
    let mut parts = compact.splitn(3, '.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(Reason::Malformed("inner JWS: wrong number of segments"));
    };
    if signature_b64.contains('.') {
        return Err(Reason::Malformed("inner JWS: wrong number of segments"));
    }
    let header_bytes = b64::decode(header_b64.as_bytes())
        .ok_or(Reason::Malformed("inner JWS header is not base64url"))?;
    let header = JwsHeader::parse(&header_bytes)?;
    if !allowed.contains(&header.alg) {
        return Err(Reason::Refused("JWS alg not in the allow-list"));
    }
    let payload = b64::decode(payload_b64.as_bytes())
        .ok_or(Reason::Malformed("inner JWS payload is not base64url"))?;
    let signature = b64::decode(signature_b64.as_bytes())
        .ok_or(Reason::Malformed("inner JWS signature is not base64url"))?;
    let signing_input_len = header_b64
        .len()
        .saturating_add(1)
        .saturating_add(payload_b64.len());
    let signing_input = compact
        .as_bytes()
        .get(..signing_input_len)
        .ok_or(Reason::Malformed("inner JWS"))?;
    Ok(ParsedJws {
        header,
        payload,
        signature,
        signing_input,
    })
}

/// Verify a parsed JWS against `keys`: the keys the header's `kid` selects
/// ([`fit::candidates`]: that `kid`'s first, then keys without one) whose
/// metadata permits the algorithm and whose type fits it, at most
/// [`MAX_KEY_ATTEMPTS`]. [`NO_KEY_FITS`] when none qualifies.
pub fn check_signature(parsed: &ParsedJws<'_>, keys: &[Jwk]) -> Result<(), Reason> {
    check_signature_with(parsed, keys, &mut Unmetered)
}

/// [`check_signature`], asking `gate` for the candidates' work
/// ([`admission::verify_units`]) before any signature is checked.
pub(crate) fn check_signature_with(
    parsed: &ParsedJws<'_>,
    keys: &[Jwk],
    gate: &mut dyn Gate,
) -> Result<(), Reason> {
    let header = &parsed.header;
    let fits = |k: &Jwk| {
        k.permits(header.alg.name(), Purpose::Verify) && fit::signature(header.alg, &k.key)
    };
    let candidates = fit::candidates(keys, header.kid.as_deref(), fits, MAX_KEY_ATTEMPTS);
    if candidates.is_empty() {
        return Err(NO_KEY_FITS);
    }
    let work = candidates
        .iter()
        .map(|k| admission::verify_units(header.alg, &k.key))
        .fold(0u64, u64::saturating_add);
    gate.admit(work).map_err(Reason::Overloaded)?;
    let host = gate.host_verify();
    let verified = candidates.iter().any(|k| {
        jws::verify_with(
            header.alg,
            &k.key,
            parsed.signing_input,
            &parsed.signature,
            host,
        )
    });
    gate.done();
    if verified {
        Ok(())
    } else {
        Err(Reason::Signature("signature does not verify"))
    }
}

fn verify_jws<'c>(
    compact: String,
    config: &'c CompiledConfig,
    keys: &'c dyn KeySource,
    gate: &mut dyn Gate,
) -> Result<VerifiedJws<'c>, Failure> {
    let parsed = parse_jws(&compact, &config.signature)?;
    let claims = json::parse_object(&parsed.payload)
        .ok_or(Reason::Malformed("claims are not a strict JSON object"))?;
    let provider = provider_for(&claims, config)?;
    let failure = |reason| Failure {
        reason,
        provider: Some(provider.index),
    };
    let provider_keys = keys
        .keys_for(provider)
        .ok_or_else(|| failure(Reason::KeysUnavailable))?;
    check_signature_with(&parsed, provider_keys, gate).map_err(failure)?;
    let header = parsed.header;
    Ok(VerifiedJws {
        provider,
        header: Some(header),
        claims,
        jws: Some(compact),
    })
}
