//! The HTTP context: read, decide, apply — or park the request until the
//! issuer's keys arrive (the root context resumes it).

use super::apply;
use super::root::Shared;
use crate::config::CompiledConfig;
use crate::decide::Decision;
use crate::extract::{self, serialized_pairs, Request};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MapType, Status};
use std::rc::Rc;

/// One request's context.
pub struct Http {
    id: u32,
    shared: Option<Rc<Shared>>,
    /// The request was put in the waiting room.
    parked: bool,
}

impl Http {
    pub fn new(id: u32, shared: Option<Rc<Shared>>) -> Self {
        Http {
            id,
            shared,
            parked: false,
        }
    }
}

impl Context for Http {
    /// The stream ended; if it was waiting (the client went away), its
    /// place in the waiting room is freed.
    fn on_done(&mut self) -> bool {
        if let (true, Some(shared)) = (self.parked, &self.shared) {
            shared.forget(self.id);
        }
        true
    }
}

/// A pseudo-header of `headers` (empty when absent).
fn pseudo<'h>(headers: &[(&'h str, &'h str)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| v)
        .unwrap_or_default()
}

#[link(wasm_import_module = "env")]
extern "C" {
    // The same import the SDK declares; the SDK's wrappers `panic!` on an
    // unexpected status and on a header name that is not UTF-8.
    fn proxy_get_header_map_pairs(
        map_type: MapType,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> Status;
}

#[link(wasm_import_module = "env")]
extern "C" {
    // As the SDK declares it; its wrapper `panic!`s on an unexpected status.
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> Status;
}

/// The current request's downstream address, Envoy's `source.address`
/// (`ip:port`; the address `xff_num_trusted_hops` chose, when the HCM
/// trusts `x-forwarded-for`). One host call: made only when the cold-path
/// budget is asked for work. `None` when the host has none.
pub fn source_address() -> Option<String> {
    // The SDK's serialization of the path ["source", "address"].
    const PATH: &[u8] = b"source\0address";
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: as for `header_map`: on `Ok` with a non-null pointer the host
    // hands over a buffer of `size` bytes allocated through this module's
    // allocator; `PATH` outlives the call.
    let bytes = unsafe {
        match proxy_get_property(PATH.as_ptr(), PATH.len(), &mut data, &mut size) {
            Status::Ok if !data.is_null() => Vec::from_raw_parts(data, size, size),
            _ => return None,
        }
    };
    String::from_utf8(bytes).ok()
}

/// Every request header, serialized by the host (one host call).
fn header_map() -> Vec<u8> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: on `Ok` the host has written into `data` a buffer of `size`
    // bytes that it allocated through this module's
    // `proxy_on_memory_allocate` (the SDK's: a `Vec<u8>` of capacity `size`,
    // forgotten), and hands over its ownership; that is exactly what
    // `Vec::from_raw_parts` needs. Nothing else holds the pointer.
    unsafe {
        match proxy_get_header_map_pairs(MapType::HttpRequestHeaders, &mut data, &mut size) {
            Status::Ok if !data.is_null() => Vec::from_raw_parts(data, size, size),
            _ => Vec::new(),
        }
    }
}

/// The request headers the core wants ([`CompiledConfig::wants_header`]),
/// every copy, from one read of the whole map: presence of a managed header
/// (or its `_` spelling) and a repeated source header must be seen, and one
/// read costs less than a read per name. Borrowed from `map`; values that
/// are not UTF-8 become U+FFFD, kept in `lossy`
/// ([`extract::wanted_pairs`]). `None` when the host's map cannot be read.
fn request_headers<'m>(
    config: &CompiledConfig,
    map: &'m [u8],
    lossy: &'m mut Vec<String>,
) -> Option<Vec<(&'m str, &'m str)>> {
    let pairs = serialized_pairs(map)?;
    Some(extract::wanted_pairs(
        &pairs,
        |name| config.wants_header(name),
        lossy,
    ))
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else {
            // Not configured: fail closed.
            let _ = hostcalls::send_http_response(500, vec![], Some(b"jwe_authn: not configured"));
            return Action::Pause;
        };
        shared.stats.request();
        let map = header_map();
        let mut lossy = Vec::new();
        let Some(headers) = request_headers(&shared.config, &map, &mut lossy) else {
            // Fail closed: a map that cannot be read is no request to pass.
            let _ = hostcalls::send_http_response(400, vec![], Some(b"jwe_authn: bad headers"));
            return Action::Pause;
        };
        let request = Request {
            method: pseudo(&headers, ":method"),
            path: pseudo(&headers, ":path"),
            headers: &headers,
        };
        match shared.decide(&request) {
            Some(Decision::Allow(allow)) => {
                apply::allow(&shared, &allow);
                Action::Continue
            }
            Some(Decision::Deny(deny)) => {
                apply::deny(&shared, &deny);
                Action::Pause
            }
            Some(Decision::Wait(parked)) => {
                self.parked = shared.park(self.id, parked);
                Action::Pause
            }
            None => {
                let _ = hostcalls::send_http_response(500, vec![], Some(b"jwe_authn: busy"));
                Action::Pause
            }
        }
    }
}
