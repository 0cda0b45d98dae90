//! The second nesting order, encrypt-then-sign (RFC 7519 §5.2): a compact
//! JWS whose header says `cty: JWT` and whose payload is the compact
//! serialization of a JWE, whose plaintext is the claims. A provider
//! accepts it only when its `nesting` lists `encrypt_then_sign`.
//!
//! Everything that needs no key is checked first (the JWS header and its
//! allow-list, `cty`, the payload's shape, the inner JWE's header and
//! allow-lists); then the outer signature, with the keys of the one
//! provider the header selects, metered by the cold-path budget; only a
//! token whose signature verified is decrypted. A forged token therefore
//! costs one signature check (or a few, bounded as for the other order),
//! never a private-key operation.
//!
//! Which provider's keys verify: with one provider that accepts
//! encrypt-then-sign, its keys (by `kid` as usual, [`fit::candidates`]).
//! With several, the outer header must carry a `kid` that exactly one of
//! them has among its keys; none, or more than one, fails closed. Then the
//! decrypted claims' `iss` must be that same provider's issuer.
//!
//! Depth is bounded at two: the inner JWE's `cty` must not be `JWT` (that
//! would be a third level), and its plaintext must be a JSON object.
//!
//! [`fit::candidates`]: crate::jose::fit::candidates

use crate::admission::Gate;
use crate::config::{CompiledConfig, Provider};
use crate::decrypt;
use crate::error::Reason;
use crate::fetch_schedule::KeySource;
use crate::jose::header::JwsHeader;
use crate::jose::json;
use crate::verify::{self, Failure, VerifiedJws, NO_KEY_FITS};

/// True when `token` takes this order's path: it has the shape of a
/// compact JWS (three segments) and some provider accepts
/// encrypt-then-sign. Otherwise the token goes the other way, where a
/// plain JWS is refused as it always was.
pub fn applies(token: &str, config: &CompiledConfig) -> bool {
    token.len() <= config.max_token_bytes
        && decrypt::segment_count(token) == 3
        && config
            .providers_nesting(|n| n.encrypt_then_sign)
            .next()
            .is_some()
}

/// True when a `cty` or `typ` value names a JWT (`JWT`, any case, with or
/// without `application/`).
fn names_jwt(value: Option<&str>) -> bool {
    value.is_some_and(|v| crate::config::compile::normalise_typ(v) == "jwt")
}

/// Verify the outer JWS of `token`, then decrypt its payload; returns the
/// verified claims with the outer header, or why not (with the outer
/// header when it was parsed).
pub fn verify<'c>(
    token: &str,
    config: &'c CompiledConfig,
    keys: &'c dyn KeySource,
    gate: &mut dyn Gate,
) -> Result<VerifiedJws<'c>, (Failure, Option<JwsHeader>)> {
    let outer = verify::parse_jws(token, &config.signature).map_err(|r| (r.into(), None))?;
    let header = outer.header.clone();
    let fail = |reason: Reason, provider: Option<usize>| {
        (Failure { reason, provider }, Some(header.clone()))
    };
    if !names_jwt(outer.header.cty.as_deref()) {
        // Without `cty: JWT` this is a plain signed JWT, which is refused
        // whatever nesting says: the token must be encrypted.
        return Err(fail(
            Reason::Refused("plain JWS bearer: the token must be encrypted"),
            None,
        ));
    }
    let payload = std::str::from_utf8(&outer.payload)
        .map_err(|_| fail(Reason::Malformed("outer JWS payload is not UTF-8"), None))?;
    match decrypt::segment_count(payload) {
        5 => {}
        3 => return Err(fail(Reason::Refused("JWS inside a JWS"), None)),
        _ => {
            return Err(fail(
                Reason::Malformed("outer JWS payload is not a compact JWE"),
                None,
            ))
        }
    }
    let inner = decrypt::parse(payload, config).map_err(|r| fail(r, None))?;
    if names_jwt(inner.header.cty.as_deref()) {
        return Err(fail(
            Reason::Refused("a third level of nesting (inner JWE with cty JWT)"),
            None,
        ));
    }
    // The key-free checks are done: now the signature, then decryption.
    let signer = signer(&outer.header, config, keys).map_err(|f| fail(f.reason, f.provider))?;
    let signer_keys = keys
        .keys_for(signer)
        .ok_or_else(|| fail(Reason::KeysUnavailable, Some(signer.index)))?;
    verify::check_signature_with(&outer, signer_keys, gate)
        .map_err(|r| fail(r, Some(signer.index)))?;
    let plaintext = decrypt::plaintext_with(&inner, &config.decryption_keys, gate)
        .map_err(|r| fail(r, Some(signer.index)))?;
    let claims = json::parse_object(&plaintext).ok_or_else(|| {
        fail(
            Reason::Malformed("claims are not a strict JSON object"),
            Some(signer.index),
        )
    })?;
    let issuer = match claims.get("iss") {
        Some(serde_json::Value::String(iss)) => config.provider_for_issuer(iss),
        _ => None,
    };
    match issuer {
        None => Err(fail(Reason::Issuer, Some(signer.index))),
        Some(p) if p.index != signer.index => Err(fail(
            Reason::Nesting("iss is not the provider whose key signed the outer JWS"),
            Some(signer.index),
        )),
        Some(_) => Ok(VerifiedJws {
            provider: signer,
            header: Some(header),
            claims,
            jws: None,
        }),
    }
}

/// The provider whose keys verify an outer JWS with this header (see the
/// module documentation). A provider whose keys have not arrived yet is
/// waited for when it is the only one that could be meant.
fn signer<'c>(
    header: &JwsHeader,
    config: &'c CompiledConfig,
    keys: &'c dyn KeySource,
) -> Result<&'c Provider, Failure> {
    let mut accepting = config.providers_nesting(|n| n.encrypt_then_sign);
    let (Some(first), None) = (accepting.next(), accepting.next()) else {
        return signer_by_kid(header, config, keys);
    };
    Ok(first)
}

/// Of several providers that accept encrypt-then-sign, the one with a key
/// of the header's exact `kid`.
fn signer_by_kid<'c>(
    header: &JwsHeader,
    config: &'c CompiledConfig,
    keys: &'c dyn KeySource,
) -> Result<&'c Provider, Failure> {
    let Some(kid) = header.kid.as_deref() else {
        return Err(Reason::Nesting(
            "outer JWS without kid, and several providers accept encrypt_then_sign",
        )
        .into());
    };
    let mut found: Option<&Provider> = None;
    let mut unavailable: Option<usize> = None;
    for provider in config.providers_nesting(|n| n.encrypt_then_sign) {
        match keys.keys_for(provider) {
            None => {
                unavailable.get_or_insert(provider.index);
            }
            Some(set) if set.iter().any(|k| k.kid.as_deref() == Some(kid)) => {
                if found.is_some() {
                    return Err(Reason::Nesting(
                        "outer JWS kid is a key of several providers that accept encrypt_then_sign",
                    )
                    .into());
                }
                found = Some(provider);
            }
            Some(_) => {}
        }
    }
    match (found, unavailable) {
        (Some(p), _) => Ok(p),
        (None, Some(waiting)) => Err(Failure {
            reason: Reason::KeysUnavailable,
            provider: Some(waiting),
        }),
        (None, None) => Err(NO_KEY_FITS.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::names_jwt;

    #[test]
    fn cty_jwt_is_recognised_as_media_types_are_compared() {
        for yes in ["JWT", "jwt", "application/jwt", "Application/JWT"] {
            assert!(names_jwt(Some(yes)), "{yes}");
        }
        for no in [None, Some(""), Some("JWE"), Some("at+jwt"), Some("JWT ")] {
            assert!(!names_jwt(no), "{no:?}");
        }
    }
}
