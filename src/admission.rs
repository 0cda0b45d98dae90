//! Admission for the cold path: a budget of expensive work per worker,
//! shared fairly between downstream addresses — the policy, without the
//! host.
//!
//! Only work that a token no cache knows forces draws on the budget: a
//! private-key operation to recover the CEK ([`decrypt_units`], charged
//! after the cheap checks and key selection, before the key is used), then
//! each signature verification ([`verify_units`], charged once the inner
//! header has chosen its keys). Its cost is *estimated* before the work, in
//! units of 0.1 ms of a worker's time (from the cold-path figures in
//! `BENCHMARKS.md` for Envoy's V8), so a forged RSA-OAEP token is refused
//! before it costs anything; once admitted work is done, the filter's gate
//! ([`Metered::timed`]) charges what it really took instead, so the budget
//! holds on a slower machine or runtime too. Cached tokens, public
//! routes and tokens refused by cheap checks (shape, size, refused
//! algorithm, no key for its `kid`) never ask.
//!
//! Two token buckets decide, both refilled continuously by the clock the
//! caller passes (milliseconds; the module never reads a clock):
//!
//! - the **worker's budget**: `rate_per_s` units per second, holding at most
//!   one second's worth. The default, [`DEFAULT_WORKER_PERCENT`] of a
//!   worker, keeps the other half for cached traffic and public routes
//!   however many forged tokens arrive;
//! - a **share per source** (the downstream address, [`source_key`]): each
//!   holds at most `source_share_percent` of the worker's budget and refills
//!   at that share of its rate, so one address cannot spend more than its
//!   share and a new user from another address still finds budget. At most
//!   [`MAX_SOURCES`] sources are tracked; when the table is full, the entry
//!   seen longest ago is forgotten (it would be full again anyway by then,
//!   unless it was seen within the last second).
//!
//! A piece of work dearer than a whole bucket is charged the whole bucket
//! (it is admitted when the bucket is full), so no token is refused for
//! ever by a small budget.
//!
//! The pipeline asks through a [`Gate`]: [`Metered`] for the filter (it
//! reads the request's address only when asked, so cached and cheaply
//! refused requests never make that host call), [`Unmetered`] for the CLI.
//! A request refused here is answered at once (`503`, `retry-after: 1`),
//! never forwarded and never cached.

use crate::jose::alg::SignatureAlg;
use crate::jose::fit::{self, Curve};
use crate::jose::jwk::Key;
use crate::jose::jws::HostVerify;
use std::collections::HashMap;

/// Units in one second of one worker's time (1 unit ≈ 0.1 ms).
pub const WORKER_UNITS_PER_SECOND: u64 = 10_000;

/// Default share of a worker's time the cold path may use, percent.
pub const DEFAULT_WORKER_PERCENT: u64 = 50;

/// Default share of one source, percent of the worker's budget.
/// One address may so use 5 % of a worker: in Envoy's V8 about a dozen
/// RSA-2048 or seventy X25519 tokens a second, plenty for one client, while
/// one flooding address leaves the worker 95 % of its time.
pub const DEFAULT_SOURCE_SHARE_PERCENT: u64 = 10;

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

/// What recovering the CEK with `key` costs: [`KeyWork`] of a decryption key.
pub fn key_work(key: &Key) -> KeyWork {
    if let Some(bytes) = fit::rsa_bytes(key) {
        return KeyWork::Rsa {
            bits: bytes.saturating_mul(8),
        };
    }
    match fit::curve(key) {
        Some(Curve::P256) => KeyWork::EcdhNist { bits: 256 },
        Some(Curve::P384) => KeyWork::EcdhNist { bits: 384 },
        Some(Curve::P521) => KeyWork::EcdhNist { bits: 521 },
        Some(Curve::X25519 | Curve::Ed25519) => KeyWork::X25519,
        None => KeyWork::Symmetric,
    }
}

/// The estimated cost of recovering a CEK, in units (≈ 0.1 ms of a worker
/// in Envoy's V8). Private-key RSA grows with about the cube of the
/// modulus; symmetric key management costs nothing worth counting.
pub fn decrypt_units(key: KeyWork) -> u64 {
    match key {
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
    }
}

/// The estimated cost of one signature verification with `alg` and `key`,
/// in units: ECDSA about 0.5 ms for P-256 in V8, RSA public-key
/// operations (e = 65537) about 0.2 ms at 2048 bits and growing with the
/// square of the modulus, Ed25519 about 0.3 ms, HMAC nothing worth counting.
pub fn verify_units(alg: SignatureAlg, key: &Key) -> u64 {
    use SignatureAlg::*;
    match alg {
        Hs256 | Hs384 | Hs512 => 0,
        Rs256 | Rs384 | Rs512 | Ps256 | Ps384 | Ps512 => {
            let bits = fit::rsa_bytes(key).unwrap_or(256).saturating_mul(8);
            let b = u64::try_from(bits.clamp(2048, 8192)).unwrap_or(8192);
            (2 * b * b).div_ceil(2048 * 2048)
        }
        Es256 => 5,
        Es384 => 12,
        Es512 => 25,
        EdDsa | Ed25519 => 3,
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// The worker's budget is spent.
    Budget,
    /// This source has spent its share.
    SourceShare,
}

/// A token bucket in milli-units. The level may go below zero, by at most
/// one bucket, when work turned out dearer than estimated: that debt is
/// paid back by the refill before anything else is admitted.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: i64,
    at_ms: u64,
}

/// `v` as an `i64`, saturating.
fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Bucket {
    fn full(capacity: u64, now_ms: u64) -> Self {
        Bucket {
            level: signed(capacity),
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
            .saturating_add(signed(elapsed.saturating_mul(rate)))
            .min(signed(capacity));
        self.at_ms = self.at_ms.max(now_ms);
    }

    /// Take `delta` milli-units (give them back when negative), staying
    /// within one bucket of debt and one bucket of credit.
    fn charge(&mut self, delta: i64, capacity: u64) {
        let capacity = signed(capacity);
        self.level = self
            .level
            .saturating_sub(delta)
            .clamp(capacity.saturating_neg(), capacity);
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
    /// Milli-units charged since the last [`Admission::take_spent`].
    spent_milli: u64,
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
            spent_milli: 0,
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
        let capacity = self.rate.saturating_mul(MILLI);
        self.worker.refill(self.rate, capacity, now_ms);
        let source_rate = self.source_rate();
        let source_capacity = source_rate.saturating_mul(MILLI);
        // Work dearer than a whole bucket is charged the whole bucket.
        let cost = cost.saturating_mul(MILLI).min(source_capacity);
        if !self.sources.contains_key(source) && self.sources.len() >= MAX_SOURCES {
            self.forget_oldest();
        }
        let bucket = match self.sources.get_mut(source) {
            Some(bucket) => bucket,
            None => self
                .sources
                .entry(source.to_vec())
                .or_insert_with(|| Bucket::full(source_capacity, now_ms)),
        };
        bucket.refill(source_rate, source_capacity, now_ms);
        let cost = signed(cost);
        if bucket.level < cost {
            return Err(Shed::SourceShare);
        }
        if self.worker.level < cost {
            return Err(Shed::Budget);
        }
        bucket.charge(cost, source_capacity);
        self.worker.charge(cost, capacity);
        self.spent_milli = self.spent_milli.saturating_add(cost.unsigned_abs());
        Ok(())
    }

    /// Charge work of `cost` units for `source` that may not be refused:
    /// the rest of a token whose first work was admitted (its signature
    /// check after its decryption), so that work already done is not
    /// wasted. The buckets may go into debt (at most one bucket).
    pub fn force(&mut self, source: &[u8], cost: u64, now_ms: u64) {
        if self.rate == 0 {
            return;
        }
        let capacity = self.rate.saturating_mul(MILLI);
        self.worker.refill(self.rate, capacity, now_ms);
        let source_rate = self.source_rate();
        let source_capacity = source_rate.saturating_mul(MILLI);
        let cost = cost.saturating_mul(MILLI).min(source_capacity);
        if let Some(bucket) = self.sources.get_mut(source) {
            bucket.refill(source_rate, source_capacity, now_ms);
            bucket.charge(signed(cost), source_capacity);
        }
        self.worker.charge(signed(cost), capacity);
        self.spent_milli = self.spent_milli.saturating_add(cost);
    }

    /// Work admitted for `source` with an estimate of `estimated` units
    /// really took `actual_milli` milli-units (measured by the caller):
    /// charge the difference to both buckets, or give it back. The actual
    /// figure counts at most a whole bucket, like the estimate.
    pub fn settle(&mut self, source: &[u8], estimated: u64, actual_milli: u64) {
        if self.rate == 0 {
            return;
        }
        let capacity = self.rate.saturating_mul(MILLI);
        let source_capacity = self.source_rate().saturating_mul(MILLI);
        let estimated = estimated.saturating_mul(MILLI).min(source_capacity);
        let actual = actual_milli.min(source_capacity);
        let delta = signed(actual).saturating_sub(signed(estimated));
        if let Some(bucket) = self.sources.get_mut(source) {
            bucket.charge(delta, source_capacity);
        }
        self.worker.charge(delta, capacity);
        self.spent_milli = self
            .spent_milli
            .saturating_add(actual)
            .saturating_sub(estimated);
    }

    /// Units charged since the last call (for the stats' counter).
    pub fn take_spent(&mut self) -> u64 {
        let whole = self.spent_milli / MILLI;
        self.spent_milli %= MILLI;
        whole
    }

    /// Whether admission is on (a budget was configured).
    pub fn is_on(&self) -> bool {
        self.rate > 0
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

/// The fairness key of a downstream address as Envoy's `source.address`
/// gives it (`1.2.3.4:5678`, `[2001:db8::1]:5678`, or without a port): the
/// port is dropped (every connection of a client has its own), an IPv6
/// address counts by its /64 (one host is routinely given a whole /64), an
/// IPv4-mapped IPv6 address as its IPv4 address. Anything else — an absent
/// property, a pipe, an internal address — shares the one key `?`.
pub fn source_key(address: Option<&str>) -> Vec<u8> {
    use std::net::{IpAddr, SocketAddr};
    let ip = address.and_then(|a| {
        a.parse::<SocketAddr>()
            .map(|s| s.ip())
            .or_else(|_| a.parse::<IpAddr>())
            .ok()
    });
    match ip {
        Some(IpAddr::V4(v4)) => v4.octets().to_vec(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => v6.octets().iter().take(8).copied().collect(),
        },
        None => b"?".to_vec(),
    }
}

/// What the pipeline asks before expensive work.
pub trait Gate {
    /// May work estimated at `units` be done now for this request? A
    /// refusal charges nothing. Once some work of a request was admitted,
    /// the rest is charged and never refused (a decrypted token's signature
    /// is checked: its decryption is not wasted).
    fn admit(&mut self, units: u64) -> Result<(), Shed>;

    /// The work admitted last has ended (successfully or not): charge what
    /// it really took, where that is measured.
    fn done(&mut self) {}

    /// The host's signature check to do admitted RS* and ES* work with
    /// ([`crate::jose::jws::offload`]); `None` (the default): the module's own code.
    fn host_verify(&self) -> Option<HostVerify> {
        None
    }
}

/// No budget: the CLI, and tests of everything else.
#[derive(Debug, Default)]
pub struct Unmetered;

impl Gate for Unmetered {
    fn admit(&mut self, _units: u64) -> Result<(), Shed> {
        Ok(())
    }
}

/// One request's view of the worker's [`Admission`] at `now_ms`: the
/// request's address is read (with `read_source`, a host call) the first
/// time work is asked for, and kept for the log line of a shed request.
/// With a `clock` (nanoseconds, any origin), admitted work is timed and
/// charged what it really took instead of its estimate, so the budget
/// follows this machine's and this runtime's speed; a clock that cannot
/// say (0) or went back leaves the estimate charged.
pub struct Metered<'a, F: FnMut() -> Option<String>> {
    admission: &'a mut Admission,
    now_ms: u64,
    read_source: F,
    clock: Option<fn() -> u64>,
    host_verify: Option<HostVerify>,
    source: Option<Option<String>>,
    /// The work admitted and not yet done: its estimate and start.
    running: Option<(u64, u64)>,
    /// Some work of this request was admitted: the rest is charged, never
    /// refused.
    committed: bool,
}

impl<'a, F: FnMut() -> Option<String>> Metered<'a, F> {
    pub fn new(admission: &'a mut Admission, now_ms: u64, read_source: F) -> Self {
        Metered {
            admission,
            now_ms,
            read_source,
            clock: None,
            host_verify: None,
            source: None,
            running: None,
            committed: false,
        }
    }

    /// Time admitted work with `clock` (nanoseconds).
    pub fn timed(mut self, clock: fn() -> u64) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Do admitted RS* and ES* signature checks with `verify` (the host's
    /// `verify_signature`; [`crate::jose::jws::offload`]).
    pub fn offload(mut self, verify: HostVerify) -> Self {
        self.host_verify = Some(verify);
        self
    }

    /// The address read, if work was asked for (for the shed log line).
    pub fn source(&self) -> Option<&str> {
        self.source.as_ref().and_then(Option::as_deref)
    }

    fn key(&self) -> Vec<u8> {
        source_key(self.source())
    }
}

/// Nanoseconds per milli-unit (a unit is 0.1 ms).
const NANOS_PER_MILLI_UNIT: u64 = 100;

impl<F: FnMut() -> Option<String>> Gate for Metered<'_, F> {
    fn admit(&mut self, units: u64) -> Result<(), Shed> {
        if units == 0 || !self.admission.is_on() {
            return Ok(());
        }
        let read = &mut self.read_source;
        self.source.get_or_insert_with(read);
        let key = self.key();
        if self.committed {
            self.admission.force(&key, units, self.now_ms);
        } else {
            self.admission.admit(&key, units, self.now_ms)?;
            self.committed = true;
        }
        self.running = self.clock.map(|clock| (units, clock()));
        Ok(())
    }

    fn done(&mut self) {
        let (Some((units, start)), Some(clock)) = (self.running.take(), self.clock) else {
            return;
        };
        let end = clock();
        if start == 0 || end <= start {
            return;
        }
        let actual = (end - start) / NANOS_PER_MILLI_UNIT;
        let key = self.key();
        self.admission.settle(&key, units, actual);
    }

    fn host_verify(&self) -> Option<HostVerify> {
        self.host_verify
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: u64 = 40; // ≈ RSA-OAEP-2048 then an ES256 verification

    #[test]
    fn costs_follow_the_measured_order() {
        let rsa2048 = decrypt_units(KeyWork::Rsa { bits: 2048 });
        assert_eq!(rsa2048, 35);
        assert!(decrypt_units(KeyWork::Rsa { bits: 4096 }) > 6 * rsa2048);
        assert!(decrypt_units(KeyWork::EcdhNist { bits: 256 }) < rsa2048 / 3);
        assert!(decrypt_units(KeyWork::X25519) < decrypt_units(KeyWork::EcdhNist { bits: 256 }));
        assert!(
            decrypt_units(KeyWork::EcdhNist { bits: 521 })
                > decrypt_units(KeyWork::EcdhNist { bits: 384 })
        );
        assert_eq!(decrypt_units(KeyWork::Symmetric), 0);
        // Absurd sizes are charged as the largest allowed key, not more or 0.
        assert_eq!(
            decrypt_units(KeyWork::Rsa { bits: usize::MAX }),
            decrypt_units(KeyWork::Rsa { bits: 4096 })
        );
    }

    #[test]
    fn keys_are_charged_by_type_curve_and_size() {
        use crate::jose::jwk::{generate, KeyType};
        let rsa = generate(KeyType::Rsa { bits: 2048 }).unwrap();
        assert_eq!(key_work(&rsa), KeyWork::Rsa { bits: 2048 });
        assert_eq!(
            key_work(&generate(KeyType::P384).unwrap()),
            KeyWork::EcdhNist { bits: 384 }
        );
        assert_eq!(
            key_work(&generate(KeyType::X25519).unwrap()),
            KeyWork::X25519
        );
        let oct = generate(KeyType::Oct { bytes: 32 }).unwrap();
        assert_eq!(key_work(&oct), KeyWork::Symmetric);
        assert_eq!(verify_units(SignatureAlg::Hs256, &oct), 0);
        assert_eq!(verify_units(SignatureAlg::Rs256, &rsa), 2);
        let p256 = generate(KeyType::P256).unwrap();
        assert!(verify_units(SignatureAlg::Es256, &p256) > verify_units(SignatureAlg::Rs256, &rsa));
        assert!(
            verify_units(SignatureAlg::Es512, &p256) > verify_units(SignatureAlg::Es384, &p256)
        );
    }

    #[test]
    fn work_dearer_than_a_bucket_is_admitted_when_the_bucket_is_full() {
        // 100 units/s, a source holds 25: an RSA-4096 decryption (280)
        // still gets through once a second's share has come back.
        let big = decrypt_units(KeyWork::Rsa { bits: 4096 });
        let mut a = Admission::new(100, 25, 0);
        assert_eq!(a.admit(b"s", big, 0), Ok(()));
        assert_eq!(a.admit(b"s", big, 0), Err(Shed::SourceShare));
        assert_eq!(a.admit(b"s", big, 999), Err(Shed::SourceShare));
        assert_eq!(a.admit(b"s", big, 1000), Ok(()));
        assert_eq!(
            a.take_spent(),
            50,
            "charged a bucket each time, not 2 × {big}"
        );
    }

    #[test]
    fn sources_are_keyed_by_address_without_port_and_by_ipv6_slash_64() {
        let k = |a: &str| source_key(Some(a));
        assert_eq!(k("10.1.2.3:4444"), k("10.1.2.3:5555"));
        assert_eq!(k("10.1.2.3"), k("10.1.2.3:5555"));
        assert_ne!(k("10.1.2.3:4444"), k("10.1.2.4:4444"));
        assert_eq!(k("[2001:db8:1:2::1]:443"), k("[2001:db8:1:2:ffff::9]:80"));
        assert_ne!(k("[2001:db8:1:2::1]:443"), k("[2001:db8:1:3::1]:443"));
        assert_eq!(k("[::ffff:10.1.2.3]:9"), k("10.1.2.3:1"));
        assert_eq!(k("/var/run/envoy.sock"), source_key(None));
        assert_eq!(k("garbage"), b"?".to_vec());
    }

    #[test]
    fn a_metered_gate_reads_the_address_only_when_work_is_asked_for() {
        let mut a = Admission::new(1000, 25, 0);
        let mut reads = 0;
        let mut gate = Metered::new(&mut a, 0, || {
            reads += 1;
            Some("10.0.0.1:1234".to_string())
        });
        assert_eq!(gate.admit(0), Ok(()), "free work asks nothing");
        assert_eq!(gate.source(), None);
        assert_eq!(gate.admit(RSA), Ok(()));
        assert_eq!(gate.admit(RSA), Ok(()));
        assert_eq!(gate.source(), Some("10.0.0.1:1234"));
        drop(gate);
        assert_eq!(reads, 1);
        // Off: no address is read at all.
        let mut off = Admission::new(0, 25, 0);
        let mut gate = Metered::new(&mut off, 0, || panic!("read"));
        assert_eq!(gate.admit(RSA), Ok(()));
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
        assert_eq!(a.take_spent(), admitted + RSA);
    }

    #[test]
    fn refusals_charge_nothing_and_the_clock_going_back_adds_nothing() {
        let mut a = Admission::new(1000, 100, 10_000);
        for _ in 0..25 {
            a.admit(b"s", RSA, 10_000).unwrap();
        }
        assert_eq!(a.take_spent(), 25 * RSA);
        for _ in 0..100 {
            assert!(a.admit(b"s", RSA, 10_000).is_err());
        }
        assert_eq!(a.take_spent(), 0);
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
    fn work_dearer_than_estimated_is_paid_back_before_more_is_admitted() {
        // 1,000 units/s; one source may use all of it.
        let mut a = Admission::new(1000, 100, 0);
        a.admit(b"s", RSA, 0).unwrap();
        a.admit(b"s", RSA, 0).unwrap();
        // The second took a whole bucket (the most it is charged): both
        // buckets are 40 units in debt.
        a.settle(b"s", RSA, 1000 * MILLI);
        assert_eq!(a.admit(b"s", 1, 0), Err(Shed::SourceShare));
        assert_eq!(a.admit(b"other", 1, 0), Err(Shed::Budget));
        // The debt is repaid by the refill first (1 unit per ms), then
        // work is admitted again.
        assert_eq!(a.admit(b"s", 1, 40), Err(Shed::SourceShare));
        assert_eq!(a.admit(b"s", RSA, 80), Ok(()));
        // Cheaper than estimated: the difference comes back.
        let mut b = Admission::new(1000, 100, 0);
        for _ in 0..25 {
            b.admit(b"s", RSA, 0).unwrap();
            b.settle(b"s", RSA, MILLI);
        }
        assert_eq!(b.take_spent(), 25);
        assert_eq!(b.admit(b"s", 900, 0), Ok(()));
    }

    #[test]
    fn a_timed_gate_charges_the_measured_time_and_an_unclear_clock_the_estimate() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NOW_NS: AtomicU64 = AtomicU64::new(1_000_000);
        fn clock() -> u64 {
            NOW_NS.load(Ordering::Relaxed)
        }
        let source = || Some("10.0.0.1:1".to_string());
        let mut a = Admission::new(1000, 100, 0);
        let mut gate = Metered::new(&mut a, 0, source).timed(clock);
        gate.admit(RSA).unwrap();
        NOW_NS.fetch_add(12_000_000, Ordering::Relaxed); // 12 ms = 120 units
        gate.done();
        drop(gate);
        assert_eq!(a.take_spent(), 120);
        // A clock that went back: the estimate stands.
        let mut gate = Metered::new(&mut a, 0, source).timed(clock);
        gate.admit(RSA).unwrap();
        NOW_NS.store(5, Ordering::Relaxed);
        gate.done();
        drop(gate);
        assert_eq!(a.take_spent(), RSA);
        // Untimed: the estimate stands.
        let mut gate = Metered::new(&mut a, 0, source);
        gate.admit(RSA).unwrap();
        gate.done();
        drop(gate);
        assert_eq!(a.take_spent(), RSA);
    }

    #[test]
    fn a_token_whose_decryption_was_admitted_is_also_verified() {
        // One source, 50 units: the decryption takes what is left, then the
        // signature check still runs (in debt) rather than waste it.
        let mut a = Admission::new(50, 100, 0);
        let mut gate = Metered::new(&mut a, 0, || Some("10.0.0.1:1".to_string()));
        assert_eq!(gate.admit(45), Ok(()));
        gate.done();
        assert_eq!(gate.admit(10), Ok(()));
        drop(gate);
        // The next request finds the debt.
        let mut gate = Metered::new(&mut a, 0, || Some("10.0.0.1:1".to_string()));
        assert_eq!(gate.admit(1), Err(Shed::SourceShare));
        drop(gate);
        assert_eq!(a.take_spent(), 55);
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
