//! The root context: it configures the VM's [`Worker`] once, creates an
//! HTTP context per request, and hands the worker its ticks and the
//! answers to its fetches.

use super::host;
use super::http::Http;
use super::worker::Worker;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;
use std::rc::Rc;

/// The root context.
#[derive(Default)]
pub struct Root {
    worker: Option<Rc<Worker>>,
}

impl Context for Root {
    fn on_done(&mut self) -> bool {
        if let Some(worker) = &self.worker {
            worker.on_done();
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
        if let Some(worker) = &self.worker {
            worker.on_call_response(token_id, body_size);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, size: usize) -> bool {
        let Some(worker) = Worker::configure(&host::plugin_configuration(size)) else {
            return false;
        };
        worker.start();
        self.worker = Some(Rc::new(worker));
        true
    }

    fn on_tick(&mut self) {
        if let Some(worker) = &self.worker {
            worker.on_tick();
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http::new(context_id, self.worker.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
