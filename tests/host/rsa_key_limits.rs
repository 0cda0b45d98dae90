//! RSA key sizes at configuration time, with the large RSA keys of the
//! Wycheproof vectors (`../shared/wycheproof/primitives`): decryption keys
//! over 4096 bits are refused naming the field, 4096-bit decryption keys
//! and 8192-bit verification keys are accepted. Which key a token is tried
//! against is in `tests/hermetic/key_fit.rs`.

use crate::common::*;
use jwe_authn::config::CompiledConfig;
use jwe_authn::jose::jwk::KeyType;
use serde_json::{json, Value};

fn wycheproof_oaep_group(key_size: u64) -> Value {
    let file = read_json(shared("wycheproof/primitives/rsa_oaep_misc_test.json"));
    file["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["keySize"] == key_size && g.get("privateKeyJwk").is_some())
        .unwrap_or_else(|| panic!("no RSA-{key_size} key with a JWK"))
        .clone()
}

fn decryption_config(decryption_keys: Value) -> Value {
    let signer = key(KeyType::P256, "sig");
    let mut config = config_value(&[], &[public(&signer)], json!({}));
    config["decryption_keys"] = decryption_keys;
    config
}

#[test]
fn rsa_8192_decryption_keys_are_refused_naming_the_field() {
    let group = wycheproof_oaep_group(8192);
    let jwk = group["privateKeyJwk"].clone();
    let other = key(KeyType::P256, "p256");
    let config = decryption_config(json!({"keys": [private(&other), jwk]}));
    let err = CompiledConfig::from_json(&config.to_string()).unwrap_err();
    assert_eq!(err.path, "decryption_keys.keys[1].n", "{err}");
    assert!(err.message.contains("4096"), "{err}");
    // The same key as PEM.
    let config = decryption_config(json!({"pem": [{"pem": group["privateKeyPem"]}]}));
    let err = CompiledConfig::from_json(&config.to_string()).unwrap_err();
    assert_eq!(err.path, "decryption_keys.pem[0].pem", "{err}");
    // And from the environment.
    let config = decryption_config(json!({"keys": [private(&other)]}));
    let mut config = config;
    config["decryption_keys_from_env"] = json!("JWE_KEYS");
    let jwks = json!({"keys": [group["privateKeyJwk"]]}).to_string();
    let env = |name: &str| (name == "JWE_KEYS").then(|| jwks.clone());
    let err = CompiledConfig::from_json_with_env(&config.to_string(), &env).unwrap_err();
    assert_eq!(
        err.path, "decryption_keys_from_env($JWE_KEYS).keys[0].n",
        "{err}"
    );
}

#[test]
fn rsa_4096_decryption_keys_and_8192_verification_keys_are_accepted() {
    let group = wycheproof_oaep_group(4096);
    let config = decryption_config(json!({"keys": [group["privateKeyJwk"]]}));
    CompiledConfig::from_json(&config.to_string()).unwrap_or_else(|e| panic!("{e}"));
    // Verification is a public-key operation: up to 8192 bits stay allowed.
    let big = wycheproof_oaep_group(8192)["privateKeyJwk"].clone();
    let mut public = big.as_object().unwrap().clone();
    for private in ["d", "p", "q", "dp", "dq", "qi", "alg"] {
        public.remove(private);
    }
    let enc = key(KeyType::P256, "enc");
    let config = config_value(&[private(&enc)], &[Value::Object(public)], json!({}));
    CompiledConfig::from_json(&config.to_string()).unwrap_or_else(|e| panic!("{e}"));
}
