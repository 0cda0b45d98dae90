//! Key generation for the CLI's `keygen`. STUB.

use super::Key;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa { bits: usize },
    P256,
    P384,
    P521,
    X25519,
    Ed25519,
    Oct { bytes: usize },
}

/// Generate a fresh private key.
pub fn generate(_kind: KeyType) -> Result<Key, String> {
    Err("not implemented".into())
}
