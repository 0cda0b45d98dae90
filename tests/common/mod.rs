//! Shared helpers for the integration tests: keys, configurations and
//! minting through the crate's own JOSE code.
// Each test crate uses only some of these.
#![allow(dead_code)]

use jwe_authn::config::CompiledConfig;
use jwe_authn::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use jwe_authn::jose::jwe::encrypt::encrypt_compact;
use jwe_authn::jose::jwk::{self, Jwk, KeyType};
use jwe_authn::jose::jws::sign_compact;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// The fixed "now" of the tests, seconds since the epoch.
pub const NOW: u64 = 1_800_000_000;
/// The issuer of the test provider.
pub const ISSUER: &str = "https://idp.test";

/// `../shared` beside the crate.
pub fn shared(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(path)
}

/// Read and parse a JSON file.
pub fn read_json(path: impl AsRef<std::path::Path>) -> Value {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A fresh key with a kid.
pub fn key(kind: KeyType, kid: &str) -> Jwk {
    let mut k = Jwk::bare(jwk::generate(kind).unwrap());
    k.kid = Some(kid.to_string());
    k
}

/// The private JWK JSON of a key.
pub fn private(k: &Jwk) -> Value {
    jwk::private_jwk(k).expect("private key")
}

/// The public JWK JSON of a key (the secret itself for oct).
pub fn public(k: &Jwk) -> Value {
    jwk::public_jwk(k).unwrap_or_else(|| private(k))
}

/// A configuration with these decryption keys and one provider `test`
/// (issuer [`ISSUER`], audience `api`) with these verification keys;
/// `extra` members are merged into the top level.
pub fn config_value(decryption: &[Value], verification: &[Value], extra: Value) -> Value {
    let mut config = json!({
        "decryption_keys": {"keys": decryption},
        "providers": {"test": {"issuer": ISSUER, "audiences": ["api"], "local_jwks": {"keys": verification}}},
    });
    if let (Value::Object(base), Value::Object(more)) = (&mut config, extra) {
        base.extend(more);
    }
    config
}

/// The issuer of the HMAC provider `hmac` (see [`with_hmac_provider`]).
pub const HMAC_ISSUER: &str = "https://idp-hmac.test";

/// The issuer whose provider verifies `sig`: HMAC-signed tokens come from
/// their own provider, because a provider's key set may not mix shared
/// secrets with public keys.
pub fn issuer_for(sig: SignatureAlg) -> &'static str {
    if sig.name().starts_with("HS") {
        HMAC_ISSUER
    } else {
        ISSUER
    }
}

/// Move the `oct` keys of provider `test` into a second provider `hmac`
/// (issuer [`HMAC_ISSUER`], audience `api`).
pub fn with_hmac_provider(mut config: Value) -> Value {
    let keys = config["providers"]["test"]["local_jwks"]["keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let (secret, public): (Vec<Value>, Vec<Value>) =
        keys.into_iter().partition(|k| k["kty"] == "oct");
    config["providers"]["test"]["local_jwks"]["keys"] = Value::Array(public);
    config["providers"]["hmac"] =
        json!({"issuer": HMAC_ISSUER, "audiences": ["api"], "local_jwks": {"keys": secret}});
    config
}

/// Compile a configuration value, panicking with the error.
pub fn compile(config: &Value) -> CompiledConfig {
    CompiledConfig::from_json(&config.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// Standard claims valid at [`NOW`].
pub fn claims() -> Value {
    json!({"iss": ISSUER, "sub": "alice", "aud": "api", "exp": NOW + 3600, "iat": NOW - 10, "scope": "read write"})
}

/// Sign `claims` and encrypt the JWS: a nested JWT.
pub fn mint(
    sig: SignatureAlg,
    sign_key: &Jwk,
    alg: KeyManagementAlg,
    enc: ContentEncryptionAlg,
    enc_key: &Jwk,
    claims: &Value,
) -> String {
    let mut inner = Map::new();
    inner.insert("typ".into(), json!("JWT"));
    let jws = sign_compact(sig, sign_key, inner, claims.to_string().as_bytes()).unwrap();
    encrypt_jws(alg, enc, enc_key, &jws)
}

/// Encrypt arbitrary plaintext as a compact JWE with `cty: JWT`.
pub fn encrypt_jws(
    alg: KeyManagementAlg,
    enc: ContentEncryptionAlg,
    enc_key: &Jwk,
    plaintext: &str,
) -> String {
    let mut outer = Map::new();
    outer.insert("cty".into(), json!("JWT"));
    encrypt_compact(alg, enc, enc_key, outer, plaintext.as_bytes()).unwrap()
}

/// The key type a JWE `alg` needs, for generating test keys.
pub fn key_type_for(alg: KeyManagementAlg, enc: ContentEncryptionAlg, curve: KeyType) -> KeyType {
    use KeyManagementAlg::*;
    match alg {
        Dir => KeyType::Oct {
            bytes: enc.key_len(),
        },
        A128Kw | A128GcmKw => KeyType::Oct { bytes: 16 },
        A192Kw | A192GcmKw => KeyType::Oct { bytes: 24 },
        A256Kw | A256GcmKw => KeyType::Oct { bytes: 32 },
        RsaOaep | RsaOaep256 | RsaOaep384 | RsaOaep512 => KeyType::Rsa { bits: 2048 },
        EcdhEs | EcdhEsA128Kw | EcdhEsA192Kw | EcdhEsA256Kw => curve,
    }
}

/// The key type a JWS `alg` needs.
pub fn key_type_for_sig(alg: SignatureAlg) -> KeyType {
    use SignatureAlg::*;
    match alg {
        Rs256 | Rs384 | Rs512 | Ps256 | Ps384 | Ps512 => KeyType::Rsa { bits: 2048 },
        Es256 => KeyType::P256,
        Es384 => KeyType::P384,
        Es512 => KeyType::P521,
        EdDsa | Ed25519 => KeyType::Ed25519,
        Hs256 => KeyType::Oct { bytes: 32 },
        Hs384 => KeyType::Oct { bytes: 48 },
        Hs512 => KeyType::Oct { bytes: 64 },
    }
}

/// Encrypt `claims` as a JWE (no `cty`: its plaintext is the claims), then
/// sign that JWE's compact serialization with `cty: JWT`: the
/// encrypt-then-sign order of RFC 7519 §5.2.
pub fn mint_encrypt_then_sign(
    sig: SignatureAlg,
    sign_key: &Jwk,
    alg: KeyManagementAlg,
    enc: ContentEncryptionAlg,
    enc_key: &Jwk,
    claims: &Value,
) -> String {
    let jwe =
        encrypt_compact(alg, enc, enc_key, Map::new(), claims.to_string().as_bytes()).unwrap();
    sign_outer(sig, sign_key, &jwe)
}

/// Sign `payload` as the outer JWS of an encrypt-then-sign token
/// (`typ: JWT`, `cty: JWT`).
pub fn sign_outer(sig: SignatureAlg, sign_key: &Jwk, payload: &str) -> String {
    let mut header = Map::new();
    header.insert("typ".into(), json!("JWT"));
    header.insert("cty".into(), json!("JWT"));
    sign_compact(sig, sign_key, header, payload.as_bytes()).unwrap()
}

/// A DPoP proof (RFC 9449) signed by `signer` with `alg`, its public key in
/// the header, for `method` and `htu` with the access token `token`, issued
/// at `iat` with `jti`.
pub fn dpop_proof(
    alg: SignatureAlg,
    signer: &Jwk,
    method: &str,
    htu: &str,
    token: &str,
    iat: u64,
    jti: &str,
) -> String {
    use jwe_authn::jose::{b64, jws};
    let mut public = jwk::public_jwk(signer).unwrap();
    public.as_object_mut().unwrap().remove("kid");
    let header = json!({"typ": "dpop+jwt", "alg": alg.name(), "jwk": public});
    let claims = json!({
        "jti": jti,
        "htm": method,
        "htu": htu,
        "iat": iat,
        "ath": jwe_authn::dpop::access_token_hash(token),
    });
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string().as_bytes()),
        b64::encode(claims.to_string().as_bytes())
    );
    let signature = jws::sign(alg, &signer.key, input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(&signature))
}

/// The RFC 7638 thumbprint of `k` (what a token's `cnf.jkt` holds).
pub fn jkt(k: &Jwk) -> String {
    jwk::jwk_thumbprint(&k.key).unwrap()
}
