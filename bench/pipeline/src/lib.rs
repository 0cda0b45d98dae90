//! The benchmark cases: the benchmark keys of `envoy/bench/keys`, the
//! configuration of `envoy/bench/jwe-authn.yaml` (same provider, claims and
//! forwarded header), and one token per algorithm, so the bare numbers here
//! line up with the Envoy rows of `make bench`.
//!
//! A case runs [`jwe_authn::decide::decide`] — the filter's exact entry
//! point — either cold (cache disabled: decrypt, verify, validate, decide on
//! every call) or hot (the token is cached).
//!
//! The `forged:` cases are tokens signed by a key the provider does not
//! have, in each nesting order: sign-then-encrypt (encrypted to our public
//! key, so the private-key operation runs before the signature fails) and
//! encrypt-then-sign (the outer signature fails first; nothing is
//! decrypted). They are denied, never cached: their hot column is their
//! cold cost again.
#![deny(unsafe_code)]

pub mod measure;

// proxy-wasm's `main!` defines the VM's exported entry point.
#[cfg(feature = "envoy-vm")]
#[allow(unsafe_code)]
mod envoy_vm;

use jwe_authn::admission::Unmetered;
use jwe_authn::cache::Cache;
use jwe_authn::config::CompiledConfig;
use jwe_authn::decide::{decide, Decision};
use jwe_authn::extract::Request;
use jwe_authn::fetch_schedule::FetchSchedule;
use jwe_authn::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use jwe_authn::jose::jwe::encrypt::encrypt_compact;
use jwe_authn::jose::jwk::{generate, parse_jwk, Jwk, KeyType};
use jwe_authn::jose::jws::sign_compact;
use serde_json::{json, Map, Value};

/// Seconds since the epoch used as "now" (the tokens are valid then).
pub const NOW: u64 = 1_800_000_000;

macro_rules! key {
    ($file:literal) => {
        include_str!(concat!("../../../envoy/bench/keys/", $file))
    };
}

fn jwk(text: &str) -> Result<Jwk, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    parse_jwk(&value).map_err(|e| e.to_string())
}

/// One benchmark case: a configuration and a token it accepts (or, for a
/// forged token, denies).
pub struct Case {
    /// The row name, as in BENCHMARKS.md.
    pub name: &'static str,
    pub config: CompiledConfig,
    /// The `authorization` header's value.
    pub authorization: String,
    /// Whether the token is allowed (false: a forged token).
    pub allowed: bool,
}

impl Case {
    /// Run the filter's decision once with `cache`; true when it decided
    /// as the case expects (allowed, or denied for a forged token).
    pub fn run(&self, cache: &mut Cache, keys: &mut FetchSchedule) -> bool {
        let request = Request {
            method: "GET",
            path: "/orders",
            headers: &[("authorization", self.authorization.as_str())],
            ..Default::default()
        };
        let allowed = matches!(
            decide(&request, NOW, &self.config, cache, keys, &mut Unmetered),
            Decision::Allow(_)
        );
        allowed == self.allowed
    }

    /// A cache as the filter builds it (local only: one worker).
    pub fn cache(&self, enabled: bool) -> Cache {
        let entries = if enabled { 10_000 } else { 0 };
        Cache::new(entries, 300)
    }

    /// The key store of the configuration (local keys only).
    pub fn keys(&self) -> FetchSchedule {
        FetchSchedule::new(&self.config)
    }
}

fn config() -> Result<CompiledConfig, String> {
    config_nesting(&["sign_then_encrypt"])
}

/// [`config`] with the provider's `nesting` set to `orders`.
fn config_nesting(orders: &[&str]) -> Result<CompiledConfig, String> {
    let private: Vec<Value> = [
        key!("enc-rsa.jwk"),
        key!("enc-p256.jwk"),
        key!("enc-x25519.jwk"),
        key!("enc-oct256.jwk"),
    ]
    .iter()
    .map(|t| serde_json::from_str(t).map_err(|e| e.to_string()))
    .collect::<Result<_, _>>()?;
    let public: Vec<Value> = [key!("sig-es256.pub.jwk"), key!("sig-rs256.pub.jwk")]
        .iter()
        .map(|t| serde_json::from_str(t).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let config = json!({
        "decryption_keys": {"keys": private},
        "providers": {"bench": {
            "issuer": "https://idp.demo.example",
            "audiences": ["orders-api"],
            "local_jwks": {"keys": public},
            "claim_to_headers": [{"header_name": "x-jwt-sub", "claim_name": "sub"}],
            "nesting": orders
        }},
        "cache": {"max_entries": 10000, "ttl_seconds": 300}
    });
    CompiledConfig::from_json(&config.to_string()).map_err(|e| e.to_string())
}

fn claims() -> Value {
    json!({"iss": "https://idp.demo.example", "sub": "bench-user", "aud": "orders-api",
        "iat": NOW - 10, "exp": NOW + 7200})
}

fn token(
    sig: SignatureAlg,
    sign_key: &str,
    alg: KeyManagementAlg,
    enc_key: &str,
) -> Result<String, String> {
    sign_then_encrypt(sig, &jwk(sign_key)?, alg, enc_key)
}

fn sign_then_encrypt(
    sig: SignatureAlg,
    sign_key: &Jwk,
    alg: KeyManagementAlg,
    enc_key: &str,
) -> Result<String, String> {
    let mut inner = Map::new();
    inner.insert("typ".into(), json!("JWT"));
    let jws = sign_compact(sig, sign_key, inner, claims().to_string().as_bytes())?;
    let mut outer = Map::new();
    outer.insert("cty".into(), json!("JWT"));
    Ok(encrypt_compact(
        alg,
        ContentEncryptionAlg::A256Gcm,
        &jwk(enc_key)?,
        outer,
        jws.as_bytes(),
    )?)
}

/// The claims as a JWE to `enc_key`, then that JWE signed (`cty: JWT`).
fn encrypt_then_sign(
    sig: SignatureAlg,
    sign_key: &Jwk,
    alg: KeyManagementAlg,
    enc_key: &str,
) -> Result<String, String> {
    let jwe = encrypt_compact(
        alg,
        ContentEncryptionAlg::A256Gcm,
        &jwk(enc_key)?,
        Map::new(),
        claims().to_string().as_bytes(),
    )?;
    let mut outer = Map::new();
    outer.insert("typ".into(), json!("JWT"));
    outer.insert("cty".into(), json!("JWT"));
    Ok(sign_compact(sig, sign_key, outer, jwe.as_bytes())?)
}

/// A key of the same type and `kid` as the benchmark signing key `real`,
/// that the provider does not have: what a forger signs with.
fn forger(real: &str) -> Result<Jwk, String> {
    let real = jwk(real)?;
    let kind = match &real.key {
        jwe_authn::jose::jwk::Key::Rsa(_) => KeyType::Rsa { bits: 2048 },
        _ => KeyType::P256,
    };
    let mut forged = Jwk::bare(generate(kind).map_err(|e| e.to_string())?);
    forged.kid = real.kid;
    Ok(forged)
}

/// The forged tokens, in both nesting orders, against a provider that
/// accepts both.
fn forged_cases() -> Result<Vec<Case>, String> {
    use KeyManagementAlg as A;
    use SignatureAlg as S;
    let both = ["sign_then_encrypt", "encrypt_then_sign"];
    let es256 = forger(key!("sig-es256.jwk"))?;
    let rs256 = forger(key!("sig-rs256.jwk"))?;
    let rows: [(&'static str, String); 4] = [
        (
            "forged: ECDH-ES P-256 + ES256, sign-then-encrypt",
            sign_then_encrypt(S::Es256, &es256, A::EcdhEs, key!("enc-p256.pub.jwk"))?,
        ),
        (
            "forged: ES256 around ECDH-ES P-256, encrypt-then-sign",
            encrypt_then_sign(S::Es256, &es256, A::EcdhEs, key!("enc-p256.pub.jwk"))?,
        ),
        (
            "forged: RSA-OAEP-256 + RS256, sign-then-encrypt",
            sign_then_encrypt(S::Rs256, &rs256, A::RsaOaep256, key!("enc-rsa.pub.jwk"))?,
        ),
        (
            "forged: RS256 around RSA-OAEP-256, encrypt-then-sign",
            encrypt_then_sign(S::Rs256, &rs256, A::RsaOaep256, key!("enc-rsa.pub.jwk"))?,
        ),
    ];
    rows.into_iter()
        .map(|(name, t)| {
            Ok(Case {
                name,
                config: config_nesting(&both)?,
                authorization: format!("Bearer {t}"),
                allowed: false,
            })
        })
        .collect()
}

/// Every case of the benchmark table, in its order.
pub fn cases() -> Result<Vec<Case>, String> {
    use KeyManagementAlg as A;
    use SignatureAlg as S;
    let rows: [(&'static str, S, &str, A, &str); 5] = [
        (
            "RSA-OAEP-256 + RS256",
            S::Rs256,
            key!("sig-rs256.jwk"),
            A::RsaOaep256,
            key!("enc-rsa.pub.jwk"),
        ),
        (
            "ECDH-ES P-256 + ES256",
            S::Es256,
            key!("sig-es256.jwk"),
            A::EcdhEs,
            key!("enc-p256.pub.jwk"),
        ),
        (
            "ECDH-ES+A256KW X25519 + ES256",
            S::Es256,
            key!("sig-es256.jwk"),
            A::EcdhEsA256Kw,
            key!("enc-x25519.pub.jwk"),
        ),
        (
            "A256KW + ES256",
            S::Es256,
            key!("sig-es256.jwk"),
            A::A256Kw,
            key!("enc-oct256.jwk"),
        ),
        (
            "dir + ES256",
            S::Es256,
            key!("sig-es256.jwk"),
            A::Dir,
            key!("enc-oct256.jwk"),
        ),
    ];
    rows.into_iter()
        .map(|(name, sig, sign_key, alg, enc_key)| {
            let t = token(sig, sign_key, alg, enc_key)?;
            Ok(Case {
                name,
                config: config()?,
                authorization: format!("Bearer {t}"),
                allowed: true,
            })
        })
        .chain(forged_cases().map_or_else(|e| vec![Err(e)], |c| c.into_iter().map(Ok).collect()))
        .collect()
}
