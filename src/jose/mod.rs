//! JOSE building blocks: strict base64url and JSON, algorithm names, headers,
//! keys ([`jwk`]), which key fits which algorithm ([`fit`]), encryption
//! ([`jwe`]) and signatures ([`jws`]).
//!
//! Everything here is strict on purpose: padding, non-alphabet characters and
//! duplicate JSON member names are errors, unknown algorithms are errors, and
//! refused algorithms are recognised by name so they fail before any
//! expensive work.

pub mod alg;
pub mod b64;
pub mod fit;
pub mod header;
pub mod json;
pub mod jwe;
pub mod jwk;
pub mod jws;
pub mod random;
