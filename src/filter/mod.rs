//! Host glue: the proxy-wasm contexts (wasm32 only). No cryptography or
//! policy lives here.
//!
//! - [`host`] — every raw host call of the filter, none of which panics;
//!   the only `unsafe` code written in the crate;
//! - [`worker`] — the state of one VM (configuration, cache, keys, stats,
//!   cold-path budget, waiting room, fetches) and what the contexts ask of
//!   it: decide for a request, start fetches and take their answers, serve
//!   waiters;
//! - [`root`] — the root context: configures the worker in `on_configure`,
//!   hands it ticks and fetch answers;
//! - [`http`] — the HTTP context: hands the request to the worker, pauses
//!   or continues;
//! - [`apply`] — applies a decision to the current request: header edits
//!   and filter state, or the local 401/403 response;
//! - [`stats`] — the counters, counted in the VM and flushed every tick;
//! - [`shared_data`] — the shared cache's store in proxy-wasm shared data.
//!
//! Imports form no cycle: `root` uses `http` and `worker`; `http` uses
//! `worker`; `worker` uses `apply`, `stats` and `shared_data`; `apply` uses
//! `stats`; all use `host`, which uses none of them.

#[allow(unsafe_code)]
mod host;

mod apply;
mod http;
mod root;
mod shared_data;
mod stats;
mod worker;

use proxy_wasm::types::LogLevel;

/// The module's entry point. `proxy_wasm::main!` expands to a `#[no_mangle]`
/// export and an `unsafe` call of the WASI constructors, so this module
/// allows `unsafe_code`; it writes none itself.
#[allow(unsafe_code)]
mod entry {
    use super::{host, root, LogLevel};

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Trace);
        // A panic kills the VM; say where before it does (never the payload,
        // which could quote request data).
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            host::log(LogLevel::Critical, &format!("jwe_authn: panic at {at}"));
        }));
        proxy_wasm::set_root_context(|_| Box::new(root::Root::default()));
    }}
}
