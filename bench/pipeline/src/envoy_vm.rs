//! The bare pipeline inside Envoy's own V8, without the filter's glue: a
//! proxy-wasm *service* (bootstrap extension, `bench/pipeline-vm.yaml`)
//! whose VM runs the measurement once at start and logs the report. Same
//! engine and flags as the filter, no request, no header or stats host call:
//! what remains between this and the filter's cold cost is the glue.
//! Built with `--features envoy-vm --lib` only.

use proxy_wasm::traits::{Context, RootContext};
use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(BenchVm) });
}}

struct BenchVm;

impl Context for BenchVm {}

impl RootContext for BenchVm {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        let log = |line: &str| {
            let _ = proxy_wasm::hostcalls::log(LogLevel::Warn, &format!("pipeline-bench: {line}"));
        };
        match crate::measure::report() {
            Ok(lines) => lines.iter().for_each(|l| log(l)),
            Err(e) => log(&format!("failed: {e}")),
        }
        log("done");
        true
    }
}
