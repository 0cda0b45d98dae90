//! Fetch sources: where a provider's `remote_jwks`, discovery document or
//! revocation list is fetched from, through which Envoy cluster, how long a
//! fetch may take, how often it is refreshed and how large an answer may be.

use super::schema::{Discovery, HttpUri, RemoteJwks, Revocation};
use super::value::{self, duration_ms, positive_ms, HttpTarget};
use crate::error::ConfigError;

/// A compiled fetch source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSource {
    /// The Envoy cluster.
    pub cluster: String,
    /// `:authority` of the request.
    pub authority: String,
    /// `:path` of the request (with query).
    pub path: String,
    /// Timeout in milliseconds.
    pub timeout_ms: u64,
    /// Keys are refreshed after this many seconds (before they expire).
    pub cache_duration_s: u64,
    /// Least seconds between unknown-`kid` refetches.
    pub refetch_interval_s: u64,
    /// Largest accepted body.
    pub max_bytes: usize,
}

/// The URI at `path`, by the one rule for fetches ([`value::http_uri`]).
fn target(uri: &str, path: &str) -> Result<HttpTarget, ConfigError> {
    value::http_uri(uri).map_err(|why| ConfigError::new(path, why))
}

/// Discovery fetches `<issuer>/.well-known/openid-configuration`;
/// `issuer_at` is the path of the issuer.
pub(super) fn discovery(
    d: &Discovery,
    issuer: &str,
    issuer_at: &str,
    path: &str,
) -> Result<RemoteSource, ConfigError> {
    let url = value::discovery_url(issuer).map_err(|why| {
        ConfigError::new(
            issuer_at,
            format!("discovery needs an http(s) issuer URL: {why}"),
        )
    })?;
    let HttpTarget {
        authority,
        path: uri_path,
    } = target(&url, issuer_at)?;
    if d.cluster.is_empty() {
        return Err(ConfigError::new(
            format!("{path}.cluster"),
            "must name an Envoy cluster",
        ));
    }
    Ok(RemoteSource {
        cluster: d.cluster.clone(),
        authority,
        path: uri_path,
        timeout_ms: positive_ms(&d.timeout, &format!("{path}.timeout"))?,
        cache_duration_s: duration_ms(&d.cache_duration, &format!("{path}.cache_duration"))?
            .div_ceil(1000)
            .max(1),
        refetch_interval_s: 30,
        max_bytes: 65536,
    })
}

pub(super) fn remote_jwks(remote: &RemoteJwks, path: &str) -> Result<RemoteSource, ConfigError> {
    let HttpTarget {
        authority,
        path: uri_path,
    } = target(&remote.http_uri.uri, &format!("{path}.http_uri.uri"))?;
    if remote.http_uri.cluster.is_empty() {
        return Err(ConfigError::new(
            format!("{path}.http_uri.cluster"),
            "must name an Envoy cluster",
        ));
    }
    let secs = |ms: u64| ms.div_ceil(1000).max(1);
    let timeout_ms = duration_ms(
        &remote.http_uri.timeout,
        &format!("{path}.http_uri.timeout"),
    )?;
    if timeout_ms == 0 {
        return Err(ConfigError::new(
            format!("{path}.http_uri.timeout"),
            "must be positive",
        ));
    }
    if !(256..=4 << 20).contains(&remote.max_jwks_bytes) {
        return Err(ConfigError::new(
            format!("{path}.max_jwks_bytes"),
            "expected 256 to 4194304",
        ));
    }
    Ok(RemoteSource {
        cluster: remote.http_uri.cluster.clone(),
        authority,
        path: uri_path,
        timeout_ms,
        cache_duration_s: secs(duration_ms(
            &remote.cache_duration,
            &format!("{path}.cache_duration"),
        )?),
        refetch_interval_s: duration_ms(
            &remote.unknown_kid_refetch_interval,
            &format!("{path}.unknown_kid_refetch_interval"),
        )? / 1000,
        max_bytes: remote.max_jwks_bytes,
    })
}

/// A fetched revocation list; `at` is the path of `revocation`.
pub(super) fn revocation(
    r: &Revocation,
    uri: &HttpUri,
    at: &str,
) -> Result<RemoteSource, ConfigError> {
    let HttpTarget {
        authority,
        path: uri_path,
    } = target(&uri.uri, &format!("{at}.http_uri.uri"))?;
    Ok(RemoteSource {
        cluster: uri.cluster.clone(),
        authority,
        path: uri_path,
        timeout_ms: positive_ms(&uri.timeout, &format!("{at}.http_uri.timeout"))?,
        cache_duration_s: duration_ms(&r.cache_duration, &format!("{at}.cache_duration"))?
            .div_ceil(1000)
            .max(1),
        refetch_interval_s: 0,
        max_bytes: 4 << 20,
    })
}
