//! Which keys a token is tried against (issue 13, item 3): a token without
//! `kid` is tried only against keys that can open it (the `epk`'s curve,
//! the key length `alg` needs, the RSA modulus the encrypted key's length
//! gives), with at most one RSA private-key operation per token, and RSA
//! decryption keys over 4096 bits are refused at configuration time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use jwe_authn::config::CompiledConfig;
use jwe_authn::decrypt::DECRYPTION_FAILED;
use jwe_authn::jose::alg::{
    ContentEncryptionAlg as Enc, KeyManagementAlg as Alg, SignatureAlg as Sig,
};
use jwe_authn::jose::jwk::{Jwk, KeyType};
use jwe_authn::pipeline::verify_token;
use serde_json::{json, Value};

/// The same key without its `kid`: tokens minted to it carry none.
fn without_kid(k: &Jwk) -> Jwk {
    Jwk {
        kid: None,
        ..k.clone()
    }
}

fn config_with(decryption: &[&Jwk], signer: &Jwk) -> CompiledConfig {
    let keys: Vec<Value> = decryption.iter().map(|k| private(k)).collect();
    compile(&config_value(&keys, &[public(signer)], json!({})))
}

fn token(alg: Alg, enc: Enc, to: &Jwk, signer: &Jwk) -> String {
    mint(Sig::Es256, signer, alg, enc, to, &claims())
}

#[test]
fn ecdh_without_kid_finds_its_curve_after_four_other_keys() {
    let signer = key(KeyType::P256, "sig");
    let others = [
        key(KeyType::X25519, "x1"),
        key(KeyType::P384, "p384-1"),
        key(KeyType::X25519, "x2"),
        key(KeyType::P384, "p384-2"),
    ];
    let ours = key(KeyType::P256, "p256");
    let mut keys: Vec<&Jwk> = others.iter().collect();
    keys.push(&ours);
    let config = config_with(&keys, &signer);
    for alg in [Alg::EcdhEs, Alg::EcdhEsA128Kw, Alg::EcdhEsA256Kw] {
        let t = token(alg, Enc::A256Gcm, &without_kid(&ours), &signer);
        assert!(!t.contains("\"kid\""));
        let got = verify_token(&t, NOW, &config);
        assert!(got.is_ok(), "{alg}: {:?}", got.err());
    }
}

#[test]
fn key_wrap_without_kid_finds_its_length_after_four_other_keys() {
    let signer = key(KeyType::P256, "sig");
    let others: Vec<Jwk> = (0..4)
        .map(|i| key(KeyType::Oct { bytes: 32 }, &format!("oct256-{i}")))
        .collect();
    let ours = key(KeyType::Oct { bytes: 16 }, "oct128");
    let mut keys: Vec<&Jwk> = others.iter().collect();
    keys.push(&ours);
    let config = config_with(&keys, &signer);
    for alg in [Alg::A128Kw, Alg::A128GcmKw] {
        let t = token(alg, Enc::A128CbcHs256, &without_kid(&ours), &signer);
        let got = verify_token(&t, NOW, &config);
        assert!(got.is_ok(), "{alg}: {:?}", got.err());
    }
    // `dir`: the key must be exactly the `enc` key length (A128GCM: 16).
    let t = token(Alg::Dir, Enc::A128Gcm, &without_kid(&ours), &signer);
    assert!(verify_token(&t, NOW, &config).is_ok());
}

/// At most one RSA private-key operation per token. With two RSA keys of
/// the same size and no `kid`, only the first is tried (documented: issuers
/// must send `kid`); with the `kid`, the right one is found.
#[test]
fn rsa_without_kid_is_tried_against_one_key_only() {
    let signer = key(KeyType::P256, "sig");
    let first = key(KeyType::Rsa { bits: 2048 }, "rsa-1");
    let second = key(KeyType::Rsa { bits: 2048 }, "rsa-2");
    let config = config_with(&[&first, &second], &signer);
    let to_first = token(Alg::RsaOaep256, Enc::A256Gcm, &without_kid(&first), &signer);
    assert!(verify_token(&to_first, NOW, &config).is_ok());
    let to_second = token(
        Alg::RsaOaep256,
        Enc::A256Gcm,
        &without_kid(&second),
        &signer,
    );
    assert_eq!(
        verify_token(&to_second, NOW, &config).err().unwrap().reason,
        DECRYPTION_FAILED,
        "the second RSA key must not be tried"
    );
    let with_kid = token(Alg::RsaOaep256, Enc::A256Gcm, &second, &signer);
    assert!(verify_token(&with_kid, NOW, &config).is_ok());
}

/// The one RSA attempt goes to the key whose modulus is as long as the
/// encrypted key, wherever it is listed.
#[test]
fn rsa_without_kid_is_tried_against_the_matching_size() {
    let signer = key(KeyType::P256, "sig");
    let small = key(KeyType::Rsa { bits: 2048 }, "rsa-2048");
    let large = key(KeyType::Rsa { bits: 3072 }, "rsa-3072");
    let config = config_with(&[&small, &large], &signer);
    let t = token(Alg::RsaOaep, Enc::A128Gcm, &without_kid(&large), &signer);
    let got = verify_token(&t, NOW, &config);
    assert!(got.is_ok(), "{:?}", got.err());
}

/// With a `kid`, the key with that `kid` is tried before keys without one.
#[test]
fn a_kid_match_comes_before_keys_without_kid() {
    let signer = key(KeyType::P256, "sig");
    let anonymous = without_kid(&key(KeyType::Rsa { bits: 2048 }, "x"));
    let named = key(KeyType::Rsa { bits: 2048 }, "rsa-named");
    let config = config_with(&[&anonymous, &named], &signer);
    let t = token(Alg::RsaOaep256, Enc::A256Gcm, &named, &signer);
    let got = verify_token(&t, NOW, &config);
    assert!(got.is_ok(), "{:?}", got.err());
}

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
