//! The state of one VM (one Envoy worker, or the main thread), and what the
//! root and HTTP contexts ask of it: the compiled configuration, the cache,
//! the fetched keys and lists, the stats, the cold-path budget, the waiting
//! room and the fetches under way. The contexts ([`super::root`],
//! [`super::http`]) only hand their callbacks here; every host call goes
//! through [`super::host`].

use super::apply;
use super::host;
use super::shared_data::{HostReplayStore, HostStore};
use super::stats::{Stats, FLUSH_EVERY};
use crate::admission::{Admission, Metered};
use crate::cache::{self, Cache};
use crate::config::CompiledConfig;
use crate::decide::{self, Decision, Redecided};
use crate::error::Reason;
use crate::extract::{self, serialized_pairs, Request};
use crate::fetch_schedule::{Body, FetchSchedule};
use crate::pipeline;
use crate::wait::{Next, Parked, WaitRoom};
use proxy_wasm::types::LogLevel;
use std::cell::RefCell;
use std::time::Duration;

/// What became of a request's headers ([`Worker::on_request`]).
pub enum Handled {
    /// Allowed: the headers are rewritten, let it go on.
    Forward,
    /// Answered (denied, or refused for a bad or busy state): keep it paused.
    Answered,
    /// In the waiting room: keep it paused; [`Worker::forget`] it if its
    /// stream ends first.
    Parked,
}

/// What every context of this VM shares.
pub struct Worker {
    config: CompiledConfig,
    cache: RefCell<Cache>,
    keys: RefCell<FetchSchedule>,
    stats: Stats,
    /// The cold-path budget of this worker.
    admission: RefCell<Admission>,
    waiters: RefCell<WaitRoom>,
    /// In-flight fetches: (dispatch token, fetch schedule entry).
    calls: RefCell<Vec<(u32, usize)>>,
}

/// A pseudo-header of `headers` (empty when absent).
fn pseudo<'h>(headers: &[(&'h str, &'h str)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, v)| v)
        .unwrap_or_default()
}

/// The request headers `config` wants ([`CompiledConfig::wants_header`]),
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

impl Worker {
    /// The state for the plugin configuration `bytes` (JSON), or `None`
    /// (logged) when it is not a valid one: Envoy then refuses the plugin.
    pub fn configure(bytes: &[u8]) -> Option<Worker> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            host::log(LogLevel::Error, "jwe_authn: configuration is not UTF-8");
            return None;
        };
        let config = match CompiledConfig::from_json_with_env(text, &host::env_var) {
            Ok(config) => config,
            Err(e) => {
                host::log(LogLevel::Error, &format!("jwe_authn: invalid {e}"));
                return None;
            }
        };
        let mut cache = Cache::new(config.cache_max_entries, config.cache_ttl_seconds);
        // The entry key is derived once, here; without one nothing is shared.
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
        // DPoP proofs are remembered by every worker of this Envoy.
        if config.dpop_enabled {
            HostReplayStore::prepare(cache::replay::SLOTS);
            cache = cache.with_replay(cache::replay::ReplayGuard::new(
                Box::new(HostReplayStore),
                cache::replay::SLOTS,
            ));
        }
        let keys = FetchSchedule::new(&config);
        let admission = Admission::new(
            config.admission_rate,
            config.admission_source_percent,
            host::now_ms(),
        );
        Some(Worker {
            config,
            cache: RefCell::new(cache),
            keys: RefCell::new(keys),
            stats: Stats::define(),
            admission: RefCell::new(admission),
            waiters: RefCell::new(WaitRoom::new()),
            calls: RefCell::new(Vec::new()),
        })
    }

    /// Start: the first fetches at once (when a provider fetches anything),
    /// then ticks, which flush the counters and drive refreshes, retries
    /// and waits. From `on_configure`.
    pub fn start(&self) {
        let remote = self
            .config
            .providers
            .iter()
            .any(|p| p.remote.is_some() || p.revocation_source.is_some());
        if remote {
            self.fetch_due();
        }
        host::set_tick_period(FLUSH_EVERY);
        host::log(LogLevel::Info, "jwe_authn: configured");
    }

    /// A request's headers arrived (request `context` is the current one):
    /// read them and the clock once, decide, and apply the decision — or
    /// park the request until its provider's keys or list arrive.
    pub fn on_request(&self, context: u32) -> Handled {
        self.stats.request();
        let map = host::request_header_map();
        let mut lossy = Vec::new();
        let Some(headers) = request_headers(&self.config, &map, &mut lossy) else {
            // Fail closed: a map that cannot be read is no request to pass.
            let _ = host::send_response(400, &[], b"jwe_authn: bad headers");
            return Handled::Answered;
        };
        // Route properties only when the configuration uses them: each is
        // a host call that hands data back.
        let route_name = self
            .config
            .reads_route_name
            .then(host::route_name)
            .flatten();
        let route_metadata = self
            .config
            .route_metadata
            .then(host::route_requirement)
            .flatten();
        let peer_certificate = self
            .config
            .reads_peer_certificate
            .then(host::peer_certificate_sha256)
            .flatten();
        let request = Request {
            method: pseudo(&headers, ":method"),
            path: pseudo(&headers, ":path"),
            headers: &headers,
            route_name: route_name.as_deref(),
            route_metadata: route_metadata.as_deref(),
            peer_certificate_sha256: peer_certificate.as_deref(),
        };
        let now_ms = host::now_ms();
        match self.decide(&request, now_ms) {
            Some(Decision::Allow(allow)) => {
                apply::allow(&self.stats, &allow);
                Handled::Forward
            }
            Some(Decision::Deny(deny)) => {
                apply::deny(&self.stats, &deny);
                Handled::Answered
            }
            Some(Decision::Wait(parked)) => {
                if self.park(context, parked, now_ms) {
                    Handled::Parked
                } else {
                    Handled::Answered
                }
            }
            None => {
                let _ = host::send_response(500, &[], b"jwe_authn: busy");
                Handled::Answered
            }
        }
    }

    /// Decide for a request at `now_ms`; `None` if the state is busy
    /// (re-entrancy). The cold-path budget reads the request's address and
    /// the clock (to time the work) only when it admits work.
    fn decide(&self, request: &Request<'_>, now_ms: u64) -> Option<Decision<'_>> {
        let mut cache = self.cache.try_borrow_mut().ok()?;
        let mut keys = self.keys.try_borrow_mut().ok()?;
        let mut admission = self.admission.try_borrow_mut().ok()?;
        let mut gate = Metered::new(&mut admission, now_ms, host::source_address)
            .timed(host::now_ns)
            .offload(host::verify_signature);
        let decision = decide::decide(
            request,
            now_ms / 1000,
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
    fn park(&self, context: u32, parked: Parked, now_ms: u64) -> bool {
        let why = parked.why;
        let parked = match (self.waiters.try_borrow_mut(), self.keys.try_borrow()) {
            (Ok(mut room), Ok(keys)) => room.park(context, parked, now_ms, keys.revisions()),
            _ => Err(why.full_reason()),
        };
        match parked {
            Ok(()) => true,
            Err(reason) => {
                apply::deny(&self.stats, &decide::denial(&self.config, reason));
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

    /// Every tick: add the counts to Envoy's, start the fetches that are
    /// due (an unknown kid's refetch starts within a tick) and serve a
    /// batch of waiters.
    pub fn on_tick(&self) {
        if let Ok(mut admission) = self.admission.try_borrow_mut() {
            self.stats.spent(admission.take_spent());
        }
        self.stats.flush();
        self.fetch_due();
        self.serve_waiters();
    }

    /// The VM is being torn down (drain, reconfiguration): add what was
    /// counted since the last tick, so no count is lost.
    pub fn on_done(&self) {
        self.stats.flush();
    }

    /// Start every fetch that is due. Only from root-context callbacks
    /// (`on_configure`, `on_tick`, a call's answer), so answers come back
    /// to the root.
    fn fetch_due(&self) {
        let due = match self.keys.try_borrow_mut() {
            Ok(mut keys) => keys.due(host::now_ms() / 1000),
            Err(_) => return,
        };
        for fetch in due {
            let dispatched = host::dispatch_http_call(
                &fetch.cluster,
                vec![
                    (":method", "GET"),
                    (":path", &fetch.path),
                    (":authority", &fetch.authority),
                    ("accept", "application/json"),
                ],
                Duration::from_millis(fetch.timeout_ms),
            );
            match dispatched {
                Some(token) => {
                    if let Ok(mut calls) = self.calls.try_borrow_mut() {
                        calls.push((token, fetch.id));
                    }
                }
                None => self.fetched(fetch.id, None, Body::Bytes(&[])),
            }
        }
    }

    /// The answer to call `token` arrived, with a body of `body_size`
    /// bytes. A body over the entry's limit is not read: the store is told
    /// it is too large.
    pub fn on_call_response(&self, token: u32, body_size: usize) {
        let id = match self.calls.try_borrow_mut() {
            Ok(mut calls) => match calls.iter().position(|(t, _)| *t == token) {
                Some(i) => calls.swap_remove(i).1,
                None => return,
            },
            Err(_) => return,
        };
        let status = host::call_response_status();
        let limit = self.keys.try_borrow().map_or(0, |k| k.max_bytes(id));
        let bytes;
        let body = if body_size > limit {
            Body::TooLarge
        } else {
            bytes = host::call_response_body(body_size);
            Body::Bytes(&bytes)
        };
        self.fetched(id, status, body);
    }

    /// A fetch ended (`status` `None`: no response, e.g. a timeout).
    fn fetched(&self, id: usize, status: Option<u16>, body: Body<'_>) {
        let (result, (provider, kind), kept) = match self.keys.try_borrow_mut() {
            Ok(mut keys) => {
                let result = keys.fetched(id, host::now_ms() / 1000, status, body);
                (result, keys.describe(id), keys.has_content(id))
            }
            Err(_) => return,
        };
        match result {
            Ok(count) => {
                self.stats.jwks_fetched();
                host::log(
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
                host::log(
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
            (Ok(mut room), Ok(keys)) => room.take(host::now_ms(), keys.revisions()),
            _ => return,
        };
        for next in batch {
            let waiter = match next {
                Next::Expire(w) => {
                    if host::set_effective_context(w.context) {
                        let reason = w.parked.why.timeout_reason();
                        apply::deny(&self.stats, &decide::denial(&self.config, reason));
                    }
                    continue;
                }
                Next::Decide(w) => w,
            };
            if !host::set_effective_context(waiter.context) {
                continue; // the request is gone
            }
            let now_ms = host::now_ms();
            let borrowed = (
                self.cache.try_borrow_mut(),
                self.keys.try_borrow_mut(),
                self.admission.try_borrow_mut(),
            );
            let redecided = match borrowed {
                (Ok(mut cache), Ok(mut keys), Ok(mut admission)) => {
                    // The waiter's own address (the effective context is
                    // its stream): its re-decryption draws on its share.
                    let mut gate = Metered::new(&mut admission, now_ms, host::source_address)
                        .timed(host::now_ns)
                        .offload(host::verify_signature);
                    match decide::redecide(
                        &waiter.parked,
                        now_ms / 1000,
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
                    apply::allow(&self.stats, &allow);
                    host::resume_request();
                }
                Redecided::Done(Decision::Deny(deny)) => apply::deny(&self.stats, &deny),
                Redecided::Done(Decision::Wait(_)) => apply::deny(
                    &self.stats,
                    &decide::denial(&self.config, waiter.parked.why.timeout_reason()),
                ),
                Redecided::Wait(why) => {
                    // A waiter is never dropped unanswered: when it cannot
                    // wait on, it is denied.
                    let requeued = match (self.waiters.try_borrow_mut(), self.keys.try_borrow()) {
                        (Ok(mut room), Ok(keys)) => {
                            room.requeue(waiter, why, now_ms, keys.revisions())
                        }
                        _ => Err(why.timeout_reason()),
                    };
                    if let Err(reason) = requeued {
                        apply::deny(&self.stats, &decide::denial(&self.config, reason));
                    }
                }
            }
        }
    }
}
