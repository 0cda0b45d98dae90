//! The HTTP context: read, decide, apply — or park the request until the
//! issuer's keys arrive (the root context resumes it).

use super::apply;
use super::root::{Shared, Waiter};
use crate::decide::Decision;
use crate::extract::header_text;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MapType};
use std::rc::Rc;

/// One request's context.
pub struct Http {
    id: u32,
    shared: Option<Rc<Shared>>,
}

impl Http {
    pub fn new(id: u32, shared: Option<Rc<Shared>>) -> Self {
        Http { id, shared }
    }
}

impl Context for Http {}

/// The request headers the configuration reads (`headers_read`: usually
/// just `authorization`), one host call each, rather than copying every
/// header into the VM. For a repeated header Envoy gives the first. Bytes
/// that are not UTF-8 become U+FFFD ([`header_text`]).
fn request_headers(names: &[String]) -> Vec<(String, String)> {
    names
        .iter()
        .filter_map(|name| {
            let value =
                hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name).ok()??;
            Some((name.clone(), header_text(value)))
        })
        .collect()
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else {
            // Not configured: fail closed.
            let _ = hostcalls::send_http_response(500, vec![], Some(b"jwe_authn: not configured"));
            return Action::Pause;
        };
        shared.stats.request();
        let waiter = Waiter::new(self.id, request_headers(&shared.config.headers_read));
        match shared.decide(&waiter) {
            Some(Decision::Allow(allow)) => {
                apply::allow(&shared, &allow);
                Action::Continue
            }
            Some(Decision::Deny(deny)) => {
                apply::deny(&shared, &deny);
                Action::Pause
            }
            Some(Decision::Wait { provider }) => {
                shared.park(waiter, provider);
                Action::Pause
            }
            None => {
                let _ = hostcalls::send_http_response(500, vec![], Some(b"jwe_authn: busy"));
                Action::Pause
            }
        }
    }
}
