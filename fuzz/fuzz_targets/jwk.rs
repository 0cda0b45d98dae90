//! cargo fuzz target `jwk`: see `fuzz/harness.rs` for what it exercises.
#![no_main]

#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::jwk(data));
