//! Step 5: the decision for one request — the core's entry point.
//!
//! [`decide`] takes what the host read (method, path, the source headers),
//! the time, the compiled configuration and the worker's cache, and returns
//! either the header changes to apply before forwarding, or the response to
//! send instead. It picks the route rule, extracts the token, serves it from
//! the cache or runs [`pipeline::verify_token`], then checks the rule's
//! provider and `required_claims`.

use crate::cache::Cache;
use crate::config::request::{CompiledRule, PathMatch, Requirement};
use crate::config::CompiledConfig;
use crate::error::Reason;
use crate::extract::{self, Request};
use crate::forward::{claim, Verified};
use crate::keystore::KeyStore;
use crate::pipeline;
use crate::verify::NO_KEY_FITS;
use serde_json::Value;
use std::rc::Rc;

pub use crate::forward::Identity;

/// Whether the cache answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// No token was verified (public route or anonymous request).
    None,
    /// This worker's cache.
    Hit,
    /// Another worker verified it (shared cache).
    SharedHit,
    /// Decrypted and verified here.
    Miss,
}

/// Forward the request, with these header changes. Borrows the
/// configuration's header names and shares the cached token's headers and
/// identity: a cache hit allocates at most the removal list.
#[derive(Debug, Clone)]
pub struct Allow<'c> {
    /// Headers to remove first (the managed headers the request carries,
    /// the token's header unless `forward`).
    pub remove: Vec<&'c str>,
    /// The verified token, when one was verified.
    pub verified: Option<Rc<Verified>>,
    /// Whether the identity goes to filter state
    /// (`identity_in_filter_state`).
    pub record_identity: bool,
    pub cache: CacheUse,
}

impl Allow<'_> {
    /// Headers to set.
    pub fn add(&self) -> &[(String, String)] {
        self.verified
            .as_deref()
            .map_or(&[], |v| v.headers.as_slice())
    }

    /// The identity to write to filter state, if configured and a token
    /// was verified.
    pub fn identity(&self) -> Option<Identity<'_>> {
        self.verified
            .as_deref()
            .filter(|_| self.record_identity)
            .map(Verified::identity)
    }
}

/// Answer the request directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    /// 401 or 403.
    pub status: u16,
    /// The `WWW-Authenticate` value.
    pub www_authenticate: String,
    /// A small JSON body.
    pub body: String,
    /// The precise reason: logs and stats only.
    pub reason: Reason,
    /// Outer `kid` (sanitised) and `alg`, for the log line.
    pub kid: Option<String>,
    pub alg: Option<&'static str>,
    pub cache: CacheUse,
}

/// The decision for a request.
#[derive(Debug, Clone)]
pub enum Decision<'c> {
    Allow(Allow<'c>),
    Deny(Deny),
    /// Hold the request until a fetch of this provider's `remote_jwks`
    /// completes (first keys, or a refetch for an unknown `kid`), then decide
    /// again; the host bounds the wait by the fetch timeout and then denies
    /// with [`Reason::KeysUnavailable`].
    Wait {
        provider: usize,
    },
}

/// Without rules, or when none matches: a valid token from any provider.
const DEFAULT_RULE: CompiledRule = CompiledRule {
    path: PathMatch::Prefix(String::new()),
    methods: Vec::new(),
    requires: Requirement::Any,
    allow_missing: false,
    required_claims: Vec::new(),
};

fn deny<'c>(
    config: &CompiledConfig,
    reason: Reason,
    kid: Option<String>,
    alg: Option<&'static str>,
    cache: CacheUse,
) -> Decision<'c> {
    let (www_authenticate, body) = match reason.bearer_error() {
        None => (
            format!("Bearer realm=\"{}\"", config.realm),
            r#"{"error":"unauthorized","error_description":"a bearer token is required"}"#,
        ),
        Some("insufficient_scope") => (
            format!(
                "Bearer realm=\"{}\", error=\"insufficient_scope\", error_description=\"the token does not grant access to this resource\"",
                config.realm
            ),
            r#"{"error":"insufficient_scope","error_description":"the token does not grant access to this resource"}"#,
        ),
        Some(_) => (
            format!(
                "Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"the access token is invalid\"",
                config.realm
            ),
            r#"{"error":"invalid_token","error_description":"the access token is invalid"}"#,
        ),
    };
    Decision::Deny(Deny {
        status: reason.status(),
        www_authenticate,
        body: body.to_string(),
        reason,
        kid,
        alg,
        cache,
    })
}

/// True when the claim at `path` holds one of `accepted`: a string equal to
/// one (or, for `scope`/`scp`, containing one as a space-separated word), or
/// an array containing one.
fn claim_matches(
    claims: &serde_json::Map<String, Value>,
    path: &[String],
    accepted: &[String],
) -> bool {
    let is_scope = matches!(path, [only] if only == "scope" || only == "scp");
    match claim(claims, path) {
        Some(Value::String(s)) if is_scope => s.split(' ').any(|w| accepted.iter().any(|a| a == w)),
        Some(Value::String(s)) => accepted.iter().any(|a| a == s),
        Some(Value::Array(items)) => items
            .iter()
            .any(|v| v.as_str().is_some_and(|s| accepted.iter().any(|a| a == s))),
        Some(Value::Bool(b)) => accepted.iter().any(|a| *a == b.to_string()),
        Some(Value::Number(n)) => accepted.iter().any(|a| *a == n.to_string()),
        _ => false,
    }
}

/// Another worker's verified outcome for this token, completed with the
/// headers this configuration forwards, and its last valid second.
fn from_shared(
    cache: &Cache,
    token: &str,
    now: u64,
    config: &CompiledConfig,
) -> Option<(Rc<Verified>, u64)> {
    let (accepted, until) = cache.get_shared(token, now)?;
    let (index, provider) = config.provider_with_index(&accepted.provider)?;
    Some((Rc::new(Verified::new(index, provider, accepted)), until))
}

/// The denial for a request whose wait for keys ran out.
pub fn keys_unavailable(config: &CompiledConfig) -> Decision<'_> {
    deny(config, Reason::KeysUnavailable, None, None, CacheUse::Miss)
}

/// The managed headers a forwarded request must lose: those this decision
/// does not set. A header it sets replaces every copy the client sent, so
/// only the others need a removal (one host call each, present or not: the
/// host reads only [`CompiledConfig::headers_read`], so presence is unknown).
fn unset_managed<'c>(config: &'c CompiledConfig, set: &[(String, String)]) -> Vec<&'c str> {
    config
        .managed_headers
        .iter()
        .map(String::as_str)
        .filter(|h| !set.iter().any(|(name, _)| name == h))
        .collect()
}

/// Decide what to do with `request` at `now` (seconds since the epoch),
/// with verification keys from `keys` (fetched `remote_jwks`, whose fetch
/// schedule an unknown `kid` may advance).
pub fn decide<'c>(
    request: &Request<'_>,
    now: u64,
    config: &'c CompiledConfig,
    cache: &mut Cache,
    keys: &mut KeyStore,
) -> Decision<'c> {
    let default_rule = DEFAULT_RULE;
    let rule = config
        .rules
        .iter()
        .find(|r| r.matches(request.method, request.path))
        .unwrap_or(&default_rule);
    if rule.requires == Requirement::Allow {
        return Decision::Allow(Allow {
            remove: unset_managed(config, &[]),
            verified: None,
            record_identity: false,
            cache: CacheUse::None,
        });
    }
    let Some(found) = extract::find(&config.sources, request) else {
        if rule.allow_missing {
            return Decision::Allow(Allow {
                remove: unset_managed(config, &[]),
                verified: None,
                record_identity: false,
                cache: CacheUse::None,
            });
        }
        return deny(config, Reason::Missing, None, None, CacheUse::None);
    };

    let (verified, cache_use) = match cache.get(found.token, now) {
        Some(v) => (v, CacheUse::Hit),
        None => match from_shared(cache, found.token, now, config) {
            Some((verified, until)) => {
                cache.keep(found.token, Rc::clone(&verified), until);
                (verified, CacheUse::SharedHit)
            }
            None => match pipeline::verify_token_with(found.token, now, config, keys) {
                Ok(accepted) => {
                    let Some((index, provider)) = config.provider_with_index(&accepted.provider)
                    else {
                        return deny(config, Reason::Issuer, None, None, CacheUse::Miss);
                    };
                    let valid_until = accepted.expires_at.map(|exp| {
                        exp.saturating_add(config.clock_skew_seconds)
                            .saturating_sub(1)
                    });
                    let verified = Rc::new(Verified::new(index, provider, accepted));
                    cache.insert(found.token, Rc::clone(&verified), now, valid_until);
                    (verified, CacheUse::Miss)
                }
                Err(rejected) => {
                    let provider = rejected
                        .provider
                        .as_deref()
                        .and_then(|n| config.providers.iter().position(|p| p.name == n));
                    return match (rejected.reason, provider) {
                        // The issuer's first keys are on their way.
                        (Reason::KeysUnavailable, Some(p)) if keys.waiting_for_first_keys(p) => {
                            Decision::Wait { provider: p }
                        }
                        // Perhaps the keys rotated: refetch (rate-limited) and retry.
                        (NO_KEY_FITS, Some(p)) if keys.unknown_kid(p, now) => {
                            Decision::Wait { provider: p }
                        }
                        (reason, _) => {
                            deny(config, reason, rejected.kid, rejected.alg, CacheUse::Miss)
                        }
                    };
                }
            },
        },
    };

    let accepted = &verified.accepted;
    // Checked on every request, cached or not, so a revocation takes effect
    // without waiting for the cache entry to expire.
    // Both the configured list and the fetched one.
    let provider = config.providers.get(verified.provider);
    let revoked = match provider {
        Some(p) => {
            p.is_revoked(&accepted.claims) || keys.is_revoked(verified.provider, &accepted.claims)
        }
        None => true,
    };
    if revoked {
        return deny(config, Reason::Revoked, None, None, cache_use);
    }
    if let Requirement::Provider(i) = rule.requires {
        if i != verified.provider {
            return deny(config, Reason::Issuer, None, None, cache_use);
        }
    }
    if !rule
        .required_claims
        .iter()
        .all(|(path, values)| claim_matches(&accepted.claims, path, values))
    {
        return deny(config, Reason::Forbidden, None, None, cache_use);
    }
    let mut remove = unset_managed(config, &verified.headers);
    let forward_token = provider.is_some_and(|p| p.forward);
    if let (false, Some(header)) = (forward_token, found.header) {
        remove.push(header);
    }
    Decision::Allow(Allow {
        remove,
        verified: Some(verified),
        record_identity: config.identity_in_filter_state,
        cache: cache_use,
    })
}
