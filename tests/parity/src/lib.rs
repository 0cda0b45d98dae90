//! Signature vectors checked twice inside Envoy's V8: once with
//! [`jws::verify_with`] and the host's `verify_signature` (Envoy's
//! BoringSSL, as the filter does), once with [`jws::verify`] (the module's
//! RustCrypto code). A singleton Wasm service: at VM start it reads the
//! vectors from its VM configuration, checks them, logs one line per file
//! (`parity: {json}`) and `parity: done`. The test
//! (`tests/host/signature_parity.rs`) compares the answers with each other
//! and with the vectors' own.
//!
//! Configuration: `{"files": [{"name", "alg", "groups": [{"jwk", "tests":
//! [[tcId, msg hex, sig hex]]}]}]}`. Each file's line: `{"name",
//! "answers": [[tcId, host, module]], "refused_keys": n, "host_answered":
//! n, "host_declined": n, "host_readable": n}` (the host's answers, its
//! refusals, and the answers `verify_with` could read, counted per file).

// A test crate: a panic fails the test (the VM stops, `done` is missing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use jwe_authn::jose::alg::SignatureAlg;
use jwe_authn::jose::jwk::parse_jwk;
use jwe_authn::jose::jws;
use proxy_wasm::traits::{Context, RootContext};
use proxy_wasm::types::LogLevel;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Parity) });
}}

static ANSWERED: AtomicUsize = AtomicUsize::new(0);
static DECLINED: AtomicUsize = AtomicUsize::new(0);
static READABLE: AtomicUsize = AtomicUsize::new(0);

/// The host's `verify_signature` (the SDK's wrapper: a test may panic),
/// counted: an answer, or a refusal (after which `verify_with` falls back to
/// the module).
fn host_verify(args: &[u8]) -> Option<Vec<u8>> {
    match proxy_wasm::hostcalls::call_foreign_function("verify_signature", Some(args)) {
        Ok(Some(result)) => {
            ANSWERED.fetch_add(1, Ordering::Relaxed);
            // An answer `verify_with` cannot read falls back to the module:
            // counted, so the test sees the host really decided.
            if jws::offload::verdict(&result).is_some() {
                READABLE.fetch_add(1, Ordering::Relaxed);
            }
            Some(result)
        }
        _ => {
            DECLINED.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn alg(name: &str) -> SignatureAlg {
    SignatureAlg::from_name(name).unwrap()
}

fn check_file(file: &Value) -> Value {
    let alg = alg(file["alg"].as_str().unwrap());
    let (answered, declined, readable) = (
        ANSWERED.load(Ordering::Relaxed),
        DECLINED.load(Ordering::Relaxed),
        READABLE.load(Ordering::Relaxed),
    );
    let mut answers = Vec::new();
    let mut refused_keys = 0;
    for group in file["groups"].as_array().unwrap() {
        let Ok(jwk) = parse_jwk(&group["jwk"]) else {
            refused_keys += 1;
            continue;
        };
        for t in group["tests"].as_array().unwrap() {
            let (msg, sig) = (hex(t[1].as_str().unwrap()), hex(t[2].as_str().unwrap()));
            let host = jws::verify_with(alg, &jwk.key, &msg, &sig, Some(host_verify));
            let module = jws::verify(alg, &jwk.key, &msg, &sig);
            answers.push(json!([t[0], host, module]));
        }
    }
    json!({
        "name": file["name"],
        "answers": answers,
        "refused_keys": refused_keys,
        "host_answered": ANSWERED.load(Ordering::Relaxed) - answered,
        "host_declined": DECLINED.load(Ordering::Relaxed) - declined,
        "host_readable": READABLE.load(Ordering::Relaxed) - readable,
    })
}

struct Parity;

impl Context for Parity {}

impl RootContext for Parity {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        let log = |line: &str| {
            let _ = proxy_wasm::hostcalls::log(LogLevel::Warn, &format!("parity: {line}"));
        };
        let config: Value = serde_json::from_slice(&self.get_vm_configuration().unwrap()).unwrap();
        for file in config["files"].as_array().unwrap() {
            log(&check_file(file).to_string());
        }
        log("done");
        true
    }
}
