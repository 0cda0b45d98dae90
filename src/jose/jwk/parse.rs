//! JWK/JWKS parsing into typed keys. STUB.

use super::{Jwk, Key};
use crate::error::ConfigError;
use serde_json::Value;

/// Most keys accepted in one key set.
pub const MAX_KEYS: usize = 64;

/// Parse one JWK object.
pub fn parse_jwk(_value: &Value) -> Result<Jwk, ConfigError> {
    Err(ConfigError::new("", "not implemented"))
}

/// Parse a JWKS object `{"keys": [...]}`.
pub fn parse_jwks(_value: &Value) -> Result<Vec<Jwk>, ConfigError> {
    Err(ConfigError::new("", "not implemented"))
}

/// Parse a public EC or X25519 JWK from a JWE `epk` header member, validating
/// the point; private members are an error.
pub fn parse_public_jwk_value(_value: &Value) -> Result<Key, ConfigError> {
    Err(ConfigError::new("", "not implemented"))
}
