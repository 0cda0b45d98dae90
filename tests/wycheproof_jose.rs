//! Wycheproof JSON Web Crypto conformance (`../shared/wycheproof`): every
//! vector labelled `valid` is accepted and every `invalid` one rejected, for
//! the algorithms we support, through the product's own layers:
//! [`decrypt::parse`] + [`decrypt::plaintext`] for JWE (allow-lists, strict
//! base64url and JSON, key selection by `kid`/`alg`/`use`, random CEK on a
//! failed unwrap, tag check) and [`verify::parse_jws`] +
//! [`verify::check_signature`] for JWS (the same functions the filter runs
//! on the inner token).
//!
//! Files: `json_web_encryption_test.json`, `json_web_signature_test.json`,
//! `json_web_key_test.json` (JWS with key sets), `json_web_crypto_test.json`
//! (both kinds mixed).
//!
//! Overrides and skips:
//! - signature tcId 367 and 370 count as `valid` and 372 and 373 as
//!   `invalid` (`KNOWN-ISSUES.md`: labels that contradict the data);
//! - vectors for algorithms we refuse on purpose (`RSA1_5`, `PBES2-*`,
//!   `none`, a `zip` header) count as passed when rejected, whatever their
//!   label, and fail if accepted;
//! - signature tcId 346, 347, 349, 350 and 351 (RFC 7520's figures, labelled
//!   `valid`) must be *rejected*: their JWKs restrict the key to another
//!   algorithm (`"alg": "PS256"` used with PS384; `"alg": "ES521"`, not an
//!   algorithm, used with ES512) or carry a malformed `key_ops`
//!   (`["sign, verify"]`, one string). We honour `alg` and `key_ops` strictly
//!   (RFC 7517 §4.3–4.4, RFC 8725 §3.1): a key is only used as its metadata
//!   says. Listed in [`STRICTER`];
//! - JSON serialization (non-compact) vectors count as passed when rejected:
//!   the filter reads compact tokens only (RFC 6750 bearer values);
//! - `x25519_jwk_test.json` and `x448_jwk_test.json` are key-agreement
//!   vectors in JWK form, not JOSE objects: X25519 agreement is covered by
//!   `wycheproof_primitives.rs`, X448 is not supported (its keys are refused).

// Tests unwrap and index freely: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{compile, config_value, key, private, public, read_json, shared};
use jwe_authn::config::CompiledConfig;
use jwe_authn::decrypt;
use jwe_authn::jose::b64;
use jwe_authn::jose::jwk::{
    check_verification_set, parse_jwk, parse_jwks, public_jwk, Jwk, KeyType,
};
use jwe_authn::verify;
use serde_json::Value;

/// Vectors labelled `valid` that we reject on purpose (see the module docs).
const STRICTER: &[(&str, u64)] = &[
    ("json_web_signature_test.json", 346),
    ("json_web_signature_test.json", 347),
    ("json_web_signature_test.json", 349),
    ("json_web_signature_test.json", 350),
    ("json_web_signature_test.json", 351),
];

/// Algorithms refused on purpose: a vector using one must be rejected.
const REFUSED: &[&str] = &["RSA1_5", "none", "NONE"];

fn config() -> CompiledConfig {
    // Only the allow-lists (every supported algorithm) and the size limit
    // are used; the vectors bring their own keys.
    let dummy = key(KeyType::Oct { bytes: 32 }, "dummy");
    let signer = key(KeyType::P256, "signer");
    compile(&config_value(
        &[private(&dummy)],
        &[public(&signer)],
        serde_json::json!({}),
    ))
}

/// The group's keys: private for decryption, public for verification.
fn keys(private: &Value) -> (Vec<Jwk>, Vec<Jwk>) {
    let private_keys = if private.get("keys").is_some() {
        parse_jwks(private).unwrap_or_default()
    } else {
        parse_jwk(private).map(|k| vec![k]).unwrap_or_default()
    };
    let public_keys: Vec<Jwk> = private_keys
        .iter()
        .filter_map(|k| match public_jwk(k) {
            Some(v) => parse_jwk(&v).ok(),
            None => Some(k.clone()),
        })
        .collect();
    // As `local_jwks` is compiled: a set mixing symmetric and asymmetric
    // keys is refused as a whole.
    if check_verification_set(&public_keys).is_err() {
        return (private_keys, Vec::new());
    }
    (private_keys, public_keys)
}

fn header_alg(token: &str) -> Option<(String, bool)> {
    let first = token.split('.').next()?;
    let header: Value = serde_json::from_slice(&b64::decode(first.as_bytes())?).ok()?;
    let alg = header.get("alg")?.as_str()?.to_string();
    Some((alg, header.get("zip").is_some()))
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Whether the product accepts `object` with the group's keys.
fn accepts(
    object: &Value,
    test: &Value,
    keys: &(Vec<Jwk>, Vec<Jwk>),
    config: &CompiledConfig,
) -> bool {
    let Some(token) = object.as_str() else {
        return false; // JSON serialization: not read by the filter
    };
    match token.split('.').count() {
        5 => {
            let Ok(parsed) = decrypt::parse(token, config) else {
                return false;
            };
            match decrypt::plaintext(&parsed, &keys.0) {
                Ok(pt) => test
                    .get("pt")
                    .and_then(Value::as_str)
                    .is_none_or(|want| pt.as_slice() == hex(want).as_slice()),
                Err(_) => false,
            }
        }
        3 => match verify::parse_jws(token, &config.signature) {
            Ok(parsed) => verify::check_signature(&parsed, &keys.1).is_ok(),
            Err(_) => false,
        },
        _ => false,
    }
}

struct Outcome {
    run: usize,
    accepted: usize,
    rejected: usize,
    mismatches: Vec<String>,
}

fn run_file(name: &str) -> Outcome {
    let path = shared(&format!("wycheproof/{name}"));
    assert!(path.exists(), "{} is missing", path.display());
    let file = read_json(&path);
    let config = config();
    let mut out = Outcome {
        run: 0,
        accepted: 0,
        rejected: 0,
        mismatches: Vec::new(),
    };
    for group in file["testGroups"].as_array().unwrap() {
        let keys = keys(&group["private"]);
        for test in group["tests"].as_array().unwrap() {
            let id = test["tcId"].as_u64().unwrap();
            let object = test.get("jwe").or_else(|| test.get("jws")).unwrap();
            let mut label = test["result"].as_str().unwrap().to_string();
            // KNOWN-ISSUES.md: labels that contradict the data.
            if name == "json_web_signature_test.json" {
                match id {
                    367 | 370 => label = "valid".into(),
                    372 | 373 => label = "invalid".into(),
                    _ => {}
                }
            }
            let refused = object
                .as_str()
                .and_then(header_alg)
                .is_some_and(|(alg, zip)| {
                    zip || REFUSED.contains(&alg.as_str()) || alg.starts_with("PBES2")
                })
                || object.is_object();
            let accepted = accepts(object, test, &keys, &config);
            out.run += 1;
            if accepted {
                out.accepted += 1;
            } else {
                out.rejected += 1;
            }
            let stricter = STRICTER.contains(&(name, id));
            let want = if refused || stricter {
                Some(false)
            } else {
                match label.as_str() {
                    "valid" => Some(true),
                    "invalid" => Some(false),
                    _ => None, // acceptable: either, without a panic
                }
            };
            if want.is_some_and(|w| w != accepted) {
                out.mismatches.push(format!(
                    "{name} tcId {id} ({}, flags {}): labelled {label}{}, {}",
                    test["comment"],
                    test["flags"],
                    if refused {
                        " but refused on purpose"
                    } else {
                        ""
                    },
                    if accepted { "accepted" } else { "rejected" }
                ));
            }
        }
    }
    eprintln!(
        "{name}: {} vectors, {} accepted, {} rejected",
        out.run, out.accepted, out.rejected
    );
    out
}

fn check(name: &str, floor: usize) {
    let out = run_file(name);
    assert!(out.run >= floor, "{name}: only {} vectors ran", out.run);
    assert!(out.accepted > 0 && out.rejected > 0, "{name}: one-sided");
    assert!(
        out.mismatches.is_empty(),
        "{} mismatches:\n{}",
        out.mismatches.len(),
        out.mismatches.join("\n")
    );
}

#[test]
fn json_web_encryption_vectors() {
    check("json_web_encryption_test.json", 130);
}

#[test]
fn json_web_signature_vectors() {
    check("json_web_signature_test.json", 390);
}

#[test]
fn json_web_key_vectors() {
    check("json_web_key_test.json", 25);
}

#[test]
fn json_web_crypto_vectors() {
    check("json_web_crypto_test.json", 80);
}
