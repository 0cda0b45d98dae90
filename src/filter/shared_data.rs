//! The shared cache's and the DPoP replay store's slots on Envoy: proxy-wasm
//! shared data, one key per slot. Envoy keeps shared data per `vm_id`,
//! visible to every worker's VM. Only bytes move here; encoding and checks
//! are in `cache::shared` and `cache::replay`.

use super::host;
use crate::cache::replay::ReplayStore;
use crate::cache::shared::SharedStore;

/// Shared data under `jwe_authn.cache.<slot>`.
pub struct HostStore;

fn name(slot: u32) -> String {
    format!("jwe_authn.cache.{slot}")
}

impl SharedStore for HostStore {
    fn load(&self, slot: u32) -> Option<Vec<u8>> {
        host::shared_data(&name(slot))
    }

    fn store(&self, slot: u32, bytes: &[u8]) {
        // No CAS: the last writer of a slot wins, which is all a cache needs.
        host::set_shared_data(&name(slot), bytes);
    }
}

/// The DPoP replay store's slots, under `jwe_authn.replay.<slot>`, with
/// Envoy's compare-and-swap.
pub struct HostReplayStore;

fn replay_name(slot: u32) -> String {
    format!("jwe_authn.replay.{slot}")
}

/// The CAS value that creates a key only when it is absent: Envoy writes an
/// absent key whatever the CAS, and an existing key only when the CAS is
/// its own, a counter that starts at 1 and would have to have counted four
/// billion writes to be this.
const CREATE_ONLY: u32 = u32::MAX;

impl HostReplayStore {
    /// Create every slot that does not exist yet, empty (at configuration
    /// time, before any request): Envoy's CAS protects only keys that exist.
    /// A slot another VM created in the meantime, or already claimed, is
    /// left as it is. A bounded loop of two host calls per missing slot.
    pub fn prepare(slots: u32) {
        for slot in 0..slots {
            let name = replay_name(slot);
            if host::shared_data_with_cas(&name).is_none() {
                let _ = host::set_shared_data_if(&name, &[], CREATE_ONLY);
            }
        }
    }
}

impl ReplayStore for HostReplayStore {
    fn load(&self, slot: u32) -> Option<(Vec<u8>, u32)> {
        host::shared_data_with_cas(&replay_name(slot))
    }

    fn store_if(&self, slot: u32, bytes: &[u8], cas: u32) -> bool {
        // Never an unconditional write: a slot whose CAS is 0 does not
        // exist (`prepare` failed for it) and is not claimed.
        cas != 0 && host::set_shared_data_if(&replay_name(slot), bytes, cas)
    }
}
