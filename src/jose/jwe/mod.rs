//! JWE (RFC 7516): key management per algorithm family and content
//! encryption. The compact-serialization flow lives in [`crate::decrypt`] (and
//! [`encrypt`] for minting).
//!
//! Families, one module each: [`content`] (AES-GCM, AES-CBC-HMAC-SHA2),
//! `aeskw` (AES Key Wrap), `aesgcmkw` (AES-GCM key wrap), `rsaoaep`
//! (RSA-OAEP with blinding), `ecdh` (ECDH-ES with Concat KDF, NIST curves and
//! X25519). [`keymgmt`] dispatches on [`KeyManagementAlg`](super::alg::KeyManagementAlg).

pub mod content;
pub mod encrypt;
pub mod keymgmt;
