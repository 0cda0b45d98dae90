//! Every combination of JWE key management (with every curve), content
//! encryption and JWS signature, minted and verified: once through the
//! library (the full cross product) and once through the CLI binary (each
//! algorithm at least once), since `mint` and `verify` are what users run.

use crate::common::*;
use jwe_authn::jose::alg::{
    ContentEncryptionAlg as Enc, KeyManagementAlg as Alg, SignatureAlg as Sig,
};
use jwe_authn::jose::jwk::{Jwk, KeyType};
use jwe_authn::pipeline::verify_token;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Command;

const CURVES: [KeyType; 4] = [KeyType::P256, KeyType::P384, KeyType::P521, KeyType::X25519];

/// One key of each type needed, generated once.
struct Keys {
    encryption: BTreeMap<String, Jwk>,
    signing: BTreeMap<&'static str, Jwk>,
}

fn type_name(kind: KeyType) -> String {
    format!("{kind:?}")
}

fn keys() -> Keys {
    let mut encryption = BTreeMap::new();
    let mut wanted: Vec<KeyType> = vec![KeyType::Rsa { bits: 2048 }];
    wanted.extend(CURVES);
    wanted.extend([16, 24, 32, 48, 64].map(|bytes| KeyType::Oct { bytes }));
    for kind in wanted {
        let name = type_name(kind);
        encryption.insert(name.clone(), key(kind, &format!("enc-{name}")));
    }
    let signing = Sig::ALL
        .iter()
        .map(|s| {
            (
                s.name(),
                key(key_type_for_sig(*s), &format!("sig-{}", s.name())),
            )
        })
        .collect();
    Keys {
        encryption,
        signing,
    }
}

/// (key management, curve if ECDH) pairs: every alg, every curve for ECDH-ES*.
fn key_management_cases() -> Vec<(Alg, KeyType)> {
    let mut cases = Vec::new();
    for alg in Alg::ALL {
        if alg.name().starts_with("ECDH-ES") {
            cases.extend(CURVES.map(|c| (*alg, c)));
        } else {
            cases.push((*alg, KeyType::P256));
        }
    }
    cases
}

fn config_for(keys: &Keys) -> Value {
    let decryption: Vec<Value> = keys.encryption.values().map(private).collect();
    let verification: Vec<Value> = keys.signing.values().map(public).collect();
    with_hmac_provider(config_value(&decryption, &verification, json!({})))
}

#[test]
fn every_combination_round_trips_through_the_library() {
    let keys = keys();
    let config = compile(&config_for(&keys));
    let mut count = 0;
    let mut failures = Vec::new();
    for (alg, curve) in key_management_cases() {
        for enc in Enc::ALL {
            let enc_key = &keys.encryption[&type_name(key_type_for(alg, *enc, curve))];
            for sig in Sig::ALL {
                let mut claims = claims();
                claims["iss"] = json!(issuer_for(*sig));
                let token = mint(*sig, &keys.signing[sig.name()], alg, *enc, enc_key, &claims);
                match verify_token(&token, NOW, &config) {
                    Ok(accepted) if accepted.claims["sub"] == "alice" => {}
                    other => failures.push(format!("{alg}/{curve:?}/{enc}/{sig}: {other:?}")),
                }
                count += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(count, 27 * 6 * 14);
}

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jwe-authn"))
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_algorithm_round_trips_through_the_cli() {
    let dir = std::env::temp_dir().join(format!("jwe-authn-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Keys from the CLI itself.
    let mut generated = BTreeMap::new();
    let mut keygen = |name: &str, args: &[&str]| {
        let (code, out, err) = run(cli().arg("keygen").args(args).args(["--kid", name]));
        assert_eq!(code, 0, "keygen {args:?}: {err}");
        let path = dir.join(format!("{name}.jwk"));
        std::fs::write(&path, &out).unwrap();
        generated.insert(name.to_string(), path);
    };
    keygen("rsa", &["--kty", "RSA", "--size", "2048"]);
    for crv in ["P-256", "P-384", "P-521"] {
        keygen(crv, &["--kty", "EC", "--crv", crv]);
    }
    keygen("X25519", &["--kty", "OKP", "--crv", "X25519"]);
    keygen("Ed25519", &["--kty", "OKP", "--crv", "Ed25519"]);
    for bits in ["128", "192", "256", "384", "512"] {
        keygen(&format!("oct{bits}"), &["--kty", "oct", "--size", bits]);
    }
    let public = |name: &str| {
        let (code, out, err) = run(cli().arg("keygen").arg("--public").arg(&generated[name]));
        assert_eq!(code, 0, "keygen --public {name}: {err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    let private = |name: &str| {
        serde_json::from_str::<Value>(&std::fs::read_to_string(&generated[name]).unwrap()).unwrap()
    };

    let decryption: Vec<Value> = [
        "rsa", "P-256", "P-384", "P-521", "X25519", "oct128", "oct192", "oct256", "oct384",
        "oct512",
    ]
    .map(private)
    .to_vec();
    let verification: Vec<Value> = vec![
        public("rsa"),
        public("P-256"),
        public("P-384"),
        public("P-521"),
        public("Ed25519"),
        private("oct256"),
        private("oct384"),
        private("oct512"),
    ];
    let config_path = dir.join("config.json");
    std::fs::write(
        &config_path,
        with_hmac_provider(config_value(&decryption, &verification, json!({}))).to_string(),
    )
    .unwrap();

    let sign_key = |sig: Sig| match sig {
        Sig::Rs256 | Sig::Rs384 | Sig::Rs512 | Sig::Ps256 | Sig::Ps384 | Sig::Ps512 => "rsa",
        Sig::Es256 => "P-256",
        Sig::Es384 => "P-384",
        Sig::Es512 => "P-521",
        Sig::EdDsa | Sig::Ed25519 => "Ed25519",
        Sig::Hs256 => "oct256",
        Sig::Hs384 => "oct384",
        Sig::Hs512 => "oct512",
    };
    let enc_key = |alg: Alg, enc: Enc, curve: &'static str| match alg {
        Alg::Dir => match enc.key_len() {
            16 => "oct128",
            24 => "oct192",
            32 => "oct256",
            48 => "oct384",
            _ => "oct512",
        },
        Alg::A128Kw | Alg::A128GcmKw => "oct128",
        Alg::A192Kw | Alg::A192GcmKw => "oct192",
        Alg::A256Kw | Alg::A256GcmKw => "oct256",
        Alg::RsaOaep | Alg::RsaOaep256 | Alg::RsaOaep384 | Alg::RsaOaep512 => "rsa",
        _ => curve,
    };
    // Each alg (every curve for ECDH) with a rotating enc and sig, then each
    // enc and each sig once more with a fixed alg: every algorithm is covered.
    let mut cases = Vec::new();
    let mut i = 0;
    for alg in Alg::ALL {
        let curves: &[&'static str] = if alg.name().starts_with("ECDH-ES") {
            &["P-256", "P-384", "P-521", "X25519"]
        } else {
            &["P-256"]
        };
        for curve in curves {
            cases.push((
                *alg,
                Enc::ALL[i % Enc::ALL.len()],
                Sig::ALL[i % Sig::ALL.len()],
                *curve,
            ));
            i += 1;
        }
    }
    cases.extend(
        Enc::ALL
            .iter()
            .map(|e| (Alg::EcdhEs, *e, Sig::Es256, "X25519")),
    );
    cases.extend(
        Sig::ALL
            .iter()
            .map(|s| (Alg::A256Kw, Enc::A256Gcm, *s, "P-256")),
    );

    for (alg, enc, sig, curve) in cases {
        let claims = json!({"iss": issuer_for(sig), "sub": "cli-user", "aud": "api"}).to_string();
        let encrypt_to = public_or_secret(&generated, enc_key(alg, enc, curve), &dir);
        let (code, token, err) = run(cli()
            .args(["mint", "--claims", &claims, "--sign-key"])
            .arg(&generated[sign_key(sig)])
            .arg("--encrypt-key")
            .arg(&encrypt_to)
            .args([
                "--sig-alg",
                sig.name(),
                "--alg",
                alg.name(),
                "--enc",
                enc.name(),
                "--expires-in",
                "1h",
            ]));
        assert_eq!(code, 0, "mint {alg}/{enc}/{sig}/{curve}: {err}");
        let (code, out, err) = run(cli()
            .args(["verify", "--config"])
            .arg(&config_path)
            .args(["--token", token.trim()]));
        assert_eq!(code, 0, "verify {alg}/{enc}/{sig}/{curve}: {err}");
        let verified: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(verified["sub"], "cli-user", "{alg}/{enc}/{sig}/{curve}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Encrypt to the public half where there is one (as a real client would).
fn public_or_secret(
    generated: &BTreeMap<String, std::path::PathBuf>,
    name: &str,
    dir: &std::path::Path,
) -> std::path::PathBuf {
    if name.starts_with("oct") {
        return generated[name].clone();
    }
    let (code, out, err) = run(cli().arg("keygen").arg("--public").arg(&generated[name]));
    assert_eq!(code, 0, "{err}");
    let path = dir.join(format!("{name}.pub.jwk"));
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn verify_exit_codes_and_messages() {
    let dir = std::env::temp_dir().join(format!("jwe-authn-exit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let enc = key(KeyType::Oct { bytes: 32 }, "e");
    let sig = key(KeyType::P256, "s");
    let config_path = dir.join("config.json");
    std::fs::write(
        &config_path,
        config_value(&[private(&enc)], &[public(&sig)], json!({})).to_string(),
    )
    .unwrap();
    let token = mint(Sig::Es256, &sig, Alg::A256Kw, Enc::A256Gcm, &enc, &claims());

    // Accepted at NOW, claims on stdout.
    let (code, out, _) = run(cli().args(["verify", "--config"]).arg(&config_path).args([
        "--now",
        &NOW.to_string(),
        "--token",
        &token,
    ]));
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["sub"], "alice");
    // From stdin.
    use std::io::Write;
    let mut child = cli()
        .args(["verify", "--config"])
        .arg(&config_path)
        .args(["--now", &NOW.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    // Expired: exit 1, one line naming the reason, no token or claims in it.
    let later = (NOW + 7200).to_string();
    let (code, out, err) = run(cli()
        .args(["verify", "--config"])
        .arg(&config_path)
        .args(["--now", &later, "--token", &token]));
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("expired"), "{err}");
    assert!(
        !err.contains(&token[..20]) && !err.contains("alice"),
        "{err}"
    );
    // A bad configuration: exit 2 naming the field.
    std::fs::write(
        &config_path,
        r#"{"decryption_keys": {"keys": []}, "providers": {}, "bogus": 1}"#,
    )
    .unwrap();
    let (code, _, err) = run(cli()
        .args(["verify", "--config"])
        .arg(&config_path)
        .args(["--token", &token]));
    assert_eq!(code, 2);
    assert!(err.contains("bogus"), "{err}");
    // Usage.
    let (code, _, _) = run(cli().args(["verify"]));
    assert_eq!(code, 2);
    // inspect shows the header and decrypts nothing.
    let (code, out, _) = run(cli().args(["inspect", &token]));
    assert_eq!(code, 0);
    let header: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(header["alg"], "A256KW");
    assert!(!out.contains("alice"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sign_only_mints_a_plain_jws_that_the_filter_refuses() {
    let dir = std::env::temp_dir().join(format!("jwe-authn-signonly-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let enc = key(KeyType::Oct { bytes: 32 }, "e");
    let sig = key(KeyType::P256, "s");
    let sig_path = dir.join("sig.jwk");
    std::fs::write(&sig_path, private(&sig).to_string()).unwrap();
    let config_path = dir.join("config.json");
    std::fs::write(
        &config_path,
        config_value(&[private(&enc)], &[public(&sig)], json!({})).to_string(),
    )
    .unwrap();
    let claims = json!({"iss": ISSUER, "sub": "x", "aud": "api"}).to_string();
    let (code, jws, err) = run(cli()
        .args(["mint", "--claims", &claims, "--sign-key"])
        .arg(&sig_path)
        .args(["--expires-in", "1h", "--sign-only", "true"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(jws.trim().split('.').count(), 3);
    let (code, _, err) = run(cli()
        .args(["verify", "--config"])
        .arg(&config_path)
        .args(["--token", jws.trim()]));
    assert_eq!(code, 1);
    assert!(err.contains("plain JWS"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn mint_count_writes_distinct_tokens_the_filter_accepts() {
    let dir = std::env::temp_dir().join(format!("jwe-authn-count-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let enc = key(KeyType::Oct { bytes: 32 }, "e");
    let sig = key(KeyType::P256, "s");
    let (enc_path, sig_path) = (dir.join("enc.jwk"), dir.join("sig.jwk"));
    std::fs::write(&enc_path, private(&enc).to_string()).unwrap();
    std::fs::write(&sig_path, private(&sig).to_string()).unwrap();
    let config_path = dir.join("config.json");
    std::fs::write(
        &config_path,
        config_value(&[private(&enc)], &[public(&sig)], json!({})).to_string(),
    )
    .unwrap();
    let claims = json!({"iss": ISSUER, "sub": "x", "aud": "api"}).to_string();
    let (code, out, err) = run(cli()
        .args(["mint", "--claims", &claims, "--sign-key"])
        .arg(&sig_path)
        .arg("--encrypt-key")
        .arg(&enc_path)
        .args([
            "--alg",
            "dir",
            "--enc",
            "A256GCM",
            "--expires-in",
            "1h",
            "--count",
            "5",
        ]));
    assert_eq!(code, 0, "{err}");
    let tokens: Vec<&str> = out.lines().collect();
    assert_eq!(tokens.len(), 5);
    let distinct: std::collections::BTreeSet<&&str> = tokens.iter().collect();
    assert_eq!(distinct.len(), 5, "every token is distinct");
    for token in tokens {
        let (code, _, err) = run(cli()
            .args(["verify", "--config"])
            .arg(&config_path)
            .args(["--token", token]));
        assert_eq!(code, 0, "{err}");
    }
    for bad in ["0", "x", "1000001"] {
        let (code, _, _) = run(cli()
            .args(["mint", "--claims", &claims, "--sign-key"])
            .arg(&sig_path)
            .args(["--sign-only", "true", "--count", bad]));
        assert_eq!(code, 2, "--count {bad} is a usage error");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn mint_binds_a_token_to_a_dpop_key() {
    let dir = std::env::temp_dir().join(format!("jwe-authn-bind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (code, out, err) = run(cli().args(["keygen", "--kty", "EC", "--crv", "P-256"]));
    assert_eq!(code, 0, "{err}");
    let key_path = dir.join("dpop.jwk");
    std::fs::write(&key_path, &out).unwrap();
    let key = jwe_authn::jose::jwk::parse_jwk(&serde_json::from_str(&out).unwrap()).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mint = |extra: &[&std::ffi::OsStr]| {
        let (code, out, err) = run(cli()
            .args([
                "mint",
                "--claims",
                r#"{"iss":"https://idp.demo.example","sub":"a"}"#,
            ])
            .args(["--expires-in", "5m", "--sign-key"])
            .arg(root.join("envoy/demo/sign.jwk"))
            .arg("--encrypt-key")
            .arg(root.join("envoy/demo/encrypt.pub.jwk"))
            .args(extra));
        (code, out.trim().to_string(), err)
    };
    let (code, token, err) = mint(&["--bind-jwk".as_ref(), key_path.as_os_str()]);
    assert_eq!(code, 0, "{err}");
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root.join("envoy/demo").join(name)).unwrap())
            .unwrap()
    };
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        json!({"decryption_keys": {"keys": [read("decrypt.jwk")]},
            "providers": {"demo": {"issuer": "https://idp.demo.example",
                "local_jwks": {"keys": [read("verify.pub.jwk")]}}}})
        .to_string(),
    )
    .unwrap();
    let (code, claims, err) = run(cli()
        .args(["verify", "--config"])
        .arg(&config)
        .args(["--token", &token]));
    let claims: Value = if code == 0 {
        serde_json::from_str(&claims).unwrap()
    } else {
        panic!("verify: {err}")
    };
    assert_eq!(claims["cnf"]["jkt"], json!(jkt(&key)));
    // A secret key has no thumbprint to bind to.
    let secret = dir.join("oct.jwk");
    let (_, out, _) = run(cli().args(["keygen", "--kty", "oct", "--size", "256"]));
    std::fs::write(&secret, out).unwrap();
    let (code, _, err) = mint(&["--bind-jwk".as_ref(), secret.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
