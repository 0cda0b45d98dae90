//! Reading a key from a file: a JWK, a JWKS holding one key, or PEM.

use crate::args::read_file;
use crate::Failure;
use jwe_authn::jose::json;
use jwe_authn::jose::jwk::{self, Jwk};
use serde_json::Value;

/// Parse the single key in the file at `path`.
pub fn load(path: &str) -> Result<Jwk, Failure> {
    let text = read_file(path)?;
    let bad = |e: jwe_authn::error::ConfigError| Failure::usage(format!("{path}: {e}"));
    if text.trim_start().starts_with("-----BEGIN") {
        return jwk::parse_pem(&text).map(Jwk::bare).map_err(bad);
    }
    let value =
        json::parse_str(&text).map_err(|e| Failure::usage(format!("{path}: not JSON: {e}")))?;
    match value.get("keys") {
        Some(Value::Array(keys)) => match keys.as_slice() {
            [one] => jwk::parse_jwk(one).map_err(|e| bad(e.under("keys[0]"))),
            _ => Err(Failure::usage(format!(
                "{path}: a JWKS here must hold exactly one key"
            ))),
        },
        _ => jwk::parse_jwk(&value).map_err(bad),
    }
}

/// Parse every key in a JWK or JWKS file; the flag says it was a JWKS.
pub fn load_all(path: &str) -> Result<(Vec<Jwk>, bool), Failure> {
    let text = read_file(path)?;
    let value =
        json::parse_str(&text).map_err(|e| Failure::usage(format!("{path}: not JSON: {e}")))?;
    let is_set = value.get("keys").is_some();
    let parsed = if is_set {
        jwk::parse_jwks(&value)
    } else {
        jwk::parse_jwk(&value).map(|k| vec![k])
    };
    parsed
        .map(|keys| (keys, is_set))
        .map_err(|e| Failure::usage(format!("{path}: {e}")))
}
