//! The HTTP context: read, decide, apply.

use super::root::Shared;
use crate::decide::{decide, Decision};
use crate::extract::Request;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel, MapType};
use std::rc::Rc;
use std::time::UNIX_EPOCH;

/// One request's context.
pub struct Http {
    shared: Option<Rc<Shared>>,
}

impl Http {
    pub fn new(shared: Option<Rc<Shared>>) -> Self {
        Http { shared }
    }
}

impl Context for Http {}

/// Request headers with UTF-8 values; a header whose value is not UTF-8 is
/// left out (a token is ASCII, so such a header cannot carry one).
fn request_headers() -> Vec<(String, String)> {
    match hostcalls::get_map_bytes(MapType::HttpRequestHeaders) {
        Ok(pairs) => pairs
            .into_iter()
            .filter_map(|(name, value)| String::from_utf8(value).ok().map(|v| (name, v)))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn now() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn set_header(name: &str, value: Option<&str>) {
    let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, value);
}

/// Filter state for access logs and later filters: Envoy stores each under
/// `wasm.<name>`.
fn set_state(name: &str, value: Option<&str>) {
    if let Some(v) = value {
        let _ = hostcalls::set_property(vec![name], Some(v.as_bytes()));
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else {
            // Not configured: fail closed.
            let _ = hostcalls::send_http_response(500, vec![], Some(b"jwe_authn: not configured"));
            return Action::Pause;
        };
        let headers = request_headers();
        let pseudo = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        let request = Request {
            method: pseudo(":method"),
            path: pseudo(":path"),
            headers: &headers,
        };
        let decision = match shared.cache.try_borrow_mut() {
            Ok(mut cache) => decide(&request, now(), &shared.config, &mut cache),
            Err(_) => {
                let _ = hostcalls::send_http_response(500, vec![], Some(b"jwe_authn: busy"));
                return Action::Pause;
            }
        };
        match decision {
            Decision::Allow(allow) => {
                for name in &allow.remove {
                    set_header(name, None);
                }
                for (name, value) in &allow.add {
                    set_header(name, Some(value));
                }
                if let Some(id) = &allow.identity {
                    set_state("jwe_authn.provider", Some(&id.provider));
                    set_state("jwe_authn.iss", id.iss.as_deref());
                    set_state("jwe_authn.sub", id.sub.as_deref());
                }
                shared.stats.cache(allow.cache);
                shared.stats.allowed();
                Action::Continue
            }
            Decision::Deny(deny) => {
                shared.stats.cache(deny.cache);
                shared.stats.denied(deny.reason);
                let _ = hostcalls::log(
                    LogLevel::Debug,
                    &format!(
                        "jwe_authn: denied status={} reason={} detail=\"{}\" kid={} alg={}",
                        deny.status,
                        deny.reason.stat(),
                        deny.reason.detail(),
                        deny.kid.as_deref().unwrap_or("-"),
                        deny.alg.unwrap_or("-"),
                    ),
                );
                let _ = hostcalls::send_http_response(
                    u32::from(deny.status),
                    vec![
                        ("www-authenticate", deny.www_authenticate.as_str()),
                        ("content-type", "application/json"),
                        ("cache-control", "no-store"),
                    ],
                    Some(deny.body.as_bytes()),
                );
                Action::Pause
            }
        }
    }
}
