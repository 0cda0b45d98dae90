//! The whole token path as one function: decrypt → verify → validate
//! (or, for a token signed outside, [`nesting`]: verify → decrypt →
//! validate).
//!
//! [`verify_token`] is what the filter runs for every token that is not in
//! the cache, and what `jwe-authn verify` runs: one implementation, so the
//! CLI answers exactly as the filter would.

use crate::admission::{Gate, Unmetered};
use crate::config::CompiledConfig;
use crate::error::Reason;
use crate::fetch_schedule::KeySource;
use crate::jose::header::JwsHeader;
use crate::verify::VerifiedJws;
use crate::{decrypt, nesting, validate, verify};
use serde_json::{Map, Value};

/// An accepted token.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The configuration name of the provider that issued it.
    pub provider: String,
    /// That provider's [`Provider::index`](crate::config::Provider::index).
    pub provider_index: usize,
    /// The verified claims.
    pub claims: Map<String, Value>,
    /// The still-signed inner JWT (absent for unsigned tokens).
    pub jws: Option<String>,
    /// `exp`, in whole seconds, when present.
    pub expires_at: Option<u64>,
}

/// A rejected token: the precise reason plus the header facts that are safe
/// to log (`kid` sanitised and truncated, `alg` from our own enum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Why.
    pub reason: Reason,
    /// The outer `kid`, printable ASCII only, at most 64 characters.
    pub kid: Option<String>,
    /// The outer `alg`, when it was one we know.
    pub alg: Option<&'static str>,
    /// The provider named by the token's `iss`, once known (its index).
    pub provider: Option<usize>,
}

impl From<Reason> for Rejected {
    fn from(reason: Reason) -> Self {
        Rejected {
            reason,
            kid: None,
            alg: None,
            provider: None,
        }
    }
}

/// Decrypt, verify and validate `token` at time `now` (seconds since the
/// epoch), with the configured `local_jwks` (what the CLI has).
pub fn verify_token(token: &str, now: u64, config: &CompiledConfig) -> Result<Accepted, Rejected> {
    verify_token_with(
        token,
        now,
        config,
        &crate::fetch_schedule::LocalKeys,
        &mut Unmetered,
    )
}

/// [`verify_token`] with verification keys from `keys` (the filter passes
/// its store of fetched `remote_jwks`), asking `gate` before each piece of
/// expensive work (the filter passes the worker's cold-path budget,
/// [`crate::admission`]).
pub fn verify_token_with(
    token: &str,
    now: u64,
    config: &CompiledConfig,
    keys: &dyn KeySource,
    gate: &mut dyn Gate,
) -> Result<Accepted, Rejected> {
    let (verified, outer) = if nesting::applies(token, config) {
        encrypt_then_sign(token, config, keys, gate)?
    } else {
        sign_then_encrypt(token, config, keys, gate)?
    };
    validate::validate(&verified, now, config).map_err(|r| outer.reject(r, None))?;
    if verified.provider.is_revoked(&verified.claims) {
        return Err(outer.reject(Reason::Revoked, None));
    }
    let expires_at = verified
        .claims
        .get("exp")
        .and_then(Value::as_f64)
        .filter(|e| *e >= 0.0)
        .map(|e| e as u64);
    Ok(Accepted {
        provider: verified.provider.name.clone(),
        provider_index: verified.provider.index,
        claims: verified.claims,
        jws: verified.jws,
        expires_at,
    })
}

/// What a rejection may log of the token's outer header.
struct Outer {
    kid: Option<String>,
    alg: Option<&'static str>,
}

impl Outer {
    fn new(kid: Option<&str>, alg: &'static str) -> Self {
        Outer {
            kid: kid.map(loggable),
            alg: Some(alg),
        }
    }

    fn reject(&self, reason: Reason, provider: Option<usize>) -> Rejected {
        Rejected {
            reason,
            kid: self.kid.clone(),
            alg: self.alg,
            provider,
        }
    }
}

/// A JWE outside, the signed JWT (or, with `require_signature: false`, the
/// claims) inside: decrypt, then verify, for a provider whose `nesting`
/// lists `sign_then_encrypt`.
fn sign_then_encrypt<'c>(
    token: &str,
    config: &'c CompiledConfig,
    keys: &'c dyn KeySource,
    gate: &mut dyn Gate,
) -> Result<(VerifiedJws<'c>, Outer), Rejected> {
    let parsed = decrypt::parse(token, config)?;
    let outer = Outer::new(parsed.header.kid.as_deref(), parsed.header.alg.name());
    if config
        .providers_nesting(|n| n.sign_then_encrypt)
        .next()
        .is_none()
    {
        // Refused before any key work: no provider takes this order.
        return Err(outer.reject(
            Reason::Nesting("no provider accepts sign_then_encrypt (a JWE outside)"),
            None,
        ));
    }
    let decrypted = decrypt::open(parsed, config, gate).map_err(|r| outer.reject(r, None))?;
    let verified = verify::verify(decrypted.inner, config, keys, gate)
        .map_err(|failure| outer.reject(failure.reason, failure.provider))?;
    if !verified.provider.nesting.sign_then_encrypt {
        return Err(outer.reject(
            Reason::Nesting("the provider does not accept sign_then_encrypt (a JWE outside)"),
            Some(verified.provider.index),
        ));
    }
    Ok((verified, outer))
}

/// A signed JWS outside, a JWE of the claims inside ([`nesting`]): verify,
/// then decrypt.
fn encrypt_then_sign<'c>(
    token: &str,
    config: &'c CompiledConfig,
    keys: &'c dyn KeySource,
    gate: &mut dyn Gate,
) -> Result<(VerifiedJws<'c>, Outer), Rejected> {
    let of = |h: Option<&JwsHeader>| match h {
        Some(h) => Outer::new(h.kid.as_deref(), h.alg.name()),
        None => Outer {
            kid: None,
            alg: None,
        },
    };
    match nesting::verify(token, config, keys, gate) {
        Ok(verified) => {
            let outer = of(verified.header.as_ref());
            Ok((verified, outer))
        }
        Err((failure, header)) => Err(of(header.as_ref()).reject(failure.reason, failure.provider)),
    }
}

/// A header value made safe for a log line: printable ASCII, at most 64 chars.
pub fn loggable(value: &str) -> String {
    value
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}
