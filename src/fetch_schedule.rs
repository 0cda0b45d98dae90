//! The fetch schedule — what changes at run time: each provider's fetched `remote_jwks`, its
//! OpenID Connect discovery document and its fetched revocation list, kept
//! by the host and consulted by [`crate::verify`] and [`crate::decide`].
//!
//! The store decides *when* to fetch (at start, before `cache_duration` runs
//! out, on an unknown `kid` at most once per `unknown_kid_refetch_interval`,
//! after failures with exponential backoff, and again when an answer never
//! came) and *what to keep* (a failed or malformed fetch never replaces the
//! last good keys or list). The host does the fetching and passes the clock
//! and the bodies in: the store reads neither.
//!
//! Each provider has a *revision* that moves on when what a waiting request
//! could be decided differently with has changed: new keys, a new list or a
//! new JWKS location, or a refetch that ended (well or not) while keys were
//! already there (the unknown-`kid` waiters can then be answered). The
//! waiting room ([`crate::wait`]) re-decides a waiter only then.

use crate::config::compile::{RemoteSource, RevokedIds, MAX_REVOKED};
use crate::config::fetch;
use crate::config::{CompiledConfig, Provider};
use crate::jose::jwk::Jwk;
use crate::jose::{json, jwk};
use crate::wait::WaitFor;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::rc::Rc;

/// Longest backoff after failed fetches, seconds.
const MAX_BACKOFF_S: u64 = 60;

/// What a fetch brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A JWKS of verification keys.
    Jwks,
    /// An OpenID Connect discovery document (gives the JWKS location).
    Discovery,
    /// A revocation list `{"jti": [...], "sub": [...]}`.
    Revocation,
}

/// A fetch to start: where, and which entry its answer belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub id: usize,
    pub cluster: String,
    pub authority: String,
    pub path: String,
    pub timeout_ms: u64,
}

/// One fetched resource of one provider.
#[derive(Debug)]
struct Entry {
    provider: usize,
    kind: Resource,
    /// Where to fetch; `None` for a JWKS whose discovery has not answered.
    target: Option<RemoteSource>,
    due_at: u64,
    /// When the fetch under way started.
    in_flight: Option<u64>,
    failures: u32,
    last_unknown_kid_fetch: Option<u64>,
    keys: Option<Rc<Vec<Jwk>>>,
    revoked: Option<RevokedIds>,
}

impl Entry {
    fn new(provider: usize, kind: Resource, target: Option<RemoteSource>) -> Self {
        Entry {
            provider,
            kind,
            target,
            due_at: 0,
            in_flight: None,
            failures: 0,
            last_unknown_kid_fetch: None,
            keys: None,
            revoked: None,
        }
    }
}

/// Where verification keys come from, per provider.
pub trait KeySource {
    /// The keys of `provider`; `None` while remote keys have not arrived.
    fn keys_for<'a>(&'a self, provider: &'a Provider) -> Option<&'a [Jwk]>;
}

/// Only the configured `local_jwks` (the CLI): a provider whose keys are
/// fetched (`remote_jwks`, `discovery`) has none here, so its tokens fail
/// as "the issuer's keys are not available", not as a key that does not fit.
pub struct LocalKeys;

impl KeySource for LocalKeys {
    fn keys_for<'a>(&'a self, provider: &'a Provider) -> Option<&'a [Jwk]> {
        provider
            .remote
            .is_none()
            .then_some(provider.keys.as_slice())
    }
}

/// Why a fetched body was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchError {
    /// Not HTTP 200, or no response.
    Failed,
    /// Larger than allowed.
    TooLarge,
    /// Not a document we can use.
    Malformed,
    /// A discovery document for another issuer.
    WrongIssuer,
}

/// The body of a fetch's answer, as the host handed it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// The whole body.
    Bytes(&'a [u8]),
    /// Longer than the entry's [`FetchSchedule::max_bytes`], so not read: a
    /// failed fetch ([`FetchError::TooLarge`]).
    TooLarge,
}

/// Everything fetched, for every provider.
#[derive(Debug, Default)]
pub struct FetchSchedule {
    entries: Vec<Entry>,
    names: Vec<String>,
    issuers: Vec<String>,
    /// Per provider: `revocation.fail_open`.
    fail_open: Vec<bool>,
    /// Per provider: see the module documentation.
    revisions: Vec<u64>,
}

/// A revocation list: two arrays of strings, bounded.
fn parse_revocation(body: &[u8]) -> Option<RevokedIds> {
    let map = json::parse_object(body)?;
    let list = |name: &str| -> Option<HashSet<String>> {
        match map.get(name) {
            None => Some(HashSet::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(_) => None,
        }
    };
    let ids = RevokedIds {
        jti: list("jti")?,
        sub: list("sub")?,
    };
    (ids.len() <= MAX_REVOKED).then_some(ids)
}

impl FetchSchedule {
    /// A store for `config`'s providers; every fetchable resource is due at once.
    pub fn new(config: &CompiledConfig) -> Self {
        let mut entries = Vec::new();
        for (i, p) in config.providers.iter().enumerate() {
            match (&p.remote, p.discovery) {
                (Some(source), false) => {
                    entries.push(Entry::new(i, Resource::Jwks, Some(source.clone())))
                }
                (Some(source), true) => {
                    entries.push(Entry::new(i, Resource::Discovery, Some(source.clone())));
                    entries.push(Entry::new(i, Resource::Jwks, None));
                }
                (None, _) => {}
            }
            if let Some(source) = &p.revocation_source {
                entries.push(Entry::new(i, Resource::Revocation, Some(source.clone())));
            }
        }
        FetchSchedule {
            entries,
            names: config.providers.iter().map(|p| p.name.clone()).collect(),
            issuers: config.providers.iter().map(|p| p.issuer.clone()).collect(),
            fail_open: config
                .providers
                .iter()
                .map(|p| p.revocation_fail_open)
                .collect(),
            revisions: vec![0; config.providers.len()],
        }
    }

    /// Every provider's revision, by provider index.
    pub fn revisions(&self) -> &[u64] {
        &self.revisions
    }

    fn bump(&mut self, provider: usize) {
        if let Some(r) = self.revisions.get_mut(provider) {
            *r = r.wrapping_add(1);
        }
    }

    /// True when entry `id` holds content (keys, a list, or for discovery
    /// a JWKS location): whether a failure keeps a last good one.
    pub fn has_content(&self, id: usize) -> bool {
        self.entries.get(id).is_some_and(|e| match e.kind {
            Resource::Jwks => e.keys.is_some(),
            Resource::Revocation => e.revoked.is_some(),
            Resource::Discovery => self
                .entry(e.provider, Resource::Jwks)
                .is_some_and(|j| j.target.is_some()),
        })
    }

    fn entry(&self, provider: usize, kind: Resource) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.provider == provider && e.kind == kind)
    }

    fn entry_mut(&mut self, provider: usize, kind: Resource) -> Option<&mut Entry> {
        self.entries
            .iter_mut()
            .find(|e| e.provider == provider && e.kind == kind)
    }

    /// The fetches due at `now`; they are marked in flight. A fetch whose
    /// answer never came (well past its timeout) counts as failed, so a lost
    /// response cannot stop the refreshes.
    pub fn due(&mut self, now: u64) -> Vec<Fetch> {
        let mut due = Vec::new();
        let mut lost = Vec::new();
        for (id, e) in self.entries.iter_mut().enumerate() {
            let Some(target) = &e.target else { continue };
            if let Some(started) = e.in_flight {
                let limit = started
                    .saturating_add(target.timeout_ms.div_ceil(1000))
                    .saturating_add(2);
                if now <= limit {
                    continue;
                }
                e.failures = e.failures.saturating_add(1);
                e.in_flight = None;
                if e.kind == Resource::Jwks && e.keys.is_some() {
                    lost.push(e.provider);
                }
            }
            if now >= e.due_at {
                e.in_flight = Some(now);
                due.push(Fetch {
                    id,
                    cluster: target.cluster.clone(),
                    authority: target.authority.clone(),
                    path: target.path.clone(),
                    timeout_ms: target.timeout_ms,
                });
            }
        }
        for provider in lost {
            self.bump(provider);
        }
        due
    }

    /// The largest body entry `id` accepts.
    pub fn max_bytes(&self, id: usize) -> usize {
        self.entries
            .get(id)
            .and_then(|e| e.target.as_ref())
            .map_or(0, |t| t.max_bytes)
    }

    /// The provider and resource of entry `id`, for logs.
    pub fn describe(&self, id: usize) -> (String, Option<Resource>) {
        match self.entries.get(id) {
            Some(e) => (
                self.names.get(e.provider).cloned().unwrap_or_default(),
                Some(e.kind),
            ),
            None => (String::new(), None),
        }
    }

    /// How long a request may wait for `why` of `provider`, milliseconds:
    /// the fetch timeouts on the way (discovery then JWKS for the first
    /// keys; the JWKS for a refetch; the list's for a revocation list).
    pub fn wait_timeout_ms(&self, provider: usize, why: WaitFor) -> u64 {
        let counts = |e: &&Entry| match why {
            WaitFor::FirstKeys => e.kind != Resource::Revocation,
            WaitFor::UnknownKid => e.kind == Resource::Jwks,
            WaitFor::Revocation => e.kind == Resource::Revocation,
        };
        self.entries
            .iter()
            .filter(|e| e.provider == provider)
            .filter(counts)
            .filter_map(|e| e.target.as_ref())
            .map(|t| t.timeout_ms)
            .fold(0u64, u64::saturating_add)
            .max(100)
    }

    /// A fetch for entry `id` answered with `status` and `body` (`status`
    /// `None`: no answer). Good content replaces the old; anything else keeps
    /// it and backs off: a body over [`FetchSchedule::max_bytes`], read or not
    /// ([`Body::TooLarge`]), is [`FetchError::TooLarge`]. `Ok` carries how
    /// many keys or entries were loaded.
    pub fn fetched(
        &mut self,
        id: usize,
        now: u64,
        status: Option<u16>,
        body: Body<'_>,
    ) -> Result<usize, FetchError> {
        let Some(e) = self.entries.get_mut(id) else {
            return Err(FetchError::Failed);
        };
        e.in_flight = None;
        let (provider, kind) = (e.provider, e.kind);
        let Some(target) = e.target.clone() else {
            return Err(FetchError::Failed);
        };
        let result =
            match (status, body) {
                (Some(200), Body::TooLarge) => Err(FetchError::TooLarge),
                (Some(200), Body::Bytes(body)) if body.len() > target.max_bytes => {
                    Err(FetchError::TooLarge)
                }
                (Some(200), Body::Bytes(body)) => match kind {
                    Resource::Jwks => json::parse(body)
                        .ok()
                        .and_then(|v| jwk::parse_jwks(&v).ok())
                        .filter(|keys| keys.iter().all(|k| !k.key.is_private()))
                        .ok_or(FetchError::Malformed)
                        .map(|keys| {
                            let n = keys.len();
                            e.keys = Some(Rc::new(keys));
                            n
                        }),
                    Resource::Revocation => parse_revocation(body)
                        .ok_or(FetchError::Malformed)
                        .map(|ids| {
                            let n = ids.len();
                            e.revoked = Some(ids);
                            n
                        }),
                    Resource::Discovery => self.discovered(provider, body),
                },
                _ => Err(FetchError::Failed),
            };
        // What a waiter could be decided with has changed: new content, or
        // a refetch ended while keys were there (answer unknown-kid waiters).
        let had_keys = self
            .entry(provider, Resource::Jwks)
            .is_some_and(|j| j.keys.is_some());
        if result.is_ok() || (kind == Resource::Jwks && had_keys) {
            self.bump(provider);
        }
        let Some(e) = self.entries.get_mut(id) else {
            return result;
        };
        match result {
            Ok(_) => {
                e.failures = 0;
                // Refresh before the content is due to expire.
                let every = target.cache_duration_s;
                e.due_at = now.saturating_add(every.saturating_sub(every / 10).max(1));
            }
            Err(_) => {
                e.failures = e.failures.saturating_add(1);
                let backoff = 1u64
                    .checked_shl(e.failures.saturating_sub(1))
                    .unwrap_or(MAX_BACKOFF_S)
                    .min(MAX_BACKOFF_S);
                e.due_at = now.saturating_add(backoff);
            }
        }
        result
    }

    /// A discovery document: its `issuer` must be the configured one exactly;
    /// its `jwks_uri` becomes the provider's JWKS location (same cluster).
    fn discovered(&mut self, provider: usize, body: &[u8]) -> Result<usize, FetchError> {
        let doc: Map<String, Value> = json::parse_object(body).ok_or(FetchError::Malformed)?;
        let issuer = doc
            .get("issuer")
            .and_then(Value::as_str)
            .ok_or(FetchError::Malformed)?;
        if Some(issuer) != self.issuers.get(provider).map(String::as_str) {
            return Err(FetchError::WrongIssuer);
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or(FetchError::Malformed)?;
        let discovery_target = self
            .entry(provider, Resource::Discovery)
            .and_then(|e| e.target.clone())
            .ok_or(FetchError::Failed)?;
        // By the rule a configured `remote_jwks` URI follows.
        let found = fetch::discovered_jwks(&discovery_target, jwks_uri)
            .map_err(|_| FetchError::Malformed)?;
        let jwks = self
            .entry_mut(provider, Resource::Jwks)
            .ok_or(FetchError::Failed)?;
        let moved = jwks
            .target
            .as_ref()
            .is_none_or(|t| t.authority != found.authority || t.path != found.path);
        if moved {
            jwks.target = Some(found);
            jwks.due_at = 0;
        }
        Ok(1)
    }

    /// True when a provider's first keys have not arrived yet.
    pub fn waiting_for_first_keys(&self, provider: usize) -> bool {
        self.entry(provider, Resource::Jwks)
            .is_some_and(|e| e.keys.is_none())
    }

    /// A `kid` was not found among `provider`'s remote keys: schedule an
    /// immediate refetch unless one ran within the refetch interval. True
    /// when a fetch is now pending (so the request may wait for it).
    pub fn unknown_kid(&mut self, provider: usize, now: u64) -> bool {
        let Some(e) = self.entry_mut(provider, Resource::Jwks) else {
            return false;
        };
        let Some(interval) = e.target.as_ref().map(|t| t.refetch_interval_s) else {
            return false;
        };
        // A fetch under way, or due and starting at the host's next pass.
        if e.in_flight.is_some() || e.due_at <= now {
            return true;
        }
        if e.last_unknown_kid_fetch
            .is_some_and(|at| now < at.saturating_add(interval))
        {
            return false;
        }
        e.last_unknown_kid_fetch = Some(now);
        e.due_at = now;
        true
    }

    /// Whether the fetched revocation list of `provider` names the token's
    /// `jti` or `sub` (a set lookup, not a scan): `None` when the provider
    /// fetches a list and none has arrived yet (fail closed: the caller waits
    /// or denies), unless its `revocation.fail_open`.
    pub fn revoked(&self, provider: usize, claims: &Map<String, Value>) -> Option<bool> {
        let Some(entry) = self.entry(provider, Resource::Revocation) else {
            return Some(false);
        };
        let Some(ids) = entry.revoked.as_ref() else {
            return self
                .fail_open
                .get(provider)
                .copied()
                .unwrap_or(false)
                .then_some(false);
        };
        Some(ids.name(claims))
    }
}

impl KeySource for FetchSchedule {
    fn keys_for<'a>(&'a self, provider: &'a Provider) -> Option<&'a [Jwk]> {
        if provider.remote.is_none() {
            return Some(&provider.keys);
        }
        let i = provider.index;
        self.entry(i, Resource::Jwks)?
            .keys
            .as_deref()
            .map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(extra: Value) -> CompiledConfig {
        let mut text = json!({
            "decryption_keys": {"keys": [{"kty": "oct", "k": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]},
            "providers": {
                "idp": {"issuer": "https://idp.test", "remote_jwks": {
                    "http_uri": {"uri": "https://idp.test/jwks", "cluster": "idp", "timeout": "2s"},
                    "cache_duration": "100s", "unknown_kid_refetch_interval": "30s", "max_jwks_bytes": 1024}},
                "local": {"issuer": "https://local", "local_jwks": {"keys": [{"kty": "oct", "k": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]}}
            }
        });
        if let Value::Object(more) = extra {
            for (k, v) in more {
                text["providers"]["idp"][k] = v;
            }
        }
        CompiledConfig::from_json(&text.to_string()).unwrap()
    }

    const JWKS: &[u8] = br#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "a",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

    /// The index of the remote provider `idp`.
    fn idp(config: &CompiledConfig) -> usize {
        config
            .providers
            .iter()
            .position(|p| p.name == "idp")
            .unwrap()
    }

    fn ids(fetches: &[Fetch]) -> Vec<usize> {
        fetches.iter().map(|f| f.id).collect()
    }

    #[test]
    fn schedule_keep_and_backoff() {
        let config = config(json!({}));
        let idp = idp(&config);
        let mut store = FetchSchedule::new(&config);
        let first = store.due(1000);
        assert_eq!(first.len(), 1, "due at once, only the remote provider");
        assert_eq!(
            (
                first[0].cluster.as_str(),
                first[0].authority.as_str(),
                first[0].path.as_str()
            ),
            ("idp", "idp.test", "/jwks")
        );
        let id = first[0].id;
        assert!(store.due(1000).is_empty(), "in flight");
        assert!(store.waiting_for_first_keys(idp));
        assert!(store.keys_for(&config.providers[idp]).is_none());
        assert_eq!(store.fetched(id, 1001, Some(200), Body::Bytes(JWKS)), Ok(1));
        assert_eq!(
            store.keys_for(&config.providers[idp]).map(<[Jwk]>::len),
            Some(1)
        );
        // Refreshed at 90% of cache_duration.
        assert!(store.due(1090).is_empty());
        assert_eq!(ids(&store.due(1091)), vec![id]);
        // Failures and garbage keep the last good keys, with growing backoff.
        assert_eq!(
            store.fetched(id, 1092, Some(500), Body::Bytes(b"")),
            Err(FetchError::Failed)
        );
        assert_eq!(
            store.keys_for(&config.providers[idp]).map(<[Jwk]>::len),
            Some(1)
        );
        assert!(store.due(1092).is_empty());
        assert_eq!(ids(&store.due(1093)), vec![id]);
        assert_eq!(
            store.fetched(id, 1093, Some(200), Body::Bytes(b"{\"keys\": 1}")),
            Err(FetchError::Malformed)
        );
        assert!(store.due(1094).is_empty(), "backoff doubled");
        assert_eq!(ids(&store.due(1095)), vec![id]);
        let big = vec![b' '; 2000];
        assert_eq!(
            store.fetched(id, 1095, Some(200), Body::Bytes(&big)),
            Err(FetchError::TooLarge)
        );
        assert_eq!(
            store.keys_for(&config.providers[idp]).map(<[Jwk]>::len),
            Some(1)
        );
        // A body the host left unread for its size is refused the same way;
        // with another status it is just a failed fetch.
        assert_eq!(ids(&store.due(1099)), vec![id]);
        assert_eq!(
            store.fetched(id, 1099, Some(200), Body::TooLarge),
            Err(FetchError::TooLarge)
        );
        assert_eq!(ids(&store.due(1107)), vec![id]);
        assert_eq!(
            store.fetched(id, 1107, Some(503), Body::TooLarge),
            Err(FetchError::Failed)
        );
        assert_eq!(
            store.keys_for(&config.providers[idp]).map(<[Jwk]>::len),
            Some(1)
        );
        // A private key in a JWKS is refused.
        let _ = store.due(1200);
        let private = br#"{"keys": [{"kty": "oct", "k": "AAAA"}]}"#;
        assert_eq!(
            store.fetched(id, 1200, Some(200), Body::Bytes(private)),
            Err(FetchError::Malformed)
        );
    }

    #[test]
    fn unknown_kid_refetches_are_rate_limited_and_lost_answers_expire() {
        let config = config(json!({}));
        let idp = idp(&config);
        let local = 1 - idp;
        let mut store = FetchSchedule::new(&config);
        assert!(
            !store.unknown_kid(local, 1000),
            "local keys are never fetched"
        );
        let id = store.due(1000)[0].id;
        assert!(store.unknown_kid(idp, 1000), "a fetch is already under way");
        store
            .fetched(id, 1000, Some(200), Body::Bytes(JWKS))
            .unwrap();
        assert!(store.unknown_kid(idp, 1010));
        assert_eq!(ids(&store.due(1010)), vec![id]);
        store
            .fetched(id, 1010, Some(200), Body::Bytes(JWKS))
            .unwrap();
        assert!(!store.unknown_kid(idp, 1020), "within 30 s of the last one");
        assert!(store.unknown_kid(idp, 1041));
        // An answer that never comes: the fetch is retried after its timeout.
        assert_eq!(ids(&store.due(1041)), vec![id]);
        assert!(store.due(1044).is_empty());
        assert_eq!(ids(&store.due(1046)), vec![id]);
    }

    #[test]
    fn discovery_checks_the_issuer_then_finds_the_jwks() {
        let text = json!({
            "decryption_keys": {"keys": [{"kty": "oct", "k": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]},
            "providers": {"idp": {"issuer": "https://idp.test/realm", "discovery": {"cluster": "idp", "timeout": "1s"}}}
        });
        let config = CompiledConfig::from_json(&text.to_string()).unwrap();
        let mut store = FetchSchedule::new(&config);
        let first = store.due(1000);
        assert_eq!(first.len(), 1, "the JWKS waits for discovery");
        assert_eq!(first[0].path, "/realm/.well-known/openid-configuration");
        let d = first[0].id;
        let wrong =
            br#"{"issuer": "https://evil.test/realm", "jwks_uri": "https://idp.test/keys"}"#;
        assert_eq!(
            store.fetched(d, 1000, Some(200), Body::Bytes(wrong)),
            Err(FetchError::WrongIssuer)
        );
        assert!(store.due(1000).is_empty());
        let _ = store.due(1001);
        let good =
            br#"{"issuer": "https://idp.test/realm", "jwks_uri": "https://keys.idp.test/certs"}"#;
        assert_eq!(store.fetched(d, 1001, Some(200), Body::Bytes(good)), Ok(1));
        let next = store.due(1001);
        assert_eq!(next.len(), 1);
        assert_eq!(
            (
                next[0].cluster.as_str(),
                next[0].authority.as_str(),
                next[0].path.as_str()
            ),
            ("idp", "keys.idp.test", "/certs")
        );
        assert_eq!(
            store.fetched(next[0].id, 1001, Some(200), Body::Bytes(JWKS)),
            Ok(1)
        );
        assert!(!store.waiting_for_first_keys(0));
    }

    #[test]
    fn fetched_revocation_lists() {
        let config = config(
            json!({"revocation": {"jti": ["inline"], "http_uri": {"uri": "https://idp.test/revoked", "cluster": "idp"}, "cache_duration": "10s"}}),
        );
        let idp = idp(&config);
        let mut store = FetchSchedule::new(&config);
        let due = store.due(1000);
        assert_eq!(due.len(), 2);
        let rev = due.iter().find(|f| f.path == "/revoked").unwrap().id;
        let claims = |jti: &str| json!({"jti": jti, "sub": "s"}).as_object().unwrap().clone();
        assert_eq!(
            store.revoked(idp, &claims("stolen")),
            None,
            "no list yet: unknown, not \"not revoked\""
        );
        assert_eq!(
            store.fetched(
                rev,
                1000,
                Some(200),
                Body::Bytes(br#"{"jti": ["stolen"], "sub": []}"#)
            ),
            Ok(1)
        );
        assert_eq!(store.revoked(idp, &claims("stolen")), Some(true));
        assert_eq!(store.revoked(idp, &claims("fine")), Some(false));
        // A broken list keeps the last good one.
        let _ = store.due(1009);
        assert_eq!(
            store.fetched(rev, 1009, Some(200), Body::Bytes(br#"{"jti": "stolen"}"#)),
            Err(FetchError::Malformed)
        );
        assert_eq!(store.revoked(idp, &claims("stolen")), Some(true));
    }

    #[test]
    fn revisions_move_when_a_waiter_could_be_decided_differently() {
        let config = config(json!({}));
        let idp = idp(&config);
        let mut store = FetchSchedule::new(&config);
        let id = store.due(1000)[0].id;
        let at = |s: &FetchSchedule| s.revisions()[idp];
        // No keys yet and the fetch fails: nothing to re-decide with.
        store
            .fetched(id, 1000, Some(503), Body::Bytes(b""))
            .unwrap_err();
        assert_eq!(at(&store), 0);
        let _ = store.due(1001);
        store
            .fetched(id, 1001, Some(200), Body::Bytes(JWKS))
            .unwrap();
        assert_eq!(at(&store), 1, "the first keys");
        // A refetch that fails while keys are there: unknown-kid waiters
        // can now be told no.
        assert!(store.unknown_kid(idp, 1002));
        let _ = store.due(1002);
        store.fetched(id, 1002, None, Body::Bytes(b"")).unwrap_err();
        assert_eq!(at(&store), 2);
        // So does an answer that never came.
        let _ = store.due(1100);
        let _ = store.due(1110);
        assert_eq!(at(&store), 3);
        assert_eq!(store.revisions().len(), config.providers.len());
    }

    #[test]
    fn revocation_fail_open_only_before_the_first_list() {
        let open = config(
            json!({"revocation": {"http_uri": {"uri": "https://idp.test/revoked", "cluster": "idp"}, "fail_open": true}}),
        );
        let idp = idp(&open);
        let local = 1 - idp;
        let mut store = FetchSchedule::new(&open);
        let claims = json!({"jti": "stolen"}).as_object().unwrap().clone();
        assert_eq!(store.revoked(idp, &claims), Some(false), "fail open");
        assert_eq!(
            store.revoked(local, &claims),
            Some(false),
            "no list to wait for"
        );
        let rev = store
            .due(1000)
            .iter()
            .find(|f| f.path == "/revoked")
            .unwrap()
            .id;
        assert!(!store.has_content(rev));
        store
            .fetched(rev, 1000, Some(200), Body::Bytes(br#"{"jti": ["stolen"]}"#))
            .unwrap();
        assert!(store.has_content(rev));
        assert_eq!(store.revoked(idp, &claims), Some(true));
        assert!(store.wait_timeout_ms(idp, WaitFor::Revocation) == 5000);
        assert!(store.wait_timeout_ms(idp, WaitFor::FirstKeys) == 2000);
    }
}
