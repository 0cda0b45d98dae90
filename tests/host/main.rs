//! The tests that need more than this checkout: a real Envoy
//! (`.venv/bin/envoy`) and the built `.wasm`, Node.js with the interop
//! tests' packages (`tests/interop/node_modules`), or the vectors in
//! `../shared` (Wycheproof, the RFC 7520 cookbook). A missing one fails its
//! tests rather than skipping them (only `JWE_AUTHN_SKIP_INTEROP=1` skips
//! the Node half of `interop.rs`); `make test` installs or builds the rest.
//! The tests that need none of it are in `tests/hermetic/`.

// Tests unwrap and index freely: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../common/mod.rs"]
mod common;
mod harness;
mod idp;

mod admission;
mod bound;
mod config_schema;
mod deploy;
mod dpop;
mod dpop_interop;
mod e2e;
mod edge;
mod interop;
mod native;
mod remote_jwks;
mod rfc_vectors;
mod routing;
mod rsa_key_limits;
mod signature_parity;
mod soak;
mod waiting;
mod wycheproof_jose;
mod wycheproof_primitives;
