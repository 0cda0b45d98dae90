//! Configured key sets: decryption keys (inline and from the environment)
//! and a provider's `local_jwks`, parsed into typed keys once, with the
//! checks that depend on what a key is for.

use super::schema::KeySet;
use crate::error::ConfigError;
use crate::jose::alg::{KeyManagementAlg, SignatureAlg};
use crate::jose::jwk::{self, Jwk, MAX_KEYS};
use crate::jose::{fit, json};

/// Decryption keys from the JWKS in environment variable `name`. The text is
/// zeroized when dropped; errors name the variable, never its contents.
pub(super) fn keys_from_env(
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Jwk>, ConfigError> {
    let path = "decryption_keys_from_env";
    let text = zeroize::Zeroizing::new(env(name).ok_or_else(|| {
        ConfigError::new(path, format!("environment variable `{name}` is not set"))
    })?);
    // serde_json's intermediate values cannot be zeroized; they live only
    // for this call (see README, Security).
    let value = json::parse_str(&text).map_err(|_| {
        ConfigError::new(
            path,
            format!("`{name}` does not hold JSON (expected a JWKS)"),
        )
    })?;
    let keys = jwk::parse_jwks(&value).map_err(|e| e.under(&format!("{path}(${name})")))?;
    for (i, key) in keys.iter().enumerate() {
        check_decryption_key(key, &format!("{path}(${name}).keys[{i}]"), "n")?;
    }
    Ok(keys)
}

/// A decryption key must hold its private half, and an RSA one at most
/// [`jwk::MAX_RSA_DECRYPTION_BITS`]: any request may cost one private-key
/// operation with it. `modulus` names the member holding the modulus.
fn check_decryption_key(key: &Jwk, at: &str, modulus: &str) -> Result<(), ConfigError> {
    if !key.key.is_private() {
        return Err(ConfigError::new(
            at,
            "a decryption key must be private or secret (`d` or `k`)",
        ));
    }
    if fit::rsa_bytes(&key.key).is_some_and(|n| n > jwk::MAX_RSA_DECRYPTION_BITS / 8) {
        return Err(ConfigError::new(
            format!("{at}.{modulus}"),
            format!(
                "RSA decryption keys over {} bits are refused: every request \
                 may cost one private-key operation (verification keys may \
                 have up to {} bits)",
                jwk::MAX_RSA_DECRYPTION_BITS,
                jwk::MAX_RSA_BITS
            ),
        ));
    }
    Ok(())
}

/// Parse a key set's JWKs and PEM keys into typed keys; `require_private`
/// refuses public keys (decryption needs the private half).
pub(super) fn compile_keys(
    set: &KeySet,
    path: &str,
    require_private: bool,
) -> Result<Vec<Jwk>, ConfigError> {
    if set.keys.len() + set.pem.len() > MAX_KEYS {
        return Err(ConfigError::new(path, format!("at most {MAX_KEYS} keys")));
    }
    let mut out = Vec::with_capacity(set.keys.len() + set.pem.len());
    let check = |key: Jwk, at: &str, modulus: &str| {
        if require_private {
            check_decryption_key(&key, at, modulus)?;
        }
        Ok(key)
    };
    for (i, value) in set.keys.iter().enumerate() {
        let at = format!("{path}.keys[{i}]");
        let key = jwk::parse_jwk(value).map_err(|e| e.under(&at))?;
        out.push(check(key, &at, "n")?);
    }
    for (i, pem) in set.pem.iter().enumerate() {
        let at = format!("{path}.pem[{i}]");
        let key = jwk::parse_pem(&pem.pem).map_err(|e| e.under(&format!("{at}.pem")))?;
        if let Some(alg) = &pem.alg {
            let known = KeyManagementAlg::from_name(alg).is_some()
                || SignatureAlg::from_name(alg).is_some();
            if !known {
                return Err(ConfigError::new(
                    format!("{at}.alg"),
                    "not a supported JOSE algorithm",
                ));
            }
            if !fit::jwk_alg(alg, &key) {
                return Err(ConfigError::new(
                    format!("{at}.alg"),
                    format!("`{alg}` does not fit this {} key", key.describe()),
                ));
            }
        }
        let key = Jwk {
            kid: pem.kid.clone(),
            alg: pem.alg.clone(),
            key_use: None,
            key_ops: None,
            key,
        };
        out.push(check(key, &at, "pem")?);
    }
    if !require_private {
        jwk::check_verification_set(&out).map_err(|e| e.under(path))?;
    }
    Ok(out)
}
