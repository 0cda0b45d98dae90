//! Configured key sets: decryption keys (inline and from the environment)
//! and a provider's `local_jwks`, parsed into typed keys once, with the
//! checks that depend on what a key is for: a decryption key must be
//! private and not too costly, and no key may carry metadata that forbids
//! its role.

use super::schema::KeySet;
use crate::error::ConfigError;
use crate::jose::alg::{KeyManagementAlg, SignatureAlg};
use crate::jose::jwk::{self, Jwk, Purpose, MAX_KEYS};
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
        let at = format!("{path}(${name}).keys[{i}]");
        check_role(key, Purpose::Decrypt, &at)?;
        check_decryption_key(key, &at, "n")?;
    }
    Ok(keys)
}

/// A configured key's `alg`, `use` and `key_ops` (each when present) must
/// allow what the key is configured for ([`Purpose::Decrypt`] or
/// [`Purpose::Verify`]): a key they forbid it would never be used, so it is
/// refused here, naming the member. Fetched keys are instead filtered when
/// used ([`Jwk::permits`]), with the same lists of what allows a purpose.
fn check_role(key: &Jwk, purpose: Purpose, at: &str) -> Result<(), ConfigError> {
    let role = match purpose {
        Purpose::Decrypt | Purpose::Encrypt => "a decryption key",
        Purpose::Verify | Purpose::Sign => "a verification key",
    };
    if let Some(alg) = key.alg.as_deref().filter(|alg| !purpose.admits_alg(alg)) {
        let expected = match purpose {
            Purpose::Decrypt | Purpose::Encrypt => {
                "a key management algorithm (or, for a `dir` key, its content encryption)"
            }
            Purpose::Verify | Purpose::Sign => "a signature algorithm",
        };
        return Err(ConfigError::new(
            format!("{at}.alg"),
            format!("`{alg}` cannot be used by {role}: expected {expected}"),
        ));
    }
    let wanted = purpose.key_use();
    if key.key_use.is_some_and(|u| u != wanted) {
        return Err(ConfigError::new(
            format!("{at}.use"),
            format!(
                "{role} must have `\"use\": \"{}\"` or no `use`",
                wanted.name()
            ),
        ));
    }
    if !key.key_ops_allow(purpose) {
        let ops = match purpose.key_ops() {
            [one] => format!("`{one}`"),
            many => format!("one of `{}`", many.join("`, `")),
        };
        return Err(ConfigError::new(
            format!("{at}.key_ops"),
            format!("{role} needs `key_ops` to include {ops} (or no `key_ops`)"),
        ));
    }
    Ok(())
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

/// Parse a key set's JWKs and PEM keys into typed keys for `purpose`:
/// [`Purpose::Decrypt`] (the private half is required) or
/// [`Purpose::Verify`] (one kind of key per set).
pub(super) fn compile_keys(
    set: &KeySet,
    path: &str,
    purpose: Purpose,
) -> Result<Vec<Jwk>, ConfigError> {
    if set.keys.len() + set.pem.len() > MAX_KEYS {
        return Err(ConfigError::new(path, format!("at most {MAX_KEYS} keys")));
    }
    let decrypting = purpose == Purpose::Decrypt;
    let mut out = Vec::with_capacity(set.keys.len() + set.pem.len());
    let check = |key: Jwk, at: &str, modulus: &str| {
        check_role(&key, purpose, at)?;
        if decrypting {
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
                    format!(
                        "not a supported JOSE algorithm{}",
                        super::value::unsupported_hint(alg)
                    ),
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
    if !decrypting {
        jwk::check_verification_set(&out).map_err(|e| e.under(path))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    fn set(keys: serde_json::Value) -> KeySet {
        serde_json::from_value(json!({ "keys": keys })).unwrap()
    }

    fn error(keys: serde_json::Value, purpose: Purpose) -> ConfigError {
        compile_keys(&set(keys), "s", purpose).unwrap_err()
    }

    #[test]
    fn metadata_must_allow_the_role() {
        let e = error(
            json!([{"kty": "oct", "k": K, "use": "sig"}]),
            Purpose::Decrypt,
        );
        assert_eq!(e.path, "s.keys[0].use");
        assert_eq!(
            e.message,
            "a decryption key must have `\"use\": \"enc\"` or no `use`"
        );
        let e = error(
            json!([{"kty": "oct", "k": K, "key_ops": ["wrapKey"]}]),
            Purpose::Decrypt,
        );
        assert_eq!(e.path, "s.keys[0].key_ops");
        assert_eq!(
            e.message,
            "a decryption key needs `key_ops` to include one of `decrypt`, `unwrapKey`, \
             `deriveKey`, `deriveBits` (or no `key_ops`)"
        );
        let e = error(
            json!([{"kty": "oct", "k": K, "alg": "HS256"}]),
            Purpose::Decrypt,
        );
        assert_eq!(e.path, "s.keys[0].alg");
        assert!(
            e.message
                .starts_with("`HS256` cannot be used by a decryption key"),
            "{e}"
        );
        let e = error(
            json!([{"kty": "oct", "k": K, "use": "enc"}]),
            Purpose::Verify,
        );
        assert_eq!(e.path, "s.keys[0].use");
        let e = error(
            json!([{"kty": "oct", "k": K, "key_ops": ["sign"]}]),
            Purpose::Verify,
        );
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            (
                "s.keys[0].key_ops",
                "a verification key needs `key_ops` to include `verify` (or no `key_ops`)"
            )
        );
        let e = error(
            json!([{"kty": "oct", "k": K, "alg": "dir"}]),
            Purpose::Verify,
        );
        assert_eq!(e.path, "s.keys[0].alg");
        for ok in [
            json!({"kty": "oct", "k": K, "use": "enc", "key_ops": ["unwrapKey"], "alg": "A256KW"}),
            json!({"kty": "oct", "k": K, "alg": "A256GCM"}),
        ] {
            assert!(compile_keys(&set(json!([ok])), "s", Purpose::Decrypt).is_ok());
        }
        let ok = json!({"kty": "oct", "k": K, "use": "sig", "key_ops": ["verify"], "alg": "HS256"});
        assert!(compile_keys(&set(json!([ok])), "s", Purpose::Verify).is_ok());
    }

    #[test]
    fn decryption_keys_are_private_and_sets_bounded() {
        let public = json!({"kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        assert_eq!(
            error(json!([public.clone()]), Purpose::Decrypt).path,
            "s.keys[0]"
        );
        assert!(compile_keys(&set(json!([public.clone()])), "s", Purpose::Verify).is_ok());
        let mixed = json!([public, {"kty": "oct", "k": K}]);
        assert_eq!(error(mixed, Purpose::Verify).path, "s.keys");
        let many: Vec<_> = (0..=MAX_KEYS)
            .map(|_| json!({"kty": "oct", "k": K}))
            .collect();
        assert_eq!(error(json!(many), Purpose::Decrypt).path, "s");
    }

    #[test]
    fn environment_keys_are_held_to_the_same_rules() {
        let env = |text: &'static str| move |name: &str| (name == "E").then(|| text.to_string());
        assert_eq!(
            keys_from_env("E", &env(r#"{"keys": [{"kty": "oct", "k": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "use": "sig"}]}"#))
                .unwrap_err()
                .path,
            "decryption_keys_from_env($E).keys[0].use"
        );
        assert_eq!(
            keys_from_env("F", &env("{}")).unwrap_err().message,
            "environment variable `F` is not set"
        );
        let e = keys_from_env("E", &env("secret")).unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
