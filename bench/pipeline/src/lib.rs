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
//!
//! The `DPoP` cases are a DPoP-bound token (`cnf.jkt`) with a fresh proof
//! on every call, by proof algorithm: the proof is checked on every
//! request, so their hot column is what a cached DPoP token costs beyond a
//! cached bearer token. Proofs are minted before the clock starts.
#![deny(unsafe_code)]

pub mod measure;

// proxy-wasm's `main!` defines the VM's exported entry point.
#[cfg(feature = "envoy-vm")]
#[allow(unsafe_code)]
mod envoy_vm;

use jwe_authn::admission::{Gate, Shed};
use jwe_authn::cache::Cache;
use jwe_authn::config::CompiledConfig;
use jwe_authn::decide::{decide, Decision};
use jwe_authn::extract::Request;
use jwe_authn::fetch_schedule::FetchSchedule;
use jwe_authn::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use jwe_authn::jose::jwe::encrypt::encrypt_compact;
use jwe_authn::jose::jwk::{generate, parse_jwk, Jwk, KeyType};
use jwe_authn::jose::jws::{sign_compact, HostVerify};
use serde_json::{json, Map, Value};
use std::cell::Cell;

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
    /// For a DPoP case: one proof per call, in order.
    pub proofs: Option<Proofs>,
}

/// DPoP proofs minted up front, each used once (a second use is a replay).
pub struct Proofs {
    list: Vec<String>,
    next: Cell<usize>,
}

/// Proofs each DPoP case holds: enough for the measurement's calls.
pub const DPOP_PROOFS: usize = 600;

impl Case {
    /// Run the filter's decision once with `cache`; true when it decided
    /// as the case expects (allowed, or denied for a forged token).
    pub fn run(&self, cache: &mut Cache, keys: &mut FetchSchedule) -> bool {
        self.run_with(cache, keys, None)
    }

    /// [`Case::run`], with the RS* and ES* signatures checked by `host`
    /// (Envoy's `verify_signature`, as the filter does) when there is one.
    pub fn run_with(
        &self,
        cache: &mut Cache,
        keys: &mut FetchSchedule,
        host: Option<HostVerify>,
    ) -> bool {
        let proof = match &self.proofs {
            None => None,
            Some(p) => {
                let i = p.next.get();
                p.next.set(i + 1);
                match p.list.get(i) {
                    Some(proof) => Some(proof.as_str()),
                    None => return false,
                }
            }
        };
        let with_proof;
        let headers: &[(&str, &str)] = match proof {
            None => &[("authorization", self.authorization.as_str())][..],
            Some(proof) => {
                with_proof = [
                    ("authorization", self.authorization.as_str()),
                    ("dpop", proof),
                    (":scheme", "https"),
                    (":authority", "api.example"),
                ];
                &with_proof[..]
            }
        };
        let request = Request {
            method: "GET",
            path: "/orders",
            headers,
            ..Default::default()
        };
        let allowed = matches!(
            decide(&request, NOW, &self.config, cache, keys, &mut Offload(host)),
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

/// No budget (as [`jwe_authn::admission::Unmetered`]), and the host's
/// signature check when there is one.
struct Offload(Option<HostVerify>);

impl Gate for Offload {
    fn admit(&mut self, _units: u64) -> Result<(), Shed> {
        Ok(())
    }

    fn host_verify(&self) -> Option<HostVerify> {
        self.0
    }
}

fn config() -> Result<CompiledConfig, String> {
    config_with(&["sign_then_encrypt"], false)
}

/// [`config`] with the provider's `nesting` set to `orders`.
fn config_nesting(orders: &[&str]) -> Result<CompiledConfig, String> {
    config_with(orders, false)
}

/// [`config`] with `nesting`, and `dpop` on when `dpop`.
fn config_with(orders: &[&str], dpop: bool) -> Result<CompiledConfig, String> {
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
    let mut config = json!({
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
    if dpop {
        config["providers"]["bench"]["dpop"] = json!({});
    }
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
    sign_then_encrypt_claims(sig, sign_key, alg, enc_key, &claims())
}

fn sign_then_encrypt_claims(
    sig: SignatureAlg,
    sign_key: &Jwk,
    alg: KeyManagementAlg,
    enc_key: &str,
    claims: &Value,
) -> Result<String, String> {
    let mut inner = Map::new();
    inner.insert("typ".into(), json!("JWT"));
    let jws = sign_compact(sig, sign_key, inner, claims.to_string().as_bytes())?;
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
                proofs: None,
            })
        })
        .collect()
}

/// A DPoP proof (RFC 9449) by `client` for `GET https://api.example/orders`
/// with `token`, number `n`.
fn proof(alg: SignatureAlg, client: &Jwk, token: &str, n: usize) -> Result<String, String> {
    use jwe_authn::jose::{b64, jws};
    let public = jwe_authn::jose::jwk::public_jwk(client).ok_or("no public key")?;
    let header = json!({"typ": "dpop+jwt", "alg": alg.name(), "jwk": public});
    let claims = json!({"jti": format!("bench-{n}"), "htm": "GET",
        "htu": "https://api.example/orders", "iat": NOW,
        "ath": jwe_authn::dpop::access_token_hash(token)});
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string().as_bytes()),
        b64::encode(claims.to_string().as_bytes())
    );
    let signature = jws::sign(alg, &client.key, input.as_bytes())?;
    Ok(format!("{input}.{}", b64::encode(&signature)))
}

/// A DPoP-bound ECDH-ES+A256KW X25519 + ES256 token (the hot row's token
/// with `cnf.jkt`) and [`DPOP_PROOFS`] proofs for it, by proof algorithm.
fn dpop_cases() -> Result<Vec<Case>, String> {
    use SignatureAlg as S;
    let rows: [(&'static str, S, KeyType); 3] = [
        (
            "DPoP ES256 proof, X25519 + ES256 token",
            S::Es256,
            KeyType::P256,
        ),
        (
            "DPoP Ed25519 proof, X25519 + ES256 token",
            S::Ed25519,
            KeyType::Ed25519,
        ),
        (
            "DPoP PS256 proof (RSA-2048), X25519 + ES256 token",
            S::Ps256,
            KeyType::Rsa { bits: 2048 },
        ),
    ];
    rows.into_iter()
        .map(|(name, alg, kind)| {
            let client = Jwk::bare(generate(kind).map_err(|e| e.to_string())?);
            let jkt = jwe_authn::jose::jwk::jwk_thumbprint(&client.key).ok_or("no jkt")?;
            let mut claims = claims();
            claims["cnf"] = json!({"jkt": jkt});
            let t = sign_then_encrypt_claims(
                S::Es256,
                &jwk(key!("sig-es256.jwk"))?,
                KeyManagementAlg::EcdhEsA256Kw,
                key!("enc-x25519.pub.jwk"),
                &claims,
            )?;
            let list = (0..DPOP_PROOFS)
                .map(|n| proof(alg, &client, &t, n))
                .collect::<Result<_, _>>()?;
            Ok(Case {
                name,
                config: config_with(&["sign_then_encrypt"], true)?,
                authorization: format!("DPoP {t}"),
                allowed: true,
                proofs: Some(Proofs {
                    list,
                    next: Cell::new(0),
                }),
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
                proofs: None,
            })
        })
        .chain(forged_cases().map_or_else(|e| vec![Err(e)], |c| c.into_iter().map(Ok).collect()))
        .chain(dpop_cases().map_or_else(|e| vec![Err(e)], |c| c.into_iter().map(Ok).collect()))
        .collect()
}
