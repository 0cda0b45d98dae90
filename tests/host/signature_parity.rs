//! The host's signature check and the module's give the same answers:
//! the Wycheproof RSASSA-PKCS1-v1_5 and ECDSA (P1363) vectors, with keys
//! parsed by our own JWK parser, run inside Envoy's V8 by a Wasm service
//! (`tests/parity`) through `jws::verify_with` and Envoy's `verify_signature`
//! foreign function (BoringSSL), and through `jws::verify` (RustCrypto).
//! Both must agree on every vector and with Wycheproof (`valid` accepted,
//! `invalid` refused; `acceptable` either way, but the same way by both),
//! every key must be accepted by the host (none declined: a decline would
//! silently fall back to the module), and every vector must have reached
//! it.

use crate::common::{read_json, shared};
use crate::harness::{root, target_dir, Envoy};
use crate::wycheproof_primitives::hex;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

const FILES: [(&str, &str, &str); 8] = [
    (
        "ecdsa_secp256r1_sha256_p1363_test.json",
        "ES256",
        "publicKeyJwk",
    ),
    (
        "ecdsa_secp384r1_sha384_p1363_test.json",
        "ES384",
        "publicKeyJwk",
    ),
    (
        "ecdsa_secp521r1_sha512_p1363_test.json",
        "ES512",
        "publicKeyJwk",
    ),
    ("rsa_signature_2048_sha256_test.json", "RS256", "keyJwk"),
    ("rsa_signature_2048_sha384_test.json", "RS384", "keyJwk"),
    ("rsa_signature_2048_sha512_test.json", "RS512", "keyJwk"),
    ("rsa_signature_3072_sha256_test.json", "RS256", "keyJwk"),
    ("rsa_signature_4096_sha256_test.json", "RS256", "keyJwk"),
];

/// The service, built here so it is never stale.
fn build_service() -> std::path::PathBuf {
    let dir = target_dir().join("parity");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--locked",
            "--release",
            "--target",
            "wasm32-wasip1",
        ])
        .arg("--manifest-path")
        .arg(root().join("tests/parity/Cargo.toml"))
        .arg("--target-dir")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "tests/parity did not build");
    dir.join("wasm32-wasip1/release/jwe_authn_signature_parity.wasm")
}

/// A group's key as a JWK: the file's (without its `kid`), or for the few
/// ECDSA groups that give only the uncompressed SEC1 point, one made of it.
fn group_jwk(group: &Value, member: &str, alg: &str) -> Value {
    if let Some(jwk) = group[member].as_object() {
        let mut jwk = jwk.clone();
        jwk.remove("kid");
        return Value::Object(jwk);
    }
    let point = hex(group["publicKey"]["uncompressed"].as_str().unwrap());
    let (crv, width) = match alg {
        "ES256" => ("P-256", 32),
        "ES384" => ("P-384", 48),
        _ => ("P-521", 66),
    };
    assert_eq!(point.len(), 1 + 2 * width);
    json!({
        "kty": "EC",
        "crv": crv,
        "x": URL_SAFE_NO_PAD.encode(&point[1..=width]),
        "y": URL_SAFE_NO_PAD.encode(&point[1 + width..]),
    })
}

#[test]
fn the_host_and_the_module_give_the_same_answers_on_wycheproof() {
    let wasm = build_service();
    let mut files = Vec::new();
    // Per file: tcId → Wycheproof's result.
    let mut expected: HashMap<String, HashMap<u64, String>> = HashMap::new();
    // Per file: how many vectors must reach the host (all but ES*
    // signatures of the wrong length, refused before it).
    let mut reach: HashMap<String, usize> = HashMap::new();
    for (name, alg, member) in FILES {
        let v = read_json(shared("wycheproof/primitives").join(name));
        let mut groups = Vec::new();
        let results = expected.entry(name.to_string()).or_default();
        for g in v["testGroups"].as_array().unwrap() {
            let tests: Vec<Value> = g["tests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    let id = t["tcId"].as_u64().unwrap();
                    let width = match alg {
                        "ES256" => Some(32),
                        "ES384" => Some(48),
                        "ES512" => Some(66),
                        _ => None,
                    };
                    let length = t["sig"].as_str().unwrap().len() / 2;
                    if width.is_none_or(|w| length == 2 * w) {
                        *reach.entry(name.to_string()).or_default() += 1;
                    }
                    results.insert(id, t["result"].as_str().unwrap().to_string());
                    json!([id, t["msg"], t["sig"]])
                })
                .collect();
            groups.push(json!({"jwk": group_jwk(g, member, alg), "tests": tests}));
        }
        files.push(json!({"name": name, "alg": alg, "groups": groups}));
    }
    let vectors = json!({"files": files}).to_string();
    let envoy = Envoy::launch(1, &[], |p| {
        json!({
            "bootstrap_extensions": [{
                "name": "envoy.bootstrap.wasm",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.wasm.v3.WasmService",
                    "singleton": true,
                    "config": {
                        "name": "parity",
                        "root_id": "parity",
                        "vm_config": {
                            "vm_id": "parity",
                            "runtime": "envoy.wasm.runtime.v8",
                            "code": {"local": {"filename": wasm}},
                            "configuration": {
                                "@type": "type.googleapis.com/google.protobuf.StringValue",
                                "value": vectors,
                            },
                        },
                    },
                },
            }],
            "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": p.admin}}},
        })
        .to_string()
    })
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !envoy.log().contains("parity: done") {
        assert!(Instant::now() < deadline, "no report:\n{}", envoy.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = envoy.log();
    // Envoy starts the VM twice (its base VM, then the service's copy),
    // each running the check: the first run's report.
    let reports: Vec<Value> = log
        .lines()
        .take_while(|l| !l.contains("parity: done"))
        .filter_map(|l| l.split_once("parity: {").map(|(_, r)| format!("{{{r}")))
        .map(|r| serde_json::from_str(&r).unwrap())
        .collect();
    assert_eq!(reports.len(), FILES.len(), "one report per file");
    let mut failures = Vec::new();
    let mut total = 0;
    for report in &reports {
        let name = report["name"].as_str().unwrap();
        let results = &expected[name];
        let answers = report["answers"].as_array().unwrap();
        assert_eq!(report["refused_keys"], 0, "{name}: a group key was refused");
        assert_eq!(answers.len(), results.len(), "{name}: every vector checked");
        assert_eq!(
            report["host_declined"], 0,
            "{name}: the host declined a key"
        );
        // Every vector but an ES* signature of the wrong length (refused
        // before the host, as the module refuses it) reached the host, and
        // every answer was one `verify_with` could read (none fell back).
        let reached = report["host_answered"].as_u64().unwrap() as usize;
        assert_eq!(
            reached, reach[name],
            "{name}: vectors that reached the host"
        );
        assert_eq!(
            report["host_readable"], report["host_answered"],
            "{name}: unreadable answers"
        );
        for a in answers {
            let (id, host, module) = (a[0].as_u64().unwrap(), a[1] == true, a[2] == true);
            let want = results[&id].as_str();
            if host != module {
                failures.push(format!(
                    "{name} tcId {id} ({want}): host {host}, module {module}"
                ));
            }
            match want {
                "valid" if !host => failures.push(format!("{name} tcId {id}: valid, refused")),
                "invalid" if host => failures.push(format!("{name} tcId {id}: invalid, accepted")),
                _ => {}
            }
        }
        total += answers.len();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(total > 2000, "only {total} vectors");
}
