//! The dynamic-module ABI of Envoy 1.40, the part this module uses, bound
//! by hand from Envoy's `source/extensions/dynamic_modules/abi/abi.h`
//! (read, not copied; the official Rust SDK is not on crates.io). Every
//! `unsafe` block of the module is here, each with the invariant it relies
//! on. Every hook catches a panic (`catch_unwind`): none unwinds into
//! Envoy, and a request whose hook panicked is answered 503 (fail closed).
//!
//! Envoy resolves every hook below by name when it loads a filter
//! configuration and refuses the configuration if one is missing; the
//! hooks for callouts, streams, schedulers and watermarks are no-ops here.

use crate::{on_request_headers, unavailable, Action, Config};
use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null;

/// A buffer Envoy owns, valid for the duration of the hook.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EnvoyBuffer {
    ptr: *const u8,
    length: usize,
}

/// A buffer the module owns, read by Envoy during the callback.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ModuleBuffer {
    ptr: *const u8,
    length: usize,
}

/// One header as Envoy lends it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EnvoyHeader {
    key_ptr: *const u8,
    key_length: usize,
    value_ptr: *const u8,
    value_length: usize,
}

/// One header as the module lends it.
#[repr(C)]
pub struct ModuleHeader {
    key_ptr: *const u8,
    key_length: usize,
    value_ptr: *const u8,
    value_length: usize,
}

/// `envoy_dynamic_module_type_http_header_type_RequestHeader`.
const REQUEST_HEADER: u32 = 0;
/// `..._on_http_filter_request_headers_status_Continue` / `_StopIteration`
/// (the same values for every `_status` enum used here).
const CONTINUE: u32 = 0;
const STOP_ITERATION: u32 = 1;
/// At most this many request headers are read (Envoy's own default limit
/// is 100).
const MAX_HEADERS: usize = 1024;

extern "C" {
    fn envoy_dynamic_module_callback_http_get_headers_size(
        filter: *mut c_void,
        header_type: u32,
    ) -> usize;
    fn envoy_dynamic_module_callback_http_get_headers(
        filter: *mut c_void,
        header_type: u32,
        result: *mut EnvoyHeader,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_set_header(
        filter: *mut c_void,
        header_type: u32,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;
    fn envoy_dynamic_module_callback_http_send_response(
        filter: *mut c_void,
        status_code: u32,
        headers: *const ModuleHeader,
        headers_size: usize,
        body: ModuleBuffer,
        details: ModuleBuffer,
    );
}

fn module_buffer(bytes: &[u8]) -> ModuleBuffer {
    ModuleBuffer {
        ptr: bytes.as_ptr(),
        length: bytes.len(),
    }
}

/// The bytes of a buffer Envoy lent for this hook, copied.
///
/// # Safety
/// `ptr` is null or points to `length` readable bytes for the call.
unsafe fn copied(ptr: *const u8, length: usize) -> String {
    if ptr.is_null() || length == 0 {
        return String::new();
    }
    // SAFETY: as this function's contract says.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, length) };
    String::from_utf8_lossy(bytes).into_owned()
}

/// The request headers, every copy, names as Envoy keeps them (lower case).
fn request_headers(filter: *mut c_void) -> Option<Vec<(String, String)>> {
    // SAFETY: `filter` is the pointer Envoy passed to this hook.
    let count =
        unsafe { envoy_dynamic_module_callback_http_get_headers_size(filter, REQUEST_HEADER) };
    if count > MAX_HEADERS {
        return None;
    }
    let empty = EnvoyHeader {
        key_ptr: null(),
        key_length: 0,
        value_ptr: null(),
        value_length: 0,
    };
    let mut raw = vec![empty; count];
    // SAFETY: `raw` has room for the `count` headers Envoy just reported;
    // Envoy writes views into its own header map, valid during this hook.
    if !unsafe {
        envoy_dynamic_module_callback_http_get_headers(filter, REQUEST_HEADER, raw.as_mut_ptr())
    } {
        return None;
    }
    Some(
        raw.iter()
            // SAFETY: each view was written by Envoy just now (see above).
            .map(|h| unsafe {
                (
                    copied(h.key_ptr, h.key_length),
                    copied(h.value_ptr, h.value_length),
                )
            })
            .collect(),
    )
}

fn apply(filter: *mut c_void, action: &Action) -> u32 {
    match action {
        Action::Continue { remove, set } => {
            for name in remove {
                // SAFETY: the buffers outlive the call; a null value removes.
                unsafe {
                    envoy_dynamic_module_callback_http_set_header(
                        filter,
                        REQUEST_HEADER,
                        module_buffer(name.as_bytes()),
                        ModuleBuffer {
                            ptr: null(),
                            length: 0,
                        },
                    )
                };
            }
            for (name, value) in set {
                // SAFETY: the buffers outlive the call.
                unsafe {
                    envoy_dynamic_module_callback_http_set_header(
                        filter,
                        REQUEST_HEADER,
                        module_buffer(name.as_bytes()),
                        module_buffer(value.as_bytes()),
                    )
                };
            }
            CONTINUE
        }
        Action::Respond {
            status,
            headers,
            body,
        } => {
            let raw: Vec<ModuleHeader> = headers
                .iter()
                .map(|(n, v)| ModuleHeader {
                    key_ptr: n.as_ptr(),
                    key_length: n.len(),
                    value_ptr: v.as_ptr(),
                    value_length: v.len(),
                })
                .collect();
            let details = b"jwe_authn_denied";
            // SAFETY: headers, body and details outlive the call; Envoy
            // copies them.
            unsafe {
                envoy_dynamic_module_callback_http_send_response(
                    filter,
                    *status,
                    raw.as_ptr(),
                    raw.len(),
                    module_buffer(body.as_bytes()),
                    module_buffer(details),
                )
            };
            STOP_ITERATION
        }
    }
}

/// The ABI version this module was written against (Envoy 1.40 logs a
/// warning for another one and loads the module anyway).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const c_char {
    c"v0.2.0".as_ptr()
}

/// A filter configuration: the JSON of `filter_config`. Null (Envoy then
/// refuses the configuration) when it is invalid.
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    _config_envoy: *mut c_void,
    _name: EnvoyBuffer,
    config: EnvoyBuffer,
) -> *const c_void {
    let made = catch_unwind(|| {
        // SAFETY: Envoy lends the configuration's bytes for this call.
        let json = unsafe { copied(config.ptr, config.length) };
        Config::new(json.as_bytes())
    });
    match made {
        Ok(Ok(config)) => Box::into_raw(Box::new(config)) as *const c_void,
        Ok(Err(e)) => {
            eprintln!("jwe_authn: {e}");
            null()
        }
        Err(_) => null(),
    }
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(config: *mut c_void) {
    if !config.is_null() {
        // SAFETY: made by `Box::into_raw` in `config_new`; Envoy destroys
        // a configuration once, after its last filter.
        drop(unsafe { Box::from_raw(config as *mut Config) });
    }
}

/// A filter for one stream: the configuration's pointer itself (the
/// filter keeps no state of its own between hooks).
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_new(
    config: *mut c_void,
    _filter_envoy: *mut c_void,
) -> *const c_void {
    config
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
    filter_envoy: *mut c_void,
    filter_module: *mut c_void,
    _end_of_stream: bool,
) -> u32 {
    let action = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `filter_module` is the configuration pointer from
        // `filter_new`, alive while any of its filters is.
        let Some(config) = (unsafe { (filter_module as *const Config).as_ref() }) else {
            return unavailable();
        };
        match request_headers(filter_envoy) {
            Some(headers) => on_request_headers(config, &headers),
            None => unavailable(),
        }
    }))
    .unwrap_or_else(|_| unavailable());
    apply(filter_envoy, &action)
}

macro_rules! proceed {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[no_mangle]
        pub extern "C" fn $name($(_: $ty),*) -> u32 {
            CONTINUE
        }
    )*};
}

proceed! {
    envoy_dynamic_module_on_http_filter_request_body(a: *mut c_void, b: *mut c_void, c: bool);
    envoy_dynamic_module_on_http_filter_request_trailers(a: *mut c_void, b: *mut c_void);
    envoy_dynamic_module_on_http_filter_response_headers(a: *mut c_void, b: *mut c_void, c: bool);
    envoy_dynamic_module_on_http_filter_response_body(a: *mut c_void, b: *mut c_void, c: bool);
    envoy_dynamic_module_on_http_filter_response_trailers(a: *mut c_void, b: *mut c_void);
}

macro_rules! ignore {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[no_mangle]
        pub extern "C" fn $name($(_: $ty),*) {}
    )*};
}

ignore! {
    envoy_dynamic_module_on_http_filter_stream_complete(a: *mut c_void, b: *mut c_void);
    envoy_dynamic_module_on_http_filter_destroy(a: *mut c_void);
    envoy_dynamic_module_on_http_filter_http_callout_done(a: *mut c_void, b: *mut c_void, c: u64, d: u32, e: *const c_void, f: usize, g: *const c_void, h: usize);
    envoy_dynamic_module_on_http_filter_http_stream_headers(a: *mut c_void, b: *mut c_void, c: u64, d: *const c_void, e: usize, f: bool);
    envoy_dynamic_module_on_http_filter_http_stream_data(a: *mut c_void, b: *mut c_void, c: u64, d: *const c_void, e: usize, f: bool);
    envoy_dynamic_module_on_http_filter_http_stream_trailers(a: *mut c_void, b: *mut c_void, c: u64, d: *const c_void, e: usize);
    envoy_dynamic_module_on_http_filter_http_stream_complete(a: *mut c_void, b: *mut c_void, c: u64);
    envoy_dynamic_module_on_http_filter_http_stream_reset(a: *mut c_void, b: *mut c_void, c: u64, d: u32);
    envoy_dynamic_module_on_http_filter_scheduled(a: *mut c_void, b: *mut c_void, c: u64);
    envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(a: *mut c_void, b: *mut c_void);
    envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(a: *mut c_void, b: *mut c_void);
}
