//! The root context: configuration, once, shared with the HTTP contexts; and
//! the `remote_jwks` fetches, with the requests that wait for them.

use super::apply;
use super::http::{source_address, Http};
use super::shared_data::HostStore;
use super::stats::{Stats, FLUSH_EVERY};
use crate::admission::{Admission, Metered};
use crate::cache::{self, Cache};
use crate::config::CompiledConfig;
use crate::decide::{self, Decision, Redecided};
use crate::error::Reason;
use crate::extract::Request;
use crate::keystore::{Body, KeyStore};
use crate::pipeline;
use crate::wait::{Next, Parked, WaitRoom};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel, MapType};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

/// The clock, in seconds since the epoch (0 if the host cannot say, which
/// makes every token look expired: fail closed).
pub fn now() -> u64 {
    now_ms() / 1000
}

/// The clock, in milliseconds since the epoch (0 if the host cannot say).
pub fn now_ms() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The clock in nanoseconds since the epoch (0 if the host cannot say): it
/// times admitted cold-path work (proxy-wasm has no CPU clock; the VM runs
/// a callback without yielding, so wall time is the worker's time).
pub fn now_ns() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What every HTTP context of this VM shares.
pub struct Shared {
    pub config: CompiledConfig,
    pub cache: RefCell<Cache>,
    pub keys: RefCell<KeyStore>,
    pub stats: Stats,
    /// The cold-path budget of this worker.
    admission: RefCell<Admission>,
    waiters: RefCell<WaitRoom>,
    /// In-flight fetches: (dispatch token, provider index).
    calls: RefCell<Vec<(u32, usize)>>,
}

impl Shared {
    /// Decide for a request; `None` if the state is busy (re-entrancy).
    pub fn decide(&self, request: &Request<'_>) -> Option<Decision<'_>> {
        let mut cache = self.cache.try_borrow_mut().ok()?;
        let mut keys = self.keys.try_borrow_mut().ok()?;
        let mut admission = self.admission.try_borrow_mut().ok()?;
        let mut gate = Metered::new(&mut admission, now_ms(), source_address).timed(now_ns);
        let decision = decide::decide(
            request,
            now(),
            &self.config,
            &mut cache,
            &mut keys,
            &mut gate,
        );
        Some(with_source(decision, &gate))
    }

    /// Hold request `context` until its provider's keys or list arrive, or
    /// deny it at once when the waiting room is full (the room decides).
    /// True if it waits.
    ///
    /// A fetch the request needs (first keys, or a refetch for an unknown
    /// kid) starts on the next tick, from the root context: Envoy returns a
    /// call's response to the context that was running when it was
    /// dispatched, and this request's context may be gone by then.
    pub fn park(&self, context: u32, parked: Parked) -> bool {
        let why = parked.why;
        let parked = match (self.waiters.try_borrow_mut(), self.keys.try_borrow()) {
            (Ok(mut room), Ok(keys)) => room.park(context, parked, now_ms(), keys.revisions()),
            _ => Err(why.full_reason()),
        };
        match parked {
            Ok(()) => true,
            Err(reason) => {
                apply::deny(self, &decide::denial(&self.config, reason));
                false
            }
        }
    }

    /// Request `context` ended while it waited: free its place.
    pub fn forget(&self, context: u32) {
        if let Ok(mut room) = self.waiters.try_borrow_mut() {
            room.remove(context);
        }
    }

    /// Start every fetch that is due. Only from root-context callbacks
    /// (`on_configure`, `on_tick`), so responses come back to the root.
    fn fetch_due(&self) {
        let due = match self.keys.try_borrow_mut() {
            Ok(mut keys) => keys.due(now()),
            Err(_) => return,
        };
        for fetch in due {
            let dispatched = hostcalls::dispatch_http_call(
                &fetch.cluster,
                vec![
                    (":method", "GET"),
                    (":path", &fetch.path),
                    (":authority", &fetch.authority),
                    ("accept", "application/json"),
                ],
                None,
                vec![],
                Duration::from_millis(fetch.timeout_ms),
            );
            match dispatched {
                Ok(token) => {
                    if let Ok(mut calls) = self.calls.try_borrow_mut() {
                        calls.push((token, fetch.id));
                    }
                }
                Err(_) => self.fetched(fetch.id, None, Body::Bytes(&[])),
            }
        }
    }

    /// A fetch ended (`status` `None`: no response, e.g. a timeout).
    fn fetched(&self, id: usize, status: Option<u16>, body: Body<'_>) {
        let (result, (provider, kind), kept) = match self.keys.try_borrow_mut() {
            Ok(mut keys) => {
                let result = keys.fetched(id, now(), status, body);
                (result, keys.describe(id), keys.has_content(id))
            }
            Err(_) => return,
        };
        match result {
            Ok(count) => {
                self.stats.jwks_fetched();
                let _ = hostcalls::log(
                    LogLevel::Info,
                    &format!(
                        "jwe_authn: fetched {kind:?} for provider {provider} ({count} entries)"
                    ),
                );
            }
            Err(e) => {
                self.stats.jwks_fetch_failed();
                let kept = if kept {
                    "keeping the last good one"
                } else {
                    "none has arrived yet: requests that need it wait, then are denied"
                };
                let _ = hostcalls::log(
                    LogLevel::Warn,
                    &format!("jwe_authn: {kind:?} fetch for provider {provider} failed ({e:?}, status {status:?}); {kept}"),
                );
            }
        }
        // A discovery answer may have made the JWKS due at once. Waiters
        // are served from the next tick (within 100 ms), not from inside
        // this response callback.
        self.fetch_due();
    }

    /// One batch of waiters ([`crate::wait::BATCH`]): deny those whose
    /// wait ran out, decide again for those whose provider's state changed.
    /// The room picks them; the rest wait for the next pass (tick or fetch
    /// answer), so one callback never makes more than a batch of resume or
    /// deny calls, each of which re-enters the VM.
    fn serve_waiters(&self) {
        let batch = match (self.waiters.try_borrow_mut(), self.keys.try_borrow()) {
            (Ok(mut room), Ok(keys)) => room.take(now_ms(), keys.revisions()),
            _ => return,
        };
        for next in batch {
            let waiter = match next {
                Next::Expire(w) => {
                    if hostcalls::set_effective_context(w.context).is_ok() {
                        let reason = w.parked.why.timeout_reason();
                        apply::deny(self, &decide::denial(&self.config, reason));
                    }
                    continue;
                }
                Next::Decide(w) => w,
            };
            if hostcalls::set_effective_context(waiter.context).is_err() {
                continue; // the request is gone
            }
            let borrowed = (
                self.cache.try_borrow_mut(),
                self.keys.try_borrow_mut(),
                self.admission.try_borrow_mut(),
            );
            let redecided = match borrowed {
                (Ok(mut cache), Ok(mut keys), Ok(mut admission)) => {
                    // The waiter's own address (the effective context is
                    // its stream): its re-decryption draws on its share.
                    let mut gate =
                        Metered::new(&mut admission, now_ms(), source_address).timed(now_ns);
                    match decide::redecide(
                        &waiter.parked,
                        now(),
                        &self.config,
                        &mut cache,
                        &mut keys,
                        &mut gate,
                    ) {
                        Redecided::Done(decision) => Redecided::Done(with_source(decision, &gate)),
                        wait => wait,
                    }
                }
                _ => Redecided::Done(Decision::Deny(decide::denial(
                    &self.config,
                    waiter.parked.why.timeout_reason(),
                ))),
            };
            match redecided {
                Redecided::Done(Decision::Allow(allow)) => {
                    apply::allow(self, &allow);
                    let _ = hostcalls::resume_http_request();
                }
                Redecided::Done(Decision::Deny(deny)) => apply::deny(self, &deny),
                Redecided::Done(Decision::Wait(_)) => apply::deny(
                    self,
                    &decide::denial(&self.config, waiter.parked.why.timeout_reason()),
                ),
                Redecided::Wait(why) => {
                    // A waiter is never dropped unanswered: when it cannot
                    // wait on, it is denied.
                    let requeued = match (self.waiters.try_borrow_mut(), self.keys.try_borrow()) {
                        (Ok(mut room), Ok(keys)) => {
                            room.requeue(waiter, why, now_ms(), keys.revisions())
                        }
                        _ => Err(why.timeout_reason()),
                    };
                    if let Err(reason) = requeued {
                        apply::deny(self, &decide::denial(&self.config, reason));
                    }
                }
            }
        }
    }
}

/// A request shed by the cold-path budget carries its address to the log
/// line; no other denial does.
fn with_source<'c, F: FnMut() -> Option<String>>(
    decision: Decision<'c>,
    gate: &Metered<'_, F>,
) -> Decision<'c> {
    match decision {
        Decision::Deny(mut deny) if matches!(deny.reason, Reason::Overloaded(_)) => {
            deny.source = gate.source().map(pipeline::loggable);
            Decision::Deny(deny)
        }
        other => other,
    }
}

/// The root context.
#[derive(Default)]
pub struct Root {
    shared: Option<Rc<Shared>>,
}

impl Context for Root {
    /// The VM is being torn down (drain, reconfiguration): add what was
    /// counted since the last tick, so no count is lost.
    fn on_done(&mut self) -> bool {
        if let Some(shared) = &self.shared {
            shared.stats.flush();
        }
        true
    }

    fn on_http_call_response(
        &mut self,
        token_id: u32,
        _num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        let id = match shared.calls.try_borrow_mut() {
            Ok(mut calls) => match calls.iter().position(|(t, _)| *t == token_id) {
                Some(i) => calls.swap_remove(i).1,
                None => return,
            },
            Err(_) => return,
        };
        let status = hostcalls::get_map_value_bytes(MapType::HttpCallResponseHeaders, ":status")
            .ok()
            .flatten()
            .and_then(|s| String::from_utf8(s).ok())
            .and_then(|s| s.parse::<u16>().ok());
        let limit = shared.keys.try_borrow().map_or(0, |k| k.max_bytes(id));
        // An oversized body is not read at all: the store is told so.
        let bytes;
        let body = if body_size > limit {
            Body::TooLarge
        } else {
            bytes = hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
                .ok()
                .flatten()
                .unwrap_or_default();
            Body::Bytes(&bytes)
        };
        shared.fetched(id, status, body);
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, size: usize) -> bool {
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, size) {
            Ok(Some(b)) => b,
            _ => Vec::new(),
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t,
            Err(_) => {
                let _ = hostcalls::log(LogLevel::Error, "jwe_authn: configuration is not UTF-8");
                return false;
            }
        };
        // The VM's environment is what Envoy passes in
        // vm_config.environment_variables (WASI environ).
        let env = |name: &str| std::env::var(name).ok();
        match CompiledConfig::from_json_with_env(text, &env) {
            Ok(config) => {
                let mut cache = Cache::new(config.cache_max_entries, config.cache_ttl_seconds);
                // The entry key is derived once, here; without one nothing
                // is shared.
                if let Some(key) = config
                    .cache_shared
                    .then(|| config.shared_cache_key())
                    .flatten()
                {
                    cache = cache.with_shared(cache::shared::SharedLayer::new(
                        Box::new(HostStore),
                        config.cache_max_entries,
                        key,
                    ));
                }
                let keys = KeyStore::new(&config);
                let remote = config
                    .providers
                    .iter()
                    .any(|p| p.remote.is_some() || p.revocation_source.is_some());
                let admission = Admission::new(
                    config.admission_rate,
                    config.admission_source_percent,
                    now_ms(),
                );
                let shared = Rc::new(Shared {
                    config,
                    cache: RefCell::new(cache),
                    keys: RefCell::new(keys),
                    stats: Stats::define(),
                    admission: RefCell::new(admission),
                    waiters: RefCell::new(WaitRoom::new()),
                    calls: RefCell::new(Vec::new()),
                });
                if remote {
                    // Fetch at once; ticks then drive refreshes, retries and waits.
                    shared.fetch_due();
                }
                // Ticks flush the counters (and, every second, the fetches).
                let _ = hostcalls::set_tick_period(FLUSH_EVERY);
                self.shared = Some(shared);
                let _ = hostcalls::log(LogLevel::Info, "jwe_authn: configured");
                true
            }
            Err(e) => {
                let _ = hostcalls::log(LogLevel::Error, &format!("jwe_authn: invalid {e}"));
                false
            }
        }
    }

    fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            if let Ok(mut admission) = shared.admission.try_borrow_mut() {
                shared.stats.spent(admission.take_spent());
            }
            shared.stats.flush();
            // Every tick (100 ms): a fetch an unknown kid asked for starts
            // within a tick, and waiters are served a batch per tick.
            shared.fetch_due();
            shared.serve_waiters();
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http::new(context_id, self.shared.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
