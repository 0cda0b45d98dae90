//! Known answers minted by an independent library from fixed keys
//! (`tests/fixtures/kat/jose.json`, written by panva/jose with
//! `node tests/interop/interop.mjs kat tests/fixtures/kat`): what we compute
//! must be byte for byte what jose computed, and what jose minted must pass
//! our pipeline for the right reasons.

use jwe_authn::config::CompiledConfig;
use jwe_authn::error::Reason;
use jwe_authn::jose::alg::SignatureAlg as Sig;
use jwe_authn::jose::jwk::{parse_jwk, Jwk};
use jwe_authn::jose::{b64, jws};
use jwe_authn::pipeline::verify_token;
use serde_json::{json, Map, Value};

/// RFC 8037 A.1's private key (the fixture holds only its public half).
const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

/// A time at which the fixtures (exp 2100-01-01) are valid.
const NOW: u64 = 1_800_000_000;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kat/jose.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The Ed25519 fixture's configuration: its decryption key, and one
/// provider with the RFC 8037 key (`key` merged over the fixture's).
fn ed25519_config(key: Value, extra: Value) -> CompiledConfig {
    let v = &fixture()["ed25519"];
    let mut jwk = v["key"].clone();
    if let (Value::Object(base), Value::Object(more)) = (&mut jwk, key) {
        base.extend(more);
    }
    let mut config = json!({
        "decryption_keys": {"keys": [v["decryption_key"]]},
        "providers": {"kat": {
            "issuer": v["claims"]["iss"], "audiences": ["orders-api"],
            "local_jwks": {"keys": [jwk]}
        }}
    });
    if let (Value::Object(base), Value::Object(more)) = (&mut config, extra) {
        base.extend(more);
    }
    CompiledConfig::from_json(&config.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// RFC 9864 §2.2: `Ed25519` names the signature RFC 8037 calls `EdDSA` on
/// an Ed25519 key. Ed25519 is deterministic, so our signature over jose's
/// header and RFC 8037 A.4's payload must be jose's exactly.
#[test]
fn an_ed25519_jws_is_the_known_answer() {
    let v = &fixture()["ed25519"];
    let mut private = v["key"].clone();
    private["d"] = json!(RFC8037_D);
    private.as_object_mut().unwrap().remove("kid");
    let key: Jwk = parse_jwk(&private).unwrap();
    let ours = jws::sign_compact(
        Sig::Ed25519,
        &key,
        Map::new(),
        v["payload"].as_str().unwrap().as_bytes(),
    )
    .unwrap();
    assert_eq!(ours, v["jws"].as_str().unwrap());
    let (input, signature) = ours.rsplit_once('.').unwrap();
    let signature = b64::decode(signature.as_bytes()).unwrap();
    assert!(jws::verify(
        Sig::Ed25519,
        &key.key,
        input.as_bytes(),
        &signature
    ));
    // The same key and payload under `EdDSA`: RFC 8037 A.4's signature,
    // a different one only because the header differs.
    let eddsa = jws::sign_compact(
        Sig::EdDsa,
        &key,
        Map::new(),
        v["payload"].as_str().unwrap().as_bytes(),
    )
    .unwrap();
    assert!(eddsa.ends_with(
        ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    ));
}

/// jose's nested token (A256KW/A256GCM around an `Ed25519` JWT) passes the
/// whole pipeline, and the inner JWS it carried is the deterministic one.
#[test]
fn a_jose_token_signed_with_ed25519_is_accepted() {
    let v = &fixture()["ed25519"];
    let token = v["token"].as_str().unwrap();
    let accepted = verify_token(token, NOW, &ed25519_config(json!({}), json!({}))).unwrap();
    assert_eq!(accepted.provider, "kat");
    assert_eq!(accepted.claims["sub"], "kat-user");
    assert_eq!(accepted.jws.as_deref(), v["inner_jws"].as_str());
    // A key marked for the fully specified name verifies it.
    let marked = ed25519_config(json!({"alg": "Ed25519", "use": "sig"}), json!({}));
    assert!(verify_token(token, NOW, &marked).is_ok());
    // So does an allow-list that names it.
    let listed = ed25519_config(json!({}), json!({"algorithms": {"signature": ["Ed25519"]}}));
    assert!(verify_token(token, NOW, &listed).is_ok());
}

/// Names are honoured strictly, as every key `alg` and allow-list entry is:
/// a key marked `EdDSA` verifies only `EdDSA` tokens, an allow-list of
/// `EdDSA` admits only `EdDSA` headers.
#[test]
fn eddsa_and_ed25519_are_two_names_each_honoured_exactly() {
    let v = &fixture()["ed25519"];
    let token = v["token"].as_str().unwrap();
    let marked = ed25519_config(json!({"alg": "EdDSA"}), json!({}));
    assert_eq!(
        verify_token(token, NOW, &marked).unwrap_err().reason,
        Reason::Signature("no verification key fits kid and alg")
    );
    let listed = ed25519_config(json!({}), json!({"algorithms": {"signature": ["EdDSA"]}}));
    assert_eq!(
        verify_token(token, NOW, &listed).unwrap_err().reason,
        Reason::Refused("JWS alg not in the allow-list")
    );
}

/// jose's encrypt-then-sign token (RFC 7519 §5.2: an `Ed25519` JWS with
/// `cty: JWT` around an A256KW/A256GCM JWE of the claims) passes for a
/// provider whose `nesting` enables that order, and only for one.
#[test]
fn a_jose_encrypt_then_sign_token_is_accepted_where_enabled() {
    let v = &fixture()["encrypt_then_sign"];
    let token = v["token"].as_str().unwrap();
    let config = |nesting: Value| {
        let config = json!({
            "decryption_keys": {"keys": [v["decryption_key"]]},
            "providers": {"kat": {
                "issuer": v["claims"]["iss"], "audiences": ["orders-api"],
                "local_jwks": {"keys": [v["key"]]}, "nesting": nesting
            }}
        });
        CompiledConfig::from_json(&config.to_string()).unwrap_or_else(|e| panic!("{e}"))
    };
    let accepted = verify_token(token, NOW, &config(json!(["encrypt_then_sign"]))).unwrap();
    assert_eq!(accepted.provider, "kat");
    assert_eq!(accepted.claims["sub"], "kat-user");
    assert_eq!(Value::Object(accepted.claims), v["claims"]);
    // The signed payload is jose's JWE, exactly.
    let payload = b64::decode(token.split('.').nth(1).unwrap().as_bytes()).unwrap();
    assert_eq!(
        std::str::from_utf8(&payload).unwrap(),
        v["inner_jwe"].as_str().unwrap()
    );
    let both = config(json!(["sign_then_encrypt", "encrypt_then_sign"]));
    assert!(verify_token(token, NOW, &both).is_ok());
    let default = config(json!(["sign_then_encrypt"]));
    assert_eq!(
        verify_token(token, NOW, &default).unwrap_err().reason,
        Reason::Refused("plain JWS bearer: the token must be encrypted")
    );
    // And the other KAT, a JWE outside, is refused by the provider that
    // takes only encrypt-then-sign, before any key work.
    let ste = fixture()["ed25519"]["token"].as_str().unwrap().to_string();
    let ets_only = config(json!(["encrypt_then_sign"]));
    assert!(matches!(
        verify_token(&ste, NOW, &ets_only).unwrap_err().reason,
        Reason::Nesting(_)
    ));
}
