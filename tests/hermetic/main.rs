//! The hermetic tests: nothing but this checkout and what `cargo test`
//! builds (the library and the `jwe-authn` CLI). No Envoy, no Node.js, no
//! `../shared`, no network: `make check` runs them with the unit tests.
//! The tests that need any of those are in `tests/host/`.

// Tests unwrap and index freely: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../common/mod.rs"]
mod common;

mod attacks;
mod config_errors;
mod decide;
mod decide_dpop;
mod dpop;
mod fuzz_regressions;
mod json_schema;
mod jwk;
mod kat;
mod key_fit;
mod nesting;
mod readme_config;
mod roundtrip;
