//! Counters on Envoy's `/stats` (proxy-wasm metrics, shown by Envoy with the
//! `wasmcustom.` prefix): `jwe_authn.allowed`, `jwe_authn.denied.<reason>`,
//! `jwe_authn.cache.hit`, `jwe_authn.cache.shared_hit` (verified by another
//! worker), `jwe_authn.cache.miss` (decrypted and verified here),
//! `jwe_authn.jwks_fetched`, `jwe_authn.jwks_fetch_failed`, the cold-path
//! budget's `jwe_authn.admission.spent_units` (units charged, ≈ 0.1 ms
//! each) and `jwe_authn.admission.shed.budget` / `.shed.source_share`
//! (requests shed, by cause; their sum is `jwe_authn.denied.overloaded`);
//! and the gauge
//! `jwe_authn.vm_memory_bytes`, the Wasm linear memory of a worker's VM
//! (sampled every [`MEMORY_SAMPLE_EVERY`] requests; the VMs of all workers
//! write the same gauge, so it shows the most recent sample of any worker).
//!
//! Counters are counted in the VM and added to Envoy's on each tick
//! ([`FLUSH_EVERY`]): a host call per counter per request was a third of the
//! cached path's cost. `/stats` therefore lags by at most one tick.

use super::host;
use crate::admission::Shed;
use crate::decide::CacheUse;
use crate::error::{Reason, Stat};
use proxy_wasm::types::MetricType;
use std::cell::Cell;
use std::time::Duration;

/// Requests between two samples of the VM's memory size.
pub const MEMORY_SAMPLE_EVERY: u64 = 256;

/// Ticks of the root context per second; each adds the VM's counts to
/// Envoy's counters.
const FLUSHES_PER_SECOND: u64 = 10;

/// How often the VM's counts are added to Envoy's counters.
pub const FLUSH_EVERY: Duration = Duration::from_millis(1000 / FLUSHES_PER_SECOND);

/// A counter: its Envoy id and what this VM counted since the last flush.
#[derive(Debug)]
struct Counter {
    id: Option<u32>,
    pending: Cell<u64>,
}

impl Counter {
    fn define(name: &str) -> Self {
        Counter {
            id: host::define_metric(MetricType::Counter, name),
            pending: Cell::new(0),
        }
    }

    fn bump(&self) {
        self.add(1);
    }

    fn add(&self, n: u64) {
        self.pending.set(self.pending.get().saturating_add(n));
    }

    fn flush(&self) {
        let n = self.pending.replace(0);
        if let (Some(id), true) = (self.id, n > 0) {
            host::increment_metric(id, n);
        }
    }
}

/// The VM's metrics, defined once per VM.
#[derive(Debug)]
pub struct Stats {
    allowed: Counter,
    /// One per [`Stat`], in [`Stat::ALL`] order.
    denied: Vec<Counter>,
    cache_hit: Counter,
    cache_shared_hit: Counter,
    cache_miss: Counter,
    jwks_fetched: Counter,
    jwks_fetch_failed: Counter,
    spent_units: Counter,
    shed_budget: Counter,
    shed_source: Counter,
    vm_memory: Option<u32>,
    requests: Cell<u64>,
}

impl Stats {
    /// Define every metric (a failure leaves that metric unset, never a panic).
    pub fn define() -> Self {
        Stats {
            allowed: Counter::define("jwe_authn.allowed"),
            denied: Stat::ALL
                .iter()
                .map(|s| Counter::define(&format!("jwe_authn.denied.{}", s.name())))
                .collect(),
            cache_hit: Counter::define("jwe_authn.cache.hit"),
            cache_shared_hit: Counter::define("jwe_authn.cache.shared_hit"),
            cache_miss: Counter::define("jwe_authn.cache.miss"),
            jwks_fetched: Counter::define("jwe_authn.jwks_fetched"),
            jwks_fetch_failed: Counter::define("jwe_authn.jwks_fetch_failed"),
            spent_units: Counter::define("jwe_authn.admission.spent_units"),
            shed_budget: Counter::define("jwe_authn.admission.shed.budget"),
            shed_source: Counter::define("jwe_authn.admission.shed.source_share"),
            vm_memory: host::define_metric(MetricType::Gauge, "jwe_authn.vm_memory_bytes"),
            requests: Cell::new(0),
        }
    }

    /// Add what this VM counted to Envoy's counters (on every tick, and
    /// when the VM is torn down).
    pub fn flush(&self) {
        let single = [
            &self.allowed,
            &self.cache_hit,
            &self.cache_shared_hit,
            &self.cache_miss,
            &self.jwks_fetched,
            &self.jwks_fetch_failed,
            &self.spent_units,
            &self.shed_budget,
            &self.shed_source,
        ];
        single
            .into_iter()
            .chain(self.denied.iter())
            .for_each(Counter::flush);
    }

    /// Count a request; on the first and every [`MEMORY_SAMPLE_EVERY`]th,
    /// record the VM's linear memory size. Only request paths call this, so
    /// the main thread's VM (which serves no requests) never writes it.
    pub fn request(&self) {
        let n = self.requests.get();
        self.requests.set(n.wrapping_add(1));
        if n.is_multiple_of(MEMORY_SAMPLE_EVERY) {
            if let Some(id) = self.vm_memory {
                host::record_metric(id, host::memory_bytes());
            }
        }
    }

    /// Count an allowed request.
    pub fn allowed(&self) {
        self.allowed.bump();
    }

    /// Count a denied request under its reason's stat (and a shed one
    /// under its cause too).
    pub fn denied(&self, reason: Reason) {
        if let Some(c) = self.denied.get(reason.counter().index()) {
            c.bump();
        }
        match reason {
            Reason::Overloaded(Shed::Budget) => self.shed_budget.bump(),
            Reason::Overloaded(Shed::SourceShare) => self.shed_source.bump(),
            _ => {}
        }
    }

    /// Add cold-path budget units charged since the last tick.
    pub fn spent(&self, units: u64) {
        self.spent_units.add(units);
    }

    /// Count a successful JWKS fetch.
    pub fn jwks_fetched(&self) {
        self.jwks_fetched.bump();
    }

    /// Count a failed or malformed JWKS fetch.
    pub fn jwks_fetch_failed(&self) {
        self.jwks_fetch_failed.bump();
    }

    /// Count a cache hit or miss.
    pub fn cache(&self, use_: CacheUse) {
        match use_ {
            CacheUse::Hit => self.cache_hit.bump(),
            CacheUse::SharedHit => self.cache_shared_hit.bump(),
            CacheUse::Miss => self.cache_miss.bump(),
            CacheUse::None => {}
        }
    }
}
