//! JWK and JWKS parsing (RFC 7517, RFC 7518 §6, RFC 8037 §2) into typed keys.
//!
//! Every member is checked: exact lengths for curve coordinates and OKP keys,
//! points on their curve, private halves matching public ones, RSA modulus
//! sizes and CRT parameters consistent with the key. Errors name the member
//! (the caller prefixes the key's path) and never include key material.

use super::{EcKey, Jwk, Key, KeyUse, OkpKey, RsaKey, MAX_RSA_BITS, MIN_RSA_BITS};
use crate::error::ConfigError;
use crate::jose::b64;
use rsa::traits::PrivateKeyParts;
use rsa::BoxedUint;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// Most keys accepted in one key set.
pub const MAX_KEYS: usize = 64;

/// Longest accepted `oct` secret, in bytes.
const MAX_OCT_BYTES: usize = 1024;

/// Known `key_ops` values (RFC 7517 §4.3).
const KEY_OPS: &[&str] = &[
    "sign",
    "verify",
    "encrypt",
    "decrypt",
    "wrapKey",
    "unwrapKey",
    "deriveKey",
    "deriveBits",
];

fn err(path: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(path, message)
}

fn object(value: &Value) -> Result<&Map<String, Value>, ConfigError> {
    value
        .as_object()
        .ok_or_else(|| err("", "expected a JWK object"))
}

fn string<'a>(map: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ConfigError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(err(name, "expected a string")),
    }
}

fn required_string<'a>(map: &'a Map<String, Value>, name: &str) -> Result<&'a str, ConfigError> {
    string(map, name)?.ok_or_else(|| err(name, "is required"))
}

/// A base64url member, decoded; private members are wrapped in `Zeroizing`.
fn bytes(map: &Map<String, Value>, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, ConfigError> {
    match string(map, name)? {
        None => Ok(None),
        Some(s) => b64::decode(s.as_bytes())
            .map(|b| Some(Zeroizing::new(b)))
            .ok_or_else(|| err(name, "expected unpadded base64url")),
    }
}

fn required_bytes(map: &Map<String, Value>, name: &str) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
    bytes(map, name)?.ok_or_else(|| err(name, "is required"))
}

fn exact<const N: usize>(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<Zeroizing<[u8; N]>>, ConfigError> {
    match bytes(map, name)? {
        None => Ok(None),
        Some(b) => {
            let array: [u8; N] = b
                .as_slice()
                .try_into()
                .map_err(|_| err(name, format!("expected exactly {N} bytes")))?;
            Ok(Some(Zeroizing::new(array)))
        }
    }
}

/// Parse one JWK object into a typed key with its metadata.
pub fn parse_jwk(value: &Value) -> Result<Jwk, ConfigError> {
    let map = object(value)?;
    let kty = required_string(map, "kty")?;
    let key = match kty {
        "RSA" => parse_rsa(map)?,
        "EC" => Key::Ec(parse_ec(map, true)?),
        "OKP" => Key::Okp(parse_okp(map, true)?),
        "oct" => {
            let k = required_bytes(map, "k")?;
            if k.is_empty() || k.len() > MAX_OCT_BYTES {
                return Err(err("k", format!("expected 1 to {MAX_OCT_BYTES} bytes")));
            }
            Key::Oct(k)
        }
        _ => return Err(err("kty", "expected RSA, EC, OKP or oct")),
    };
    let alg = string(map, "alg")?;
    if let Some(alg) = alg {
        check_alg(alg, &key)?;
    }
    let key_use = match string(map, "use")? {
        None => None,
        Some("sig") => Some(KeyUse::Sig),
        Some("enc") => Some(KeyUse::Enc),
        Some(_) => return Err(err("use", "expected \"sig\" or \"enc\"")),
    };
    let key_ops = match map.get("key_ops") {
        None => None,
        Some(Value::Array(items)) => {
            let mut ops: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                match item.as_str() {
                    Some(op) if KEY_OPS.contains(&op) && !ops.iter().any(|o| o == op) => ops.push(op.to_string()),
                    _ => {
                        return Err(err(
                            "key_ops",
                            "expected distinct values among sign, verify, encrypt, decrypt, wrapKey, unwrapKey, deriveKey, deriveBits",
                        ))
                    }
                }
            }
            Some(ops)
        }
        Some(_) => return Err(err("key_ops", "expected an array of strings")),
    };
    Ok(Jwk {
        kid: string(map, "kid")?.map(str::to_string),
        alg: alg.map(str::to_string),
        key_use,
        key_ops,
        key,
    })
}

/// Parse a JWKS object `{"keys": [...]}` (at most [`MAX_KEYS`] keys).
pub fn parse_jwks(value: &Value) -> Result<Vec<Jwk>, ConfigError> {
    let map = value
        .as_object()
        .ok_or_else(|| err("", "expected a JWKS object"))?;
    if let Some(other) = map.keys().find(|k| *k != "keys") {
        return Err(err(
            other,
            "unknown member of a JWKS (expected only `keys`)",
        ));
    }
    let keys = match map.get("keys") {
        Some(Value::Array(keys)) => keys,
        _ => return Err(err("keys", "expected an array of JWKs")),
    };
    if keys.is_empty() || keys.len() > MAX_KEYS {
        return Err(err("keys", format!("expected 1 to {MAX_KEYS} keys")));
    }
    keys.iter()
        .enumerate()
        .map(|(i, k)| parse_jwk(k).map_err(|e| e.under(&format!("keys[{i}]"))))
        .collect()
}

/// A set of verification keys must be all symmetric (`oct`, for HMAC) or
/// all asymmetric: a set mixing both is ambiguous (RFC 8725 §3.1; Wycheproof
/// `MixedKeySet`), and a shared secret beside public keys is a secret
/// handled like a public key.
pub fn check_verification_set(keys: &[Jwk]) -> Result<(), ConfigError> {
    let symmetric = keys.iter().filter(|k| k.key.is_symmetric()).count();
    if symmetric > 0 && symmetric < keys.len() {
        return Err(err(
            "keys",
            "mixes symmetric (oct) and asymmetric keys: use one kind per provider",
        ));
    }
    Ok(())
}

/// Parse the `epk` of a JWE header: a public EC (P-256/384/521) or X25519
/// key, validated on its curve. A private member is an error. This input is
/// the attacker's.
pub fn parse_public_jwk_value(value: &Value) -> Result<Key, ConfigError> {
    let map = object(value)?;
    if map.contains_key("d") {
        return Err(err(
            "d",
            "an ephemeral public key must not carry a private key",
        ));
    }
    match required_string(map, "kty")? {
        "EC" => Ok(Key::Ec(parse_ec(map, false)?)),
        "OKP" => match parse_okp(map, false)? {
            key @ OkpKey::X25519Public(_) => Ok(Key::Okp(key)),
            _ => Err(err("crv", "expected X25519")),
        },
        _ => Err(err("kty", "expected EC or OKP")),
    }
}

/// The `alg` a JWK names must be one its key can be used with
/// ([`fit::jwk_alg`](crate::jose::fit::jwk_alg)).
pub(crate) fn check_alg(alg: &str, key: &Key) -> Result<(), ConfigError> {
    if crate::jose::fit::jwk_alg(alg, key) {
        Ok(())
    } else {
        Err(err(
            "alg",
            format!(
                "`{alg}` is not a supported algorithm for this {} key{}",
                key.describe(),
                crate::jose::alg::unsupported_signature(alg)
                    .map(|why| format!(": {why}"))
                    .unwrap_or_default()
            ),
        ))
    }
}

fn uint(map: &Map<String, Value>, name: &str) -> Result<BoxedUint, ConfigError> {
    let b = required_bytes(map, name)?;
    Ok(BoxedUint::from_be_slice_vartime(&b))
}

fn parse_rsa(map: &Map<String, Value>) -> Result<Key, ConfigError> {
    let n_bytes = required_bytes(map, "n")?;
    let e_bytes = required_bytes(map, "e")?;
    if e_bytes.len() > 4 {
        return Err(err("e", "public exponent too large"));
    }
    super::check_rsa_modulus(&n_bytes).map_err(|e| e.under("n"))?;
    let n = BoxedUint::from_be_slice_vartime(&n_bytes);
    let e = BoxedUint::from_be_slice_vartime(&e_bytes);
    if !map.contains_key("d") {
        for private in ["p", "q", "dp", "dq", "qi", "oth"] {
            if map.contains_key(private) {
                return Err(err(private, "private member without `d`"));
            }
        }
        let public = rsa::RsaPublicKey::new_with_size_limits(n, e, MIN_RSA_BITS..=MAX_RSA_BITS)
            .map_err(|_| err("n", "not a valid RSA public key"))?;
        return Ok(Key::Rsa(RsaKey::Public(Box::new(public))));
    }
    if map.contains_key("oth") {
        return Err(err("oth", "multi-prime RSA keys are not supported"));
    }
    let d = uint(map, "d")?;
    let p = uint(map, "p")?;
    let q = uint(map, "q")?;
    let dp = required_bytes(map, "dp")?;
    let dq = required_bytes(map, "dq")?;
    let qi = required_bytes(map, "qi")?;
    let private = rsa::RsaPrivateKey::from_components(n, e, d, vec![p, q])
        .map_err(|_| err("d", "the private key is inconsistent (n, e, d, p, q)"))?;
    let same = |have: Option<BoxedUint>, want: &[u8]| {
        have.is_some_and(|h| trim(&h.to_be_bytes_trimmed_vartime()) == trim(want))
    };
    if !same(private.dp().cloned(), &dp) {
        return Err(err("dp", "does not match d and p"));
    }
    if !same(private.dq().cloned(), &dq) {
        return Err(err("dq", "does not match d and q"));
    }
    if !same(private.crt_coefficient(), &qi) {
        return Err(err("qi", "does not match p and q"));
    }
    Ok(Key::Rsa(RsaKey::Private(Box::new(private))))
}

/// Strip leading zero bytes (JWK integers are minimal, but be lenient).
fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

macro_rules! ec_key {
    ($map:expr, $allow_private:expr, $crate_name:ident, $len:literal, $public:ident, $private:ident) => {{
        let x = exact::<$len>($map, "x")?.ok_or_else(|| err("x", "is required"))?;
        let y = exact::<$len>($map, "y")?.ok_or_else(|| err("y", "is required"))?;
        let mut sec1 = Vec::with_capacity(1 + 2 * $len);
        sec1.push(0x04);
        sec1.extend_from_slice(x.as_slice());
        sec1.extend_from_slice(y.as_slice());
        let public = $crate_name::PublicKey::from_sec1_bytes(&sec1)
            .map_err(|_| err("x", "the point is not on the curve"))?;
        match exact::<$len>($map, "d")? {
            None => EcKey::$public(public),
            Some(_) if !$allow_private => {
                return Err(err("d", "a private key is not allowed here"))
            }
            Some(d) => {
                let secret = $crate_name::SecretKey::from_slice(d.as_slice())
                    .map_err(|_| err("d", "not a valid private scalar"))?;
                if secret.public_key() != public {
                    return Err(err("d", "does not match x and y"));
                }
                EcKey::$private(secret)
            }
        }
    }};
}

fn parse_ec(map: &Map<String, Value>, allow_private: bool) -> Result<EcKey, ConfigError> {
    Ok(match required_string(map, "crv")? {
        "P-256" => ec_key!(map, allow_private, p256, 32, P256Public, P256Private),
        "P-384" => ec_key!(map, allow_private, p384, 48, P384Public, P384Private),
        "P-521" => ec_key!(map, allow_private, p521, 66, P521Public, P521Private),
        _ => return Err(err("crv", "expected P-256, P-384 or P-521")),
    })
}

fn parse_okp(map: &Map<String, Value>, allow_private: bool) -> Result<OkpKey, ConfigError> {
    let crv = required_string(map, "crv")?;
    if !matches!(crv, "X25519" | "Ed25519") {
        // Checked before `x`, whose length differs on Ed448 and X448: the
        // error names the curve, not a length.
        return Err(err(
            "crv",
            "expected X25519 or Ed25519 (Ed448 and X448 are not supported)",
        ));
    }
    let x = exact::<32>(map, "x")?.ok_or_else(|| err("x", "is required"))?;
    let d = exact::<32>(map, "d")?;
    if d.is_some() && !allow_private {
        return Err(err("d", "a private key is not allowed here"));
    }
    match crv {
        "X25519" => {
            let public = x25519_dalek::PublicKey::from(*x);
            match d {
                None => Ok(OkpKey::X25519Public(public)),
                Some(d) => {
                    let secret = x25519_dalek::StaticSecret::from(*d);
                    if x25519_dalek::PublicKey::from(&secret) != public {
                        return Err(err("d", "does not match x"));
                    }
                    Ok(OkpKey::X25519Private(secret))
                }
            }
        }
        "Ed25519" => {
            let public = ed25519_dalek::VerifyingKey::from_bytes(&x)
                .map_err(|_| err("x", "not a valid Ed25519 public key"))?;
            match d {
                None => Ok(OkpKey::Ed25519Public(public)),
                Some(d) => {
                    let secret = ed25519_dalek::SigningKey::from_bytes(&d);
                    if secret.verifying_key() != public {
                        return Err(err("d", "does not match x"));
                    }
                    Ok(OkpKey::Ed25519Private(Box::new(secret)))
                }
            }
        }
        _ => Err(err(
            "crv",
            "expected X25519 or Ed25519 (Ed448 and X448 are not supported)",
        )),
    }
}
