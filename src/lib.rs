//! # jwe-authn
//!
//! An Envoy HTTP filter (proxy-wasm) that accepts bearer tokens which are
//! *encrypted* JWTs: a JWE (RFC 7516) whose plaintext is a signed JWT (a JWS,
//! RFC 7515/7519). Envoy's own `jwt_authn` cannot read such tokens.
//!
//! A request flows through the modules in this order:
//!
//! 0. [`path`]     — refuse a request path that is not in normal form (before any rule is chosen);
//! 1. [`extract`]  — pick the token out of the configured header, parameter or cookie values;
//! 2. [`decrypt`]  — parse the compact JWE and decrypt it with a configured key ([`jose::jwe`]);
//! 3. [`verify`]   — verify the inner JWS with the issuer's keys ([`jose::jws`]);
//!    (or, for a provider that accepts encrypt-then-sign, [`nesting`]: verify
//!    the outer JWS first, then decrypt the JWE it signed);
//! 4. [`validate`] — check `exp`, `nbf`, `iss`, `aud` and `typ`;
//!    ([`pipeline`] is steps 2–4 as one function, shared by the filter and the CLI);
//!    then [`bind`] — a sender-constrained token only from its client (the
//!    TLS certificate it is bound to, RFC 8705, or a fresh DPoP proof by
//!    its key, RFC 9449), on every request;
//! 5. [`decide`]   — route rules, `required_claims` and the [`cache`]: allow or deny;
//! 6. [`forward`]  — the headers an accepted request carries upstream;
//!
//! and, when the issuer's remote keys or first revocation list are not there
//! yet, [`wait`] — the waiting room: what may wait (bounded by count, bytes
//! and per provider), until when, and which waiters to re-decide (with
//! [`decide::redecide`]) or deny, a small batch per host callback;
//! beside them [`fetch_schedule`] — when to fetch each provider's
//! `remote_jwks`, discovery document and revocation list, and what arrived
//! (the keys [`verify`] uses, the lists [`decide`] checks);
//! [`dpop`] — the check of a DPoP proof (RFC 9449) against its request
//! and access token, which [`bind`] runs;
//! and, inside steps 2 and 3, [`admission`] — the cold-path budget per
//! worker and per source, asked before the private-key and signature work
//! of a token no cache knows (a `503` when spent).
//!
//! Everything above is a pure core: it never reads the clock or the environment,
//! and it knows nothing of proxy-wasm. `now` is an argument, keys are parsed once
//! into typed keys by [`config`], and every failure is a precise [`error::Reason`]
//! that maps to one client-facing error class.
//!
//! The host glue lives in `filter`, compiled only for `wasm32` with the
//! default `filter` feature:
//!
//! - `filter::host`   — every raw host call, none of which panics (the only `unsafe` code written here);
//! - `filter::worker` — the state of one VM and what the contexts ask of it (decide, park, fetch);
//! - `filter::root`, `filter::http` — the proxy-wasm root and HTTP contexts, which call the worker;
//! - `filter::apply`  — a decision applied to the current request;
//! - `filter::stats`, `filter::shared_data` — the counters and the shared cache's store.

#[forbid(unsafe_code)]
pub mod admission;
#[forbid(unsafe_code)]
pub mod bind;
#[forbid(unsafe_code)]
pub mod cache;
#[forbid(unsafe_code)]
pub mod config;
#[forbid(unsafe_code)]
pub mod decide;
#[forbid(unsafe_code)]
pub mod decrypt;
#[forbid(unsafe_code)]
pub mod dpop;
#[forbid(unsafe_code)]
pub mod error;
#[forbid(unsafe_code)]
pub mod extract;
#[forbid(unsafe_code)]
pub mod fetch_schedule;
#[forbid(unsafe_code)]
pub mod forward;
#[forbid(unsafe_code)]
pub mod jose;
#[forbid(unsafe_code)]
pub mod nesting;
#[forbid(unsafe_code)]
pub mod path;
#[forbid(unsafe_code)]
pub mod pipeline;
#[forbid(unsafe_code)]
pub mod validate;
#[forbid(unsafe_code)]
pub mod verify;
#[forbid(unsafe_code)]
pub mod wait;

#[cfg(all(target_arch = "wasm32", feature = "filter"))]
mod filter;
