//! Counters on Envoy's `/stats` (proxy-wasm metrics, shown by Envoy with the
//! `wasmcustom.` prefix): `jwe_authn.allowed`, `jwe_authn.denied.<reason>`,
//! `jwe_authn.cache.hit`, `jwe_authn.cache.shared_hit` (verified by another
//! worker), `jwe_authn.cache.miss` (decrypted and verified here), `jwe_authn.jwks_fetched`,
//! `jwe_authn.jwks_fetch_failed`.

use crate::decide::CacheUse;
use crate::error::Reason;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

/// Metric ids, defined once per VM.
#[derive(Debug, Default)]
pub struct Stats {
    allowed: Option<u32>,
    denied: Vec<(&'static str, u32)>,
    cache_hit: Option<u32>,
    cache_shared_hit: Option<u32>,
    cache_miss: Option<u32>,
    jwks_fetched: Option<u32>,
    jwks_fetch_failed: Option<u32>,
}

fn counter(name: &str) -> Option<u32> {
    hostcalls::define_metric(MetricType::Counter, name).ok()
}

impl Stats {
    /// Define every counter (a failure leaves that counter unset, never a panic).
    pub fn define() -> Self {
        Stats {
            allowed: counter("jwe_authn.allowed"),
            denied: Reason::STATS
                .iter()
                .filter_map(|r| counter(&format!("jwe_authn.denied.{r}")).map(|id| (*r, id)))
                .collect(),
            cache_hit: counter("jwe_authn.cache.hit"),
            cache_shared_hit: counter("jwe_authn.cache.shared_hit"),
            cache_miss: counter("jwe_authn.cache.miss"),
            jwks_fetched: counter("jwe_authn.jwks_fetched"),
            jwks_fetch_failed: counter("jwe_authn.jwks_fetch_failed"),
        }
    }

    fn bump(id: Option<u32>) {
        if let Some(id) = id {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }

    /// Count an allowed request.
    pub fn allowed(&self) {
        Self::bump(self.allowed);
    }

    /// Count a denied request under its reason's stat.
    pub fn denied(&self, reason: Reason) {
        let id = self
            .denied
            .iter()
            .find(|(n, _)| *n == reason.stat())
            .map(|(_, id)| *id);
        Self::bump(id);
    }

    /// Count a successful JWKS fetch.
    pub fn jwks_fetched(&self) {
        Self::bump(self.jwks_fetched);
    }

    /// Count a failed or malformed JWKS fetch.
    pub fn jwks_fetch_failed(&self) {
        Self::bump(self.jwks_fetch_failed);
    }

    /// Count a cache hit or miss.
    pub fn cache(&self, use_: CacheUse) {
        match use_ {
            CacheUse::Hit => Self::bump(self.cache_hit),
            CacheUse::SharedHit => Self::bump(self.cache_shared_hit),
            CacheUse::Miss => Self::bump(self.cache_miss),
            CacheUse::None => {}
        }
    }
}
