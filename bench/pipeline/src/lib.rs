//! The benchmark cases: the benchmark keys of `envoy/bench/keys`, the
//! configuration of `envoy/bench/jwe-authn.yaml` (same provider, claims and
//! forwarded header), and one token per algorithm, so the bare numbers here
//! line up with the Envoy rows of `make bench`.
//!
//! A case runs [`jwe_authn::decide::decide`] — the filter's exact entry
//! point — either cold (cache disabled: decrypt, verify, validate, decide on
//! every call) or hot (the token is cached).
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
use jwe_authn::jose::jwk::{parse_jwk, Jwk};
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

/// One benchmark case: a configuration and a token it accepts.
pub struct Case {
    /// The row name, as in BENCHMARKS.md.
    pub name: &'static str,
    pub config: CompiledConfig,
    /// The `authorization` header's value.
    pub authorization: String,
}

impl Case {
    /// Run the filter's decision once with `cache`; true when allowed.
    pub fn run(&self, cache: &mut Cache, keys: &mut FetchSchedule) -> bool {
        let request = Request {
            method: "GET",
            path: "/orders",
            headers: &[("authorization", self.authorization.as_str())],
            ..Default::default()
        };
        matches!(
            decide(&request, NOW, &self.config, cache, keys, &mut Unmetered),
            Decision::Allow(_)
        )
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
            "claim_to_headers": [{"header_name": "x-jwt-sub", "claim_name": "sub"}]
        }},
        "cache": {"max_entries": 10000, "ttl_seconds": 300}
    });
    CompiledConfig::from_json(&config.to_string()).map_err(|e| e.to_string())
}

fn token(
    sig: SignatureAlg,
    sign_key: &str,
    alg: KeyManagementAlg,
    enc_key: &str,
) -> Result<String, String> {
    let claims = json!({"iss": "https://idp.demo.example", "sub": "bench-user", "aud": "orders-api",
        "iat": NOW - 10, "exp": NOW + 7200});
    let mut inner = Map::new();
    inner.insert("typ".into(), json!("JWT"));
    let jws = sign_compact(sig, &jwk(sign_key)?, inner, claims.to_string().as_bytes())?;
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
            })
        })
        .collect()
}
