//! Configuration errors name the field path and what was expected; nothing
//! is silently defaulted and nothing panics.

use jwe_authn::config::CompiledConfig;
use serde_json::{json, Value};

fn oct(kid: &str) -> Value {
    json!({"kty": "oct", "kid": kid, "k": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"})
}

fn base() -> Value {
    json!({
        "decryption_keys": {"keys": [oct("enc")]},
        "providers": {"idp": {"issuer": "https://idp.test", "local_jwks": {"keys": [oct("sig")]}}}
    })
}

fn error_for(config: Value) -> (String, String) {
    let e = CompiledConfig::from_json(&config.to_string()).unwrap_err();
    (e.path.clone(), e.to_string())
}

#[test]
fn the_base_configuration_compiles_with_documented_defaults() {
    let c = CompiledConfig::from_json(&base().to_string()).unwrap();
    assert_eq!(c.clock_skew_seconds, 60);
    assert!(c.require_expiration);
    assert!(c.require_signature);
    assert_eq!(c.max_token_bytes, 16384);
    assert_eq!(c.key_management.len(), 15);
    assert_eq!(c.content_encryption.len(), 6);
    assert_eq!(c.signature.len(), 13);
}

#[test]
fn unknown_fields_are_errors_at_every_level() {
    let mut c = base();
    c["bogus"] = json!(1);
    assert!(error_for(c).1.contains("bogus"));
    let mut c = base();
    c["providers"]["idp"]["audience"] = json!(["x"]);
    let (path, msg) = error_for(c);
    assert_eq!(path, "providers.idp.audience");
    assert!(msg.contains("unknown field"), "{msg}");
    let mut c = base();
    c["algorithms"] = json!({"signatures": ["ES256"]});
    assert_eq!(error_for(c).0, "algorithms.signatures");
}

#[test]
fn wrong_types_name_the_field() {
    let mut c = base();
    c["clock_skew_seconds"] = json!("60");
    assert_eq!(error_for(c).0, "clock_skew_seconds");
    let mut c = base();
    c["providers"]["idp"]["audiences"] = json!("orders");
    assert_eq!(error_for(c).0, "providers.idp.audiences");
}

#[test]
fn missing_required_fields_are_named() {
    let mut c = base();
    c.as_object_mut().unwrap().remove("decryption_keys");
    assert!(error_for(c).1.contains("decryption_keys"));
    let mut c = base();
    c["providers"]["idp"]
        .as_object_mut()
        .unwrap()
        .remove("issuer");
    let (path, msg) = error_for(c);
    assert_eq!(path, "providers.idp");
    assert!(msg.contains("issuer"), "{msg}");
}

#[test]
fn unusable_keys_name_the_key_and_member() {
    let mut c = base();
    c["providers"]["idp"]["local_jwks"]["keys"] =
        json!([oct("a"), {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]);
    let (path, _) = error_for(c);
    assert!(
        path.starts_with("providers.idp.local_jwks.keys[1]"),
        "{path}"
    );
    let mut c = base();
    c["decryption_keys"]["keys"] = json!([{"kty": "oct", "k": "AAAA="}]);
    assert!(error_for(c).0.starts_with("decryption_keys.keys[0]"));
    let mut c = base();
    c["decryption_keys"]["pem"] =
        json!([{"pem": "-----BEGIN NONSENSE-----\n-----END NONSENSE-----"}]);
    assert!(error_for(c).0.starts_with("decryption_keys.pem[0]"));
}

#[test]
fn contradictions_are_refused() {
    let mut c = base();
    c["decryption_keys"]["keys"] = json!([]);
    assert_eq!(error_for(c).0, "decryption_keys");
    let mut c = base();
    c["providers"] = json!({});
    assert_eq!(error_for(c).0, "providers");
    let mut c = base();
    c["providers"]["other"] = c["providers"]["idp"].clone();
    assert_eq!(error_for(c).0, "providers.other.issuer");
    let mut c = base();
    c["max_token_bytes"] = json!(10);
    assert_eq!(error_for(c).0, "max_token_bytes");
    let mut c = base();
    c["algorithms"] = json!({"key_management": ["RSA1_5"]});
    assert_eq!(error_for(c).0, "algorithms.key_management[0]");
    let mut c = base();
    c["algorithms"] = json!({"signature": []});
    assert_eq!(error_for(c).0, "algorithms.signature");
}

#[test]
fn duplicate_members_and_bad_json_are_errors() {
    let text =
        r#"{"decryption_keys": {"keys": []}, "decryption_keys": {"keys": []}, "providers": {}}"#;
    let e = CompiledConfig::from_json(text).unwrap_err();
    assert!(e.message.contains("duplicate"), "{e}");
    assert!(CompiledConfig::from_json("{").is_err());
    assert!(CompiledConfig::from_json("[]").is_err());
}

#[test]
fn a_public_key_cannot_decrypt() {
    // An EC public key (no d) as a decryption key is a configuration error.
    let mut c = base();
    c["decryption_keys"]["keys"] = json!([{
        "kty": "EC", "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    }]);
    let (path, msg) = error_for(c);
    assert_eq!(path, "decryption_keys.keys[0]", "{msg}");
}

#[test]
fn decryption_keys_from_the_environment() {
    let mut c = base();
    c["decryption_keys"] = json!({});
    c["decryption_keys_from_env"] = json!("KEYS");
    let text = c.to_string();
    let jwks = json!({"keys": [oct("from-env")]}).to_string();
    let env = |name: &str| (name == "KEYS").then(|| jwks.clone());
    let compiled = CompiledConfig::from_json_with_env(&text, &env).unwrap();
    assert_eq!(compiled.decryption_keys.len(), 1);
    assert_eq!(compiled.decryption_keys[0].kid.as_deref(), Some("from-env"));
    // Unset, not JSON, public keys: errors name the variable, never its contents.
    let e = CompiledConfig::from_json_with_env(&text, &|_| None).unwrap_err();
    assert_eq!(e.path, "decryption_keys_from_env");
    assert!(e.message.contains("`KEYS` is not set"));
    let e =
        CompiledConfig::from_json_with_env(&text, &|_| Some("secret-not-json".into())).unwrap_err();
    assert!(!e.to_string().contains("secret-not-json"), "{e}");
    let public = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}).to_string();
    let e = CompiledConfig::from_json_with_env(&text, &|_| Some(public.clone())).unwrap_err();
    assert_eq!(e.path, "decryption_keys_from_env($KEYS).keys[0]");
    // Inline and environment keys add up.
    let mut both = base();
    both["decryption_keys_from_env"] = json!("KEYS");
    assert_eq!(
        CompiledConfig::from_json_with_env(&both.to_string(), &env)
            .unwrap()
            .decryption_keys
            .len(),
        2
    );
}
