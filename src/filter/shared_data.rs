//! The shared cache's store on Envoy: proxy-wasm shared data, one key per
//! slot. Envoy keeps shared data per `vm_id`, visible to every worker's VM.
//! Only bytes move here; encoding and checks are in `cache::shared`.

use super::host;
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
