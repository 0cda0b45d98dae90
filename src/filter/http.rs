//! The HTTP context of one request: it hands the request's headers to the
//! [`Worker`] and pauses or continues as the worker says; if the request
//! was parked and its stream ends first, it frees its place.

use super::host;
use super::worker::{Handled, Worker};
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use std::rc::Rc;

/// One request's context.
pub struct Http {
    id: u32,
    worker: Option<Rc<Worker>>,
    /// The request was put in the waiting room.
    parked: bool,
}

impl Http {
    pub fn new(id: u32, worker: Option<Rc<Worker>>) -> Self {
        Http {
            id,
            worker,
            parked: false,
        }
    }
}

impl Context for Http {
    /// The stream ended; if it was waiting (the client went away), its
    /// place in the waiting room is freed.
    fn on_done(&mut self) -> bool {
        if let (true, Some(worker)) = (self.parked, &self.worker) {
            worker.forget(self.id);
        }
        true
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(worker) = &self.worker else {
            // Not configured: fail closed.
            let _ = host::send_response(500, &[], b"jwe_authn: not configured");
            return Action::Pause;
        };
        match worker.on_request(self.id) {
            Handled::Forward => Action::Continue,
            Handled::Answered => Action::Pause,
            Handled::Parked => {
                self.parked = true;
                Action::Pause
            }
        }
    }
}
