//! The cross-worker layer of the verified-token cache.
//!
//! Each Envoy worker runs its own Wasm VM with its own [`Cache`](super::Cache).
//! Without sharing, a token sent to two workers is decrypted and verified
//! twice. This layer stores each verified outcome in a *shared store* (on
//! Envoy, proxy-wasm shared data, which every VM with the same `vm_id` sees),
//! so a worker that misses locally finds the other worker's result.
//!
//! The store is bounded: an entry lives in one of two slots chosen by its
//! hash (two-choice hashing), in a free one if there is one (empty, expired,
//! or written under another configuration), else replacing the entry that
//! expires first; there are never more than `slots` entries. A slot
//! holds the *full* SHA-256 of the token and a fingerprint of the
//! configuration that accepted it; both are compared on every read, so a
//! slot collision or an entry from an older configuration is a miss, never
//! someone else's identity. Each entry carries the last second it may be
//! used and is ignored after it.
//!
//! The host only moves bytes ([`SharedStore`]); encoding, bounds and checks
//! live here, in the pure core.

use super::Key;
use crate::pipeline::Accepted;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where shared entries live. On Envoy: `get_shared_data`/`set_shared_data`
/// under one key per slot.
pub trait SharedStore {
    /// The bytes in `slot`, if any.
    fn load(&self, slot: u32) -> Option<Vec<u8>>;
    /// Put `bytes` in `slot`, replacing what was there.
    fn store(&self, slot: u32, bytes: &[u8]);
}

/// Most slots, whatever `cache.max_entries` says.
pub const MAX_SLOTS: u32 = 1 << 20;

/// Largest entry written or read; a bigger outcome is simply not shared.
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// Format tag: bump when the encoding changes.
const MAGIC: &[u8; 4] = b"jwa1";

/// magic + configuration fingerprint + token hash + last valid second.
const HEADER_BYTES: usize = 4 + 32 + 32 + 8;

/// The JSON part of an entry.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    /// Provider name.
    p: String,
    /// Verified claims.
    c: Map<String, Value>,
    /// The inner JWS, when signed.
    j: Option<String>,
    /// `exp`, when present.
    e: Option<u64>,
}

/// The shared layer: a store, its size and the configuration fingerprint.
pub struct Shared {
    store: Box<dyn SharedStore>,
    slots: u32,
    fingerprint: [u8; 32],
}

impl Shared {
    /// `slots` is clamped to `1..=MAX_SLOTS`; `fingerprint` identifies the
    /// configuration (entries written under another are ignored).
    pub fn new(store: Box<dyn SharedStore>, slots: usize, fingerprint: [u8; 32]) -> Self {
        let slots = u32::try_from(slots)
            .unwrap_or(MAX_SLOTS)
            .clamp(1, MAX_SLOTS);
        Shared {
            store,
            slots,
            fingerprint,
        }
    }

    /// The two slots `key` may live in (two-choice hashing: a new entry
    /// goes to whichever is free, so live entries are rarely evicted by a
    /// collision, as they would be with one slot per key).
    fn slots_for(&self, key: &Key) -> [u32; 2] {
        let [a, b, c, d, e, f, g, h, ..] = key.0;
        [
            u32::from_be_bytes([a, b, c, d]) % self.slots,
            u32::from_be_bytes([e, f, g, h]) % self.slots,
        ]
    }

    /// A slot's entry if it was written under this configuration and is
    /// still valid at `now`: (token hash, last valid second, JSON body).
    fn live(&self, bytes: &[u8], now: u64) -> Option<([u8; 32], u64, usize)> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return None;
        }
        let (magic, rest) = bytes.split_first_chunk::<4>()?;
        let (fingerprint, rest) = rest.split_first_chunk::<32>()?;
        let (hash, rest) = rest.split_first_chunk::<32>()?;
        let (until, _) = rest.split_first_chunk::<8>()?;
        // Not secret-dependent timing: both sides are hashes the reader
        // already knows; equality is all that matters.
        if magic != MAGIC || *fingerprint != self.fingerprint {
            return None;
        }
        let until = u64::from_be_bytes(*until);
        (now <= until).then_some((*hash, until, HEADER_BYTES))
    }

    /// The outcome stored for `key`, with its last valid second, if it is
    /// there, written under this configuration and still valid at `now`.
    pub fn get(&self, key: &Key, now: u64) -> Option<(Accepted, u64)> {
        self.slots_for(key).iter().find_map(|&slot| {
            let bytes = self.store.load(slot)?;
            let (hash, until, at) = self.live(&bytes, now)?;
            if hash != key.0 {
                return None;
            }
            let body: Body = serde_json::from_slice(bytes.get(at..)?).ok()?;
            Some((
                Accepted {
                    provider: body.p,
                    claims: body.c,
                    jws: body.j,
                    expires_at: body.e,
                },
                until,
            ))
        })
    }

    /// Where to write `key` at `now`: a slot already holding it, else a
    /// free one (empty, expired, or another configuration's), else the one
    /// whose entry expires first.
    fn slot_to_write(&self, key: &Key, now: u64) -> u32 {
        let [a, b] = self.slots_for(key);
        let occupant = |slot| {
            self.store
                .load(slot)
                .and_then(|bytes| self.live(&bytes, now))
                .map(|(hash, until, _)| (hash == key.0, until))
        };
        match (occupant(a), occupant(b)) {
            (None | Some((true, _)), _) => a,
            (_, None | Some((true, _))) => b,
            (Some((_, ua)), Some((_, ub))) => {
                if ua <= ub {
                    a
                } else {
                    b
                }
            }
        }
    }

    /// Share `accepted` for `key` until `until` (inclusive); `now` decides
    /// which entries may be replaced.
    pub fn put(&self, key: &Key, accepted: &Accepted, until: u64, now: u64) {
        let body = Body {
            p: accepted.provider.clone(),
            c: accepted.claims.clone(),
            j: accepted.jws.clone(),
            e: accepted.expires_at,
        };
        let Ok(json) = serde_json::to_vec(&body) else {
            return;
        };
        if HEADER_BYTES.saturating_add(json.len()) > MAX_ENTRY_BYTES {
            return;
        }
        let mut bytes = Vec::with_capacity(HEADER_BYTES + json.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&self.fingerprint);
        bytes.extend_from_slice(&key.0);
        bytes.extend_from_slice(&until.to_be_bytes());
        bytes.extend_from_slice(&json);
        self.store.store(self.slot_to_write(key, now), &bytes);
    }
}

/// An in-memory [`SharedStore`]: clones share one map. For tests and for
/// hosts without shared data.
#[derive(Clone, Default)]
pub struct MemoryStore(std::rc::Rc<std::cell::RefCell<std::collections::HashMap<u32, Vec<u8>>>>);

impl MemoryStore {
    /// Number of occupied slots.
    pub fn len(&self) -> usize {
        self.0.try_borrow().map_or(0, |m| m.len())
    }

    /// True when no slot is occupied.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Overwrite a slot with raw bytes (tests: corrupt or forged entries).
    pub fn poke(&self, slot: u32, bytes: Vec<u8>) {
        if let Ok(mut m) = self.0.try_borrow_mut() {
            m.insert(slot, bytes);
        }
    }

    /// Every slot's bytes (tests).
    pub fn slots(&self) -> Vec<(u32, Vec<u8>)> {
        self.0
            .try_borrow()
            .map(|m| m.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default()
    }
}

impl SharedStore for MemoryStore {
    fn load(&self, slot: u32) -> Option<Vec<u8>> {
        self.0.try_borrow().ok()?.get(&slot).cloned()
    }

    fn store(&self, slot: u32, bytes: &[u8]) {
        if let Ok(mut m) = self.0.try_borrow_mut() {
            m.insert(slot, bytes.to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(sub: &str) -> Accepted {
        let mut claims = Map::new();
        claims.insert("sub".into(), sub.into());
        Accepted {
            provider: "p".into(),
            claims,
            jws: Some("a.b.c".into()),
            expires_at: Some(2000),
        }
    }

    #[test]
    fn round_trips_until_expiry() {
        let store = MemoryStore::default();
        let shared = Shared::new(Box::new(store.clone()), 16, [7; 32]);
        let k = Key::of("token");
        shared.put(&k, &accepted("alice"), 1500, 1000);
        let (got, until) = shared.get(&k, 1500).unwrap();
        assert_eq!(until, 1500);
        assert_eq!(got.claims.get("sub").unwrap(), "alice");
        assert_eq!(got.jws.as_deref(), Some("a.b.c"));
        assert_eq!(got.expires_at, Some(2000));
        assert!(
            shared.get(&k, 1501).is_none(),
            "expired entries are ignored"
        );
    }

    #[test]
    fn another_configuration_or_token_in_the_same_slot_is_a_miss() {
        let store = MemoryStore::default();
        // One slot: every token collides.
        let old = Shared::new(Box::new(store.clone()), 1, [1; 32]);
        let new = Shared::new(Box::new(store.clone()), 1, [2; 32]);
        let k = Key::of("token");
        old.put(&k, &accepted("alice"), 1500, 1000);
        assert!(old.get(&k, 1000).is_some());
        assert!(
            new.get(&k, 1000).is_none(),
            "written under another configuration"
        );
        assert!(old.get(&Key::of("other"), 1000).is_none(), "slot collision");
        // The newer write replaces the slot: bounded by the slot count.
        old.put(&Key::of("other"), &accepted("bob"), 1500, 1000);
        assert_eq!(store.len(), 1);
        assert!(old.get(&k, 1000).is_none());
    }

    #[test]
    fn two_choices_keep_colliding_entries() {
        let store = MemoryStore::default();
        let shared = Shared::new(Box::new(store.clone()), 400, [1; 32]);
        let keys: Vec<Key> = (0..100).map(|i| Key::of(&format!("t{i}"))).collect();
        for k in &keys {
            shared.put(k, &accepted("x"), 1500, 1000);
        }
        let kept = keys
            .iter()
            .filter(|k| shared.get(k, 1000).is_some())
            .count();
        // One slot per key would keep about 88 of 100 at this load (1/4);
        // two choices lose almost none.
        assert!(kept >= 98, "kept {kept} of 100");
        assert!(store.len() <= 100);
        // Stored later, when the others have expired.
        let later = Key::of("later");
        shared.put(&later, &accepted("y"), 3000, 2000);
        assert!(shared.get(&later, 2000).is_some());
    }

    #[test]
    fn corrupt_entries_are_misses() {
        let store = MemoryStore::default();
        let shared = Shared::new(Box::new(store.clone()), 1, [1; 32]);
        let k = Key::of("token");
        shared.put(&k, &accepted("alice"), 1500, 1000);
        let good = store.slots().pop().unwrap().1;
        for cut in 0..good.len() {
            store.poke(0, good.get(..cut).unwrap().to_vec());
            assert!(shared.get(&k, 1000).is_none(), "truncated at {cut}");
        }
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 0xff;
        store.poke(0, flipped);
        assert!(shared.get(&k, 1000).is_none());
        store.poke(0, vec![0; MAX_ENTRY_BYTES + 1]);
        assert!(shared.get(&k, 1000).is_none());
        store.poke(0, good);
        assert!(shared.get(&k, 1000).is_some());
    }

    /// An attacker sharing the `vm_id` reads a genuine entry, copies its
    /// clear configuration id and writes a plain entry for another token
    /// and identity, without the MAC key. It must be a miss.
    #[test]
    fn forged_entry_with_a_copied_id_is_a_miss() {
        let store = MemoryStore::default();
        let shared = Shared::new(Box::new(store.clone()), 1, [1; 32]);
        shared.put(&Key::of("genuine"), &accepted("alice"), 1500, 1000);
        let genuine = store.slots().pop().unwrap().1;
        let id = genuine.get(4..36).unwrap().to_vec();
        let victim = Key::of("attacker's token");
        let json = br#"{"p":"p","c":{"sub":"admin"},"j":null,"e":null}"#;
        let mut forged = genuine.get(..4).unwrap().to_vec();
        forged.extend_from_slice(&id);
        forged.extend_from_slice(&victim.0);
        forged.extend_from_slice(&u64::MAX.to_be_bytes());
        forged.extend_from_slice(json);
        // Also with a tag-sized tail of anything: no key, no valid tag.
        let mut tagged = forged.clone();
        tagged.extend_from_slice(&[0; 32]);
        for entry in [forged, tagged] {
            store.poke(0, entry);
            assert!(shared.get(&victim, 1000).is_none(), "forged identity");
        }
    }

    #[test]
    fn oversized_outcomes_are_not_shared() {
        let store = MemoryStore::default();
        let shared = Shared::new(Box::new(store.clone()), 4, [1; 32]);
        let mut big = accepted("x");
        big.claims
            .insert("blob".into(), "a".repeat(MAX_ENTRY_BYTES).into());
        shared.put(&Key::of("t"), &big, 1500, 1000);
        assert!(store.is_empty());
    }
}
