//! Admission for the cold path: a budget of expensive work per worker,
//! shared fairly between downstream addresses — the policy, without the
//! host (issue 14; not wired into the filter yet).
//!
//! Only work that a token no cache knows forces — a private-key operation
//! to recover the CEK, then a signature verification — draws on the
//! budget. Its cost is *estimated* before the work, in units of about
//! 0.1 ms of a worker's CPU inside Envoy's V8 ([`cost_units`], from the
//! cold-path figures in `BENCHMARKS.md`), so a forged RSA-OAEP token
//! is charged what it will cost even though it fails.
//!
//! Two token buckets decide, both refilled continuously by the clock the
//! caller passes (milliseconds; the module never reads a clock):
//!
//! - the **worker's budget**: `rate_per_s` units per second, holding at most
//!   one second's worth. The default, [`DEFAULT_RATE`], is half a worker, so
//!   cached traffic and public routes keep the other half however many
//!   forged tokens arrive;
//! - a **share per source** (the downstream address): each holds at most
//!   `source_share_percent` of the worker's budget and refills at that
//!   share of its rate, so one address cannot spend more than its share and
//!   a new user from another address still finds budget. At most
//!   [`MAX_SOURCES`] sources are tracked; when the table is full, the entry
//!   seen longest ago is forgotten (it would be full again anyway by then,
//!   unless it was seen within the last second).
//!
//! A request refused here is answered at once (`503`, `retry-after: 1`),
//! never forwarded and never cached.

use std::collections::HashMap;

/// Units per second of the default budget: half a worker (1 unit ≈ 0.1 ms).
pub const DEFAULT_RATE: u64 = 5_000;

/// Default share of one source, percent of the worker's budget.
pub const DEFAULT_SOURCE_SHARE_PERCENT: u64 = 25;

/// Most sources tracked at once.
pub const MAX_SOURCES: usize = 4096;

/// Bucket levels are kept in milli-units, so refills of a few
/// milliseconds are not lost to rounding.
const MILLI: u64 = 1000;

/// The key-management work a token's outer header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyWork {
    /// RSA-OAEP with a modulus of this many bits.
    Rsa { bits: usize },
    /// ECDH-ES on P-256, P-384 or P-521 (the curve's size in bits).
    EcdhNist { bits: usize },
    /// ECDH-ES on X25519.
    X25519,
    /// AES key wrap, `dir`: no private-key operation.
    Symmetric,
}

/// The estimated cost of decrypting with `key` and then verifying a
/// signature, in units (≈ 0.1 ms of a worker in Envoy's V8). Private-key
/// RSA grows with about the cube of the modulus.
pub fn cost_units(key: KeyWork) -> u64 {
    // A signature verification (ES256 in V8: about 0.5 ms).
    const VERIFY: u64 = 5;
    let decrypt = match key {
        KeyWork::Rsa { bits } => {
            // 2048 bits: about 3.5 ms.
            let b = u64::try_from(bits.clamp(1024, 4096)).unwrap_or(4096);
            (35 * b * b * b).div_ceil(2048 * 2048 * 2048)
        }
        KeyWork::EcdhNist { bits } if bits <= 256 => 5,
        KeyWork::EcdhNist { bits } if bits <= 384 => 12,
        KeyWork::EcdhNist { .. } => 25,
        KeyWork::X25519 => 2,
        KeyWork::Symmetric => 0,
    };
    decrypt + VERIFY
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// The worker's budget is spent.
    Budget,
    /// This source has spent its share.
    SourceShare,
}

/// A token bucket in milli-units.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: u64,
    at_ms: u64,
}

impl Bucket {
    fn full(capacity: u64, now_ms: u64) -> Self {
        Bucket {
            level: capacity,
            at_ms: now_ms,
        }
    }

    /// Add what `rate` (milli-units per ms, i.e. units per second) gave
    /// since the last look, up to `capacity`. A clock that went back adds
    /// nothing.
    fn refill(&mut self, rate: u64, capacity: u64, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.at_ms);
        self.level = self
            .level
            .saturating_add(elapsed.saturating_mul(rate))
            .min(capacity);
        self.at_ms = self.at_ms.max(now_ms);
    }
}

/// Admission state of one worker.
#[derive(Debug)]
pub struct Admission {
    /// Units per second (0: admission off, everything admitted).
    rate: u64,
    share_percent: u64,
    worker: Bucket,
    sources: HashMap<Vec<u8>, Bucket>,
    /// Units charged so far, for stats.
    pub spent: u64,
}

impl Admission {
    /// A budget of `rate_per_s` units per second (0 turns admission off),
    /// each source holding `source_share_percent` (clamped to 1..=100) of it.
    pub fn new(rate_per_s: u64, source_share_percent: u64, now_ms: u64) -> Self {
        let rate = rate_per_s;
        Admission {
            rate,
            share_percent: source_share_percent.clamp(1, 100),
            worker: Bucket::full(rate.saturating_mul(MILLI), now_ms),
            sources: HashMap::new(),
            spent: 0,
        }
    }

    fn source_rate(&self) -> u64 {
        (self.rate.saturating_mul(self.share_percent) / 100).max(1)
    }

    /// Admit work of `cost` units for `source` at `now_ms`, charging both
    /// buckets, or say why not (charging nothing).
    pub fn admit(&mut self, source: &[u8], cost: u64, now_ms: u64) -> Result<(), Shed> {
        if self.rate == 0 {
            return Ok(());
        }
        let cost = cost.saturating_mul(MILLI);
        let capacity = self.rate.saturating_mul(MILLI);
        self.worker.refill(self.rate, capacity, now_ms);
        let source_rate = self.source_rate();
        let source_capacity = source_rate.saturating_mul(MILLI);
        if !self.sources.contains_key(source) && self.sources.len() >= MAX_SOURCES {
            self.forget_oldest();
        }
        let bucket = self
            .sources
            .entry(source.to_vec())
            .or_insert_with(|| Bucket::full(source_capacity, now_ms));
        bucket.refill(source_rate, source_capacity, now_ms);
        if bucket.level < cost {
            return Err(Shed::SourceShare);
        }
        if self.worker.level < cost {
            return Err(Shed::Budget);
        }
        bucket.level -= cost;
        self.worker.level -= cost;
        self.spent = self.spent.saturating_add(cost / MILLI);
        Ok(())
    }

    /// Sources tracked.
    pub fn sources(&self) -> usize {
        self.sources.len()
    }

    fn forget_oldest(&mut self) {
        let oldest = self
            .sources
            .iter()
            .min_by_key(|(_, b)| b.at_ms)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            self.sources.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: u64 = 40; // ≈ cost_units(Rsa { bits: 2048 })

    #[test]
    fn costs_follow_the_measured_order() {
        let rsa2048 = cost_units(KeyWork::Rsa { bits: 2048 });
        assert_eq!(rsa2048, RSA);
        assert!(cost_units(KeyWork::Rsa { bits: 4096 }) > 6 * rsa2048);
        assert!(cost_units(KeyWork::EcdhNist { bits: 256 }) < rsa2048 / 3);
        assert!(cost_units(KeyWork::X25519) < cost_units(KeyWork::EcdhNist { bits: 256 }));
        assert!(
            cost_units(KeyWork::EcdhNist { bits: 521 })
                > cost_units(KeyWork::EcdhNist { bits: 384 })
        );
        assert!(
            cost_units(KeyWork::Symmetric) > 0,
            "a verification still costs"
        );
        // Absurd sizes are charged as the largest allowed key, not more or 0.
        assert_eq!(
            cost_units(KeyWork::Rsa { bits: usize::MAX }),
            cost_units(KeyWork::Rsa { bits: 4096 })
        );
    }

    #[test]
    fn one_flooding_source_spends_only_its_share() {
        // 1,000 units/s; a source may hold 25 % of it.
        let mut a = Admission::new(1000, 25, 0);
        let mut admitted = 0;
        while a.admit(b"10.0.0.66", RSA, 0).is_ok() {
            admitted += 1;
        }
        assert_eq!(admitted, 250 / RSA);
        assert_eq!(a.admit(b"10.0.0.66", RSA, 0), Err(Shed::SourceShare));
        // Another address still gets work done at once.
        assert_eq!(a.admit(b"10.0.0.7", RSA, 0), Ok(()));
    }

    #[test]
    fn many_sources_together_cannot_spend_more_than_the_worker_budget() {
        let mut a = Admission::new(1000, 25, 0);
        let mut admitted = 0u64;
        for i in 0..1000u32 {
            if a.admit(&i.to_be_bytes(), RSA, 0).is_ok() {
                admitted += RSA;
            }
        }
        assert!(admitted <= 1000, "{admitted}");
        assert_eq!(a.admit(b"new", RSA, 0), Err(Shed::Budget));
        // The budget comes back with time: 1,000 units per second.
        assert_eq!(a.admit(b"new", RSA, 40), Ok(()));
        assert_eq!(a.spent, admitted + RSA);
    }

    #[test]
    fn refusals_charge_nothing_and_the_clock_going_back_adds_nothing() {
        let mut a = Admission::new(1000, 100, 10_000);
        for _ in 0..25 {
            a.admit(b"s", RSA, 10_000).unwrap();
        }
        let spent = a.spent;
        for _ in 0..100 {
            assert!(a.admit(b"s", RSA, 10_000).is_err());
        }
        assert_eq!(a.spent, spent);
        // Back in time: still nothing.
        assert!(a.admit(b"s", RSA, 0).is_err());
        // Forward again from the latest time seen.
        assert!(a.admit(b"s", RSA, 10_040).is_ok());
    }

    #[test]
    fn the_source_table_is_bounded() {
        let mut a = Admission::new(u64::MAX / MILLI, 1, 0);
        for i in 0..(MAX_SOURCES as u32 + 100) {
            let _ = a.admit(&i.to_be_bytes(), 1, u64::from(i));
        }
        assert_eq!(a.sources(), MAX_SOURCES);
        // The oldest were forgotten: the first source starts full again.
        assert_eq!(a.admit(&0u32.to_be_bytes(), 1, 1_000_000), Ok(()));
    }

    #[test]
    fn rate_zero_turns_admission_off() {
        let mut a = Admission::new(0, 25, 0);
        for _ in 0..10_000 {
            assert_eq!(a.admit(b"s", 1_000_000, 0), Ok(()));
        }
        assert_eq!(a.sources(), 0, "nothing tracked when off");
    }
}
