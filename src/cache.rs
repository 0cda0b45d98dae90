//! The verified-token cache: a hit costs a short hash, a map lookup and one
//! comparison of the token instead of a decryption and a signature check.
//!
//! Two levels: this worker's map (an `Rc` clone on a hit), then, when
//! configured, the [`shared`] layer that every worker of the Envoy sees, so a
//! token is decrypted and verified once per Envoy rather than once per worker.
//!
//! Local key: the token itself. The map hashes only its length and last
//! [`TAIL`] bytes (the JWE authentication tag and the end of the ciphertext)
//! with a per-process random SipHash key, and compares the *whole* token on a
//! match (eight bytes at a time: Wasm's `memcmp` goes a byte at a time), so
//! two tokens never share an entry and a hit costs no SHA-256 of the token
//! (the most expensive step of a hit in Wasm). The shared layer,
//! consulted only on a local miss, keys by SHA-256 ([`Key`]). Value: the accepted token and the headers it forwards. An entry
//! lives until `min(now + ttl, exp + skew)`, `now` being when it was
//! verified: no longer than the TTL, and no longer than the pipeline itself
//! would accept the token (`exp` plus the clock skew allowance). It is
//! checked against `now` on every hit, so a token is never served from the
//! cache after that. Size is bounded; the oldest entry is evicted first.

pub mod replay;
pub mod shared;

use crate::forward::Authenticated;
use crate::pipeline::Accepted;
use replay::ReplayGuard;
use sha2::{Digest, Sha256};
use shared::SharedLayer;
use std::collections::hash_map::{DefaultHasher, RandomState};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::rc::Rc;

/// Bytes at the end of a token that the local map hashes (a compact JWE ends
/// with its 22-character tag; 64 covers the tag and part of the ciphertext).
pub const TAIL: usize = 64;

/// SipHash (randomly keyed) over each write's length and last [`TAIL`]
/// bytes. Equality is still decided on the full key by the map.
pub struct TailHasher(DefaultHasher);

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        let tail = bytes
            .get(bytes.len().saturating_sub(TAIL)..)
            .unwrap_or(bytes);
        self.0.write_usize(bytes.len());
        self.0.write(tail);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// Builds [`TailHasher`]s with one random key per cache.
#[derive(Clone, Default)]
pub struct TailState(RandomState);

impl BuildHasher for TailState {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

/// A map key that is already a [`TailHasher`] hash, used as it is.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in rather than lose it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// `a == b`, eight bytes at a time.
fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let same_rest = wa.remainder() == wb.remainder();
    same_rest
        && wa.zip(wb).all(
            |(x, y)| match (<[u8; 8]>::try_from(x), <[u8; 8]>::try_from(y)) {
                (Ok(x), Ok(y)) => u64::from_ne_bytes(x) == u64::from_ne_bytes(y),
                _ => false,
            },
        )
}

/// A token's key in the shared layer: its SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

impl Key {
    /// The key of `token`.
    pub fn of(token: &str) -> Self {
        Key(Sha256::digest(token.as_bytes()).into())
    }
}

struct Entry {
    token: Rc<str>,
    verified: Rc<Authenticated>,
    /// Last second (inclusive) this entry may be used.
    until: u64,
    /// Its place in the insertion order ([`Cache::order`]): a queued
    /// token whose number is not its entry's is a stale place, left by an
    /// entry that expired.
    seq: u64,
}

/// Entries by their token's [`TailHasher`] hash; a bucket holds more than
/// one only for tokens whose length and tail hash the same.
#[derive(Default)]
struct Entries {
    buckets: HashMap<u64, Vec<Entry>, BuildHasherDefault<Prehashed>>,
    tail: TailState,
    len: usize,
}

impl Entries {
    fn hash(&self, token: &str) -> u64 {
        let mut h = self.tail.build_hasher();
        h.write(token.as_bytes());
        h.finish()
    }

    fn get(&self, token: &str) -> Option<&Entry> {
        self.buckets
            .get(&self.hash(token))?
            .iter()
            .find(|e| same_token(&e.token, token))
    }

    fn get_mut(&mut self, token: &str) -> Option<&mut Entry> {
        let hash = self.hash(token);
        self.buckets
            .get_mut(&hash)?
            .iter_mut()
            .find(|e| same_token(&e.token, token))
    }

    /// True when `token`'s entry is the one queued as number `seq`.
    fn holds(&self, token: &str, seq: u64) -> bool {
        self.get(token).is_some_and(|e| e.seq == seq)
    }

    fn insert(&mut self, entry: Entry) {
        let hash = self.hash(&entry.token);
        self.buckets.entry(hash).or_default().push(entry);
        self.len = self.len.saturating_add(1);
    }

    fn remove(&mut self, token: &str) {
        let hash = self.hash(token);
        let Some(bucket) = self.buckets.get_mut(&hash) else {
            return;
        };
        if let Some(at) = bucket.iter().position(|e| same_token(&e.token, token)) {
            bucket.swap_remove(at);
            self.len = self.len.saturating_sub(1);
        }
        if bucket.is_empty() {
            self.buckets.remove(&hash);
        }
    }
}

/// A bounded, expiring cache of verified tokens (one per Envoy worker).
pub struct Cache {
    entries: Entries,
    /// Insertion order, for eviction: (token, number). May hold stale
    /// places (tokens removed on expiry, or since queued again).
    order: VecDeque<(Rc<str>, u64)>,
    /// The next entry's number.
    next_seq: u64,
    max_entries: usize,
    ttl_seconds: u64,
    /// The cross-worker layer, if any.
    shared: Option<SharedLayer>,
    /// The DPoP proofs seen ([`replay`]): in this process's memory unless
    /// [`Cache::with_replay`] gives it a shared store. Kept whether or not
    /// tokens are cached: a proof is checked on every request.
    replay: ReplayGuard,
}

impl Cache {
    /// An empty cache holding at most `max_entries` (0 disables it).
    pub fn new(max_entries: usize, ttl_seconds: u64) -> Self {
        Cache {
            entries: Entries::default(),
            order: VecDeque::new(),
            next_seq: 0,
            max_entries,
            ttl_seconds,
            shared: None,
            replay: ReplayGuard::default(),
        }
    }

    /// Remember DPoP proofs in `replay` (on Envoy: shared data, so that a
    /// proof used on one worker is a replay on every other).
    pub fn with_replay(mut self, replay: ReplayGuard) -> Self {
        self.replay = replay;
        self
    }

    /// The DPoP proofs seen.
    pub fn replay(&self) -> &ReplayGuard {
        &self.replay
    }

    /// Add the cross-worker layer (ignored when the cache is disabled).
    pub fn with_shared(mut self, shared: SharedLayer) -> Self {
        if self.max_entries > 0 {
            self.shared = Some(shared);
        }
        self
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.entries.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.len == 0
    }

    /// The verified token, if cached and still valid at `now`.
    pub fn get(&mut self, token: &str, now: u64) -> Option<Rc<Authenticated>> {
        match self.entries.get(token) {
            Some(e) if now <= e.until => Some(Rc::clone(&e.verified)),
            Some(_) => {
                self.entries.remove(token);
                None
            }
            None => None,
        }
    }

    /// What another worker verified for this token, with the last second it
    /// may be used, if shared and still valid at `now`. The caller completes
    /// it (forwarded headers) and keeps it locally with [`Cache::keep`].
    pub fn get_shared(&self, token: &str, now: u64) -> Option<(Accepted, u64)> {
        self.shared.as_ref()?.get(&Key::of(token), now)
    }

    /// Remember a verified token until `min(now + ttl, exp + skew)`:
    /// `valid_until` is the last second the pipeline would still accept it
    /// (the second before `exp + skew`), inclusive.
    /// Shared with the other workers too, when configured.
    pub fn insert(
        &mut self,
        token: &str,
        verified: Rc<Authenticated>,
        now: u64,
        valid_until: Option<u64>,
    ) {
        if self.max_entries == 0 {
            return;
        }
        let until = now
            .saturating_add(self.ttl_seconds)
            .min(valid_until.unwrap_or(u64::MAX));
        if until < now {
            return;
        }
        if let Some(shared) = &self.shared {
            shared.put(&Key::of(token), &verified.accepted, until, now);
        }
        self.keep(token, verified, until);
    }

    /// Keep an entry in this worker's map until `until` (inclusive), for an
    /// outcome found in the shared layer: it keeps the expiry it was shared with.
    pub fn keep(&mut self, token: &str, verified: Rc<Authenticated>, until: u64) {
        if self.max_entries == 0 {
            return;
        }
        if let Some(e) = self.entries.get_mut(token) {
            e.verified = verified;
            e.until = until;
            return;
        }
        let k: Rc<str> = Rc::from(token);
        // Evict the oldest live entries; a stale place evicts nothing.
        while self.entries.len >= self.max_entries {
            match self.order.pop_front() {
                Some((old, seq)) if self.entries.holds(&old, seq) => self.entries.remove(&old),
                Some(_) => {}
                None => break,
            }
        }
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        self.order.push_back((Rc::clone(&k), seq));
        self.entries.insert(Entry {
            token: k,
            verified,
            until,
            seq,
        });
        // Stale places stay in `order` until evicted; keep it within twice
        // the live entries (at most once every `max_entries` inserts).
        if self.order.len() > self.max_entries.saturating_mul(2) {
            let entries = &self.entries;
            self.order.retain(|(k, seq)| entries.holds(k, *seq));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(sub: &str) -> Rc<Authenticated> {
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), sub.into());
        Rc::new(Authenticated {
            accepted: Accepted {
                provider: "p".into(),
                provider_index: 0,
                claims,
                jws: None,
                expires_at: None,
            },
            provider: 0,
            headers: vec![],
        })
    }

    #[test]
    fn hits_until_expiry_then_misses() {
        let mut c = Cache::new(10, 300);
        c.insert("t1", verified("a"), 1000, Some(1100));
        assert!(c.get("t1", 1100).is_some());
        assert!(c.get("t1", 1101).is_none());
        assert!(c.is_empty(), "an expired entry is dropped");
        // TTL caps a far-future exp.
        c.insert("t2", verified("b"), 1000, Some(99_999));
        assert!(c.get("t2", 1300).is_some());
        assert!(c.get("t2", 1301).is_none());
        assert!(c.get("other", 1000).is_none());
    }

    #[test]
    fn size_is_bounded_and_oldest_go_first() {
        let mut c = Cache::new(3, 300);
        for i in 0..10 {
            c.insert(&format!("t{i}"), verified("x"), 1000, None);
            assert!(c.len() <= 3);
        }
        assert!(c.get("t9", 1000).is_some());
        assert!(c.get("t6", 1000).is_none());
        // Expiry churn does not grow the order queue without bound.
        for i in 0..1000 {
            c.insert(&format!("e{i}"), verified("x"), 1000, Some(1000));
            let _ = c.get(&format!("e{i}"), 1001);
        }
        assert!(c.order.len() <= 6);
    }

    #[test]
    fn a_token_verified_again_after_expiry_is_queued_once() {
        // A long-lived token cached for `ttl` at a time: each expiry and
        // re-verification must not leave another copy in the order queue
        // (each copy held the whole token: memory grew with the token's
        // lifetime ÷ ttl, for every user).
        let mut c = Cache::new(4, 10);
        for round in 0..100u64 {
            let now = 1000 + round * 11;
            for user in 0..4 {
                let t = format!("long-lived-{user}");
                if c.get(&t, now).is_none() {
                    c.insert(&t, verified("x"), now, None);
                }
            }
            assert!(c.order.len() <= 8, "round {round}: {}", c.order.len());
        }
        assert_eq!(c.len(), 4);
    }

    #[test]
    fn a_stale_place_in_the_queue_does_not_evict_a_fresh_entry() {
        let mut c = Cache::new(2, 10);
        c.insert("a", verified("a"), 0, None);
        c.insert("b", verified("b"), 1, None);
        // `a` expires and is verified again: now the newest entry.
        assert!(c.get("a", 11).is_none());
        c.insert("a", verified("a"), 11, None);
        // Full: the oldest entry (`b`) goes, not the fresh `a`.
        c.insert("c", verified("c"), 11, None);
        assert!(c.get("a", 11).is_some(), "the newest entry was evicted");
        assert!(c.get("b", 11).is_none());
        assert!(c.get("c", 11).is_some());
    }

    #[test]
    fn tokens_with_the_same_tail_are_different_entries() {
        let mut c = Cache::new(10, 300);
        let tail = "x".repeat(TAIL);
        let (a, b) = (format!("a{tail}"), format!("b{tail}"));
        c.insert(&a, verified("alice"), 1000, None);
        assert!(
            c.get(&b, 1000).is_none(),
            "same length and tail, other token"
        );
        c.insert(&b, verified("bob"), 1000, None);
        let sub =
            |t: &str, c: &mut Cache| c.get(t, 1000).unwrap().accepted.claims.get("sub").cloned();
        assert_eq!(sub(&a, &mut c), Some("alice".into()));
        assert_eq!(sub(&b, &mut c), Some("bob".into()));
        // Re-inserting a token replaces its entry, it does not duplicate it.
        c.insert(&a, verified("alice2"), 1000, None);
        assert_eq!(c.len(), 2);
        assert_eq!(sub(&a, &mut c), Some("alice2".into()));
    }

    #[test]
    fn tokens_compare_whole_eight_bytes_at_a_time() {
        assert!(same_token("", ""));
        assert!(same_token("abcdefghijk", "abcdefghijk"));
        assert!(!same_token("abcdefghijk", "abcdefghijK"), "in the rest");
        assert!(!same_token("Abcdefghijk", "abcdefghijk"), "in a word");
        assert!(!same_token("abcdefgh", "abcdefghi"), "length");
    }

    #[test]
    fn disabled_cache_stores_nothing() {
        let mut c = Cache::new(0, 300);
        c.insert("t", verified("a"), 1000, None);
        assert!(c.get("t", 1000).is_none());
    }

    #[test]
    fn insert_shares_with_the_other_workers_cache() {
        let store = shared::MemoryStore::default();
        let secret = crate::jose::jwk::Jwk::bare(crate::jose::jwk::Key::Oct(
            zeroize::Zeroizing::new(vec![1; 32]),
        ));
        let key = shared::EntryKey::derive(&[secret], &[1; 32]).unwrap();
        let layer = |_| SharedLayer::new(Box::new(store.clone()), 8, key.clone());
        let mut a = Cache::new(10, 300).with_shared(layer([1; 32]));
        let b = Cache::new(10, 300).with_shared(layer([1; 32]));
        a.insert("t", verified("alice"), 1000, Some(1100));
        let (accepted, until) = b.get_shared("t", 1000).unwrap();
        assert_eq!(until, 1100, "shared with the same expiry");
        assert_eq!(accepted.claims.get("sub").unwrap(), "alice");
        // A disabled cache neither shares nor reads.
        let mut off = Cache::new(0, 300).with_shared(layer([1; 32]));
        off.insert("u", verified("bob"), 1000, None);
        assert!(off.get_shared("t", 1000).is_none());
        assert!(b.get_shared("u", 1000).is_none());
    }
}
