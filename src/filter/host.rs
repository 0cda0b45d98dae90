//! Every raw host call of the filter, and nothing else: the rest of
//! `filter` reaches Envoy only through these functions, and this is the only
//! file of the crate with `unsafe` code of its own (the SDK's `main!` in
//! `mod.rs` expands to one more).
//!
//! None of them panics. The SDK's wrappers (`proxy_wasm::hostcalls`)
//! `panic!` on any status they do not expect and some on bytes that are not
//! UTF-8, and a panic kills the VM; so these declare the proxy-wasm ABI's
//! imports themselves (the same imports the SDK declares), take the status
//! as a plain `u32` (a value outside the SDK's `Status` enum would be
//! undefined behaviour there) and give back the host's answer, or an
//! empty or `None` one, or `false`, when it has none.
//!
//! One SDK wrapper is still used: [`dispatch_http_call`], because the SDK's
//! dispatcher must record the call's token to route the answer back to the
//! root context (its `on_http_call_response` panics on a token it has not
//! recorded). That wrapper panics only on a status other than `Ok`,
//! `BadArgument` and `InternalFailure`, which are all Envoy's
//! `Context::httpCall` returns; the ABI's one other answer,
//! `InvalidMemoryAccess`, needs pointers outside this module's memory, and
//! the SDK passes pointers to live values.
//!
//! The SDK's own dispatcher, which routes the host's callbacks to the
//! contexts, still uses its wrappers inside (to make a context it knows the
//! effective one, and for its trace logs): not calls of the filter's.

use crate::extract::serialize_pairs;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType, MetricType};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// The ABI's `Ok`.
const OK: u32 = 0;

/// The ABI's stream type of the request (`proxy_continue_stream`).
const STREAM_HTTP_REQUEST: u32 = 0;

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_buffer_data: *mut *mut u8,
        return_buffer_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        status_code_details_data: *const u8,
        status_code_details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_continue_stream(stream_type: u32) -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
    fn proxy_define_metric(
        metric_type: u32,
        name_data: *const u8,
        name_size: usize,
        return_id: *mut u32,
    ) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
    fn proxy_call_foreign_function(
        function_name_data: *const u8,
        function_name_size: usize,
        arguments_data: *const u8,
        arguments_size: usize,
        return_results_data: *mut *mut u8,
        return_results_size: *mut usize,
    ) -> u32;
}

/// The bytes a host call handed over on `Ok` (`None` for a null pointer).
///
/// # Safety
/// `data` and `size` must be what a host call wrote on `Ok`: a buffer the
/// host allocated through this module's `proxy_on_memory_allocate` (the
/// SDK's: a `Vec<u8>` of capacity `size`, forgotten) and whose ownership it
/// hands over, which is exactly what `Vec::from_raw_parts` needs. Nothing
/// else holds the pointer.
unsafe fn handed_over(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if data.is_null() {
        None
    } else {
        // SAFETY: as this function's contract says.
        Some(unsafe { Vec::from_raw_parts(data, size, size) })
    }
}

/// The ABI's `NotFound`: the host has no foreign function of that name.
const NOT_FOUND: u32 = 1;

/// Whether the host offers `verify_signature`: not asked yet, yes, no.
static VERIFY_SIGNATURE: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const PRESENT: u8 = 1;
const ABSENT: u8 = 2;

/// Envoy's `verify_signature` foreign function (BoringSSL): `args` is an
/// encoded `VerifySignatureArguments` ([`crate::jose::jws::offload`]), the
/// answer an encoded `VerifySignatureResult`; `None` when the host has no
/// such function (asked once per VM, then remembered and said once in the
/// log) or refused the arguments. The signature is then checked in the
/// module.
pub fn verify_signature(args: &[u8]) -> Option<Vec<u8>> {
    const NAME: &[u8] = b"verify_signature";
    if VERIFY_SIGNATURE.load(Ordering::Relaxed) == ABSENT {
        return None;
    }
    let mut data = null_mut();
    let mut size = 0usize;
    // SAFETY: name and arguments outlive the call and are only read; the
    // host writes the result's pointer and size through pointers to live
    // locals.
    let status = unsafe {
        proxy_call_foreign_function(
            NAME.as_ptr(),
            NAME.len(),
            args.as_ptr(),
            args.len(),
            &mut data,
            &mut size,
        )
    };
    // SAFETY: `data` is null or a buffer the host allocated for this call
    // and handed over (whatever the status: a host that allocated and then
    // failed would otherwise leak it).
    let result = unsafe { handed_over(data, size) };
    let first = VERIFY_SIGNATURE.load(Ordering::Relaxed) == UNKNOWN;
    match status {
        OK => {
            if first {
                VERIFY_SIGNATURE.store(PRESENT, Ordering::Relaxed);
                log(
                    LogLevel::Info,
                    "jwe-authn: RS* and ES* signatures are checked by the host's verify_signature",
                );
            }
            result
        }
        NOT_FOUND => {
            VERIFY_SIGNATURE.store(ABSENT, Ordering::Relaxed);
            log(
                LogLevel::Info,
                "jwe-authn: the host has no verify_signature; signatures are checked in the module",
            );
            None
        }
        _ => None,
    }
}

/// One log line at `level` (Envoy's `wasm` component).
pub fn log(level: LogLevel, message: &str) {
    // SAFETY: the message outlives the call; the host only reads it.
    let _ = unsafe { proxy_log(level as u32, message.as_ptr(), message.len()) };
}

/// The clock, in nanoseconds since the epoch; 0 when the host cannot say,
/// which makes every token look expired (fail closed).
pub fn now_ns() -> u64 {
    let mut now = 0u64;
    // SAFETY: the host writes one u64 through a pointer to a live local.
    match unsafe { proxy_get_current_time_nanoseconds(&mut now) } {
        OK => now,
        _ => 0,
    }
}

/// The clock, in milliseconds since the epoch (0 when the host cannot say).
pub fn now_ms() -> u64 {
    now_ns() / 1_000_000
}

/// Ask for the root context's `on_tick` every `period`.
pub fn set_tick_period(period: Duration) {
    let ms = u32::try_from(period.as_millis()).unwrap_or(u32::MAX);
    // SAFETY: no pointers.
    let _ = unsafe { proxy_set_tick_period_milliseconds(ms) };
}

/// At most `max` bytes of a host buffer from its start (empty when the host
/// has none).
fn buffer(kind: BufferType, max: usize) -> Vec<u8> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes the two out-values through pointers to live
    // locals; on `Ok` they are a handed-over buffer (see `handed_over`).
    unsafe {
        match proxy_get_buffer_bytes(kind as u32, 0, max, &mut data, &mut size) {
            OK => handed_over(data, size).unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// The plugin's configuration, `size` bytes (in `on_configure`).
pub fn plugin_configuration(size: usize) -> Vec<u8> {
    buffer(BufferType::PluginConfiguration, size)
}

/// The body of the answer to a call, `size` bytes (in
/// `on_http_call_response`).
pub fn call_response_body(size: usize) -> Vec<u8> {
    buffer(BufferType::HttpCallResponseBody, size)
}

/// Every request header, serialized by the host in one call (empty when
/// the host cannot say; [`crate::extract::serialized_pairs`] reads it).
pub fn request_header_map() -> Vec<u8> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: as for `buffer`.
    unsafe {
        match proxy_get_header_map_pairs(MapType::HttpRequestHeaders as u32, &mut data, &mut size) {
            OK => handed_over(data, size).unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// The `:status` of the answer to a call (in `on_http_call_response`);
/// `None` when absent or not a number.
pub fn call_response_status() -> Option<u16> {
    const NAME: &str = ":status";
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: as for `buffer`; `NAME` outlives the call.
    let value = unsafe {
        match proxy_get_header_map_value(
            MapType::HttpCallResponseHeaders as u32,
            NAME.as_ptr(),
            NAME.len(),
            &mut data,
            &mut size,
        ) {
            OK => handed_over(data, size)?,
            _ => return None,
        }
    };
    std::str::from_utf8(&value).ok()?.parse().ok()
}

/// Set request header `name` to `value`, replacing every copy, or remove
/// every copy (`None`). Of the current request (the effective context).
pub fn set_request_header(name: &str, value: Option<&str>) {
    let map = MapType::HttpRequestHeaders as u32;
    // SAFETY: name and value outlive the call; the host only reads them.
    let _ = unsafe {
        match value {
            Some(v) => {
                proxy_replace_header_map_value(map, name.as_ptr(), name.len(), v.as_ptr(), v.len())
            }
            None => proxy_remove_header_map_value(map, name.as_ptr(), name.len()),
        }
    };
}

/// The current request's downstream address, Envoy's `source.address`
/// (`ip:port`; the address `xff_num_trusted_hops` chose, when the HCM
/// trusts `x-forwarded-for`). `None` when the host has none. The
/// cold-path budget asks for it only when a token needs cold-path work.
pub fn source_address() -> Option<String> {
    // The ABI's serialization of the path ["source", "address"].
    String::from_utf8(property(b"source\0address")?).ok()
}

/// The name of the route Envoy chose for the current request
/// (`xds.route_name`); `None` when there is none or it is not UTF-8.
pub fn route_name() -> Option<String> {
    String::from_utf8(property(b"xds\0route_name")?).ok()
}

/// The current route's `metadata.filter_metadata.jwe_authn`, serialized by
/// Envoy (a map of pairs); `None` when the route has none. The core
/// bounds its size and refuses what is not a requirement.
pub fn route_requirement() -> Option<Vec<u8>> {
    property(b"xds\0route_metadata\0filter_metadata\0jwe_authn")
}

/// The SHA-256 digest of the downstream connection's client certificate,
/// hex, as Envoy gives it (`connection.sha256_peer_certificate_digest`);
/// `None` over plain HTTP or without a client certificate.
pub fn peer_certificate_sha256() -> Option<String> {
    let digest =
        String::from_utf8(property(b"connection\0sha256_peer_certificate_digest")?).ok()?;
    (!digest.is_empty()).then_some(digest)
}

/// The property at `path` (the ABI's serialization of a path: its
/// segments joined by NUL bytes), as the host serializes its value; `None`
/// when the host has none.
pub fn property(path: &[u8]) -> Option<Vec<u8>> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: as for `buffer`; `path` outlives the call.
    unsafe {
        match proxy_get_property(path.as_ptr(), path.len(), &mut data, &mut size) {
            OK => handed_over(data, size),
            _ => None,
        }
    }
}

/// Filter state `name` of the current request (Envoy stores it under
/// `wasm.<name>`). `name` is a one-element property path, which the ABI
/// serializes as the name itself.
pub fn set_filter_state(name: &str, value: &[u8]) {
    // SAFETY: name and value outlive the call; the host only reads them.
    let _ = unsafe { proxy_set_property(name.as_ptr(), name.len(), value.as_ptr(), value.len()) };
}

/// Shared data under `key` (every worker's VM of this `vm_id` sees it);
/// `None` when absent.
pub fn shared_data(key: &str) -> Option<Vec<u8>> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    let mut cas: u32 = 0;
    // SAFETY: as for `buffer`; `key` outlives the call.
    unsafe {
        match proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas) {
            OK => handed_over(data, size),
            _ => None,
        }
    }
}

/// Shared data under `key` and its CAS value (every write gives a key a
/// new one); `None` when absent. An empty value is `Some` (the host hands
/// over no buffer for it).
pub fn shared_data_with_cas(key: &str) -> Option<(Vec<u8>, u32)> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    let mut cas: u32 = 0;
    // SAFETY: as for `buffer`; `key` outlives the call.
    unsafe {
        match proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas) {
            OK => Some((handed_over(data, size).unwrap_or_default(), cas)),
            _ => None,
        }
    }
}

/// Write shared data under `key` only if its CAS value is still `cas`
/// (Envoy: a `cas` of 0 writes whatever is there, and a key that does not
/// exist is written whatever `cas` is). True when written.
pub fn set_shared_data_if(key: &str, value: &[u8], cas: u32) -> bool {
    // SAFETY: key and value outlive the call; the host only reads them.
    let status =
        unsafe { proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas) };
    status == OK
}

/// Write shared data under `key`, without compare-and-swap.
pub fn set_shared_data(key: &str, value: &[u8]) {
    // SAFETY: key and value outlive the call; the host only reads them.
    let _ =
        unsafe { proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), 0) };
}

/// Answer the current request with a local response (it never reaches the
/// upstream). False when the host refused it; the request then stays
/// paused, never forwarded.
pub fn send_response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> bool {
    let headers = serialize_pairs(headers);
    // SAFETY: body and headers outlive the call; the host only reads them.
    // No details string (null, 0); -1: not a gRPC answer.
    let status = unsafe {
        proxy_send_local_response(
            u32::from(status),
            std::ptr::null(),
            0,
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    };
    status == OK
}

/// Let the current request (paused in `on_http_request_headers`) go on to
/// the next filter.
pub fn resume_request() {
    // SAFETY: no pointers.
    let _ = unsafe { proxy_continue_stream(STREAM_HTTP_REQUEST) };
}

/// Make request `context` the one the next calls act on (from the root
/// context). False when it is gone.
pub fn set_effective_context(context: u32) -> bool {
    // SAFETY: no pointers.
    (unsafe { proxy_set_effective_context(context) }) == OK
}

/// Start an HTTP call through `cluster` with `headers` and no body (from
/// the root context, so the answer comes back to it): the call's token, or
/// `None` when the host refused it. Through the SDK's wrapper (see the
/// module documentation).
pub fn dispatch_http_call(
    cluster: &str,
    headers: Vec<(&str, &str)>,
    timeout: Duration,
) -> Option<u32> {
    hostcalls::dispatch_http_call(cluster, headers, None, vec![], timeout).ok()
}

/// Define a metric; `None` when the host refused (the metric is then not
/// counted).
pub fn define_metric(kind: MetricType, name: &str) -> Option<u32> {
    let mut id: u32 = 0;
    // SAFETY: the name outlives the call; the host writes the id through a
    // pointer to a live local.
    match unsafe { proxy_define_metric(kind as u32, name.as_ptr(), name.len(), &mut id) } {
        OK => Some(id),
        _ => None,
    }
}

/// Add `n` to counter `id`.
pub fn increment_metric(id: u32, n: u64) {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    // SAFETY: no pointers.
    let _ = unsafe { proxy_increment_metric(id, n) };
}

/// Set gauge `id` to `value`.
pub fn record_metric(id: u32, value: u64) {
    // SAFETY: no pointers.
    let _ = unsafe { proxy_record_metric(id, value) };
}

/// The size of this VM's Wasm linear memory, bytes (an instruction, not a
/// call out of the VM).
pub fn memory_bytes() -> u64 {
    (core::arch::wasm32::memory_size(0) as u64).saturating_mul(65_536)
}

/// A variable of the VM's environment: what Envoy passes in
/// `vm_config.environment_variables` (WASI `environ_get`).
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
