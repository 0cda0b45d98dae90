//! The DPoP replay store (RFC 9449 §11.1): a proof's `jti` is accepted once
//! within its window, by every worker of an Envoy.
//!
//! A proof is good for `max_age_seconds` after its `iat`, and its `iat` may
//! be up to `max_future_seconds` ahead: a proof accepted at `now` is
//! remembered until `now + max_age_seconds + max_future_seconds`, after
//! which [`crate::dpop::check_proof`] refuses it as stale anyway.
//!
//! The store is a fixed number of slots ([`SLOTS`]) in a [`ReplayStore`]
//! (on Envoy, proxy-wasm shared data, which every VM with the same `vm_id`
//! sees). A proof's key is the SHA-256 of its key's thumbprint and its
//! `jti` (so a client cannot make another client's proof look replayed by
//! sending its `jti` with its own key); its first slot is the hash's first
//! four bytes modulo the slot count, then up to [`PROBES`] slots in a row.
//! A slot holds the 32-byte hash and the last second it is remembered.
//!
//! [`ReplayGuard::remember`]:
//!
//! 1. reads every probe slot: a live one with this hash is a replay (every
//!    slot is read before one is claimed, so an expired slot before the one
//!    that holds the hash cannot let the replay through);
//! 2. claims the first free one (empty or expired) with compare-and-swap;
//!    when the swap fails, re-reads that slot once: this hash there is a
//!    replay (another worker took it for the same proof), another hash
//!    moves on to the next free slot;
//! 3. once a slot is claimed, reads the other probe slots again: this hash
//!    in another one means another worker accepted the same proof at the
//!    same moment (their reads saw a slot expire at different seconds), and
//!    this one is refused as a replay: at most one of them is accepted;
//! 4. no free slot among the probes: the store is full, and the proof is
//!    refused (fail closed), never accepted unchecked.
//!
//! The host only moves bytes and compares its CAS values; encoding, bounds
//! and probing are here, in the pure core.

use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Where replay slots live. On Envoy: shared data with its compare-and-swap
/// (`get_shared_data`'s cas, `set_shared_data`'s cas), one key per slot.
pub trait ReplayStore {
    /// The bytes in `slot` and their CAS value; `None` when the slot does
    /// not exist (read as empty, CAS 0).
    fn load(&self, slot: u32) -> Option<(Vec<u8>, u32)>;
    /// Put `bytes` in `slot` only if its CAS value is still `cas`; true when
    /// stored.
    fn store_if(&self, slot: u32, bytes: &[u8], cas: u32) -> bool;
}

/// The slots of the replay store: about a thousand accepted proofs a second
/// with the default 65-second window before probes start to fill.
pub const SLOTS: u32 = 65_536;

/// Slots looked at for one proof, in a row from its first.
pub const PROBES: u32 = 8;

/// Format tag of a slot.
const MAGIC: &[u8; 4] = b"jwr1";

/// magic + hash + last remembered second.
const SLOT_BYTES: usize = 4 + 32 + 8;

/// What became of a proof ([`ReplayGuard::remember`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First use: remembered.
    Fresh,
    /// Seen within its window.
    Replayed,
    /// No room among its slots: refused.
    Full,
}

/// The replay store: a [`ReplayStore`] and its slot count.
pub struct ReplayGuard {
    store: Box<dyn ReplayStore>,
    slots: u32,
}

impl Default for ReplayGuard {
    /// [`SLOTS`] slots in this process's memory (the CLI, tests; one Envoy
    /// worker would see only its own).
    fn default() -> Self {
        ReplayGuard::new(Box::<MemoryReplayStore>::default(), SLOTS)
    }
}

/// A slot read: its hash and last second when it is live at `now`.
fn live(bytes: &[u8], now: u64) -> Option<[u8; 32]> {
    if bytes.len() != SLOT_BYTES {
        return None;
    }
    let (magic, rest) = bytes.split_first_chunk::<4>()?;
    let (hash, until) = rest.split_first_chunk::<32>()?;
    let until = u64::from_be_bytes(*until.first_chunk::<8>()?);
    (magic == MAGIC && now <= until).then_some(*hash)
}

/// The key of a proof: SHA-256 of its key's thumbprint and its `jti`, each
/// prefixed by its length.
fn key(jkt: &str, jti: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [jkt, jti] {
        let len = u64::try_from(part.len()).unwrap_or(u64::MAX);
        h.update(len.to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

impl ReplayGuard {
    /// `slots` is clamped to `1..=SLOTS`.
    pub fn new(store: Box<dyn ReplayStore>, slots: u32) -> Self {
        ReplayGuard {
            store,
            slots: slots.clamp(1, SLOTS),
        }
    }

    /// The slot count.
    pub fn slots(&self) -> u32 {
        self.slots
    }

    /// The probe slots of `hash`, in order (fewer when there are fewer slots).
    fn probes(&self, hash: &[u8; 32]) -> impl Iterator<Item = u32> + '_ {
        let [a, b, c, d, ..] = *hash;
        let first = u32::from_be_bytes([a, b, c, d]) % self.slots;
        (0..PROBES.min(self.slots)).map(move |i| first.wrapping_add(i) % self.slots)
    }

    fn holds(&self, slot: u32, hash: &[u8; 32], now: u64) -> bool {
        self.store
            .load(slot)
            .and_then(|(bytes, _)| live(&bytes, now))
            .is_some_and(|h| h == *hash)
    }

    /// Remember the proof of key `jkt` with `jti`, accepted at `now`, until
    /// `until` (inclusive), unless it was seen: see the module documentation.
    pub fn remember(&self, jkt: &str, jti: &str, until: u64, now: u64) -> Seen {
        let hash = key(jkt, jti);
        let mut free = Vec::new();
        for slot in self.probes(&hash) {
            let (bytes, cas) = self.store.load(slot).unwrap_or_default();
            match live(&bytes, now) {
                Some(h) if h == hash => return Seen::Replayed,
                Some(_) => {}
                None => free.push((slot, cas)),
            }
        }
        let mut entry = Vec::with_capacity(SLOT_BYTES);
        entry.extend_from_slice(MAGIC);
        entry.extend_from_slice(&hash);
        entry.extend_from_slice(&until.to_be_bytes());
        let mut claimed = None;
        for (slot, cas) in free {
            if self.store.store_if(slot, &entry, cas) {
                claimed = Some(slot);
                break;
            }
            if self.holds(slot, &hash, now) {
                return Seen::Replayed;
            }
        }
        let Some(mine) = claimed else {
            return Seen::Full;
        };
        let twin = self
            .probes(&hash)
            .filter(|&slot| slot != mine)
            .any(|slot| self.holds(slot, &hash, now));
        if twin {
            Seen::Replayed
        } else {
            Seen::Fresh
        }
    }
}

/// A [`ReplayStore`] in this process's memory, with the same CAS rules as
/// Envoy's shared data: every write gives a slot a new CAS value, and a
/// missing slot's is 0. Clones share the slots (two workers in a test).
#[derive(Clone, Default)]
pub struct MemoryReplayStore(Rc<RefCell<MemorySlots>>);

/// Each slot's bytes and CAS value, and the last CAS value given.
type MemorySlots = (HashMap<u32, (Vec<u8>, u32)>, u32);

impl MemoryReplayStore {
    /// Number of slots written.
    pub fn len(&self) -> usize {
        self.0.try_borrow().map_or(0, |m| m.0.len())
    }

    /// True when no slot was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayStore for MemoryReplayStore {
    fn load(&self, slot: u32) -> Option<(Vec<u8>, u32)> {
        self.0.try_borrow().ok()?.0.get(&slot).cloned()
    }

    fn store_if(&self, slot: u32, bytes: &[u8], cas: u32) -> bool {
        let Ok(mut m) = self.0.try_borrow_mut() else {
            return false;
        };
        let (slots, counter) = &mut *m;
        let current = slots.get(&slot).map_or(0, |(_, c)| *c);
        if current != cas {
            return false;
        }
        *counter = counter.wrapping_add(1).max(1);
        slots.insert(slot, (bytes.to_vec(), *counter));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

    fn guard(store: &MemoryReplayStore, slots: u32) -> ReplayGuard {
        ReplayGuard::new(Box::new(store.clone()), slots)
    }

    #[test]
    fn a_jti_is_accepted_once_within_its_window() {
        let store = MemoryReplayStore::default();
        let g = guard(&store, SLOTS);
        assert_eq!(g.remember(JKT, "a", 1065, 1000), Seen::Fresh);
        assert_eq!(g.remember(JKT, "a", 1066, 1001), Seen::Replayed);
        assert_eq!(
            g.remember(JKT, "a", 1130, 1065),
            Seen::Replayed,
            "inclusive"
        );
        assert_eq!(g.remember(JKT, "b", 1065, 1000), Seen::Fresh);
        // The same jti under another key is another proof.
        assert_eq!(g.remember("other-key", "a", 1065, 1000), Seen::Fresh);
        // Another worker (another guard on the same store) sees it too.
        assert_eq!(
            guard(&store, SLOTS).remember(JKT, "a", 1065, 1000),
            Seen::Replayed
        );
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn expiry_frees_a_slot() {
        let store = MemoryReplayStore::default();
        let g = guard(&store, 1);
        assert_eq!(g.remember(JKT, "a", 1010, 1000), Seen::Fresh);
        assert_eq!(g.remember(JKT, "b", 1010, 1000), Seen::Full);
        assert_eq!(
            g.remember(JKT, "b", 1020, 1011),
            Seen::Fresh,
            "a's slot expired"
        );
        assert_eq!(g.remember(JKT, "b", 1020, 1012), Seen::Replayed);
    }

    #[test]
    fn a_full_store_fails_closed() {
        let store = MemoryReplayStore::default();
        let g = guard(&store, PROBES);
        for i in 0..PROBES {
            assert_eq!(g.remember(JKT, &format!("j{i}"), 2000, 1000), Seen::Fresh);
        }
        assert_eq!(g.remember(JKT, "one more", 2000, 1000), Seen::Full);
        // Still full for a proof seen before: a replay is a replay.
        assert_eq!(g.remember(JKT, "j3", 2000, 1000), Seen::Replayed);
    }

    #[test]
    fn an_expired_slot_before_the_hash_does_not_hide_a_replay() {
        let store = MemoryReplayStore::default();
        let g = guard(&store, 2);
        // `a` and `b` fill both slots; `b` expires first.
        assert_eq!(g.remember(JKT, "a", 1100, 1000), Seen::Fresh);
        assert_eq!(g.remember(JKT, "b", 1005, 1000), Seen::Fresh);
        // Whichever slot is `a`'s first, the other is free once `b`
        // expired: `a` is still found.
        assert_eq!(g.remember(JKT, "a", 1100, 1050), Seen::Replayed);
    }

    #[test]
    fn a_slot_of_unknown_bytes_is_free() {
        let store = MemoryReplayStore::default();
        let g = guard(&store, 1);
        // Garbage in the slot (another module under the same vm_id): free.
        assert!(store.store_if(0, b"garbage", 0));
        assert_eq!(g.remember(JKT, "a", 1010, 1000), Seen::Fresh);
    }

    /// A store in which another worker writes `bytes` between this
    /// worker's read and its first swap, once: into the slot being swapped
    /// (`slot` `None`), or into `slot`.
    struct Racing {
        inner: MemoryReplayStore,
        race: RefCell<Option<(Option<u32>, Vec<u8>)>>,
    }

    impl Racing {
        fn new(inner: &MemoryReplayStore, slot: Option<u32>, bytes: Vec<u8>) -> Self {
            Racing {
                inner: inner.clone(),
                race: RefCell::new(Some((slot, bytes))),
            }
        }
    }

    impl ReplayStore for Racing {
        fn load(&self, slot: u32) -> Option<(Vec<u8>, u32)> {
            self.inner.load(slot)
        }

        fn store_if(&self, slot: u32, bytes: &[u8], cas: u32) -> bool {
            if let Some((at, other)) = self.race.borrow_mut().take() {
                let at = at.unwrap_or(slot);
                let (_, current) = self.inner.load(at).unwrap_or_default();
                assert!(self.inner.store_if(at, &other, current));
            }
            self.inner.store_if(slot, bytes, cas)
        }
    }

    fn entry(jti: &str, until: u64) -> Vec<u8> {
        let mut e = MAGIC.to_vec();
        e.extend_from_slice(&key(JKT, jti));
        e.extend_from_slice(&until.to_be_bytes());
        e
    }

    /// The first probe slot of `jti` among `slots`.
    fn first_slot(jti: &str, slots: u32) -> u32 {
        let [a, b, c, d, ..] = key(JKT, jti);
        u32::from_be_bytes([a, b, c, d]) % slots
    }

    #[test]
    fn a_lost_swap_for_the_same_proof_is_a_replay() {
        let inner = MemoryReplayStore::default();
        let g = ReplayGuard::new(Box::new(Racing::new(&inner, None, entry("a", 1010))), 4);
        assert_eq!(g.remember(JKT, "a", 1010, 1000), Seen::Replayed);
        assert_eq!(inner.len(), 1, "only the other worker's entry");
    }

    #[test]
    fn a_lost_swap_for_another_proof_moves_on() {
        let inner = MemoryReplayStore::default();
        let g = ReplayGuard::new(Box::new(Racing::new(&inner, None, entry("other", 1010))), 4);
        assert_eq!(g.remember(JKT, "a", 1010, 1000), Seen::Fresh);
        assert_eq!(inner.len(), 2, "both proofs are remembered");
        let g = guard(&inner, 4);
        assert_eq!(g.remember(JKT, "a", 1010, 1000), Seen::Replayed);
        assert_eq!(g.remember(JKT, "other", 1010, 1000), Seen::Replayed);
        // With a single slot, losing it to another proof is a full store.
        let inner = MemoryReplayStore::default();
        let g = ReplayGuard::new(Box::new(Racing::new(&inner, None, entry("other", 1010))), 1);
        assert_eq!(g.remember(JKT, "a", 1010, 1000), Seen::Full);
    }

    #[test]
    fn the_same_proof_claimed_in_two_slots_is_refused() {
        // Two workers whose reads disagreed on an expiring slot each claim a
        // different slot for the same proof: the one that looks again after
        // claiming sees the other's and refuses.
        let inner = MemoryReplayStore::default();
        let other = (first_slot("a", 2) + 1) % 2;
        let g = ReplayGuard::new(
            Box::new(Racing::new(&inner, Some(other), entry("a", 1010))),
            2,
        );
        assert_eq!(g.remember(JKT, "a", 1010, 1000), Seen::Replayed);
        assert_eq!(inner.len(), 2);
    }

    #[test]
    fn memory_cas_is_envoy_s() {
        let s = MemoryReplayStore::default();
        assert_eq!(s.load(7), None);
        assert!(!s.store_if(7, b"x", 5), "a missing slot's CAS is 0");
        assert!(s.store_if(7, b"x", 0));
        let (bytes, cas) = s.load(7).unwrap();
        assert_eq!(bytes, b"x");
        assert_ne!(cas, 0);
        assert!(!s.store_if(7, b"y", 0), "an existing slot needs its CAS");
        assert!(s.store_if(7, b"y", cas));
        assert!(!s.store_if(7, b"z", cas), "each write changes it");
    }
}
