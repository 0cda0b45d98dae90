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
//! holds the *full* SHA-256 of the token and an id of the configuration that
//! accepted it; both are compared on every read, so a slot collision or an
//! entry from an older configuration is a miss, never someone else's
//! identity. Each entry carries the last second it may be used and is
//! ignored after it.
//!
//! Entries are authenticated. Anything else loaded with the same `vm_id`
//! (another Wasm module, another filter configuration) can read and write
//! the store, so an entry's own contents prove nothing. Each entry ends with
//! an HMAC-SHA256 tag over every byte before it, keyed by a per-configuration
//! [`EntryKey`] derived from the decryption keys' private or secret material
//! (and the configuration fingerprint). A reader checks the tag in constant
//! time before it parses the body; a bad tag is a miss. Forging an entry
//! thus needs the decryption keys, with which one could decrypt (or, for
//! `oct` keys, mint) tokens anyway.
//!
//! The host only moves bytes ([`SharedStore`]); encoding, bounds and checks
//! live here, in the pure core. The local (per-worker) cache is consulted
//! first; only this layer's reads and writes pay an HMAC.

use super::Key;
use crate::jose::jwk::Jwk;
use crate::pipeline::Accepted;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

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

/// Format tag: bump when the encoding changes. `jwa2`: configuration id
/// instead of the fingerprint, and an HMAC tag at the end.
const MAGIC: &[u8; 4] = b"jwa2";

/// magic + configuration id + token hash + last valid second.
const HEADER_BYTES: usize = 4 + 32 + 32 + 8;

/// The HMAC-SHA256 tag that ends every entry.
const TAG_BYTES: usize = 32;

/// HMAC key of the derivation of an [`EntryKey`] (a public domain label:
/// the secret is the message).
const DERIVE_LABEL: &[u8] = b"jwe-authn shared cache entry key v1";

/// Message MACed under the entry key to make the clear configuration id.
/// It cannot be mistaken for an entry: every entry starts with [`MAGIC`].
const ID_LABEL: &[u8] = b"jwe-authn shared cache configuration id v1";

type HmacSha256 = Hmac<Sha256>;

/// The secret that authenticates this configuration's shared entries, and
/// the configuration id written in clear in them.
///
/// Derived once, at configuration time ([`EntryKey::derive`]). Zeroized on
/// drop; `Debug` shows nothing of it, and it is never logged, counted or put
/// in an error.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct EntryKey {
    /// The HMAC-SHA256 key of entry tags.
    mac: [u8; 32],
    /// HMAC(mac, [`ID_LABEL`]): the configuration id stored in clear.
    ///
    /// Why not the public configuration fingerprint, as before: the id is
    /// readable by anyone sharing the store, so it must not be something the
    /// MAC key can be derived from. The fingerprint is not (the key also
    /// needs the decryption keys' secrets), but it is a SHA-256 of the
    /// configuration text, keys included, and would let a reader confirm
    /// guesses about that text. An HMAC under the MAC key reveals nothing
    /// about the key or the configuration (HMAC is a PRF), differs whenever
    /// the key does (another configuration, or the same text with other keys
    /// from the environment), and is stable for one configuration, which is
    /// all the slot choice needs: "written under another configuration".
    id: [u8; 32],
}

impl std::fmt::Debug for EntryKey {
    /// Nothing of the key: it must not reach a log or an error.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntryKey(..)")
    }
}

impl EntryKey {
    /// The key for a configuration with `decryption_keys` (in order) and
    /// `fingerprint`: HMAC-SHA256 keyed by [`DERIVE_LABEL`] over each key's
    /// private or secret material, each prefixed by its length (8 bytes,
    /// big-endian), then the fingerprint. Decryption keys always hold such
    /// material (the configuration refuses public ones), so the result
    /// cannot be computed from public values. `None` only if HMAC refused a
    /// key, which it never does: then nothing is shared (fail closed).
    pub fn derive(decryption_keys: &[Jwk], fingerprint: &[u8; 32]) -> Option<Self> {
        let mut mac = hmac_with(DERIVE_LABEL)?;
        for jwk in decryption_keys {
            jwk.key.with_secret(&mut |material| {
                let len = u64::try_from(material.len()).unwrap_or(u64::MAX);
                mac.update(&len.to_be_bytes());
                mac.update(material);
            });
        }
        mac.update(fingerprint);
        // `root` (a `CtOutput`) zeroizes itself on drop, and so does the
        // HMAC state (`hmac`'s and `sha2`'s `zeroize` features, asked for in
        // Cargo.toml), `key` too; the bytes are copied
        // straight from one to the other, with no copy in between.
        let root = mac.finalize();
        let mut key = EntryKey {
            mac: root.as_bytes().as_slice().try_into().ok()?,
            id: [0; 32],
        };
        let id = key.mac()?.chain_update(ID_LABEL).finalize();
        key.id = id.as_bytes().as_slice().try_into().ok()?;
        Some(key)
    }

    /// A fresh HMAC under this key.
    fn mac(&self) -> Option<HmacSha256> {
        hmac_with(&self.mac)
    }

    /// The tag of `entry` (every byte before the tag).
    fn tag(&self, entry: &[u8]) -> Option<[u8; TAG_BYTES]> {
        let tag = self.mac()?.chain_update(entry).finalize();
        tag.as_bytes().as_slice().try_into().ok()
    }

    /// True when `tag` is the tag of `entry`, compared in constant time.
    fn verify(&self, entry: &[u8], tag: &[u8]) -> bool {
        self.mac()
            .is_some_and(|mac| mac.chain_update(entry).verify_slice(tag).is_ok())
    }
}

/// HMAC-SHA256 keyed by `key` (HMAC takes keys of any length; `None` is
/// never seen in practice).
fn hmac_with(key: &[u8]) -> Option<HmacSha256> {
    <HmacSha256 as KeyInit>::new_from_slice(key).ok()
}

/// The parts of an entry that [`SharedLayer::live`] found plausible.
struct Live<'a> {
    /// SHA-256 of the token.
    hash: [u8; 32],
    /// Last valid second.
    until: u64,
    /// Every byte the tag covers.
    signed: &'a [u8],
    /// The JSON body (unauthenticated until the tag is checked).
    body: &'a [u8],
    /// The HMAC tag.
    tag: &'a [u8; TAG_BYTES],
}

/// The JSON part of an entry.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    /// Provider name.
    p: String,
    /// Provider index (the entry key is this configuration's, so the
    /// index is as stable as the name; both are checked on use).
    i: usize,
    /// Verified claims.
    c: Map<String, Value>,
    /// The inner JWS, when signed.
    j: Option<String>,
    /// `exp`, when present.
    e: Option<u64>,
}

/// The shared layer: a store, its size and the configuration's entry key.
pub struct SharedLayer {
    store: Box<dyn SharedStore>,
    slots: u32,
    key: EntryKey,
}

impl SharedLayer {
    /// `slots` is clamped to `1..=MAX_SLOTS`; `key` authenticates this
    /// configuration's entries and identifies the configuration (entries
    /// written under another, or not under `key`, are ignored).
    pub fn new(store: Box<dyn SharedStore>, slots: usize, key: EntryKey) -> Self {
        let slots = u32::try_from(slots)
            .unwrap_or(MAX_SLOTS)
            .clamp(1, MAX_SLOTS);
        SharedLayer { store, slots, key }
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

    /// A slot's entry if it claims to be this configuration's and is still
    /// valid at `now`: (token hash, last valid second, JSON body, tag). The
    /// tag is *not* checked here: [`SharedLayer::get`] checks it before using
    /// the body; [`SharedLayer::slot_to_write`] only picks a slot to overwrite,
    /// and whoever can write a bad entry can overwrite any slot anyway.
    fn live<'a>(&self, bytes: &'a [u8], now: u64) -> Option<Live<'a>> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return None;
        }
        let (signed, tag) = bytes.split_last_chunk::<TAG_BYTES>()?;
        let (magic, rest) = signed.split_first_chunk::<4>()?;
        let (id, rest) = rest.split_first_chunk::<32>()?;
        let (hash, rest) = rest.split_first_chunk::<32>()?;
        let (until, body) = rest.split_first_chunk::<8>()?;
        // Not secret-dependent timing: the id is public (written in clear
        // in every entry); equality is all that matters.
        if magic != MAGIC || *id != self.key.id {
            return None;
        }
        let until = u64::from_be_bytes(*until);
        (now <= until).then_some(Live {
            hash: *hash,
            until,
            signed,
            body,
            tag,
        })
    }

    /// The outcome stored for `key`, with its last valid second, if it is
    /// there, written under this configuration (its tag checks, in constant
    /// time, under the entry key) and still valid at `now`.
    pub fn get(&self, key: &Key, now: u64) -> Option<(Accepted, u64)> {
        self.slots_for(key).iter().find_map(|&slot| {
            let bytes = self.store.load(slot)?;
            let live = self.live(&bytes, now)?;
            if live.hash != key.0 {
                return None;
            }
            // Before the body is parsed: an unauthenticated body is never
            // even read. A bad tag is a miss.
            if !self.key.verify(live.signed, live.tag) {
                return None;
            }
            let until = live.until;
            let body: Body = serde_json::from_slice(live.body).ok()?;
            Some((
                Accepted {
                    provider: body.p,
                    provider_index: body.i,
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
            self.store.load(slot).and_then(|bytes| {
                self.live(&bytes, now)
                    .map(|live| (live.hash == key.0, live.until))
            })
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
            i: accepted.provider_index,
            c: accepted.claims.clone(),
            j: accepted.jws.clone(),
            e: accepted.expires_at,
        };
        let Ok(json) = serde_json::to_vec(&body) else {
            return;
        };
        let len = HEADER_BYTES
            .saturating_add(json.len())
            .saturating_add(TAG_BYTES);
        if len > MAX_ENTRY_BYTES {
            return;
        }
        let mut bytes = Vec::with_capacity(len);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&self.key.id);
        bytes.extend_from_slice(&key.0);
        bytes.extend_from_slice(&until.to_be_bytes());
        bytes.extend_from_slice(&json);
        let Some(tag) = self.key.tag(&bytes) else {
            return;
        };
        bytes.extend_from_slice(&tag);
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
    use crate::jose::jwk::{generate, Key as JwkKey, KeyType};
    use zeroize::Zeroizing;

    /// The entry key of a configuration with one `oct` decryption key of
    /// `secret` bytes and fingerprint `fingerprint` bytes.
    fn entry_key(secret: u8, fingerprint: u8) -> EntryKey {
        let jwk = Jwk::bare(JwkKey::Oct(Zeroizing::new(vec![secret; 32])));
        EntryKey::derive(&[jwk], &[fingerprint; 32]).unwrap()
    }

    fn accepted(sub: &str) -> Accepted {
        let mut claims = Map::new();
        claims.insert("sub".into(), sub.into());
        Accepted {
            provider: "p".into(),
            provider_index: 0,
            claims,
            jws: Some("a.b.c".into()),
            expires_at: Some(2000),
        }
    }

    #[test]
    fn round_trips_until_expiry() {
        let store = MemoryStore::default();
        let shared = SharedLayer::new(Box::new(store.clone()), 16, entry_key(7, 7));
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
        let old = SharedLayer::new(Box::new(store.clone()), 1, entry_key(1, 1));
        let new = SharedLayer::new(Box::new(store.clone()), 1, entry_key(2, 2));
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
        let shared = SharedLayer::new(Box::new(store.clone()), 400, entry_key(1, 1));
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
        let shared = SharedLayer::new(Box::new(store.clone()), 1, entry_key(1, 1));
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
        let shared = SharedLayer::new(Box::new(store.clone()), 1, entry_key(1, 1));
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
        // With what an attacker can compute without the key in the tag's
        // place: nothing, zeros, a plain SHA-256, HMACs keyed by public
        // values (the clear id, the configuration fingerprint).
        let with = |tag: &[u8]| {
            let mut entry = forged.clone();
            entry.extend_from_slice(tag);
            entry
        };
        let keyed = |key: &[u8]| {
            let mac = hmac_with(key).unwrap().chain_update(&forged).finalize();
            mac.as_bytes().to_vec()
        };
        use sha2::Digest;
        let candidates = [
            forged.clone(),
            with(&[0; 32]),
            with(&Sha256::digest(&forged)),
            with(&keyed(&id)),
            with(&keyed(&[1; 32])),
            with(genuine.get(genuine.len() - 32..).unwrap()),
        ];
        for entry in candidates {
            store.poke(0, entry);
            assert!(shared.get(&victim, 1000).is_none(), "forged identity");
        }
    }

    /// One entry, as written by `shared` for `token`, and its bytes.
    fn genuine(store: &MemoryStore, shared: &SharedLayer, token: &str) -> Vec<u8> {
        shared.put(&Key::of(token), &accepted("alice"), 1500, 1000);
        store.slots().pop().unwrap().1
    }

    #[test]
    fn an_entry_under_another_mac_key_with_the_same_id_is_a_miss() {
        let store = MemoryStore::default();
        let ours = entry_key(1, 1);
        let theirs = EntryKey {
            mac: entry_key(2, 1).mac,
            id: ours.id,
        };
        let reader = SharedLayer::new(Box::new(store.clone()), 1, ours);
        let writer = SharedLayer::new(Box::new(store.clone()), 1, theirs);
        let k = Key::of("token");
        writer.put(&k, &accepted("mallory"), 1500, 1000);
        assert!(writer.get(&k, 1000).is_some(), "the writer's own entry");
        assert!(reader.get(&k, 1000).is_none(), "another key, same id");
        // The reader's own entry for the same token is a hit.
        reader.put(&k, &accepted("alice"), 1500, 1000);
        let (got, _) = reader.get(&k, 1000).unwrap();
        assert_eq!(got.claims.get("sub").unwrap(), "alice");
    }

    #[test]
    fn any_changed_byte_is_a_miss() {
        let store = MemoryStore::default();
        let shared = SharedLayer::new(Box::new(store.clone()), 1, entry_key(1, 1));
        let k = Key::of("token");
        let good = genuine(&store, &shared, "token");
        assert!(good.len() > HEADER_BYTES + TAG_BYTES);
        // Every byte: magic, id, token hash, expiry, body and tag.
        for at in 0..good.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = good.clone();
                *bad.get_mut(at).unwrap() ^= flip;
                store.poke(0, bad);
                assert!(shared.get(&k, 1000).is_none(), "byte {at} ^ {flip:#x}");
            }
        }
        // Nor may anything be appended, even another tag.
        let mut longer = good.clone();
        longer.extend_from_slice(good.get(good.len() - TAG_BYTES..).unwrap());
        store.poke(0, longer);
        assert!(shared.get(&k, 1000).is_none(), "appended");
        store.poke(0, good);
        assert!(shared.get(&k, 1000).is_some(), "the genuine entry");
    }

    #[test]
    fn an_entry_of_the_old_format_is_a_miss() {
        let store = MemoryStore::default();
        let shared = SharedLayer::new(Box::new(store.clone()), 1, entry_key(1, 1));
        let k = Key::of("token");
        let good = genuine(&store, &shared, "token");
        let mut old = b"jwa1".to_vec();
        old.extend_from_slice(good.get(4..).unwrap());
        store.poke(0, old);
        assert!(shared.get(&k, 1000).is_none());
    }

    #[test]
    fn the_entry_key_follows_the_decryption_keys_and_the_fingerprint() {
        let keys = |kinds: &[KeyType]| -> Vec<Jwk> {
            kinds
                .iter()
                .map(|&kind| Jwk::bare(generate(kind).unwrap()))
                .collect()
        };
        let set = keys(&[
            KeyType::Rsa { bits: 2048 },
            KeyType::P256,
            KeyType::P384,
            KeyType::P521,
            KeyType::X25519,
            KeyType::Oct { bytes: 32 },
        ]);
        let derive = |keys: &[Jwk], fp: u8| EntryKey::derive(keys, &[fp; 32]).unwrap();
        let base = derive(&set, 0);
        // The same configuration: the same key and id, every time.
        let again = derive(&set.clone(), 0);
        assert_eq!((base.mac, base.id), (again.mac, again.id));
        assert_ne!(base.mac, base.id, "the clear id is not the key");
        // Another fingerprint.
        assert_ne!(derive(&set, 1).mac, base.mac);
        assert_ne!(derive(&set, 1).id, base.id);
        // Any one decryption key replaced by another of its kind, dropped,
        // or the order changed.
        for (i, kind) in [
            KeyType::Rsa { bits: 2048 },
            KeyType::P256,
            KeyType::P384,
            KeyType::P521,
            KeyType::X25519,
            KeyType::Oct { bytes: 32 },
        ]
        .into_iter()
        .enumerate()
        {
            let mut other = set.clone();
            *other.get_mut(i).unwrap() = Jwk::bare(generate(kind).unwrap());
            let other = derive(&other, 0);
            assert_ne!(other.mac, base.mac, "key {i} replaced");
            assert_ne!(other.id, base.id, "key {i} replaced");
            let mut fewer = set.clone();
            fewer.remove(i);
            assert_ne!(derive(&fewer, 0).mac, base.mac, "key {i} dropped");
        }
        let mut reversed = set.clone();
        reversed.reverse();
        assert_ne!(derive(&reversed, 0).mac, base.mac, "order");
        // Only the metadata differs: the same material, the same key.
        let mut named = set.clone();
        named.get_mut(0).unwrap().kid = Some("k".into());
        assert_eq!(derive(&named, 0).mac, base.mac);
        // Nothing of the key in its Debug form.
        let shown = format!("{base:?}");
        assert_eq!(shown, "EntryKey(..)");
    }

    #[test]
    fn oversized_outcomes_are_not_shared() {
        let store = MemoryStore::default();
        let shared = SharedLayer::new(Box::new(store.clone()), 4, entry_key(1, 1));
        let mut big = accepted("x");
        big.claims
            .insert("blob".into(), "a".repeat(MAX_ENTRY_BYTES).into());
        shared.put(&Key::of("t"), &big, 1500, 1000);
        assert!(store.is_empty());
    }
}
