//! Encrypt-then-sign (RFC 7519 §5.2: a JWS, `cty: JWT`, whose payload is a
//! JWE of the claims), accepted only by a provider whose `nesting` lists
//! it; the outer signature is checked before anything is decrypted. The
//! attacks of `attacks.rs` again, for this order, each asserting the
//! precise reason and, where it matters, that no decryption was asked for.

use crate::common::*;
use jwe_authn::admission::{self, Gate, Shed};
use jwe_authn::config::CompiledConfig;
use jwe_authn::error::Reason;
use jwe_authn::fetch_schedule::LocalKeys;
use jwe_authn::jose::alg::{
    ContentEncryptionAlg as Enc, KeyManagementAlg as Alg, SignatureAlg as Sig,
};
use jwe_authn::jose::b64;
use jwe_authn::jose::jwk::{Jwk, KeyType};
use jwe_authn::pipeline::{verify_token, verify_token_with, Accepted, Rejected};
use serde_json::{json, Value};

/// What a token asked of the cold-path budget, in order.
#[derive(Default)]
struct Recording(Vec<u64>);

impl Gate for Recording {
    fn admit(&mut self, units: u64) -> Result<(), Shed> {
        self.0.push(units);
        Ok(())
    }
}

/// A budget that refuses everything.
struct Spent;

impl Gate for Spent {
    fn admit(&mut self, _units: u64) -> Result<(), Shed> {
        Err(Shed::Budget)
    }
}

/// Keys and a configuration: decryption by ECDH-ES+A256KW on P-256 (a
/// private-key operation, as a forged token should not get to cause),
/// signatures ES256.
struct Setup {
    enc: Jwk,
    signer: Jwk,
    config: CompiledConfig,
}

fn setup(nesting: Value, extra: Value) -> Setup {
    let enc = key(KeyType::P256, "enc-1");
    let signer = key(KeyType::P256, "sig-1");
    let mut config = config_value(&[private(&enc)], &[public(&signer)], extra);
    config["providers"]["test"]["nesting"] = nesting;
    Setup {
        config: compile(&config),
        enc,
        signer,
    }
}

fn ets() -> Setup {
    setup(json!(["encrypt_then_sign"]), json!({}))
}

fn token(s: &Setup, claims: &Value) -> String {
    mint_encrypt_then_sign(
        Sig::Es256,
        &s.signer,
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &s.enc,
        claims,
    )
}

fn inner_jwe(s: &Setup, claims: &Value) -> String {
    let jws = token(s, claims);
    String::from_utf8(b64::decode(jws.split('.').nth(1).unwrap().as_bytes()).unwrap()).unwrap()
}

fn run(token: &str, config: &CompiledConfig) -> (Result<Accepted, Rejected>, Vec<u64>) {
    let mut gate = Recording::default();
    let result = verify_token_with(token, NOW, config, &LocalKeys, &mut gate);
    (result, gate.0)
}

/// The reason `token` is rejected, and what it asked of the budget.
fn reject(token: &str, config: &CompiledConfig) -> (Reason, Vec<u64>) {
    match run(token, config) {
        (Ok(a), _) => panic!("accepted: {:?}", a.claims),
        (Err(r), asked) => (r.reason, asked),
    }
}

/// The budget units of one ES256 check and of one P-256 ECDH.
fn es256_units() -> u64 {
    admission::verify_units(Sig::Es256, &key(KeyType::P256, "x").key)
}

#[test]
fn an_encrypt_then_sign_token_is_accepted_and_validated_as_always() {
    let s = ets();
    let (accepted, asked) = run(&token(&s, &claims()), &s.config);
    let accepted = accepted.unwrap();
    assert_eq!(accepted.provider, "test");
    assert_eq!(accepted.claims["sub"], "alice");
    assert_eq!(accepted.jws, None, "no decrypted signed JWT to forward");
    assert_eq!(asked.len(), 2, "one signature check, then one decryption");
    assert_eq!(asked[0], es256_units());
    // The claims are validated exactly as in the other order.
    for (claims, reason) in [
        (json!({"exp": NOW - 3600}), Reason::Expired),
        (json!({"nbf": NOW + 3600}), Reason::NotYetValid),
        (json!({"aud": "other"}), Reason::Audience),
        (json!({"iss": "https://elsewhere"}), Reason::Issuer),
    ] {
        let mut c = claims_with(claims);
        if c["iss"].is_null() {
            c["iss"] = json!(ISSUER);
        }
        assert_eq!(reject(&token(&s, &c), &s.config).0, reason, "{c}");
    }
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        reject(&token(&s, &c), &s.config).0,
        Reason::Claims("exp is required")
    );
}

fn claims_with(more: Value) -> Value {
    let mut c = claims();
    if let (Value::Object(base), Value::Object(more)) = (&mut c, more) {
        base.extend(more);
    }
    c
}

#[test]
fn each_order_is_accepted_only_where_it_is_enabled() {
    // Default: today's order only; a token signed outside is a plain JWS.
    let default = setup(json!(["sign_then_encrypt"]), json!({}));
    let ets_token = token(&default, &claims());
    let (reason, asked) = reject(&ets_token, &default.config);
    assert_eq!(
        reason,
        Reason::Refused("plain JWS bearer: the token must be encrypted")
    );
    assert!(asked.is_empty());
    // Encrypt-then-sign only: a JWE outside is refused before any key
    // work, because no provider takes it.
    let s = ets();
    let ste = mint(
        Sig::Es256,
        &s.signer,
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &s.enc,
        &claims(),
    );
    let (reason, asked) = reject(&ste, &s.config);
    assert_eq!(
        reason,
        Reason::Nesting("no provider accepts sign_then_encrypt (a JWE outside)")
    );
    assert!(asked.is_empty(), "nothing decrypted: {asked:?}");
    assert_eq!(reason.stat(), "nesting");
    assert_eq!(reason.status(), 401);
    assert_eq!(reason.bearer_error(), Some("invalid_token"));
    // Both: both orders pass.
    let both = setup(json!(["sign_then_encrypt", "encrypt_then_sign"]), json!({}));
    for t in [
        token(&both, &claims()),
        mint(
            Sig::Es256,
            &both.signer,
            Alg::EcdhEsA256Kw,
            Enc::A256Gcm,
            &both.enc,
            &claims(),
        ),
    ] {
        assert_eq!(
            verify_token(&t, NOW, &both.config).unwrap().claims["sub"],
            "alice"
        );
    }
}

#[test]
fn a_provider_without_sign_then_encrypt_refuses_it_beside_one_with_it() {
    // `other` takes the usual order; `test` only encrypt-then-sign. A JWE
    // naming `test` is decrypted (another provider takes the order) and
    // then refused for its provider.
    let s = ets();
    let other_signer = key(KeyType::P256, "sig-other");
    let mut config = config_value(&[private(&s.enc)], &[public(&s.signer)], json!({}));
    config["providers"]["test"]["nesting"] = json!(["encrypt_then_sign"]);
    config["providers"]["other"] =
        json!({"issuer": "https://other.test", "local_jwks": {"keys": [public(&other_signer)]}});
    let config = compile(&config);
    let ste = mint(
        Sig::Es256,
        &s.signer,
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &s.enc,
        &claims(),
    );
    let rejected = verify_token(&ste, NOW, &config).unwrap_err();
    assert_eq!(
        rejected.reason,
        Reason::Nesting("the provider does not accept sign_then_encrypt (a JWE outside)")
    );
    let test = config.providers.iter().position(|p| p.name == "test");
    assert_eq!(rejected.provider, test);
    assert!(verify_token(&token(&s, &claims()), NOW, &config).is_ok());
}

#[test]
fn a_forged_token_costs_one_signature_check_and_no_decryption() {
    let s = setup(json!(["sign_then_encrypt", "encrypt_then_sign"]), json!({}));
    let forger = key(KeyType::P256, "sig-1");
    let forged = mint_encrypt_then_sign(
        Sig::Es256,
        &forger,
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &s.enc,
        &claims(),
    );
    let (reason, asked) = reject(&forged, &s.config);
    assert_eq!(reason, Reason::Signature("signature does not verify"));
    assert_eq!(asked, vec![es256_units()], "the signature check only");
    // The other order's forgery (encrypted to our public key, signed by
    // anyone) costs the private-key operation before its signature fails.
    let forged = mint(
        Sig::Es256,
        &forger,
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &s.enc,
        &claims(),
    );
    let (reason, asked) = reject(&forged, &s.config);
    assert_eq!(reason, Reason::Signature("signature does not verify"));
    assert_eq!(asked.len(), 2);
    assert!(asked[0] > 0, "a decryption was charged: {asked:?}");
    // With the budget spent, the signature check itself is shed.
    let mut spent = Spent;
    let shed = verify_token_with(
        &token(&s, &claims()),
        NOW,
        &s.config,
        &LocalKeys,
        &mut spent,
    );
    assert_eq!(shed.unwrap_err().reason, Reason::Overloaded(Shed::Budget));
}

#[test]
fn the_outer_header_is_strict_and_named_in_the_log_facts() {
    let s = ets();
    let t = token(&s, &claims());
    let rejected = verify_token(&t, NOW + 7200, &s.config).unwrap_err();
    assert_eq!(rejected.reason, Reason::Expired);
    assert_eq!(rejected.kid.as_deref(), Some("sig-1"));
    assert_eq!(rejected.alg, Some("ES256"));
    let jwe = inner_jwe(&s, &claims());
    for (header, reason) in [
        (
            r#"{"alg":"none","cty":"JWT"}"#,
            Reason::Refused("alg none is refused"),
        ),
        (
            r#"{"alg":"Ed448","cty":"JWT"}"#,
            Reason::Refused("Ed448 is not supported (of the EdDSA curves only Ed25519 is)"),
        ),
        (
            r#"{"alg":"ES256","cty":"JWT","crit":["b64"],"b64":false}"#,
            Reason::Refused("crit names an extension we do not understand"),
        ),
        (
            r#"{"alg":"ES256","cty":"JWT","zip":"DEF"}"#,
            Reason::Refused("zip (compression) is refused"),
        ),
        (
            r#"{"alg":"ES256","cty":"JWT","cty":"JWT"}"#,
            Reason::Malformed("header is not a strict JSON object"),
        ),
        // Without `cty: JWT` it is a plain signed JWT, refused as ever.
        (
            r#"{"alg":"ES256"}"#,
            Reason::Refused("plain JWS bearer: the token must be encrypted"),
        ),
    ] {
        let forged = format!(
            "{}.{}.{}",
            b64::encode(header.as_bytes()),
            b64::encode(jwe.as_bytes()),
            b64::encode(&[0u8; 64])
        );
        let (got, asked) = reject(&forged, &s.config);
        assert_eq!(got, reason, "{header}");
        assert!(asked.is_empty(), "{header}: {asked:?}");
    }
}

#[test]
fn attacks_on_the_outer_signature_fail_before_any_decryption() {
    let s = ets();
    let t = token(&s, &claims());
    let parts: Vec<&str> = t.split('.').collect();
    let one_signature = vec![es256_units()];
    // Wrong key: signed by a key with our kid.
    let impostor = key(KeyType::P256, "sig-1");
    let forged = mint_encrypt_then_sign(
        Sig::Es256,
        &impostor,
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &s.enc,
        &claims(),
    );
    assert_eq!(
        reject(&forged, &s.config),
        (
            Reason::Signature("signature does not verify"),
            one_signature.clone()
        )
    );
    // Swapped kid: a kid no key has (and the header is signed).
    let other = key(KeyType::P256, "sig-2");
    let forged = mint_encrypt_then_sign(
        Sig::Es256,
        &other,
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &s.enc,
        &claims(),
    );
    assert_eq!(
        reject(&forged, &s.config),
        (
            Reason::Signature("no verification key fits kid and alg"),
            vec![]
        )
    );
    let swapped = format!(
        "{}.{}.{}",
        b64::encode(br#"{"alg":"ES256","typ":"JWT","cty":"JWT","kid":"sig-2"}"#),
        parts[1],
        parts[2]
    );
    assert_eq!(
        reject(&swapped, &s.config).0,
        Reason::Signature("no verification key fits kid and alg")
    );
    // Tampered payload: another JWE (a valid one, encrypted to us) under
    // the old signature.
    let another = inner_jwe(&s, &claims_with(json!({"sub": "mallory"})));
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64::encode(another.as_bytes()),
        parts[2]
    );
    assert_eq!(
        reject(&tampered, &s.config),
        (
            Reason::Signature("signature does not verify"),
            one_signature.clone()
        )
    );
    // Stripped or truncated signature.
    for sig in ["", &parts[2][..40]] {
        let stripped = format!("{}.{}.{sig}", parts[0], parts[1]);
        assert_eq!(
            reject(&stripped, &s.config),
            (
                Reason::Signature("signature does not verify"),
                one_signature.clone()
            ),
            "{sig:?}"
        );
    }
    // Alg confusion: HS256 "signed" over an EC key finds no key.
    let confused = format!(
        "{}.{}.{}",
        b64::encode(br#"{"alg":"HS256","cty":"JWT","kid":"sig-1"}"#),
        parts[1],
        b64::encode(&[0u8; 32])
    );
    assert_eq!(
        reject(&confused, &s.config),
        (
            Reason::Signature("no verification key fits kid and alg"),
            vec![]
        )
    );
    // Padding and foreign characters in the outer segments.
    for bad in [
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}+.{}", parts[0], parts[1], parts[2]),
    ] {
        assert!(matches!(reject(&bad, &s.config).0, Reason::Malformed(_)));
    }
}

#[test]
fn what_the_signed_payload_may_be_is_bounded() {
    let s = ets();
    let sign = |payload: &str| sign_outer(Sig::Es256, &s.signer, payload);
    // A signed JWS inside a signed JWS (JWS-in-JWS).
    let inner = sign_outer(Sig::Es256, &s.signer, &claims().to_string());
    assert_eq!(
        reject(&sign(&inner), &s.config),
        (Reason::Refused("JWS inside a JWS"), vec![])
    );
    // Claims signed directly (cty JWT, but no JWE): not encrypted.
    assert_eq!(
        reject(&sign(&claims().to_string()), &s.config).0,
        Reason::Malformed("outer JWS payload is not a compact JWE")
    );
    // A third level: the inner JWE says its plaintext is a JWT.
    let signed_claims = sign_outer(Sig::Es256, &s.signer, &claims().to_string());
    let third = encrypt_jws(Alg::EcdhEsA256Kw, Enc::A256Gcm, &s.enc, &signed_claims);
    assert_eq!(
        reject(&sign(&third), &s.config),
        (
            Reason::Refused("a third level of nesting (inner JWE with cty JWT)"),
            vec![]
        )
    );
    // Without that cty, a JWS or JWE as plaintext is not claims.
    let jwe = jwe_authn::jose::jwe::encrypt::encrypt_compact(
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &s.enc,
        Default::default(),
        signed_claims.as_bytes(),
    )
    .unwrap();
    assert_eq!(
        reject(&sign(&jwe), &s.config).0,
        Reason::Malformed("claims are not a strict JSON object")
    );
    // The inner JWE's own refusals come before the signature check.
    let rsa1_5 = format!(
        "{}.AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA",
        b64::encode(br#"{"alg":"RSA1_5","enc":"A128GCM"}"#)
    );
    assert_eq!(
        reject(&sign(&rsa1_5), &s.config),
        (
            Reason::Refused("RSA1_5 is refused (padding oracle)"),
            vec![]
        )
    );
    let narrow = setup(
        json!(["encrypt_then_sign"]),
        json!({"algorithms": {"key_management": ["RSA-OAEP-256"]}}),
    );
    let t = mint_encrypt_then_sign(
        Sig::Es256,
        &narrow.signer,
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &narrow.enc,
        &claims(),
    );
    assert_eq!(
        reject(&t, &narrow.config),
        (Reason::Refused("JWE alg not in the allow-list"), vec![])
    );
    // An inner JWE encrypted to another key fails as any decryption does.
    let stranger = key(KeyType::P256, "enc-1");
    let t = mint_encrypt_then_sign(
        Sig::Es256,
        &s.signer,
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &stranger,
        &claims(),
    );
    assert_eq!(
        reject(&t, &s.config).0,
        Reason::Decrypt("decryption failed")
    );
    // Oversized: refused before parsing.
    let big = claims_with(json!({"pad": "x".repeat(20_000)}));
    assert_eq!(
        reject(&token(&s, &big), &s.config),
        (Reason::TooLarge, vec![])
    );
}

#[test]
fn with_several_providers_the_outer_kid_chooses_and_iss_must_agree() {
    let enc = key(KeyType::P256, "enc-1");
    let a = key(KeyType::P256, "sig-a");
    let b = key(KeyType::Ed25519, "sig-b");
    let shared_kid = key(KeyType::P256, "sig-a");
    let config = |b_keys: Vec<Value>| {
        compile(&json!({
            "decryption_keys": {"keys": [private(&enc)]},
            "providers": {
                "a": {"issuer": "https://a.test", "local_jwks": {"keys": [public(&a)]},
                      "nesting": ["encrypt_then_sign"]},
                "b": {"issuer": "https://b.test", "local_jwks": {"keys": b_keys},
                      "nesting": ["encrypt_then_sign", "sign_then_encrypt"]},
            }
        }))
    };
    let c = config(vec![public(&b)]);
    let mint_as = |signer: &Jwk, sig: Sig, iss: &str| {
        mint_encrypt_then_sign(
            sig,
            signer,
            Alg::EcdhEsA256Kw,
            Enc::A256Gcm,
            &enc,
            &claims_with(json!({"iss": iss, "aud": "api"})),
        )
    };
    assert_eq!(
        verify_token(&mint_as(&a, Sig::Es256, "https://a.test"), NOW, &c)
            .unwrap()
            .provider,
        "a"
    );
    assert_eq!(
        verify_token(&mint_as(&b, Sig::Ed25519, "https://b.test"), NOW, &c)
            .unwrap()
            .provider,
        "b"
    );
    // Signed by a's key, claiming to be b's: refused after decryption.
    let rejected = verify_token(&mint_as(&a, Sig::Es256, "https://b.test"), NOW, &c).unwrap_err();
    assert_eq!(
        rejected.reason,
        Reason::Nesting("iss is not the provider whose key signed the outer JWS")
    );
    // No kid: which provider is meant cannot be told.
    let mut anonymous = a.clone();
    anonymous.kid = None;
    assert_eq!(
        reject(&mint_as(&anonymous, Sig::Es256, "https://a.test"), &c),
        (
            Reason::Nesting(
                "outer JWS without kid, and several providers accept encrypt_then_sign"
            ),
            vec![]
        )
    );
    // A kid no provider has.
    let stranger = key(KeyType::P256, "sig-z");
    assert_eq!(
        reject(&mint_as(&stranger, Sig::Es256, "https://a.test"), &c),
        (
            Reason::Signature("no verification key fits kid and alg"),
            vec![]
        )
    );
    // A kid two providers have: fail closed, whichever key signed.
    let c = config(vec![public(&b), public(&shared_kid)]);
    assert_eq!(
        reject(&mint_as(&a, Sig::Es256, "https://a.test"), &c),
        (
            Reason::Nesting(
                "outer JWS kid is a key of several providers that accept encrypt_then_sign"
            ),
            vec![]
        )
    );
}

#[test]
fn the_provider_typ_is_the_signed_outer_headers() {
    let s = setup(json!(["encrypt_then_sign"]), json!({}));
    let mut config = config_value(&[private(&s.enc)], &[public(&s.signer)], json!({}));
    config["providers"]["test"]["nesting"] = json!(["encrypt_then_sign"]);
    config["providers"]["test"]["typ"] = json!("at+jwt");
    let config = compile(&config);
    // sign_outer writes typ JWT.
    assert_eq!(
        verify_token(&token(&s, &claims()), NOW, &config)
            .unwrap_err()
            .reason,
        Reason::Claims("inner typ does not match the provider's typ")
    );
    let jwe = inner_jwe(&s, &claims());
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("at+jwt"));
    header.insert("cty".into(), json!("JWT"));
    let t =
        jwe_authn::jose::jws::sign_compact(Sig::Es256, &s.signer, header, jwe.as_bytes()).unwrap();
    assert!(verify_token(&t, NOW, &config).is_ok());
}

/// `jwe-authn mint --nesting encrypt_then_sign` mints what `verify` accepts
/// for a provider that enabled the order, and refuses for one that did not.
#[test]
fn the_cli_mints_and_verifies_encrypt_then_sign() {
    let dir = std::env::temp_dir().join(format!("jwe-authn-nesting-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = ets();
    let file = |name: &str, value: &Value| {
        let path = dir.join(name);
        std::fs::write(&path, value.to_string()).unwrap();
        path
    };
    let sign_key = file("sig.jwk", &private(&s.signer));
    let enc_key = file("enc.pub.jwk", &public(&s.enc));
    let cli = || std::process::Command::new(env!("CARGO_BIN_EXE_jwe-authn"));
    let out = cli()
        .args(["mint", "--claims", &claims().to_string(), "--sign-key"])
        .arg(&sign_key)
        .arg("--encrypt-key")
        .arg(&enc_key)
        .args(["--nesting", "encrypt_then_sign", "--now", &NOW.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token.split('.').count(), 3, "a compact JWS outside");
    let verify = |nesting: Value| {
        let mut config = config_value(&[private(&s.enc)], &[public(&s.signer)], json!({}));
        config["providers"]["test"]["nesting"] = nesting;
        let path = file("config.json", &config);
        cli()
            .args(["verify", "--config"])
            .arg(path)
            .args(["--token", &token, "--now", &NOW.to_string()])
            .output()
            .unwrap()
    };
    let accepted = verify(json!(["encrypt_then_sign"]));
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let claims: Value = serde_json::from_slice(&accepted.stdout).unwrap();
    assert_eq!(claims["sub"], "alice");
    let refused = verify(json!(["sign_then_encrypt"]));
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("plain JWS bearer"));
    let bad = cli()
        .args(["mint", "--claims", "{}", "--sign-key"])
        .arg(&sign_key)
        .arg("--encrypt-key")
        .arg(&enc_key)
        .args(["--nesting", "sideways"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

/// Keys of the named providers have not arrived (as with `remote_jwks`
/// before the first fetch); the others' are their `local_jwks`.
struct Missing(&'static [&'static str]);

impl jwe_authn::fetch_schedule::KeySource for Missing {
    fn keys_for<'a>(&'a self, provider: &'a jwe_authn::config::Provider) -> Option<&'a [Jwk]> {
        (!self.0.contains(&provider.name.as_str())).then_some(provider.keys.as_slice())
    }
}

/// A signer whose keys have not arrived is waited for (the pipeline names
/// it, so the filter holds the request for its first keys), and nothing
/// is decrypted meanwhile; with several providers, only when the `kid`
/// is found in none of the others.
#[test]
fn a_signer_whose_keys_have_not_arrived_is_named_for_the_wait() {
    let s = ets();
    let t = token(&s, &claims());
    let mut gate = Recording::default();
    let rejected =
        verify_token_with(&t, NOW, &s.config, &Missing(&["test"]), &mut gate).unwrap_err();
    assert_eq!(rejected.reason, Reason::KeysUnavailable);
    assert_eq!(rejected.provider, Some(0));
    assert!(gate.0.is_empty());

    let enc = key(KeyType::P256, "enc-1");
    let a = key(KeyType::P256, "sig-a");
    let b = key(KeyType::P256, "sig-b");
    let config = compile(&json!({
        "decryption_keys": {"keys": [private(&enc)]},
        "providers": {
            "a": {"issuer": "https://a.test", "local_jwks": {"keys": [public(&a)]},
                  "nesting": ["encrypt_then_sign"]},
            "b": {"issuer": "https://b.test", "local_jwks": {"keys": [public(&b)]},
                  "nesting": ["encrypt_then_sign"]},
        }
    }));
    let from_a = mint_encrypt_then_sign(
        Sig::Es256,
        &a,
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &enc,
        &claims_with(json!({"iss": "https://a.test", "aud": "api"})),
    );
    // a's keys are here: b's absence does not matter.
    let accepted = verify_token_with(
        &from_a,
        NOW,
        &config,
        &Missing(&["b"]),
        &mut Recording::default(),
    );
    assert_eq!(accepted.unwrap().provider, "a");
    // a's are not: the kid is in no key that arrived, so wait for a.
    let rejected = verify_token_with(
        &from_a,
        NOW,
        &config,
        &Missing(&["a"]),
        &mut Recording::default(),
    )
    .unwrap_err();
    assert_eq!(rejected.reason, Reason::KeysUnavailable);
    let a_index = config.providers.iter().position(|p| p.name == "a");
    assert_eq!(rejected.provider, a_index);
}
