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
    in_flight: bool,
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

    /// Providers whose fetch is due at `now`; they are marked in flight.
    pub fn due(&mut self, now: u64) -> Vec<usize> {
        let mut due = Vec::new();
        for (i, remote) in self.remotes.iter_mut().enumerate() {
            if let Some(r) = remote {
                if !r.in_flight && now >= r.due_at {
                    r.in_flight = true;
                    due.push(i);
                }
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
        remote.in_flight = false;
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
        if remote.in_flight {
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
