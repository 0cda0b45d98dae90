//! Fetch sources: where a provider's `remote_jwks`, discovery document or
//! revocation list is fetched from, through which Envoy cluster, how long a
//! fetch may take, how often it is refreshed and how large an answer may be.
//!
//! The three kinds differ only in where their fields are and in their size
//! limit; [`build`] checks every field the same way for all of them.

use super::schema::{Discovery, HttpUri, RemoteJwks, Revocation};
use super::value::{self, HttpTarget};
use crate::error::ConfigError;
use std::ops::RangeInclusive;

/// Largest OpenID Connect discovery document accepted, in bytes.
pub const MAX_DISCOVERY_BYTES: usize = 64 << 10;

/// Largest JWKS accepted unless `remote_jwks.max_jwks_bytes` says otherwise,
/// in bytes; also the limit of a JWKS found by discovery.
pub const DEFAULT_MAX_JWKS_BYTES: usize = 64 << 10;

/// What `remote_jwks.max_jwks_bytes` may be.
pub const JWKS_BYTES_RANGE: RangeInclusive<usize> = 256..=4 << 20;

/// Largest fetched revocation list accepted, in bytes.
pub const MAX_REVOCATION_BYTES: usize = 4 << 20;

/// Least time between two unknown-`kid` refetches unless
/// `remote_jwks.unknown_kid_refetch_interval` says otherwise; also that of a
/// JWKS found by discovery.
pub const DEFAULT_REFETCH_INTERVAL: &str = "30s";

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

/// A configured text and the path of its field.
pub(super) struct Field<'a> {
    pub text: &'a str,
    pub path: String,
}

impl<'a> Field<'a> {
    fn at(text: &'a str, path: String) -> Self {
        Field { text, path }
    }
}

/// What every fetch source is built from.
pub(super) struct Spec<'a> {
    /// The URI to fetch ([`value::http_uri`]).
    pub uri: Field<'a>,
    /// The Envoy cluster: not empty.
    pub cluster: Field<'a>,
    /// How long a fetch may take: positive.
    pub timeout: Field<'a>,
    /// How long an answer is used: whole seconds rounded up, at least 1.
    pub cache_duration: Field<'a>,
    /// Least time between unknown-`kid` refetches, whole seconds rounded
    /// up; `None` for what is never refetched early (a revocation list).
    pub refetch_interval: Option<Field<'a>>,
    /// Largest accepted body, already checked.
    pub max_bytes: usize,
}

/// The one builder of fetch sources: every field checked the same way,
/// whichever kind of source it belongs to.
pub(super) fn build(spec: Spec<'_>) -> Result<RemoteSource, ConfigError> {
    let HttpTarget { authority, path } =
        value::http_uri(spec.uri.text).map_err(|why| ConfigError::new(spec.uri.path, why))?;
    if spec.cluster.text.is_empty() {
        return Err(ConfigError::new(
            spec.cluster.path,
            "must name an Envoy cluster",
        ));
    }
    let refetch_interval_s = match &spec.refetch_interval {
        None => 0,
        Some(f) => value::seconds_up(f.text, &f.path)?,
    };
    Ok(RemoteSource {
        cluster: spec.cluster.text.to_string(),
        authority,
        path,
        timeout_ms: value::positive_ms(spec.timeout.text, &spec.timeout.path)?,
        cache_duration_s: value::cache_seconds(
            spec.cache_duration.text,
            &spec.cache_duration.path,
        )?,
        refetch_interval_s,
        max_bytes: spec.max_bytes,
    })
}

/// `remote_jwks`, configured at `at`.
pub(super) fn remote_jwks(remote: &RemoteJwks, at: &str) -> Result<RemoteSource, ConfigError> {
    if !JWKS_BYTES_RANGE.contains(&remote.max_jwks_bytes) {
        return Err(ConfigError::new(
            format!("{at}.max_jwks_bytes"),
            format!(
                "expected {} to {}",
                JWKS_BYTES_RANGE.start(),
                JWKS_BYTES_RANGE.end()
            ),
        ));
    }
    let http = &remote.http_uri;
    build(Spec {
        uri: Field::at(&http.uri, format!("{at}.http_uri.uri")),
        cluster: Field::at(&http.cluster, format!("{at}.http_uri.cluster")),
        timeout: Field::at(&http.timeout, format!("{at}.http_uri.timeout")),
        cache_duration: Field::at(&remote.cache_duration, format!("{at}.cache_duration")),
        refetch_interval: Some(Field::at(
            &remote.unknown_kid_refetch_interval,
            format!("{at}.unknown_kid_refetch_interval"),
        )),
        max_bytes: remote.max_jwks_bytes,
    })
}

/// `discovery`, configured at `at`, of the issuer at `issuer_at`: fetches
/// `<issuer>/.well-known/openid-configuration` ([`value::discovery_url`]).
pub(super) fn discovery(
    d: &Discovery,
    issuer: &str,
    issuer_at: &str,
    at: &str,
) -> Result<RemoteSource, ConfigError> {
    let url = value::discovery_url(issuer).map_err(|why| {
        ConfigError::new(
            issuer_at,
            format!("discovery needs an http(s) issuer URL: {why}"),
        )
    })?;
    build(Spec {
        uri: Field::at(&url, issuer_at.to_string()),
        cluster: Field::at(&d.cluster, format!("{at}.cluster")),
        timeout: Field::at(&d.timeout, format!("{at}.timeout")),
        cache_duration: Field::at(&d.cache_duration, format!("{at}.cache_duration")),
        refetch_interval: Some(Field::at(DEFAULT_REFETCH_INTERVAL, at.to_string())),
        max_bytes: MAX_DISCOVERY_BYTES,
    })
}

/// The JWKS a discovery document names at `jwks_uri`, fetched like the
/// document (cluster, timeout, refresh) with a JWKS's size limit.
pub fn discovered_jwks(
    discovery: &RemoteSource,
    jwks_uri: &str,
) -> Result<RemoteSource, &'static str> {
    let HttpTarget { authority, path } = value::http_uri(jwks_uri)?;
    Ok(RemoteSource {
        authority,
        path,
        max_bytes: DEFAULT_MAX_JWKS_BYTES,
        ..discovery.clone()
    })
}

/// A fetched revocation list: `revocation` at `at`, fetched from `http`.
pub(super) fn revocation(
    r: &Revocation,
    http: &HttpUri,
    at: &str,
) -> Result<RemoteSource, ConfigError> {
    build(Spec {
        uri: Field::at(&http.uri, format!("{at}.http_uri.uri")),
        cluster: Field::at(&http.cluster, format!("{at}.http_uri.cluster")),
        timeout: Field::at(&http.timeout, format!("{at}.http_uri.timeout")),
        cache_duration: Field::at(&r.cache_duration, format!("{at}.cache_duration")),
        refetch_interval: None,
        max_bytes: MAX_REVOCATION_BYTES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(uri: &'a str, cluster: &'a str, timeout: &'a str, cache: &'a str) -> Spec<'a> {
        Spec {
            uri: Field::at(uri, "u".into()),
            cluster: Field::at(cluster, "c".into()),
            timeout: Field::at(timeout, "t".into()),
            cache_duration: Field::at(cache, "d".into()),
            refetch_interval: Some(Field::at("1.5s", "r".into())),
            max_bytes: 7,
        }
    }

    #[test]
    fn build_checks_every_field_and_names_it() {
        let ok = build(spec("http://h:1/p?q", "idp", "0.25s", "0.5s")).unwrap();
        assert_eq!(
            ok,
            RemoteSource {
                cluster: "idp".into(),
                authority: "h:1".into(),
                path: "/p?q".into(),
                timeout_ms: 250,
                cache_duration_s: 1,
                refetch_interval_s: 2,
                max_bytes: 7,
            }
        );
        let path = |s: Spec<'_>| build(s).unwrap_err().path;
        assert_eq!(path(spec("h/p", "idp", "1s", "1s")), "u");
        assert_eq!(path(spec("http://h/p", "", "1s", "1s")), "c");
        assert_eq!(path(spec("http://h/p", "idp", "0s", "1s")), "t");
        assert_eq!(path(spec("http://h/p", "idp", "1", "1s")), "t");
        assert_eq!(path(spec("http://h/p", "idp", "1s", "1m")), "d");
        let mut bad_interval = spec("http://h/p", "idp", "1s", "1s");
        bad_interval.refetch_interval = Some(Field::at("soon", "r".into()));
        assert_eq!(path(bad_interval), "r");
        let mut never = spec("http://h/p", "idp", "1s", "1s");
        never.refetch_interval = None;
        assert_eq!(build(never).unwrap().refetch_interval_s, 0);
    }

    #[test]
    fn a_discovered_jwks_keeps_the_discovery_settings_but_its_own_limit() {
        let d = build(spec("http://h/.well-known/x", "idp", "2s", "60s")).unwrap();
        let jwks = discovered_jwks(&d, "https://keys.h:8443/certs").unwrap();
        assert_eq!(
            (jwks.authority.as_str(), jwks.path.as_str()),
            ("keys.h:8443", "/certs")
        );
        assert_eq!(jwks.max_bytes, DEFAULT_MAX_JWKS_BYTES);
        assert_eq!(
            (
                jwks.cluster.as_str(),
                jwks.timeout_ms,
                jwks.cache_duration_s
            ),
            ("idp", 2000, 60)
        );
        assert!(discovered_jwks(&d, "https://keys.h/my certs").is_err());
    }
}
