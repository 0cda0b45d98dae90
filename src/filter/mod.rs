//! Host glue: the proxy-wasm root and HTTP contexts (wasm32 only).
//!
//! The root context ([`root`]) parses and compiles the configuration once in
//! `on_configure` and shares it, the cache and the stat ids with every HTTP
//! context. The HTTP context ([`http`]) reads the request headers and the
//! clock, calls [`crate::decide::decide`], and applies the decision:
//! remove and set headers and continue, or send the 401/403 response.
//! No cryptography or policy lives here.
//!
//! `proxy_wasm::main!` expands to a `#[no_mangle]` export and an `unsafe`
//! constructor call, so this module alone allows `unsafe_code`; it writes
//! none itself.
#![allow(unsafe_code)]

mod apply;
mod http;
mod root;
mod shared_data;
mod stats;

use proxy_wasm::hostcalls;
use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    // A panic kills the VM; say where before it does (never the payload,
    // which could quote request data).
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = hostcalls::log(LogLevel::Critical, &format!("jwe_authn: panic at {at}"));
    }));
    proxy_wasm::set_root_context(|_| Box::new(root::Root::default()));
}}
