//! Counters on Envoy's `/stats` (proxy-wasm metrics, shown by Envoy with the
//! `wasmcustom.` prefix): `jwe_authn.allowed`, `jwe_authn.denied.<reason>`,
//! `jwe_authn.cache.hit`, `jwe_authn.cache.shared_hit` (verified by another
//! worker), `jwe_authn.cache.miss` (decrypted and verified here), `jwe_authn.jwks_fetched`,
//! `jwe_authn.jwks_fetch_failed`; and the gauge `jwe_authn.vm_memory_bytes`,
//! the Wasm linear memory of a worker's VM (sampled every
//! [`MEMORY_SAMPLE_EVERY`] requests; the VMs of all workers write the same
//! gauge, so it shows the most recent sample of any worker).

use crate::decide::CacheUse;
use crate::error::Reason;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::Cell;

/// Requests between two samples of the VM's memory size.
pub const MEMORY_SAMPLE_EVERY: u64 = 256;

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
    vm_memory: Option<u32>,
    requests: Cell<u64>,
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
            vm_memory: hostcalls::define_metric(MetricType::Gauge, "jwe_authn.vm_memory_bytes")
                .ok(),
            requests: Cell::new(0),
        }
    }

    /// Count a request; on the first and every [`MEMORY_SAMPLE_EVERY`]th,
    /// record the VM's linear memory size. Only request paths call this, so
    /// the main thread's VM (which serves no requests) never writes it.
    pub fn request(&self) {
        let n = self.requests.get();
        self.requests.set(n.wrapping_add(1));
        if n.is_multiple_of(MEMORY_SAMPLE_EVERY) {
            if let Some(id) = self.vm_memory {
                let pages = core::arch::wasm32::memory_size(0) as u64;
                let _ = hostcalls::record_metric(id, pages.saturating_mul(65_536));
            }
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
