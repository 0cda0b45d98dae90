//! JWE (RFC 7516): content encryption and key management, one module per
//! algorithm family. The compact-serialization decryption flow lives in
//! [`crate::decrypt`]; [`encrypt`] mints tokens for the CLI and tests.
//!
//! - [`content`]: AES-GCM and AES-CBC-HMAC-SHA2 (`enc`);
//! - [`aeskw`]: AES Key Wrap (`A*KW`, and the wrap step of `ECDH-ES+A*KW`);
//! - [`aesgcmkw`]: AES-GCM key wrap (`A*GCMKW`);
//! - [`rsaoaep`]: RSA-OAEP with SHA-1/256/384/512, always blinded;
//! - [`ecdh`]: ECDH-ES on P-256/384/521 and X25519 with the Concat KDF;
//! - [`keymgmt`]: dispatch on [`KeyManagementAlg`](super::alg::KeyManagementAlg).

pub mod aesgcmkw;
pub mod aeskw;
pub mod content;
pub mod ecdh;
pub mod encrypt;
pub mod keymgmt;
pub mod rsaoaep;
