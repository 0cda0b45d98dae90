//! One negative test per attack the core must fail closed on. Each asserts
//! the precise internal reason, so a test cannot pass by failing for the
//! wrong cause.

use crate::common::*;
use jwe_authn::config::CompiledConfig;
use jwe_authn::error::Reason;
use jwe_authn::jose::alg::{
    ContentEncryptionAlg as Enc, KeyManagementAlg as Alg, SignatureAlg as Sig,
};
use jwe_authn::jose::jwe::content;
use jwe_authn::jose::jwk::{self, Jwk, Key, KeyType, RsaKey};
use jwe_authn::jose::{b64, jws};
use jwe_authn::pipeline::verify_token;
use serde_json::{json, Value};

/// A dir/A256GCM setup: the simplest way to put arbitrary bytes in a JWE.
struct Dir {
    key: Jwk,
    signer: Jwk,
    config: CompiledConfig,
}

fn dir_setup(extra: Value) -> Dir {
    let key = key(KeyType::Oct { bytes: 32 }, "enc-1");
    let signer = key_es256("sig-1");
    let config = compile(&config_value(&[private(&key)], &[public(&signer)], extra));
    Dir {
        key,
        signer,
        config,
    }
}

fn key_es256(kid: &str) -> Jwk {
    key(KeyType::P256, kid)
}

fn secret(k: &Jwk) -> Vec<u8> {
    match &k.key {
        Key::Oct(bytes) => bytes.to_vec(),
        _ => panic!("not an oct key"),
    }
}

/// A compact JWE with a hand-written protected header, encrypted with `cek`.
fn raw_jwe(header: &str, cek: &[u8], enc: Enc, plaintext: &[u8]) -> String {
    let h = b64::encode(header.as_bytes());
    let sealed = content::encrypt(enc, cek, h.as_bytes(), plaintext).unwrap();
    format!(
        "{h}..{}.{}.{}",
        b64::encode(&sealed.iv),
        b64::encode(&sealed.ciphertext),
        b64::encode(&sealed.tag)
    )
}

/// A compact JWS with a hand-written header and payload, signed with `key`.
fn raw_jws(header: &str, payload: &str, alg: Sig, key: &Jwk) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.as_bytes()),
        b64::encode(payload.as_bytes())
    );
    let sig = jws::sign(alg, &key.key, input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(&sig))
}

fn reject(token: &str, config: &CompiledConfig) -> Reason {
    match verify_token(token, NOW, config) {
        Ok(a) => panic!("accepted: {:?}", a.claims),
        Err(r) => r.reason,
    }
}

fn valid_dir_token(d: &Dir) -> String {
    mint(
        Sig::Es256,
        &d.signer,
        Alg::Dir,
        Enc::A256Gcm,
        &d.key,
        &claims(),
    )
}

/// Replace segment `i` of a compact token.
fn with_segment(token: &str, i: usize, value: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[i] = value.to_string();
    parts.join(".")
}

fn segment(token: &str, i: usize) -> Vec<u8> {
    b64::decode(token.split('.').nth(i).unwrap().as_bytes()).unwrap()
}

#[test]
fn the_valid_baseline_is_accepted() {
    let d = dir_setup(json!({}));
    let accepted = verify_token(&valid_dir_token(&d), NOW, &d.config).unwrap();
    assert_eq!(accepted.claims["sub"], "alice");
}

#[test]
fn alg_none_in_the_inner_jws_is_refused() {
    let d = dir_setup(json!({}));
    let payload = claims().to_string();
    let unsigned = format!(
        "{}.{}.",
        b64::encode(br#"{"alg":"none"}"#),
        b64::encode(payload.as_bytes())
    );
    let token = encrypt_jws(Alg::Dir, Enc::A256Gcm, &d.key, &unsigned);
    assert!(matches!(reject(&token, &d.config), Reason::Refused(_)));
}

#[test]
fn rsa1_5_is_refused_before_any_key_work() {
    let d = dir_setup(json!({}));
    let token = format!(
        "{}.AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA",
        b64::encode(br#"{"alg":"RSA1_5","enc":"A128GCM"}"#)
    );
    assert!(matches!(reject(&token, &d.config), Reason::Refused(_)));
}

#[test]
fn pbes2_with_a_huge_iteration_count_is_refused_by_name() {
    let d = dir_setup(json!({}));
    // p2c = 2,000,000,000: if anything ran PBKDF2 this test would take hours;
    // the refusal comes from the alg name, before p2c is read.
    let header = br#"{"alg":"PBES2-HS512+A256KW","enc":"A256GCM","p2c":2000000000,"p2s":"AAAAAAAAAAAAAAAAAAAAAA"}"#;
    let token = format!("{}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA", b64::encode(header));
    assert_eq!(
        reject(&token, &d.config),
        Reason::Refused("PBES2 is refused (password-based, unbounded work)")
    );
}

#[test]
fn unknown_crit_and_zip_are_refused() {
    let d = dir_setup(json!({}));
    let cek = secret(&d.key);
    for header in [
        r#"{"alg":"dir","enc":"A256GCM","crit":["exp"],"exp":1}"#,
        r#"{"alg":"dir","enc":"A256GCM","zip":"DEF"}"#,
    ] {
        let token = raw_jwe(header, &cek, Enc::A256Gcm, b"x.y.z");
        assert!(
            matches!(reject(&token, &d.config), Reason::Refused(_)),
            "{header}"
        );
    }
    // crit in the inner JWS too.
    let jws = raw_jws(
        r#"{"alg":"ES256","crit":["b64"],"b64":false}"#,
        &claims().to_string(),
        Sig::Es256,
        &d.signer,
    );
    let token = encrypt_jws(Alg::Dir, Enc::A256Gcm, &d.key, &jws);
    assert!(matches!(reject(&token, &d.config), Reason::Refused(_)));
}

#[test]
fn a_plain_jws_bearer_is_refused() {
    let d = dir_setup(json!({}));
    let jws = raw_jws(
        r#"{"alg":"ES256"}"#,
        &claims().to_string(),
        Sig::Es256,
        &d.signer,
    );
    assert_eq!(
        reject(&jws, &d.config),
        Reason::Refused("plain JWS bearer: the token must be encrypted")
    );
}

#[test]
fn a_jwe_inside_a_jwe_is_refused() {
    let d = dir_setup(json!({}));
    let inner = valid_dir_token(&d);
    let token = encrypt_jws(Alg::Dir, Enc::A256Gcm, &d.key, &inner);
    assert_eq!(
        reject(&token, &d.config),
        Reason::Refused("JWE inside a JWE")
    );
}

#[test]
fn an_unsigned_jwe_is_refused_unless_configured_with_symmetric_keys_only() {
    let d = dir_setup(json!({}));
    let token = encrypt_jws(Alg::Dir, Enc::A256Gcm, &d.key, &claims().to_string());
    assert!(matches!(reject(&token, &d.config), Reason::Refused(_)));

    let relaxed = dir_setup(json!({"require_signature": false}));
    let token = encrypt_jws(Alg::Dir, Enc::A256Gcm, &relaxed.key, &claims().to_string());
    assert_eq!(
        verify_token(&token, NOW, &relaxed.config).unwrap().claims["sub"],
        "alice"
    );

    let rsa = key(KeyType::Rsa { bits: 2048 }, "rsa");
    let config = config_value(
        &[private(&rsa)],
        &[public(&relaxed.signer)],
        json!({"require_signature": false}),
    );
    let err = CompiledConfig::from_json(&config.to_string()).unwrap_err();
    assert_eq!(err.path, "require_signature");
}

#[test]
fn alg_confusion_hs256_with_the_rsa_public_key_bytes_fails() {
    let enc = key(KeyType::Oct { bytes: 32 }, "enc");
    let rsa = key(KeyType::Rsa { bits: 2048 }, "sig");
    let config = compile(&config_value(&[private(&enc)], &[public(&rsa)], json!({})));
    let Key::Rsa(RsaKey::Private(private_key)) = &rsa.key else {
        panic!()
    };
    let public_key = private_key.to_public_key();
    // Try the usual spellings of "the public key's bytes" as an HMAC secret.
    use rsa::pkcs8::EncodePublicKey;
    let der = public_key.to_public_key_der().unwrap().as_bytes().to_vec();
    let pem = public_key
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap()
        .into_bytes();
    let n = b64::decode(public(&rsa)["n"].as_str().unwrap().as_bytes()).unwrap();
    for bytes in [der, pem, n] {
        let forged_key = Jwk {
            kid: Some("sig".into()),
            ..Jwk::bare(Key::Oct(bytes.into()))
        };
        let jws = raw_jws(
            r#"{"alg":"HS256","kid":"sig"}"#,
            &claims().to_string(),
            Sig::Hs256,
            &forged_key,
        );
        let token = encrypt_jws(Alg::Dir, Enc::A256Gcm, &enc, &jws);
        assert_eq!(
            reject(&token, &config),
            Reason::Signature("no verification key fits kid and alg")
        );
    }
}

#[test]
fn ecdh_es_epk_off_the_curve_is_rejected() {
    let p256 = key(KeyType::P256, "ec");
    let signer = key_es256("sig");
    let config = compile(&config_value(
        &[private(&p256)],
        &[public(&signer)],
        json!({}),
    ));
    let token = mint(
        Sig::Es256,
        &signer,
        Alg::EcdhEs,
        Enc::A256Gcm,
        &p256,
        &claims(),
    );
    let mut header: Value = serde_json::from_slice(&segment(&token, 0)).unwrap();
    // (1, 1) is not on P-256.
    let mut one = [0u8; 32];
    one[31] = 1;
    header["epk"]["x"] = json!(b64::encode(&one));
    header["epk"]["y"] = json!(b64::encode(&one));
    let forged = with_segment(&token, 0, &b64::encode(header.to_string().as_bytes()));
    assert_eq!(
        reject(&forged, &config),
        Reason::Malformed("epk is not a valid public key")
    );
}

#[test]
fn x25519_low_order_epk_is_rejected() {
    let x = key(KeyType::X25519, "x");
    let signer = key_es256("sig");
    let config = compile(&config_value(&[private(&x)], &[public(&signer)], json!({})));
    let token = mint(
        Sig::Es256,
        &signer,
        Alg::EcdhEsA128Kw,
        Enc::A128Gcm,
        &x,
        &claims(),
    );
    let mut header: Value = serde_json::from_slice(&segment(&token, 0)).unwrap();
    header["epk"]["x"] = json!(b64::encode(&[0u8; 32]));
    let forged = with_segment(&token, 0, &b64::encode(header.to_string().as_bytes()));
    let reason = reject(&forged, &config);
    assert!(
        matches!(reason, Reason::Decrypt(_) | Reason::Malformed(_)),
        "{reason:?}"
    );
}

#[test]
fn gcm_tag_truncated_or_iv_of_wrong_length_fails() {
    let d = dir_setup(json!({}));
    let token = valid_dir_token(&d);
    let tag = segment(&token, 4);
    let truncated = with_segment(&token, 4, &b64::encode(&tag[..12]));
    assert!(matches!(reject(&truncated, &d.config), Reason::Decrypt(_)));
    let iv = segment(&token, 2);
    let long_iv = with_segment(
        &token,
        2,
        &b64::encode(&[iv.as_slice(), &[0u8; 4]].concat()),
    );
    assert!(matches!(reject(&long_iv, &d.config), Reason::Decrypt(_)));
    let short_iv = with_segment(&token, 2, &b64::encode(&iv[..8]));
    assert!(matches!(reject(&short_iv, &d.config), Reason::Decrypt(_)));
}

#[test]
fn cbc_hs_tag_truncated_or_ciphertext_altered_fails() {
    let enc = key(KeyType::Oct { bytes: 32 }, "kw");
    let signer = key_es256("sig");
    let config = compile(&config_value(
        &[private(&enc)],
        &[public(&signer)],
        json!({}),
    ));
    let token = mint(
        Sig::Es256,
        &signer,
        Alg::A256Kw,
        Enc::A128CbcHs256,
        &enc,
        &claims(),
    );
    assert!(verify_token(&token, NOW, &config).is_ok());
    let tag = segment(&token, 4);
    let truncated = with_segment(&token, 4, &b64::encode(&tag[..8]));
    assert!(matches!(reject(&truncated, &config), Reason::Decrypt(_)));
    let mut ct = segment(&token, 3);
    ct[0] ^= 0x80;
    let altered = with_segment(&token, 3, &b64::encode(&ct));
    assert!(matches!(reject(&altered, &config), Reason::Decrypt(_)));
}

#[test]
fn altering_the_protected_header_breaks_the_aad() {
    let d = dir_setup(json!({}));
    let token = valid_dir_token(&d);
    let mut header: Value = serde_json::from_slice(&segment(&token, 0)).unwrap();
    header["typ"] = json!("JOSE");
    let forged = with_segment(&token, 0, &b64::encode(header.to_string().as_bytes()));
    assert_eq!(
        reject(&forged, &d.config),
        jwe_authn::decrypt::DECRYPTION_FAILED
    );
}

#[test]
fn key_size_mismatch_for_dir_and_key_wrap_fails() {
    // A 16-byte dir key presented for A256GCM (which needs 32).
    let small = key(KeyType::Oct { bytes: 16 }, "enc-1");
    let signer = key_es256("sig");
    let config = compile(&config_value(
        &[private(&small)],
        &[public(&signer)],
        json!({}),
    ));
    let jws = raw_jws(
        r#"{"alg":"ES256"}"#,
        &claims().to_string(),
        Sig::Es256,
        &signer,
    );
    let token = raw_jwe(
        r#"{"alg":"dir","enc":"A256GCM","kid":"enc-1"}"#,
        &[0u8; 32],
        Enc::A256Gcm,
        jws.as_bytes(),
    );
    assert!(matches!(reject(&token, &config), Reason::Decrypt(_)));
    // A 16-byte key labelled A256KW.
    let kw16 = mint(
        Sig::Es256,
        &signer,
        Alg::A128Kw,
        Enc::A128Gcm,
        &small,
        &claims(),
    );
    let mut header: Value = serde_json::from_slice(&segment(&kw16, 0)).unwrap();
    header["alg"] = json!("A256KW");
    let relabelled = with_segment(&kw16, 0, &b64::encode(header.to_string().as_bytes()));
    assert!(matches!(reject(&relabelled, &config), Reason::Decrypt(_)));
}

#[test]
fn encrypted_to_another_key_with_the_same_kid_fails() {
    let d = dir_setup(json!({}));
    let impostor = key(KeyType::Oct { bytes: 32 }, "enc-1");
    let token = mint(
        Sig::Es256,
        &d.signer,
        Alg::Dir,
        Enc::A256Gcm,
        &impostor,
        &claims(),
    );
    assert!(matches!(reject(&token, &d.config), Reason::Decrypt(_)));
    // Same with RSA-OAEP: the unwrap fails and a random CEK is used.
    let rsa = key(KeyType::Rsa { bits: 2048 }, "rsa-1");
    let other = key(KeyType::Rsa { bits: 2048 }, "rsa-1");
    let config = compile(&config_value(
        &[private(&rsa)],
        &[public(&d.signer)],
        json!({}),
    ));
    let token = mint(
        Sig::Es256,
        &d.signer,
        Alg::RsaOaep256,
        Enc::A256Gcm,
        &other,
        &claims(),
    );
    assert_eq!(
        reject(&token, &config),
        jwe_authn::decrypt::DECRYPTION_FAILED
    );
}

/// The detail kept for logs and the CLI must not tell a failed RSA-OAEP
/// unwrap (bad padding: wrong key) from a failed content tag (good key,
/// altered ciphertext): telling them apart is a padding-validity oracle.
#[test]
fn failed_unwrap_and_failed_tag_give_the_same_reason() {
    let signer = key_es256("sig");
    let rsa = key(KeyType::Rsa { bits: 2048 }, "rsa-1");
    let other = key(KeyType::Rsa { bits: 2048 }, "rsa-1");
    let config = compile(&config_value(
        &[private(&rsa)],
        &[public(&signer)],
        json!({}),
    ));
    let mint_to = |to: &Jwk| {
        mint(
            Sig::Es256,
            &signer,
            Alg::RsaOaep256,
            Enc::A256Gcm,
            to,
            &claims(),
        )
    };
    let good = mint_to(&rsa);
    assert!(verify_token(&good, NOW, &config).is_ok());
    // Our key, altered tag: the unwrap succeeds, the tag check fails.
    let mut tag = segment(&good, 4);
    tag[0] ^= 1;
    let bad_tag = reject(&with_segment(&good, 4, &b64::encode(&tag)), &config);
    // Another key with the same kid: the unwrap fails (OAEP padding).
    let wrong_key = reject(&mint_to(&other), &config);
    // Our key, altered encrypted key: the unwrap fails too.
    let mut ek = segment(&good, 1);
    ek[7] ^= 1;
    let bad_ek = reject(&with_segment(&good, 1, &b64::encode(&ek)), &config);
    assert_eq!(bad_tag, wrong_key);
    assert_eq!(bad_tag, bad_ek);
    assert_eq!(bad_tag, jwe_authn::decrypt::DECRYPTION_FAILED);
    // The operator's view: the reason's text and its stat.
    assert_eq!(bad_tag.to_string(), wrong_key.to_string());
    assert_eq!(bad_tag.stat(), wrong_key.stat());
}

#[test]
fn signed_by_another_key_with_the_same_kid_fails() {
    let d = dir_setup(json!({}));
    let impostor = key_es256("sig-1");
    let token = mint(
        Sig::Es256,
        &impostor,
        Alg::Dir,
        Enc::A256Gcm,
        &d.key,
        &claims(),
    );
    assert_eq!(
        reject(&token, &d.config),
        Reason::Signature("signature does not verify")
    );
}

#[test]
fn keys_in_the_token_header_are_never_trusted() {
    let d = dir_setup(json!({}));
    let attacker = key_es256("sig-1");
    for member in ["jwk", "jku", "x5u", "x5c"] {
        let value = match member {
            "jwk" => public(&attacker),
            "x5c" => json!(["MIIB"]),
            _ => json!("https://attacker.example/keys"),
        };
        let header = json!({"alg": "ES256", "kid": "sig-1", member: value}).to_string();
        let jws = raw_jws(&header, &claims().to_string(), Sig::Es256, &attacker);
        let token = encrypt_jws(Alg::Dir, Enc::A256Gcm, &d.key, &jws);
        assert_eq!(
            reject(&token, &d.config),
            Reason::Signature("signature does not verify"),
            "{member}"
        );
    }
}

#[test]
fn padding_and_non_base64url_characters_are_malformed() {
    let d = dir_setup(json!({}));
    let token = valid_dir_token(&d);
    let iv = token.split('.').nth(2).unwrap().to_string();
    for bad in [
        format!("{iv}="),
        iv.replacen(|c: char| c.is_ascii_alphanumeric(), "+", 1),
        format!("{iv}/"),
        iv.replacen(|c: char| c.is_ascii_alphanumeric(), " ", 1),
    ] {
        let forged = with_segment(&token, 2, &bad);
        assert!(
            matches!(reject(&forged, &d.config), Reason::Malformed(_)),
            "{bad}"
        );
    }
}

#[test]
fn wrong_number_of_segments_is_malformed() {
    let d = dir_setup(json!({}));
    let token = valid_dir_token(&d);
    for bad in [
        token.rsplit_once('.').unwrap().0.to_string(),
        format!("{token}.AAAA"),
        "abc".into(),
        "a.b".into(),
        "....".into(),
    ] {
        let reason = reject(&bad, &d.config);
        assert!(matches!(reason, Reason::Malformed(_)), "{bad}: {reason:?}");
    }
}

#[test]
fn an_oversized_token_is_too_large() {
    let d = dir_setup(json!({"max_token_bytes": 1024}));
    let mut big = claims();
    big["pad"] = json!("x".repeat(2000));
    let token = mint(Sig::Es256, &d.signer, Alg::Dir, Enc::A256Gcm, &d.key, &big);
    assert_eq!(reject(&token, &d.config), Reason::TooLarge);
}

#[test]
fn duplicate_member_names_are_malformed_everywhere() {
    let d = dir_setup(json!({}));
    let cek = secret(&d.key);
    let good_jws = raw_jws(
        r#"{"alg":"ES256"}"#,
        &claims().to_string(),
        Sig::Es256,
        &d.signer,
    );
    // Outer header.
    let token = raw_jwe(
        r#"{"alg":"dir","enc":"A256GCM","enc":"A128GCM"}"#,
        &cek,
        Enc::A256Gcm,
        good_jws.as_bytes(),
    );
    assert!(matches!(reject(&token, &d.config), Reason::Malformed(_)));
    // Inner header.
    let jws = raw_jws(
        r#"{"alg":"ES256","alg":"HS256"}"#,
        &claims().to_string(),
        Sig::Es256,
        &d.signer,
    );
    let token = encrypt_jws(Alg::Dir, Enc::A256Gcm, &d.key, &jws);
    assert!(matches!(reject(&token, &d.config), Reason::Malformed(_)));
    // Claims.
    let payload = format!(
        r#"{{"iss":"{ISSUER}","sub":"alice","sub":"admin","aud":"api","exp":{}}}"#,
        NOW + 60
    );
    let jws = raw_jws(r#"{"alg":"ES256"}"#, &payload, Sig::Es256, &d.signer);
    let token = encrypt_jws(Alg::Dir, Enc::A256Gcm, &d.key, &jws);
    assert!(matches!(reject(&token, &d.config), Reason::Malformed(_)));
}

#[test]
fn rsa_keys_under_2048_bits_are_refused_at_configuration() {
    let mut rng = jwe_authn::jose::random::infallible_rng();
    let small = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let jwk = Jwk::bare(Key::Rsa(RsaKey::Private(Box::new(small))));
    let value = jwk::private_jwk(&jwk).unwrap();
    let signer = key_es256("sig");
    let config = config_value(&[value], &[public(&signer)], json!({}));
    let err = CompiledConfig::from_json(&config.to_string()).unwrap_err();
    assert!(err.path.starts_with("decryption_keys.keys[0]"), "{err}");
    assert!(err.to_string().contains("2048"), "{err}");
}

#[test]
fn claims_are_validated_exactly() {
    let d = dir_setup(json!({}));
    let run = |c: Value| {
        let token = mint(Sig::Es256, &d.signer, Alg::Dir, Enc::A256Gcm, &d.key, &c);
        verify_token(&token, NOW, &d.config)
            .map(|_| ())
            .map_err(|r| r.reason)
    };
    let with = |k: &str, v: Value| {
        let mut c = claims();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    assert_eq!(run(claims()), Ok(()));
    // exp: skew is 60 s by default.
    assert_eq!(run(with("exp", json!(NOW - 61))), Err(Reason::Expired));
    assert_eq!(run(with("exp", json!(NOW - 59))), Ok(()));
    assert_eq!(
        run(with("exp", json!("tomorrow"))),
        Err(Reason::Claims("exp is not a number"))
    );
    assert_eq!(run(without("exp")), Err(Reason::Claims("exp is required")));
    assert_eq!(run(with("nbf", json!(NOW + 61))), Err(Reason::NotYetValid));
    assert_eq!(run(with("nbf", json!(NOW + 59))), Ok(()));
    assert_eq!(
        run(with("nbf", json!([1]))),
        Err(Reason::Claims("nbf is not a number"))
    );
    assert_eq!(
        run(with("iss", json!("https://other.test"))),
        Err(Reason::Issuer)
    );
    assert_eq!(run(without("iss")), Err(Reason::Issuer));
    assert_eq!(run(with("aud", json!("other"))), Err(Reason::Audience));
    assert_eq!(run(with("aud", json!(["other", "api"]))), Ok(()));
    assert_eq!(run(without("aud")), Err(Reason::Audience));
    assert!(matches!(run(with("aud", json!(7))), Err(Reason::Claims(_))));
}

#[test]
fn the_inner_typ_requirement_is_enforced() {
    let enc = key(KeyType::Oct { bytes: 32 }, "enc");
    let signer = key_es256("sig");
    let mut config = config_value(&[private(&enc)], &[public(&signer)], json!({}));
    config["providers"]["test"]["typ"] = json!("at+jwt");
    let config = compile(&config);
    let token_with = |typ: &str| {
        let header = json!({"alg": "ES256", "typ": typ}).to_string();
        let jws = raw_jws(&header, &claims().to_string(), Sig::Es256, &signer);
        encrypt_jws(Alg::Dir, Enc::A256Gcm, &enc, &jws)
    };
    assert!(verify_token(&token_with("at+jwt"), NOW, &config).is_ok());
    assert!(verify_token(&token_with("application/AT+JWT"), NOW, &config).is_ok());
    assert_eq!(
        reject(&token_with("JWT"), &config),
        Reason::Claims("inner typ does not match the provider's typ")
    );
}

#[test]
fn without_require_expiration_a_token_without_exp_passes() {
    let d = dir_setup(json!({"require_expiration": false}));
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    let token = mint(Sig::Es256, &d.signer, Alg::Dir, Enc::A256Gcm, &d.key, &c);
    assert!(verify_token(&token, NOW, &d.config).is_ok());
}

#[test]
fn every_decryption_failure_is_one_class_for_the_client() {
    let d = dir_setup(json!({}));
    let token = valid_dir_token(&d);
    let mut tag = segment(&token, 4);
    tag[0] ^= 1;
    let bad_tag = reject(&with_segment(&token, 4, &b64::encode(&tag)), &d.config);
    let impostor = key(KeyType::Oct { bytes: 32 }, "enc-1");
    let wrong_key = reject(
        &mint(
            Sig::Es256,
            &d.signer,
            Alg::A256Kw,
            Enc::A256Gcm,
            &impostor,
            &claims(),
        ),
        &compile(&config_value(
            &[private(&d.key)],
            &[public(&d.signer)],
            json!({}),
        )),
    );
    for r in [bad_tag, wrong_key] {
        assert_eq!(
            (r.status(), r.bearer_error(), r.stat()),
            (401, Some("invalid_token"), "decrypt")
        );
    }
}

#[test]
fn without_the_filter_a_remote_issuers_keys_are_not_available() {
    // The CLI has no fetched keys: a token of a `remote_jwks` or
    // `discovery` provider cannot be verified, and must say why ("no key
    // fits" would send an operator hunting for a wrong `kid`).
    let d = dir_setup(json!({}));
    for source in [
        json!({"remote_jwks": {"http_uri": {"uri": "https://idp.test/jwks", "cluster": "idp"}}}),
        json!({"discovery": {"cluster": "idp"}}),
    ] {
        let mut config = config_value(&[private(&d.key)], &[], json!({}));
        let provider = config["providers"]["test"].as_object_mut().unwrap();
        provider.remove("local_jwks");
        provider.extend(source.as_object().unwrap().clone());
        let config = compile(&config);
        assert_eq!(
            reject(&valid_dir_token(&d), &config),
            Reason::KeysUnavailable,
            "{source}"
        );
    }
}

#[test]
fn ed448_is_refused_by_name_before_any_key_work() {
    let d = dir_setup(json!({}));
    // No Ed448 implementation exists here: the signature bytes are never
    // looked at, the name alone refuses the token.
    let jws = format!(
        "{}.{}.{}",
        b64::encode(br#"{"alg":"Ed448"}"#),
        b64::encode(claims().to_string().as_bytes()),
        b64::encode(&[0u8; 114])
    );
    let token = encrypt_jws(Alg::Dir, Enc::A256Gcm, &d.key, &jws);
    assert_eq!(
        reject(&token, &d.config),
        Reason::Refused("Ed448 is not supported (of the EdDSA curves only Ed25519 is)")
    );
}
