//! Step 5: the decision for one request — the core's entry point.
//!
//! [`decide`] takes what the host read (method, path, the source headers),
//! the time, the compiled configuration and the worker's cache, and returns
//! either the header changes to apply before forwarding, or the response to
//! send instead. It picks the route rule, extracts the token, serves it from
//! the cache or runs [`pipeline::verify_token`], then checks the rule's
//! provider and `required_claims`.
//!
//! A request that must wait (the provider's keys or first revocation list
//! are on their way) gets [`Decision::Wait`] with what deciding again needs:
//! the token, the rule and the header edits an allow would make — never the
//! request's headers. [`redecide`] decides for it once the waiting room
//! ([`crate::wait`]) says its provider's state changed.

use crate::admission::Gate;
use crate::bind;
use crate::cache::Cache;
use crate::config::request::{CompiledRule, Requirement, Source};
use crate::config::CompiledConfig;
use crate::error::Reason;
use crate::extract::{self, Found, Request};
use crate::fetch_schedule::FetchSchedule;
use crate::forward::{claim, Authenticated};
use crate::path;
use crate::pipeline;
use crate::verify::NO_KEY_FITS;
use crate::wait::{Edits, Parked, Presented, WaitFor};
use serde_json::Value;
use std::borrow::Cow;
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
    /// Headers to remove first (the managed headers the request carries
    /// and their `_` spellings, the token's header unless `forward`).
    pub remove: Vec<Cow<'c, str>>,
    /// Headers to replace: `:path` and `cookie` without the token, when it
    /// came from a parameter or cookie (unless `forward`).
    pub rewrite: Vec<(&'static str, String)>,
    /// The verified token, when one was verified.
    pub verified: Option<Rc<Authenticated>>,
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
            .map(Authenticated::identity)
    }
}

/// Answer the request directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    /// 401 or 403.
    pub status: u16,
    /// The `WWW-Authenticate` value (none for a 400).
    pub www_authenticate: Option<String>,
    /// A small JSON body.
    pub body: String,
    /// The precise reason: logs and stats only.
    pub reason: Reason,
    /// Outer `kid` (sanitised) and `alg`, for the log line.
    pub kid: Option<String>,
    pub alg: Option<&'static str>,
    pub cache: CacheUse,
    /// `retry-after`, seconds: set when the cold-path budget is spent.
    pub retry_after: Option<u32>,
    /// The downstream address, for the log line of a request shed by the
    /// cold-path budget (the host fills it in; never anything else).
    pub source: Option<String>,
}

/// The decision for a request.
#[derive(Debug, Clone)]
pub enum Decision<'c> {
    Allow(Allow<'c>),
    Deny(Deny),
    /// Hold the request until this provider's keys (first keys, or a
    /// refetch for an unknown `kid`) or first revocation list arrive, then
    /// decide again with [`redecide`]; the waiting room ([`crate::wait`])
    /// bounds the wait and then denies with [`WaitFor::timeout_reason`].
    Wait(Parked),
}

/// The outcome of deciding again for a waiting request.
#[derive(Debug, Clone)]
pub enum Redecided<'c> {
    /// Allow or deny.
    Done(Decision<'c>),
    /// Wait on, now for this.
    Wait(WaitFor),
}

/// A token checked against a rule: accepted, answered, or to wait for.
enum Checked<'c> {
    Accepted(Rc<Authenticated>, CacheUse),
    Done(Decision<'c>),
    Wait(usize, WaitFor),
}

fn deny<'c>(
    config: &CompiledConfig,
    reason: Reason,
    kid: Option<String>,
    alg: Option<&'static str>,
    cache: CacheUse,
) -> Decision<'c> {
    Decision::Deny(refusal(config, reason, kid, alg, cache, false))
}

/// The response for `reason`: status, challenge and body from the one
/// client-facing error class; `dpop_scheme` when the token came as
/// `Authorization: DPoP` (its challenge is in that scheme).
fn refusal(
    config: &CompiledConfig,
    reason: Reason,
    kid: Option<String>,
    alg: Option<&'static str>,
    cache: CacheUse,
    dpop_scheme: bool,
) -> Deny {
    let answer = reason.answer();
    Deny {
        status: answer.status(),
        www_authenticate: answer.challenge(&config.realm, &config.dpop_algs, dpop_scheme),
        body: answer.body().to_string(),
        reason,
        kid,
        alg,
        cache,
        retry_after: answer.retry_after(),
        source: None,
    }
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
) -> Option<(Rc<Authenticated>, u64)> {
    let (accepted, until) = cache.get_shared(token, now)?;
    let provider = config.provider(&accepted)?;
    Some((
        Rc::new(Authenticated::new(provider.index, provider, accepted)),
        until,
    ))
}

/// The denial of a waiting request for `reason` (its wait ran out, or
/// there was no room for it to wait).
pub fn denial(config: &CompiledConfig, reason: Reason) -> Deny {
    refusal(config, reason, None, None, CacheUse::None, false)
}

fn push_unique<'c>(list: &mut Vec<Cow<'c, str>>, name: Cow<'c, str>) {
    if !list.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
        list.push(name);
    }
}

/// The request headers a forwarded request must lose: every managed header
/// the client sent that this decision does not set (a header it sets
/// replaces every copy the client sent), and every spelling of a managed or
/// source header with `_` for `-` (CGI and WSGI upstreams read those as the
/// same variable). Only headers present cost a host call.
fn strip_spoofed<'c>(
    config: &'c CompiledConfig,
    request: &Request<'_>,
    set: &[(String, String)],
) -> Vec<Cow<'c, str>> {
    let mut remove = Vec::new();
    for (name, _) in request.headers {
        let managed = config
            .managed_headers
            .iter()
            .find(|m| extract::same_name_for_cgi(name, m));
        let source = config.sources.iter().find_map(|s| match s {
            Source::Header { name: n, .. } if extract::same_name_for_cgi(name, n) => Some(n),
            _ => None,
        });
        match (managed, source) {
            // The managed header itself: removed unless this decision sets it.
            (Some(m), _) if m.eq_ignore_ascii_case(name) => {
                if !set.iter().any(|(s, _)| s == m) {
                    push_unique(&mut remove, Cow::Borrowed(m.as_str()));
                }
            }
            // A source header itself, or an unrelated header: left alone here.
            (None, Some(n)) if n.eq_ignore_ascii_case(name) => {}
            (None, None) => {}
            // Another spelling of either: always removed.
            _ => push_unique(&mut remove, Cow::Owned(name.to_ascii_lowercase())),
        }
    }
    remove
}

/// Take the token out of the request (unless `forward`): the headers that
/// carried it are added to `remove`; the result rewrites `:path` without its
/// token parameter and `cookie` without its token cookie (or removes
/// `cookie` when nothing is left).
fn take_token<'c>(
    config: &'c CompiledConfig,
    request: &Request<'_>,
    found: &Found<'_>,
    remove: &mut Vec<Cow<'c, str>>,
) -> Vec<(&'static str, String)> {
    let (mut params, mut cookies) = (Vec::new(), Vec::new());
    let carried = config
        .sources
        .iter()
        .enumerate()
        .filter(|(i, _)| found.sources >> i & 1 == 1);
    for (_, source) in carried {
        match source {
            Source::Header { name, .. } => push_unique(remove, Cow::Borrowed(name.as_str())),
            Source::Param(name) => params.push(name.as_str()),
            Source::Cookie(name) => cookies.push(name.as_str()),
        }
    }
    let mut rewrite = Vec::new();
    if !params.is_empty() {
        rewrite.push((":path", extract::path_without_params(request.path, &params)));
    }
    if !cookies.is_empty() {
        match extract::cookies_without(request, &cookies) {
            Some(rest) => rewrite.push(("cookie", rest)),
            None => push_unique(remove, Cow::Borrowed("cookie")),
        }
    }
    rewrite
}

fn anonymous<'c>(config: &'c CompiledConfig, request: &Request<'_>) -> Decision<'c> {
    Decision::Allow(Allow {
        remove: strip_spoofed(config, request, &[]),
        rewrite: Vec::new(),
        verified: None,
        record_identity: false,
        cache: CacheUse::None,
    })
}

/// Decide what to do with `request` at `now` (seconds since the epoch),
/// with verification keys from `keys` (fetched `remote_jwks`, whose fetch
/// schedule an unknown `kid` may advance), asking `gate` before the
/// private-key and signature work of a token no cache knows (the worker's
/// cold-path budget: a refusal is a 503, [`Reason::Overloaded`]).
pub fn decide<'c>(
    request: &Request<'_>,
    now: u64,
    config: &'c CompiledConfig,
    cache: &mut Cache,
    keys: &mut FetchSchedule,
    gate: &mut dyn Gate,
) -> Decision<'c> {
    // Rules compare text: the path must already be the one the upstream
    // will see. Without rules the path decides nothing.
    if !config.rules.is_empty() {
        if let Err(detail) = path::check(request.path, config.path_parameters) {
            return deny(config, Reason::Path(detail), None, None, CacheUse::None);
        }
    }
    // The route's own requirement comes first, then the rules, then the
    // default: a valid token from any provider.
    let (from_route, default_rule);
    let rule = match request.route_metadata.filter(|_| config.route_metadata) {
        Some(bytes) => match config.route_requirement(bytes) {
            Ok(rule) => {
                from_route = rule;
                &from_route
            }
            Err(detail) => {
                let reason = Reason::RouteRequirement(detail);
                return deny(config, reason, None, None, CacheUse::None);
            }
        },
        None => config.rules.iter().find(|r| r.matches(request)).unwrap_or({
            default_rule = CompiledRule::DEFAULT;
            &default_rule
        }),
    };
    if rule.requires == Requirement::Allow {
        return anonymous(config, request);
    }
    let found = match extract::find(&config.sources, request, config.dpop_enabled) {
        Ok(Some(found)) => found,
        Ok(None) if rule.allow_missing => return anonymous(config, request),
        Ok(None) => return deny(config, Reason::Missing, None, None, CacheUse::None),
        Err(reason) => return deny(config, reason, None, None, CacheUse::None),
    };

    let checked = check_token(rule, &found, request, now, config, cache, keys, gate);
    let (verified, cache_use) = match checked {
        Checked::Accepted(verified, cache_use) => (verified, cache_use),
        Checked::Done(decision) => return decision,
        Checked::Wait(provider, why) => {
            let mut take = Vec::new();
            let rewrite = take_token(config, request, &found, &mut take);
            let edits = Edits {
                remove: owned(strip_spoofed(config, request, &[])),
                take: owned(take),
                rewrite,
            };
            return Decision::Wait(Parked {
                provider,
                why,
                rule: Box::new(rule.clone()),
                token: found.token.to_string(),
                timeout_ms: keys.wait_timeout_ms(provider, why),
                edits,
                presented: Box::new(presented(config, request, &found)),
            });
        }
    };
    let mut remove = strip_spoofed(config, request, &verified.headers);
    let rewrite = if forwards_token(config, &verified) {
        Vec::new()
    } else {
        take_token(config, request, &found, &mut remove)
    };
    allowed(config, verified, cache_use, remove, rewrite)
}

/// True when the provider that verified the token forwards it upstream.
fn forwards_token(config: &CompiledConfig, verified: &Authenticated) -> bool {
    config
        .providers
        .get(verified.provider)
        .is_some_and(|p| p.forward)
}

fn allowed<'c>(
    config: &CompiledConfig,
    verified: Rc<Authenticated>,
    cache: CacheUse,
    remove: Vec<Cow<'c, str>>,
    rewrite: Vec<(&'static str, String)>,
) -> Decision<'c> {
    Decision::Allow(Allow {
        remove,
        rewrite,
        verified: Some(verified),
        record_identity: config.identity_in_filter_state,
        cache,
    })
}

/// What a request that waits must keep for [`bind`]: the connection's
/// certificate digest and the values of the trusted certificate headers;
/// when a provider takes DPoP, the method, the path, the `:scheme`,
/// `:authority` and `dpop` headers and how the token came (`found`).
fn presented(config: &CompiledConfig, request: &Request<'_>, found: &Found<'_>) -> Presented {
    let mut names: Vec<&str> = Vec::new();
    for p in &config.providers {
        if let Some((name, _)) = p.certificate_bound.as_ref().and_then(|c| c.header.as_ref()) {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    if config.dpop_enabled {
        for name in [":scheme", ":authority", "dpop"] {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let mut headers = Vec::new();
    for name in names {
        for value in request.values(name) {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    let dpop = |text: &str| {
        if config.dpop_enabled {
            text.to_string()
        } else {
            String::new()
        }
    };
    Presented {
        peer_certificate_sha256: request.peer_certificate_sha256.map(str::to_string),
        headers,
        method: dpop(request.method),
        path: dpop(request.path),
        dpop_scheme: found.dpop,
    }
}

fn owned(names: Vec<Cow<'_, str>>) -> Vec<String> {
    names.into_iter().map(Cow::into_owned).collect()
}

/// Decide again for a request that waited: with the rule, the token and
/// the header edits it was parked with ([`Decision::Wait`]), at `now`, with
/// the keys as they are now.
pub fn redecide<'c>(
    parked: &Parked,
    now: u64,
    config: &'c CompiledConfig,
    cache: &mut Cache,
    keys: &mut FetchSchedule,
    gate: &mut dyn Gate,
) -> Redecided<'c> {
    let rule = &parked.rule;
    let headers: Vec<(&str, &str)> = parked
        .presented
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let presented = &parked.presented;
    let request = Request {
        method: &presented.method,
        path: &presented.path,
        headers: &headers,
        peer_certificate_sha256: presented.peer_certificate_sha256.as_deref(),
        ..Default::default()
    };
    // Where the token came from is in the edits; only how it came counts.
    let found = Found {
        token: &parked.token,
        sources: 0,
        dpop: presented.dpop_scheme,
    };
    let (verified, cache_use) =
        match check_token(rule, &found, &request, now, config, cache, keys, gate) {
            Checked::Accepted(verified, cache_use) => (verified, cache_use),
            Checked::Done(decision) => return Redecided::Done(decision),
            Checked::Wait(_, why) => return Redecided::Wait(why),
        };
    // Every managed header the request carried goes, even one this decision
    // sets (removed, then set: the same result as for a fresh request).
    let edits = &parked.edits;
    let mut remove: Vec<Cow<'c, str>> = edits.remove.iter().cloned().map(Cow::Owned).collect();
    let rewrite = if forwards_token(config, &verified) {
        Vec::new()
    } else {
        remove.extend(edits.take.iter().cloned().map(Cow::Owned));
        edits.rewrite.clone()
    };
    Redecided::Done(allowed(config, verified, cache_use, remove, rewrite))
}

/// Everything about the token `found` under `rule` that does not depend on
/// the rest of the request but what binds the token to its client
/// (`presented`): the caches or the pipeline, revocation, the rule's
/// provider, the certificate binding and the DPoP proof ([`bind`]), and
/// `required_claims`.
// The worker's three pieces of state are separate borrows on purpose.
#[allow(clippy::too_many_arguments)]
fn check_token<'c>(
    rule: &CompiledRule,
    found: &Found<'_>,
    presented: &Request<'_>,
    now: u64,
    config: &'c CompiledConfig,
    cache: &mut Cache,
    keys: &mut FetchSchedule,
    gate: &mut dyn Gate,
) -> Checked<'c> {
    let done = |reason, kid, alg, cache_use| {
        let deny = refusal(config, reason, kid, alg, cache_use, found.dpop);
        Checked::Done(Decision::Deny(deny))
    };
    let token = found.token;
    let (verified, cache_use) = match cache.get(token, now) {
        Some(v) => (v, CacheUse::Hit),
        None => match from_shared(cache, token, now, config) {
            Some((verified, until)) => {
                cache.keep(token, Rc::clone(&verified), until);
                (verified, CacheUse::SharedHit)
            }
            None => match pipeline::verify_token_with(token, now, config, keys, gate) {
                Ok(accepted) => {
                    let Some(provider) = config.provider(&accepted) else {
                        return done(Reason::Issuer, None, None, CacheUse::Miss);
                    };
                    let valid_until = accepted.expires_at.map(|exp| {
                        exp.saturating_add(config.clock_skew_seconds)
                            .saturating_sub(1)
                    });
                    let verified = Rc::new(Authenticated::new(provider.index, provider, accepted));
                    cache.insert(token, Rc::clone(&verified), now, valid_until);
                    (verified, CacheUse::Miss)
                }
                Err(rejected) => {
                    let provider = rejected.provider.filter(|&i| i < config.providers.len());
                    return match (rejected.reason, provider) {
                        // The issuer's first keys are on their way.
                        (Reason::KeysUnavailable, Some(p)) if keys.waiting_for_first_keys(p) => {
                            Checked::Wait(p, WaitFor::FirstKeys)
                        }
                        // Perhaps the keys rotated: refetch (rate-limited) and retry.
                        (NO_KEY_FITS, Some(p)) if keys.unknown_kid(p, now) => {
                            Checked::Wait(p, WaitFor::UnknownKid)
                        }
                        (reason, _) => done(reason, rejected.kid, rejected.alg, CacheUse::Miss),
                    };
                }
            },
        },
    };

    let accepted = &verified.accepted;
    // Checked on every request, cached or not, so a revocation takes effect
    // without waiting for the cache entry to expire. Both the configured
    // list and the fetched one (`None`: a fetched list has not arrived yet).
    let revoked = match config.providers.get(verified.provider) {
        Some(p) if p.is_revoked(&accepted.claims) => Some(true),
        Some(_) => keys.revoked(verified.provider, &accepted.claims),
        None => Some(true),
    };
    if revoked == Some(true) {
        return done(Reason::Revoked, None, None, cache_use);
    }
    if let Requirement::Provider(i) = rule.requires {
        if i != verified.provider {
            return done(Reason::Issuer, None, None, cache_use);
        }
    }
    let binding = config
        .providers
        .get(verified.provider)
        .and_then(|p| p.certificate_bound.as_ref());
    if let Some(binding) = binding {
        if let Err(reason) = bind::certificate(binding, &accepted.claims, presented) {
            return done(reason, None, None, cache_use);
        }
    }
    // Fail closed: a fetched list that has not arrived may name this token.
    // Before the DPoP proof, which is spent when it is checked (its `jti`
    // remembered): a request that waits is checked when it is decided again.
    if revoked.is_none() {
        return Checked::Wait(verified.provider, WaitFor::Revocation);
    }
    // Before `required_claims`: who does not hold the token's key learns
    // nothing of its scopes.
    let dpop = config
        .providers
        .get(verified.provider)
        .and_then(|p| p.dpop.as_ref());
    if let Err(reason) = bind::dpop(
        dpop,
        &accepted.claims,
        found,
        presented,
        now,
        cache.replay(),
        gate,
    ) {
        return done(reason, None, None, cache_use);
    }
    if !rule
        .required_claims
        .iter()
        .all(|(path, values)| claim_matches(&accepted.claims, path, values))
    {
        return done(Reason::Forbidden, None, None, cache_use);
    }
    Checked::Accepted(verified, cache_use)
}
