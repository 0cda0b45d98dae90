//! The verified-token cache: a hit costs one SHA-256 and a map lookup
//! instead of a decryption and a signature check.
//!
//! Key: SHA-256 of the token (collision-resistant: two tokens never share an
//! entry). Value: the accepted token and the headers it forwards. An entry
//! lives until the token's `exp` or the configured TTL, whichever is first,
//! and is checked against `now` on every hit, so an expired token is never
//! served from the cache. Size is bounded; the oldest entry is evicted first.

use crate::forward::Verified;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

type Key = [u8; 32];

struct Entry {
    verified: Rc<Verified>,
    /// Last second (inclusive) this entry may be used.
    until: u64,
}

/// A bounded, expiring cache of verified tokens (one per Envoy worker).
pub struct Cache {
    entries: HashMap<Key, Entry>,
    /// Insertion order, for eviction; may hold keys already removed.
    order: VecDeque<Key>,
    max_entries: usize,
    ttl_seconds: u64,
}

fn key(token: &str) -> Key {
    Sha256::digest(token.as_bytes()).into()
}

impl Cache {
    /// An empty cache holding at most `max_entries` (0 disables it).
    pub fn new(max_entries: usize, ttl_seconds: u64) -> Self {
        Cache {
            entries: HashMap::new(),
            order: VecDeque::new(),
            max_entries,
            ttl_seconds,
        }
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The verified token, if cached and still valid at `now`.
    pub fn get(&mut self, token: &str, now: u64) -> Option<Rc<Verified>> {
        let k = key(token);
        match self.entries.get(&k) {
            Some(e) if now <= e.until => Some(Rc::clone(&e.verified)),
            Some(_) => {
                self.entries.remove(&k);
                None
            }
            None => None,
        }
    }

    /// Remember a verified token until `min(exp - skew allowance, now + ttl)`;
    /// `valid_until` is the last second the pipeline would still accept it.
    pub fn insert(
        &mut self,
        token: &str,
        verified: Rc<Verified>,
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
        let k = key(token);
        while self.entries.len() >= self.max_entries {
            match self.order.pop_front() {
                Some(old) => {
                    self.entries.remove(&old);
                }
                None => break,
            }
        }
        if self.entries.insert(k, Entry { verified, until }).is_none() {
            self.order.push_back(k);
        }
        // Keys removed on expiry stay in `order`; keep it bounded.
        if self.order.len() > self.max_entries.saturating_mul(2) {
            let entries = &self.entries;
            self.order.retain(|k| entries.contains_key(k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Accepted;

    fn verified(sub: &str) -> Rc<Verified> {
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), sub.into());
        Rc::new(Verified {
            accepted: Accepted {
                provider: "p".into(),
                claims,
                jws: None,
                expires_at: None,
            },
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
    fn disabled_cache_stores_nothing() {
        let mut c = Cache::new(0, 300);
        c.insert("t", verified("a"), 1000, None);
        assert!(c.get("t", 1000).is_none());
    }
}
