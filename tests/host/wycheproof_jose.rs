//! Wycheproof JSON Web Crypto conformance, run against the vectors in
//! `$CARGO_MANIFEST_DIR/../shared/wycheproof` (the test fails, never skips,
//! when that directory or one of its files is missing).
//!
//! Rule: for the algorithms we support, every vector labelled `valid` is
//! accepted and every `invalid` one rejected; `acceptable` ones may go either
//! way but must not panic. A vector that is accepted with the wrong result
//! (plaintext, shared secret) is always a failure. Each file is one test; a
//! test collects every mismatch (tcId, comment, flags, label, outcome and the
//! product's reason), asserts the list is empty, and asserts that every
//! vector of the file ran and that their number is above a floor.
//!
//! Each vector goes through the lowest public functions that do the whole
//! job for its kind, the same ones the filter runs:
//! - `jwe`: the group's private JWK (or JWKS) through [`parse_jwk`] /
//!   [`parse_jwks`], then [`decrypt::parse`] (strict base64url and JSON,
//!   allow-lists, refused algorithms) and [`decrypt::plaintext`] (key
//!   selection by `kid`/`alg`/`use`/`key_ops`, random CEK on a failed
//!   unwrap, tag check); the plaintext must equal `pt` when given;
//! - `jws`: the group's `public` JWK or JWKS (the `private` one when no
//!   public key is given, i.e. `oct` secrets) through [`parse_jwk`] /
//!   [`parse_jwks`] and, for a set, [`check_verification_set`] (as
//!   `local_jwks` is compiled), then [`verify::parse_jws`] and
//!   [`verify::check_signature`];
//! - `x25519_jwk_test.json`: the private JWK through [`parse_jwk`], the
//!   peer's public JWK through [`parse_public_jwk_value`] (how an `epk` is
//!   read), then [`ecdh::agree`]; the secret must equal `shared`.
//!
//! Allow-lists are the defaults (every supported algorithm) and
//! `max_token_bytes` is at its maximum, so only the JOSE code decides.
//!
//! Nothing is skipped: every vector of the six files runs. Groups and
//! vectors whose expected outcome is not their label:
//! - `KNOWN-ISSUES.md` (labels that contradict the data):
//!   `json_web_signature_test.json` tcId 367 and 370 count as `valid` (their
//!   `jws` is byte-identical to `valid` tcId 357) and tcId 372 and 373 as
//!   `invalid` (their `jws` contains `?`, which is not base64url);
//! - refused on purpose, so they must be rejected whatever their label (a
//!   token header naming an algorithm we do not implement is treated the
//!   same way):
//!   - `RSA1_5` in `json_web_encryption_test.json`: 30 vectors, of which
//!     tcId 100-105, 112 and 128 are labelled `valid` (groups `jwe_rsa1_5`,
//!     `rfc_7520`) and 94-99, 110, 111, 113-120 and 122-127 `invalid`;
//!   - a `zip` header: `json_web_encryption_test.json` tcId 135 (`rfc_7520`
//!     figure 170, labelled `valid`);
//!   - `alg` `none`/`NONE`: `json_web_signature_test.json` tcId 16 and
//!     341-344, `json_web_crypto_test.json` tcId 16 (all labelled `invalid`);
//!   - `PBES2-*`: no vector in this snapshot;
//!   - X448: the whole of `x448_jwk_test.json` (523 vectors, 253 labelled
//!     `valid`) must be rejected because we do not support X448 keys;
//! - JSON serialization (non-compact) vectors: the product reads compact
//!   tokens only (RFC 6750 bearer values) and has no JSON-serialization entry
//!   point, so their JSON text is fed to the compact parsers and must be
//!   rejected: `json_web_crypto_test.json` tcId 17 (`jws_aes`) and 66
//!   (`jwe_aes`), both labelled `invalid`;
//! - stricter than the label, see [`STRICTER`]: `json_web_signature_test.json`
//!   tcId 346, 347, 350 and 351 (RFC 7520 figures 20 and 27, labelled
//!   `valid`) are rejected because their keys restrict them to another
//!   algorithm: `"alg": "PS256"` with a PS384 token (346, 350) and
//!   `"alg": "ES521"`, which is not an algorithm, with an ES512 token (347,
//!   351). We honour a JWK's `alg` (RFC 7517 §4.4, RFC 8725 §3.1, and
//!   `json_web_crypto.md` "Ignoring alg field in key"); the same files label
//!   a key with `"alg": "ES521"` `invalid` (`json_web_key_test.json`
//!   tcId 19). These four are NOT listed in `KNOWN-ISSUES.md`: they are the
//!   one open deviation of this suite and the test asserts they stay
//!   rejected.

use crate::common::{compile, config_value, key, private, public};
use jwe_authn::config::CompiledConfig;
use jwe_authn::decrypt;
use jwe_authn::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use jwe_authn::jose::b64;
use jwe_authn::jose::jwe::ecdh;
use jwe_authn::jose::jwk::{
    check_verification_set, parse_jwk, parse_jwks, parse_public_jwk_value, Jwk, KeyType,
};
use jwe_authn::verify;
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

const SIGNATURE_FILE: &str = "json_web_signature_test.json";

/// `json_web_signature_test.json` vectors whose label contradicts their data
/// (`KNOWN-ISSUES.md`): (tcId, the label that fits the data).
const KNOWN_ISSUES: &[(u64, Label)] = &[
    (367, Label::Valid),
    (370, Label::Valid),
    (372, Label::Invalid),
    (373, Label::Invalid),
];

/// Vectors labelled `valid` that we reject on purpose: the key's `alg`
/// names another algorithm than the token's (see the module docs).
const STRICTER: &[(&str, u64)] = &[
    (SIGNATURE_FILE, 346),
    (SIGNATURE_FILE, 347),
    (SIGNATURE_FILE, 350),
    (SIGNATURE_FILE, 351),
];

/// The Wycheproof directory; its absence fails the test.
fn wycheproof_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/wycheproof");
    assert!(
        dir.is_dir(),
        "the Wycheproof vectors are missing: {} is not a directory",
        dir.display()
    );
    dir
}

fn load(name: &str) -> Value {
    let path = wycheproof_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Valid,
    Invalid,
    Acceptable,
}

impl Label {
    fn parse(text: &str) -> Label {
        match text {
            "valid" => Label::Valid,
            "invalid" => Label::Invalid,
            "acceptable" => Label::Acceptable,
            other => panic!("unknown result {other:?}"),
        }
    }
}

/// What the test requires of one vector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Want {
    Accept,
    Either,
    /// Rejected, with the reason when it is not simply the label.
    Reject(Option<String>),
}

/// What the product did with one vector.
enum Outcome {
    Accepted,
    /// Accepted, but with another plaintext or shared secret than expected.
    WrongResult(String),
    Rejected(String),
    Panicked(String),
}

/// The configuration whose allow-lists `decrypt::parse` applies: every
/// supported algorithm (the defaults) and the largest token size, so only
/// the JOSE code decides. Its own keys are never used.
fn config() -> CompiledConfig {
    let dummy = key(KeyType::Oct { bytes: 32 }, "unused");
    let signer = key(KeyType::P256, "unused");
    compile(&config_value(
        &[private(&dummy)],
        &[public(&signer)],
        serde_json::json!({"max_token_bytes": 1 << 20}),
    ))
}

fn every_signature_alg() -> std::collections::BTreeSet<SignatureAlg> {
    SignatureAlg::ALL.iter().copied().collect()
}

/// Parse a JWK or a JWKS (`{"keys": [...]}`).
fn parse_key_or_set(value: &Value) -> Result<Vec<Jwk>, String> {
    if value.get("keys").is_some() {
        parse_jwks(value).map_err(|e| format!("key set refused: {e}"))
    } else {
        parse_jwk(value)
            .map(|k| vec![k])
            .map_err(|e| format!("key refused: {e}"))
    }
}

/// A group's decryption keys: private or secret, as `decryption_keys`.
fn decryption_keys(group: &Value) -> Result<Vec<Jwk>, String> {
    let keys = parse_key_or_set(&group["private"])?;
    if keys.iter().any(|k| !k.key.is_private()) {
        return Err("a decryption key is not private".into());
    }
    Ok(keys)
}

/// A group's verification keys: the public JWK(S), or the private one
/// (an `oct` secret) when none is given; a set as `local_jwks`.
fn verification_keys(group: &Value) -> Result<Vec<Jwk>, String> {
    let value = group.get("public").unwrap_or(&group["private"]);
    let keys = parse_key_or_set(value)?;
    check_verification_set(&keys).map_err(|e| format!("key set refused: {e}"))?;
    Ok(keys)
}

/// A refused or unsupported algorithm in the token's header, if any.
fn refused_in_header(token: &str, jwe: bool) -> Option<String> {
    let first = token.split('.').next()?;
    let header: Value = serde_json::from_slice(&b64::decode(first.as_bytes())?).ok()?;
    if header.get("zip").is_some() {
        return Some("zip (compression) is refused on purpose".into());
    }
    let alg = header.get("alg")?.as_str()?;
    let supported = if jwe {
        KeyManagementAlg::from_name(alg).is_some()
    } else {
        SignatureAlg::from_name(alg).is_some()
    };
    if !supported {
        return Some(format!("alg {alg:?} is refused or unsupported"));
    }
    if jwe {
        if let Some(enc) = header.get("enc").and_then(Value::as_str) {
            if ContentEncryptionAlg::from_name(enc).is_none() {
                return Some(format!("enc {enc:?} is unsupported"));
            }
        }
    }
    None
}

fn decrypt_jwe(
    token: &str,
    keys: &Result<Vec<Jwk>, String>,
    pt: Option<Vec<u8>>,
    config: &CompiledConfig,
) -> Outcome {
    let keys = match keys {
        Ok(keys) => keys,
        Err(e) => return Outcome::Rejected(e.clone()),
    };
    let parsed = match decrypt::parse(token, config) {
        Ok(parsed) => parsed,
        Err(e) => return Outcome::Rejected(e.to_string()),
    };
    match decrypt::plaintext(&parsed, keys) {
        Ok(plain) => match pt {
            Some(want) if plain.as_slice() != want.as_slice() => {
                Outcome::WrongResult(format!("decrypted to {} other bytes", plain.len()))
            }
            _ => Outcome::Accepted,
        },
        Err(e) => Outcome::Rejected(e.to_string()),
    }
}

fn verify_jws(token: &str, keys: &Result<Vec<Jwk>, String>) -> Outcome {
    let keys = match keys {
        Ok(keys) => keys,
        Err(e) => return Outcome::Rejected(e.clone()),
    };
    let parsed = match verify::parse_jws(token, &every_signature_alg()) {
        Ok(parsed) => parsed,
        Err(e) => return Outcome::Rejected(e.to_string()),
    };
    match verify::check_signature(&parsed, keys) {
        Ok(()) => Outcome::Accepted,
        Err(e) => Outcome::Rejected(e.to_string()),
    }
}

/// Run `f`, turning a panic into an outcome so every vector is reported.
fn guarded(f: impl FnOnce() -> Outcome) -> Outcome {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(outcome) => outcome,
        Err(payload) => Outcome::Panicked(
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
    }
}

/// Tally and mismatches of one file.
struct Report {
    file: &'static str,
    run: usize,
    accepted: usize,
    rejected: usize,
    /// Rejected as required by design (refused algorithm, JSON
    /// serialization, [`STRICTER`]) rather than by their label.
    by_design: usize,
    overridden: usize,
    mismatches: Vec<String>,
}

impl Report {
    fn new(file: &'static str) -> Self {
        Report {
            file,
            run: 0,
            accepted: 0,
            rejected: 0,
            by_design: 0,
            overridden: 0,
            mismatches: Vec::new(),
        }
    }

    fn record(&mut self, test: &Value, label: Label, want: &Want, outcome: Outcome) {
        self.run += 1;
        if matches!(want, Want::Reject(Some(_))) {
            self.by_design += 1;
        }
        let accepted = matches!(outcome, Outcome::Accepted | Outcome::WrongResult(_));
        if accepted {
            self.accepted += 1;
        } else {
            self.rejected += 1;
        }
        let problem = match (&outcome, want) {
            (Outcome::Panicked(msg), _) => Some(format!("panicked: {msg}")),
            (Outcome::WrongResult(what), _) => {
                Some(format!("accepted with a wrong result: {what}"))
            }
            (Outcome::Accepted, Want::Reject(why)) => Some(format!(
                "accepted, must be rejected{}",
                why.as_deref()
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_default()
            )),
            (Outcome::Rejected(reason), Want::Accept) => {
                Some(format!("rejected, must be accepted: {reason}"))
            }
            _ => None,
        };
        if let Some(problem) = problem {
            self.mismatches.push(format!(
                "{} tcId {} ({:?}, flags {}) labelled {label:?}: {problem}",
                self.file,
                test["tcId"],
                test["comment"].as_str().unwrap_or_default(),
                test["flags"]
            ));
        }
    }

    fn finish(self, expected_total: usize, floor: usize) {
        eprintln!(
            "{}: {} run, {} accepted, {} rejected ({} of them rejected by design), {} label overrides, 0 skipped",
            self.file, self.run, self.accepted, self.rejected, self.by_design, self.overridden
        );
        assert!(
            self.mismatches.is_empty(),
            "{}: {} mismatches:\n{}",
            self.file,
            self.mismatches.len(),
            self.mismatches.join("\n")
        );
        assert_eq!(
            self.run, expected_total,
            "{}: not every vector ran",
            self.file
        );
        assert!(
            self.run >= floor,
            "{}: only {} vectors ran (floor {floor})",
            self.file,
            self.run
        );
    }
}

/// The requirement for one JOSE vector, and whether a label was overridden.
fn want_for(file: &str, test: &Value, label: Label, object: &Value, jwe: bool) -> (Want, bool) {
    let id = test["tcId"].as_u64().unwrap();
    let Some(token) = object.as_str() else {
        return (
            Want::Reject(Some(
                "JSON serialization: only compact tokens are read".into(),
            )),
            false,
        );
    };
    if let Some(why) = refused_in_header(token, jwe) {
        return (Want::Reject(Some(why)), false);
    }
    if STRICTER.contains(&(file, id)) {
        return (
            Want::Reject(Some(
                "the key's alg names another algorithm (see STRICTER)".into(),
            )),
            false,
        );
    }
    let fixed = if file == SIGNATURE_FILE {
        KNOWN_ISSUES
            .iter()
            .find(|(known, _)| *known == id)
            .map(|(_, l)| *l)
    } else {
        None
    };
    let label = fixed.unwrap_or(label);
    let want = match label {
        Label::Valid => Want::Accept,
        Label::Invalid => Want::Reject(None),
        Label::Acceptable => Want::Either,
    };
    (want, fixed.is_some())
}

/// Run one of the four JOSE files (JWE and JWS vectors, keys per group).
fn run_jose_file(file: &'static str, floor: usize) {
    let vectors = load(file);
    let config = config();
    let mut report = Report::new(file);
    for group in vectors["testGroups"].as_array().unwrap() {
        let decryption = decryption_keys(group);
        let verification = verification_keys(group);
        for test in group["tests"].as_array().unwrap() {
            let label = Label::parse(test["result"].as_str().unwrap());
            let (object, jwe) = match (test.get("jwe"), test.get("jws")) {
                (Some(o), None) => (o, true),
                (None, Some(o)) => (o, false),
                _ => panic!("{file} tcId {}: neither jwe nor jws", test["tcId"]),
            };
            let (want, overridden) = want_for(file, test, label, object, jwe);
            if overridden {
                report.overridden += 1;
            }
            let outcome = guarded(|| {
                // A JSON serialization is handed over as text: the product
                // only has compact parsers.
                let token = object
                    .as_str()
                    .map_or_else(|| object.to_string(), str::to_string);
                if jwe {
                    let pt = test.get("pt").and_then(Value::as_str).map(hex);
                    decrypt_jwe(&token, &decryption, pt, &config)
                } else {
                    verify_jws(&token, &verification)
                }
            });
            report.record(test, label, &want, outcome);
        }
    }
    report.finish(vectors["numberOfTests"].as_u64().unwrap() as usize, floor);
}

/// Run an XDH-in-JWK file: parse both keys, agree, compare the secret.
fn run_xdh_file(file: &'static str, supported: bool, floor: usize) {
    let vectors = load(file);
    let mut report = Report::new(file);
    for group in vectors["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            let label = Label::parse(test["result"].as_str().unwrap());
            let want = match (supported, label) {
                (false, _) => Want::Reject(Some("X448 is not supported".into())),
                (true, Label::Valid) => Want::Accept,
                (true, Label::Invalid) => Want::Reject(None),
                (true, Label::Acceptable) => Want::Either,
            };
            let outcome = guarded(|| {
                let ours = match parse_jwk(&test["private"]) {
                    Ok(k) => k,
                    Err(e) => return Outcome::Rejected(format!("private key refused: {e}")),
                };
                let peer = match parse_public_jwk_value(&test["public"]) {
                    Ok(k) => k,
                    Err(e) => return Outcome::Rejected(format!("public key refused: {e}")),
                };
                match ecdh::agree(&ours.key, &peer) {
                    Ok(z) if z.as_slice() == hex(test["shared"].as_str().unwrap()) => {
                        Outcome::Accepted
                    }
                    Ok(_) => Outcome::WrongResult("another shared secret".into()),
                    Err(e) => Outcome::Rejected(e.to_string()),
                }
            });
            report.record(test, label, &want, outcome);
        }
    }
    if !supported {
        assert_eq!(report.accepted, 0, "{file}: an unsupported curve was used");
    }
    report.finish(vectors["numberOfTests"].as_u64().unwrap() as usize, floor);
}

#[test]
fn json_web_encryption_vectors() {
    run_jose_file("json_web_encryption_test.json", 130);
}

#[test]
fn json_web_signature_vectors() {
    run_jose_file(SIGNATURE_FILE, 390);
}

#[test]
fn json_web_key_vectors() {
    run_jose_file("json_web_key_test.json", 25);
}

#[test]
fn json_web_crypto_vectors() {
    run_jose_file("json_web_crypto_test.json", 80);
}

#[test]
fn x25519_jwk_vectors() {
    run_xdh_file("x25519_jwk_test.json", true, 500);
}

#[test]
fn x448_jwk_vectors() {
    run_xdh_file("x448_jwk_test.json", false, 500);
}

/// The overrides and deviations above are about these exact vectors: if a
/// new snapshot renumbers them, this fails instead of silently overriding
/// other vectors.
#[test]
fn overrides_still_match_their_vectors() {
    let vectors = load(SIGNATURE_FILE);
    let by_id = |id: u64| -> (Value, Value) {
        for group in vectors["testGroups"].as_array().unwrap() {
            for test in group["tests"].as_array().unwrap() {
                if test["tcId"] == id {
                    return (group.clone(), test.clone());
                }
            }
        }
        panic!("tcId {id} is missing");
    };
    let jws = |id: u64| by_id(id).1["jws"].as_str().unwrap().to_string();
    // KNOWN-ISSUES.md, re-checked.
    assert_eq!(by_id(357).1["result"], "valid");
    for id in [367, 370] {
        assert_eq!(by_id(id).1["result"], "invalid");
        assert_eq!(jws(id), jws(357), "tcId {id}");
    }
    for id in [372, 373] {
        assert_eq!(by_id(id).1["result"], "valid");
        assert!(jws(id).contains('?'), "tcId {id}");
    }
    // STRICTER: the key's alg differs from the token's.
    for (id, key_alg, token_alg) in [
        (346, "PS256", "PS384"),
        (347, "ES521", "ES512"),
        (350, "PS256", "PS384"),
        (351, "ES521", "ES512"),
    ] {
        let (group, test) = by_id(id);
        assert_eq!(test["result"], "valid");
        assert_eq!(group["public"]["alg"], key_alg, "tcId {id}");
        let token = jws(id);
        let header = b64::decode(token.split('.').next().unwrap().as_bytes()).unwrap();
        let header: Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["alg"], token_alg, "tcId {id}");
    }
}
