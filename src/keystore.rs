//! Verification keys that change: the state of each provider's
//! `remote_jwks`, kept by the host and consulted by [`crate::verify`].
//!
//! The store decides *when* to fetch (at start, before `cache_duration` runs
//! out, on an unknown `kid` at most once per `unknown_kid_refetch_interval`,
//! and after failures with exponential backoff) and *what to keep* (a failed
//! or malformed fetch never replaces the last good keys). The host does the
//! fetching and passes the clock and the bodies in: the store reads neither.

use crate::config::{CompiledConfig, Provider};
use crate::jose::jwk::Jwk;
use crate::jose::{json, jwk};
use std::rc::Rc;

/// Longest backoff after failed fetches, seconds.
const MAX_BACKOFF_S: u64 = 60;

/// One remote provider's keys and fetch schedule.
#[derive(Debug, Default)]
struct Remote {
    keys: Option<Rc<Vec<Jwk>>>,
    /// When the next fetch is due (seconds since the epoch).
    due_at: u64,
    /// When the fetch under way started.
    in_flight: Option<u64>,
    failures: u32,
    last_unknown_kid_fetch: Option<u64>,
}

/// Where verification keys come from, per provider.
pub trait KeySource {
    /// The keys of `provider`; `None` while remote keys have not arrived.
    fn keys_for<'a>(&'a self, provider: &'a Provider) -> Option<&'a [Jwk]>;
}

/// Only the configured `local_jwks` (the CLI, and providers without
/// `remote_jwks`).
pub struct LocalKeys;

impl KeySource for LocalKeys {
    fn keys_for<'a>(&'a self, provider: &'a Provider) -> Option<&'a [Jwk]> {
        Some(&provider.keys)
    }
}

/// The remote keys of every provider, by provider index.
#[derive(Debug, Default)]
pub struct KeyStore {
    remotes: Vec<Option<Remote>>,
    names: Vec<String>,
}

/// Why a fetched body was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchError {
    /// Not HTTP 200, or no response.
    Failed,
    /// Larger than `max_jwks_bytes`.
    TooLarge,
    /// Not a JWKS we can use.
    Malformed,
}

impl KeyStore {
    /// A store for `config`'s providers; every remote one is due at once.
    pub fn new(config: &CompiledConfig) -> Self {
        KeyStore {
            remotes: config
                .providers
                .iter()
                .map(|p| p.remote.as_ref().map(|_| Remote::default()))
                .collect(),
            names: config.providers.iter().map(|p| p.name.clone()).collect(),
        }
    }

    fn index(&self, provider: &Provider) -> Option<usize> {
        self.names.iter().position(|n| *n == provider.name)
    }

    /// Providers whose fetch is due at `now`; they are marked in flight. A
    /// fetch whose answer never came (well past its timeout) counts as
    /// failed, so a lost response cannot stop the refreshes.
    pub fn due(&mut self, config: &CompiledConfig, now: u64) -> Vec<usize> {
        let mut due = Vec::new();
        for (i, remote) in self.remotes.iter_mut().enumerate() {
            let Some(r) = remote else { continue };
            if let Some(started) = r.in_flight {
                let timeout_s = config
                    .providers
                    .get(i)
                    .and_then(|p| p.remote.as_ref())
                    .map_or(5, |s| s.timeout_ms.div_ceil(1000));
                if now <= started.saturating_add(timeout_s).saturating_add(2) {
                    continue;
                }
                r.failures = r.failures.saturating_add(1);
            }
            if now >= r.due_at {
                r.in_flight = Some(now);
                due.push(i);
            } else {
                r.in_flight = None;
            }
        }
        due
    }

    /// True when a provider's first keys have not arrived yet.
    pub fn waiting_for_first_keys(&self, provider: usize) -> bool {
        matches!(self.remotes.get(provider), Some(Some(r)) if r.keys.is_none())
    }

    /// A fetch for `provider` answered with `status` and `body`: use the keys
    /// if they are good, otherwise keep the old ones and back off.
    pub fn fetched(
        &mut self,
        config: &CompiledConfig,
        provider: usize,
        now: u64,
        status: Option<u16>,
        body: &[u8],
    ) -> Result<usize, FetchError> {
        let source = config
            .providers
            .get(provider)
            .and_then(|p| p.remote.as_ref());
        let (Some(Some(remote)), Some(source)) = (self.remotes.get_mut(provider), source) else {
            return Err(FetchError::Failed);
        };
        remote.in_flight = None;
        let parsed = match status {
            Some(200) if body.len() > source.max_bytes => Err(FetchError::TooLarge),
            Some(200) => json::parse(body)
                .ok()
                .and_then(|v| jwk::parse_jwks(&v).ok())
                .filter(|keys| keys.iter().all(|k| !k.key.is_private()))
                .ok_or(FetchError::Malformed),
            _ => Err(FetchError::Failed),
        };
        match parsed {
            Ok(keys) => {
                let count = keys.len();
                remote.keys = Some(Rc::new(keys));
                remote.failures = 0;
                // Refresh before the keys are due to expire.
                let refresh = source
                    .cache_duration_s
                    .saturating_sub(source.cache_duration_s / 10)
                    .max(1);
                remote.due_at = now.saturating_add(refresh);
                Ok(count)
            }
            Err(e) => {
                remote.failures = remote.failures.saturating_add(1);
                let backoff = 1u64
                    .checked_shl(remote.failures.saturating_sub(1))
                    .unwrap_or(MAX_BACKOFF_S)
                    .min(MAX_BACKOFF_S);
                remote.due_at = now.saturating_add(backoff);
                Err(e)
            }
        }
    }

    /// A `kid` was not found among `provider`'s remote keys: schedule an
    /// immediate refetch unless one ran within the refetch interval. True
    /// when a fetch is now pending (so the request may wait for it).
    pub fn unknown_kid(&mut self, config: &CompiledConfig, provider: usize, now: u64) -> bool {
        let interval = match config
            .providers
            .get(provider)
            .and_then(|p| p.remote.as_ref())
        {
            Some(source) => source.refetch_interval_s,
            None => return false,
        };
        let Some(Some(remote)) = self.remotes.get_mut(provider) else {
            return false;
        };
        if remote.in_flight.is_some() {
            return true;
        }
        if remote
            .last_unknown_kid_fetch
            .is_some_and(|at| now < at.saturating_add(interval))
        {
            return false;
        }
        remote.last_unknown_kid_fetch = Some(now);
        remote.due_at = now;
        true
    }
}

impl KeySource for KeyStore {
    fn keys_for<'a>(&'a self, provider: &'a Provider) -> Option<&'a [Jwk]> {
        if provider.remote.is_none() {
            return Some(&provider.keys);
        }
        let i = self.index(provider)?;
        match self.remotes.get(i) {
            Some(Some(r)) => r.keys.as_deref().map(Vec::as_slice),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> CompiledConfig {
        let text = json!({
            "decryption_keys": {"keys": [{"kty": "oct", "k": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]},
            "providers": {
                "idp": {"issuer": "https://idp", "remote_jwks": {
                    "http_uri": {"uri": "https://idp/jwks", "cluster": "idp", "timeout": "2s"},
                    "cache_duration": "100s", "unknown_kid_refetch_interval": "30s", "max_jwks_bytes": 1024}},
                "local": {"issuer": "https://local", "local_jwks": {"keys": [{"kty": "oct", "k": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]}}
            }
        });
        CompiledConfig::from_json(&text.to_string()).unwrap()
    }

    const JWKS: &[u8] = br#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "a",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

    #[test]
    fn schedule_keep_and_backoff() {
        let config = config();
        let idp = config
            .providers
            .iter()
            .position(|p| p.name == "idp")
            .unwrap();
        let mut store = KeyStore::new(&config);
        assert_eq!(
            store.due(&config, 1000),
            vec![idp],
            "due at once, only the remote provider"
        );
        assert!(store.due(&config, 1000).is_empty(), "in flight");
        assert!(store.waiting_for_first_keys(idp));
        assert!(store.keys_for(&config.providers[idp]).is_none());
        assert_eq!(store.fetched(&config, idp, 1001, Some(200), JWKS), Ok(1));
        assert_eq!(
            store.keys_for(&config.providers[idp]).map(<[Jwk]>::len),
            Some(1)
        );
        // Refreshed at 90% of cache_duration.
        assert!(store.due(&config, 1090).is_empty());
        assert_eq!(store.due(&config, 1091), vec![idp]);
        // Failures and garbage keep the last good keys, with growing backoff.
        assert_eq!(
            store.fetched(&config, idp, 1092, Some(500), b""),
            Err(FetchError::Failed)
        );
        assert_eq!(
            store.keys_for(&config.providers[idp]).map(<[Jwk]>::len),
            Some(1)
        );
        assert!(store.due(&config, 1092).is_empty());
        assert_eq!(store.due(&config, 1093), vec![idp]);
        assert_eq!(
            store.fetched(&config, idp, 1093, Some(200), b"{\"keys\": 1}"),
            Err(FetchError::Malformed)
        );
        assert!(store.due(&config, 1094).is_empty(), "backoff doubled");
        assert_eq!(store.due(&config, 1095), vec![idp]);
        let big = vec![b' '; 2000];
        assert_eq!(
            store.fetched(&config, idp, 1095, Some(200), &big),
            Err(FetchError::TooLarge)
        );
        assert_eq!(
            store.keys_for(&config.providers[idp]).map(<[Jwk]>::len),
            Some(1)
        );
        // A private key in a JWKS is refused.
        let private = br#"{"keys": [{"kty": "oct", "k": "AAAA"}]}"#;
        assert_eq!(
            store.fetched(&config, idp, 1200, Some(200), private),
            Err(FetchError::Malformed)
        );
    }

    #[test]
    fn unknown_kid_refetches_are_rate_limited_and_lost_answers_expire() {
        let config = config();
        let idp = config
            .providers
            .iter()
            .position(|p| p.name == "idp")
            .unwrap();
        let local = 1 - idp;
        let mut store = KeyStore::new(&config);
        assert!(
            !store.unknown_kid(&config, local, 1000),
            "local keys are never fetched"
        );
        let _ = store.due(&config, 1000);
        assert!(
            store.unknown_kid(&config, idp, 1000),
            "a fetch is already under way"
        );
        store.fetched(&config, idp, 1000, Some(200), JWKS).unwrap();
        assert!(store.unknown_kid(&config, idp, 1010));
        assert_eq!(store.due(&config, 1010), vec![idp]);
        store.fetched(&config, idp, 1010, Some(200), JWKS).unwrap();
        assert!(
            !store.unknown_kid(&config, idp, 1020),
            "within 30 s of the last one"
        );
        assert!(store.unknown_kid(&config, idp, 1041));
        // An answer that never comes: the fetch is retried after its timeout.
        assert_eq!(store.due(&config, 1041), vec![idp]);
        assert!(store.due(&config, 1044).is_empty());
        assert_eq!(store.due(&config, 1046), vec![idp]);
    }
}
