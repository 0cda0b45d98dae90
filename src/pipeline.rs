//! The whole token path as one function: decrypt → verify → validate.
//!
//! [`verify_token`] is what the filter runs for every token that is not in
//! the cache, and what `jwe-authn verify` runs: one implementation, so the
//! CLI answers exactly as the filter would.

use crate::admission::{Gate, Unmetered};
use crate::config::CompiledConfig;
use crate::error::Reason;
use crate::fetch_schedule::KeySource;
use crate::{decrypt, validate, verify};
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
    let parsed = decrypt::parse(token, config)?;
    let kid = parsed.header.kid.as_deref().map(loggable);
    let alg = Some(parsed.header.alg.name());
    let with_header = |reason: Reason| Rejected {
        reason,
        kid: kid.clone(),
        alg,
        provider: None,
    };
    let decrypted = decrypt::open(parsed, config, gate).map_err(with_header)?;
    let verified =
        verify::verify(decrypted.inner, config, keys, gate).map_err(|failure| Rejected {
            provider: failure.provider,
            ..with_header(failure.reason)
        })?;
    validate::validate(&verified, now, config).map_err(with_header)?;
    if verified.provider.is_revoked(&verified.claims) {
        return Err(with_header(Reason::Revoked));
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

/// A header value made safe for a log line: printable ASCII, at most 64 chars.
pub fn loggable(value: &str) -> String {
    value
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}
