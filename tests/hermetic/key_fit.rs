//! Which keys a token is tried against: a token without `kid` is tried
//! only against keys that can open it (the `epk`'s curve, the key length
//! `alg` needs, the RSA modulus the encrypted key's length gives), with at
//! most one RSA private-key operation per token. The RSA key-size limits at
//! configuration time, which need Wycheproof's large keys, are in
//! `tests/host/rsa_key_limits.rs`.

use crate::common::*;
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
