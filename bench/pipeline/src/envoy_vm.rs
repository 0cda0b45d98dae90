//! The bare pipeline inside Envoy's own V8, without the filter's glue: a
//! proxy-wasm *service* (bootstrap extension, `bench/pipeline-vm.yaml`)
//! whose VM runs the measurement once at start and logs the report. Same
//! engine and flags as the filter, no request, no header or stats host call:
//! what remains between this and the filter's cold cost is the glue.
//! Every case runs twice: with the module's own signature checks, and
//! with RS* and ES* checks by the host's `verify_signature` (rows
//! suffixed ` (host verify_signature)`), as the filter runs in Envoy.
//! Built with `--features envoy-vm --lib` only.

use proxy_wasm::traits::{Context, RootContext};
use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(BenchVm) });
}}

/// Envoy's `verify_signature` (the SDK's wrapper; a benchmark may panic).
fn host_verify(args: &[u8]) -> Option<Vec<u8>> {
    proxy_wasm::hostcalls::call_foreign_function("verify_signature", Some(args))
        .ok()
        .flatten()
}

struct BenchVm;

impl Context for BenchVm {}

impl RootContext for BenchVm {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        let log = |line: &str| {
            let _ = proxy_wasm::hostcalls::log(LogLevel::Warn, &format!("pipeline-bench: {line}"));
        };
        // Each case twice: the module's own signature checks, then RS* and
        // ES* by the host's `verify_signature` (as the filter in Envoy).
        let report = crate::measure::report().and_then(|mut lines| {
            lines.extend(crate::measure::rows(
                Some(host_verify),
                " (host verify_signature)",
            )?);
            Ok(lines)
        });
        match report {
            Ok(lines) => lines.iter().for_each(|l| log(l)),
            Err(e) => log(&format!("failed: {e}")),
        }
        log("done");
        true
    }
}
