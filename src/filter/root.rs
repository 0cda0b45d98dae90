//! The root context: configuration, once, shared with the HTTP contexts.

use super::http::Http;
use super::stats::Stats;
use crate::cache::Cache;
use crate::config::CompiledConfig;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};
use std::cell::RefCell;
use std::rc::Rc;

/// What every HTTP context of this VM shares.
pub struct Shared {
    pub config: CompiledConfig,
    pub cache: RefCell<Cache>,
    pub stats: Stats,
}

/// The root context.
#[derive(Default)]
pub struct Root {
    shared: Option<Rc<Shared>>,
}

impl Context for Root {}

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
                let cache = Cache::new(config.cache_max_entries, config.cache_ttl_seconds);
                self.shared = Some(Rc::new(Shared {
                    config,
                    cache: RefCell::new(cache),
                    stats: Stats::define(),
                }));
                let _ = hostcalls::log(LogLevel::Info, "jwe_authn: configured");
                true
            }
            Err(e) => {
                let _ = hostcalls::log(LogLevel::Error, &format!("jwe_authn: invalid {e}"));
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http::new(self.shared.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
