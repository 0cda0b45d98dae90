//! Writing keys back out as JWK JSON: the CLI's `keygen` and the public half
//! of a key. Private members are only ever produced by [`private_jwk`].

use super::{EcKey, Jwk, Key, OkpKey, RsaKey};
use crate::jose::b64;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::BoxedUint;
use serde_json::{json, Map, Value};

fn uint(value: &BoxedUint) -> String {
    b64::encode(&value.to_be_bytes_trimmed_vartime())
}

fn rsa_public(key: &rsa::RsaPublicKey) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kty".into(), json!("RSA"));
    m.insert("n".into(), json!(uint(key.n().as_ref())));
    m.insert("e".into(), json!(uint(key.e())));
    m
}

/// Uncompressed SEC1 point `04 || x || y` split into JWK coordinates.
fn ec_coordinates(crv: &str, sec1: &[u8]) -> Map<String, Value> {
    let coordinates = sec1.get(1..).unwrap_or_default();
    let (x, y) = coordinates.split_at(coordinates.len() / 2);
    let mut m = Map::new();
    m.insert("kty".into(), json!("EC"));
    m.insert("crv".into(), json!(crv));
    m.insert("x".into(), json!(b64::encode(x)));
    m.insert("y".into(), json!(b64::encode(y)));
    m
}

fn okp(crv: &str, x: &[u8]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kty".into(), json!("OKP"));
    m.insert("crv".into(), json!(crv));
    m.insert("x".into(), json!(b64::encode(x)));
    m
}

/// The public members of a key; `None` for `oct`, which has no public half.
pub(super) fn public_members(key: &Key) -> Option<Map<String, Value>> {
    Some(match key {
        Key::Rsa(RsaKey::Private(k)) => rsa_public(k.as_public_key()),
        Key::Rsa(RsaKey::Public(k)) => rsa_public(k),
        Key::Ec(EcKey::P256Private(k)) => ec_coordinates("P-256", &k.public_key().to_sec1_bytes()),
        Key::Ec(EcKey::P256Public(k)) => ec_coordinates("P-256", &k.to_sec1_bytes()),
        Key::Ec(EcKey::P384Private(k)) => ec_coordinates("P-384", &k.public_key().to_sec1_bytes()),
        Key::Ec(EcKey::P384Public(k)) => ec_coordinates("P-384", &k.to_sec1_bytes()),
        Key::Ec(EcKey::P521Private(k)) => ec_coordinates("P-521", &k.public_key().to_sec1_bytes()),
        Key::Ec(EcKey::P521Public(k)) => ec_coordinates("P-521", &k.to_sec1_bytes()),
        Key::Okp(OkpKey::X25519Private(k)) => {
            okp("X25519", x25519_dalek::PublicKey::from(k).as_bytes())
        }
        Key::Okp(OkpKey::X25519Public(k)) => okp("X25519", k.as_bytes()),
        Key::Okp(OkpKey::Ed25519Private(k)) => okp("Ed25519", k.verifying_key().as_bytes()),
        Key::Okp(OkpKey::Ed25519Public(k)) => okp("Ed25519", k.as_bytes()),
        Key::Oct(_) => return None,
    })
}

/// Add `kid`, `alg`, `use` and (mapped) `key_ops` to a JWK object.
fn with_metadata(mut m: Map<String, Value>, jwk: &Jwk, public_only: bool) -> Value {
    if let Some(kid) = &jwk.kid {
        m.insert("kid".into(), json!(kid));
    }
    if let Some(alg) = &jwk.alg {
        m.insert("alg".into(), json!(alg));
    }
    if let Some(u) = jwk.key_use {
        m.insert("use".into(), json!(u.name()));
    }
    if let Some(ops) = &jwk.key_ops {
        let mut out: Vec<&str> = Vec::new();
        for op in ops {
            let mapped = if public_only {
                match op.as_str() {
                    "sign" => "verify",
                    "decrypt" => "encrypt",
                    "unwrapKey" => "wrapKey",
                    other => other,
                }
            } else {
                op.as_str()
            };
            if !out.contains(&mapped) {
                out.push(mapped);
            }
        }
        m.insert("key_ops".into(), json!(out));
    }
    Value::Object(m)
}

/// The public half of `jwk` as a JWK object, or `None` for `oct` keys.
pub fn public_jwk(jwk: &Jwk) -> Option<Value> {
    public_members(&jwk.key).map(|m| with_metadata(m, jwk, true))
}

/// The complete private JWK (RSA with its CRT parameters), or `None` for a
/// public-only key.
pub fn private_jwk(jwk: &Jwk) -> Option<Value> {
    let mut m = match &jwk.key {
        Key::Oct(k) => {
            let mut m = Map::new();
            m.insert("kty".into(), json!("oct"));
            m.insert("k".into(), json!(b64::encode(k)));
            m
        }
        key if !key.is_private() => return None,
        key => public_members(key)?,
    };
    match &jwk.key {
        Key::Rsa(RsaKey::Private(k)) => {
            let [p, q] = k.primes() else { return None };
            m.insert("d".into(), json!(uint(k.d())));
            m.insert("p".into(), json!(uint(p.as_ref())));
            m.insert("q".into(), json!(uint(q.as_ref())));
            m.insert("dp".into(), json!(uint(k.dp()?)));
            m.insert("dq".into(), json!(uint(k.dq()?)));
            m.insert("qi".into(), json!(uint(&k.crt_coefficient()?)));
        }
        Key::Ec(EcKey::P256Private(k)) => {
            m.insert("d".into(), json!(b64::encode(&k.to_bytes())));
        }
        Key::Ec(EcKey::P384Private(k)) => {
            m.insert("d".into(), json!(b64::encode(&k.to_bytes())));
        }
        Key::Ec(EcKey::P521Private(k)) => {
            m.insert("d".into(), json!(b64::encode(&k.to_bytes())));
        }
        Key::Okp(OkpKey::X25519Private(k)) => {
            m.insert("d".into(), json!(b64::encode(k.as_bytes())));
        }
        Key::Okp(OkpKey::Ed25519Private(k)) => {
            m.insert("d".into(), json!(b64::encode(k.as_bytes())));
        }
        _ => {}
    }
    Some(with_metadata(m, jwk, false))
}
