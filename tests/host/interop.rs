//! Interoperability with panva/jose (Node), an independent JOSE library:
//!
//! - tokens jose minted (every JWE alg on every curve, every enc, every JWS
//!   alg, and encrypt-then-sign tokens for a provider that enables that
//!   order; committed under `tests/fixtures/interop`, regenerated with
//!   `node tests/interop/interop.mjs fixtures tests/fixtures/interop`) pass
//!   our pipeline, and fail once tampered;
//! - tokens our CLI mints (the same matrix) decrypt and verify in jose.
//!
//! The second test needs `tests/interop/node_modules` (`make test` installs
//! it). It fails when jose is missing rather than skip, unless
//! `JWE_AUTHN_SKIP_INTEROP=1` says so explicitly.

use jwe_authn::config::CompiledConfig;
use jwe_authn::error::Reason;
use jwe_authn::pipeline::verify_token;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A time at which the fixtures (exp 2100-01-01) are valid.
const NOW: u64 = 1_800_000_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn fixture_config() -> CompiledConfig {
    let text = std::fs::read_to_string(root().join("tests/fixtures/interop/config.json")).unwrap();
    CompiledConfig::from_json(&text).unwrap()
}

fn fixture_tokens() -> Vec<Value> {
    read_json(&root().join("tests/fixtures/interop/tokens.json"))["tokens"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn tokens_minted_by_jose_are_accepted() {
    let config = fixture_config();
    let tokens = fixture_tokens();
    let mut seen = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for t in &tokens {
        let name = t["name"].as_str().unwrap();
        // HMAC-signed tokens come from their own issuer and provider, and
        // encrypt-then-sign tokens from the provider that enables it.
        let provider = if t["nesting"] == "encrypt_then_sign" {
            "interop-ets"
        } else if t["sig"].as_str().unwrap().starts_with("HS") {
            "interop-hmac"
        } else {
            "interop"
        };
        match verify_token(t["token"].as_str().unwrap(), NOW, &config) {
            Ok(a) if a.claims["sub"] == "interop-user" && a.provider == provider => {}
            other => failures.push(format!("{name}: {other:?}")),
        }
        for field in ["alg", "enc", "sig"] {
            seen.insert(t[field].as_str().unwrap().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        tokens.len(),
        failures.join("\n")
    );
    // Coverage: every algorithm appears in the fixtures.
    for alg in jwe_authn::jose::alg::KeyManagementAlg::ALL
        .iter()
        .map(|a| a.name())
        .chain(
            jwe_authn::jose::alg::ContentEncryptionAlg::ALL
                .iter()
                .map(|a| a.name()),
        )
        .chain(
            jwe_authn::jose::alg::SignatureAlg::ALL
                .iter()
                .map(|a| a.name()),
        )
    {
        assert!(seen.contains(alg), "no fixture uses {alg}");
    }
    assert!(
        tokens.iter().any(|t| t["nesting"] == "encrypt_then_sign"),
        "no encrypt-then-sign fixture"
    );
}

/// jose's encrypt-then-sign tokens are refused by a provider that does not
/// enable the order, and by one that does once the signed payload is
/// altered (before anything is decrypted: a signature failure).
#[test]
fn jose_encrypt_then_sign_tokens_need_the_order_and_an_intact_signature() {
    let config = fixture_config();
    let mut text: Value = read_json(&root().join("tests/fixtures/interop/config.json"));
    text["providers"]["interop-ets"]["nesting"] = json!(["sign_then_encrypt"]);
    let without = CompiledConfig::from_json(&text.to_string()).unwrap();
    let all = fixture_tokens();
    let ets: Vec<&Value> = all
        .iter()
        .filter(|t| t["nesting"] == "encrypt_then_sign")
        .collect();
    assert!(!ets.is_empty());
    let mut signature_failures = 0;
    for t in ets {
        let token = t["token"].as_str().unwrap();
        assert_eq!(
            verify_token(token, NOW, &without).unwrap_err().reason,
            Reason::Refused("plain JWS bearer: the token must be encrypted"),
            "{}",
            t["name"]
        );
        // Another valid JWE under the old signature: one character of
        // the signed JWE's ciphertext changed.
        let parts: Vec<&str> = token.split('.').collect();
        let jwe = String::from_utf8(b64_decode(parts[1])).unwrap();
        let mut segments: Vec<String> = jwe.split('.').map(str::to_string).collect();
        let ct = &mut segments[3];
        let flipped = if ct.starts_with('A') { "B" } else { "A" };
        ct.replace_range(0..1, flipped);
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            jwe_authn::jose::b64::encode(segments.join(".").as_bytes()),
            parts[2]
        );
        let rejected = verify_token(&tampered, NOW, &config).unwrap_err();
        assert_eq!(
            rejected.reason,
            Reason::Signature("signature does not verify"),
            "{}",
            t["name"]
        );
        signature_failures += 1;
    }
    assert!(signature_failures > 0);
}

#[test]
fn tampered_jose_tokens_are_rejected() {
    let config = fixture_config();
    for t in fixture_tokens()
        .iter()
        .filter(|t| t["nesting"] != "encrypt_then_sign")
        .step_by(5)
    {
        let token = t["token"].as_str().unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let ct = &mut parts[3];
        let flipped = if ct.starts_with('A') { 'B' } else { 'A' };
        ct.replace_range(0..1, &flipped.to_string());
        let tampered = parts.join(".");
        let rejected = verify_token(&tampered, NOW, &config).unwrap_err();
        assert!(
            matches!(rejected.reason, Reason::Decrypt(_)),
            "{}: {rejected:?}",
            t["name"]
        );
    }
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_jwe-authn"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jwe-authn {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn tokens_minted_by_our_cli_verify_in_jose() {
    let script = root().join("tests/interop/interop.mjs");
    if !root().join("tests/interop/node_modules/jose").is_dir() {
        if std::env::var("JWE_AUTHN_SKIP_INTEROP").as_deref() == Ok("1") {
            eprintln!("NOTE: JWE_AUTHN_SKIP_INTEROP=1: jose interop (CLI -> jose) NOT run");
            return;
        }
        panic!("tests/interop/node_modules/jose is missing: run `make test` (or `npm ci` in tests/interop)");
    }
    let dir = std::env::temp_dir().join(format!("jwe-authn-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();

    // Our keys, from our CLI.
    let keygen = |name: &str, args: &[&str]| {
        let jwk = cli(&[&["keygen", "--kid", name], args].concat());
        std::fs::write(path(&format!("{name}.jwk")), &jwk).unwrap();
        let value: Value = serde_json::from_str(&jwk).unwrap();
        let public = if value["kty"] == "oct" {
            value.clone()
        } else {
            let p = cli(&["keygen", "--public", &path(&format!("{name}.jwk"))]);
            std::fs::write(path(&format!("{name}.pub.jwk")), &p).unwrap();
            serde_json::from_str(&p).unwrap()
        };
        (value, public)
    };
    let mut decryption = Vec::new();
    let mut verification = Vec::new();
    for (name, args) in [
        ("enc-RSA", vec!["--kty", "RSA"]),
        ("enc-P-256", vec!["--kty", "EC", "--crv", "P-256"]),
        ("enc-P-384", vec!["--kty", "EC", "--crv", "P-384"]),
        ("enc-P-521", vec!["--kty", "EC", "--crv", "P-521"]),
        ("enc-X25519", vec!["--kty", "OKP", "--crv", "X25519"]),
        ("enc-oct128", vec!["--kty", "oct", "--size", "128"]),
        ("enc-oct192", vec!["--kty", "oct", "--size", "192"]),
        ("enc-oct256", vec!["--kty", "oct", "--size", "256"]),
        ("enc-oct384", vec!["--kty", "oct", "--size", "384"]),
        ("enc-oct512", vec!["--kty", "oct", "--size", "512"]),
    ] {
        decryption.push(keygen(name, &args).0);
    }
    for (name, args) in [
        ("sig-RSA", vec!["--kty", "RSA"]),
        ("sig-P-256", vec!["--kty", "EC", "--crv", "P-256"]),
        ("sig-P-384", vec!["--kty", "EC", "--crv", "P-384"]),
        ("sig-P-521", vec!["--kty", "EC", "--crv", "P-521"]),
        ("sig-Ed25519", vec!["--kty", "OKP", "--crv", "Ed25519"]),
        ("sig-HS256", vec!["--kty", "oct", "--size", "256"]),
        ("sig-HS384", vec!["--kty", "oct", "--size", "384"]),
        ("sig-HS512", vec!["--kty", "oct", "--size", "512"]),
    ] {
        verification.push(keygen(name, &args).1);
    }

    // The same matrix as the fixtures: every alg/curve, every enc, every sig.
    let fixtures = fixture_tokens();
    let claims =
        json!({"iss": "https://idp.interop.example", "sub": "cli-user", "aud": "orders-api"})
            .to_string();
    let mut tokens = Vec::new();
    for t in &fixtures {
        let (alg, enc, sig, curve) = (
            t["alg"].as_str().unwrap(),
            t["enc"].as_str().unwrap(),
            t["sig"].as_str().unwrap(),
            t["curve"].as_str().unwrap(),
        );
        let enc_key = match alg {
            "dir" => format!(
                "enc-oct{}",
                match enc {
                    "A128GCM" => 128,
                    "A192GCM" => 192,
                    "A256GCM" | "A128CBC-HS256" => 256,
                    "A192CBC-HS384" => 384,
                    _ => 512,
                }
            ),
            a if a.starts_with("RSA") => "enc-RSA".into(),
            a if a.starts_with("ECDH") => format!("enc-{curve}"),
            a => format!("enc-oct{}", &a[1..4]),
        };
        let sign_key = match sig {
            s if s.starts_with("HS") => format!("sig-{s}"),
            s if s.starts_with("RS") || s.starts_with("PS") => "sig-RSA".into(),
            "ES256" => "sig-P-256".into(),
            "ES384" => "sig-P-384".into(),
            "ES512" => "sig-P-521".into(),
            _ => "sig-Ed25519".into(),
        };
        let encrypt_to = if enc_key.contains("oct") {
            path(&format!("{enc_key}.jwk"))
        } else {
            path(&format!("{enc_key}.pub.jwk"))
        };
        let ets = t["nesting"] == "encrypt_then_sign";
        let claims = if ets {
            json!({"iss": "https://idp-ets.interop.example", "sub": "cli-user", "aud": "orders-api"})
                .to_string()
        } else {
            claims.clone()
        };
        let nesting = if ets {
            "encrypt_then_sign"
        } else {
            "sign_then_encrypt"
        };
        let token = cli(&[
            "mint",
            "--nesting",
            nesting,
            "--claims",
            &claims,
            "--sign-key",
            &path(&format!("{sign_key}.jwk")),
            "--encrypt-key",
            &encrypt_to,
            "--sig-alg",
            sig,
            "--alg",
            alg,
            "--enc",
            enc,
            "--expires-in",
            "1h",
        ]);
        let iss: Value = serde_json::from_str::<Value>(&claims).unwrap()["iss"].clone();
        tokens.push(json!({"name": t["name"], "token": token.trim(), "iss": iss}));
    }
    let input = json!({
        "decryption_keys": decryption,
        "verification_keys": verification,
        "tokens": tokens,
        "expected": {"iss": "https://idp.interop.example", "aud": "orders-api", "sub": "cli-user"},
    });
    std::fs::write(path("verify.json"), input.to_string()).unwrap();
    let out = Command::new("node")
        .arg(&script)
        .arg("verify")
        .arg(path("verify.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "jose rejected tokens minted by our CLI:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        fixtures.len(),
        "{stdout}"
    );
}

fn b64_decode(text: &str) -> Vec<u8> {
    jwe_authn::jose::b64::decode(text.as_bytes()).unwrap()
}
