//! Spike: the same core as the Wasm filter, as an Envoy dynamic module
//! (issue 18). Envoy 1.40's `envoy.filters.http.dynamic_modules` loads
//! `libjwe_authn.so` and calls the hooks in [`abi`]; this file is the safe
//! half: configuration, the per-worker state and the decision, with no
//! `unsafe` and no raw host call.
//!
//! What the spike covers: the configuration JSON (the same as the Wasm
//! filter's), local keys, the token checks and header edits of
//! [`jwe_authn::decide::decide`], the answer of a denial. What it does not
//! yet: remote keys and revocation lists (no HTTP callouts or scheduler:
//! a request that would wait is denied with 503, fail closed), the shared
//! cache across workers and the DPoP replay store (each worker caches on
//! its own; DPoP is refused at configuration), stats, filter state, route
//! name and metadata, peer certificates.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod abi;

use jwe_authn::admission::Unmetered;
use jwe_authn::cache::Cache;
use jwe_authn::config::CompiledConfig;
use jwe_authn::decide::{decide, Decision};
use jwe_authn::extract::Request;
use jwe_authn::fetch_schedule::FetchSchedule;
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// One filter configuration (Envoy's main thread makes it; workers read it).
pub struct Config {
    compiled: CompiledConfig,
}

/// What a worker keeps per configuration: its cache and key store.
struct WorkerState {
    cache: Cache,
    keys: FetchSchedule,
}

thread_local! {
    /// Per worker thread, per configuration (keyed by its address).
    static STATE: RefCell<HashMap<usize, WorkerState>> = RefCell::new(HashMap::new());
}

impl Config {
    /// The configuration from Envoy's `filter_config` (JSON), or the error
    /// naming the field.
    pub fn new(json: &[u8]) -> Result<Config, String> {
        let text =
            std::str::from_utf8(json).map_err(|_| "configuration is not UTF-8".to_string())?;
        let compiled = CompiledConfig::from_json_with_env(text, &|name| std::env::var(name).ok())
            .map_err(|e| format!("invalid {e}"))?;
        if compiled.dpop_enabled {
            return Err("dpop: not supported by the native module yet".into());
        }
        Ok(Config { compiled })
    }
}

/// What to do with a request.
pub enum Action {
    /// Let it through after these edits: names to remove, then to set.
    Continue {
        remove: Vec<String>,
        set: Vec<(String, String)>,
    },
    /// Answer it.
    Respond {
        status: u32,
        headers: Vec<(String, String)>,
        body: String,
    },
}

/// The answer to a request the filter cannot decide (fail closed).
pub fn unavailable() -> Action {
    Action::Respond {
        status: 503,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("retry-after".into(), "1".into()),
        ],
        body: r#"{"error":"temporarily_unavailable"}"#.into(),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Decide for a request whose headers (pseudo-headers included) are
/// `headers`.
pub fn on_request_headers(config: &Config, headers: &[(String, String)]) -> Action {
    let c = &config.compiled;
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let wanted: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(n, _)| c.wants_header(n))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let request = Request {
        method: value(":method"),
        path: value(":path"),
        headers: &wanted,
        ..Default::default()
    };
    let key = config as *const Config as usize;
    STATE.with(|state| {
        let Ok(mut state) = state.try_borrow_mut() else {
            return unavailable();
        };
        let worker = state.entry(key).or_insert_with(|| WorkerState {
            cache: Cache::new(c.cache_max_entries, c.cache_ttl_seconds),
            keys: FetchSchedule::new(c),
        });
        match decide(
            &request,
            now(),
            c,
            &mut worker.cache,
            &mut worker.keys,
            &mut Unmetered,
        ) {
            Decision::Allow(allow) => {
                let mut set: Vec<(String, String)> = allow
                    .rewrite
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.clone()))
                    .collect();
                set.extend(allow.add().iter().cloned());
                Action::Continue {
                    remove: allow.remove.iter().map(|n| n.to_string()).collect(),
                    set,
                }
            }
            Decision::Deny(deny) => {
                let mut headers = vec![
                    ("content-type".to_string(), "application/json".to_string()),
                    ("cache-control".to_string(), "no-store".to_string()),
                ];
                if let Some(seconds) = deny.retry_after {
                    headers.push(("retry-after".into(), seconds.to_string()));
                }
                if let Some(challenge) = deny.www_authenticate {
                    headers.push(("www-authenticate".into(), challenge));
                }
                Action::Respond {
                    status: u32::from(deny.status),
                    headers,
                    body: deny.body,
                }
            }
            // No key fetching yet: what would wait is refused.
            Decision::Wait(_) => unavailable(),
        }
    })
}

// Envoy's workers read one configuration at once: it must be shareable.
const _: fn() = || {
    fn shared<T: Sync + Send>() {}
    shared::<Config>();
};
