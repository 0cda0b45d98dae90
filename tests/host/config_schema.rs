//! The shipped JSON Schema (`schema/jwe-authn.config.schema.json`, which
//! `tests/hermetic/json_schema.rs` keeps equal to what the structs
//! generate) is checked with a real validator, Python's `jsonschema` from
//! the project's virtualenv: it is a valid draft 2020-12 schema, every
//! configuration we publish matches it, and it agrees with our parser on
//! mistakes and on each single-value rule it states.

use crate::deploy::{env_lookup, envoy_yamls, filter_configs, yaml};
use crate::harness::root;
use jwe_authn::config::json_schema::{ValueRule, SHIPPED_PATH, VALUE_RULES};
use jwe_authn::config::CompiledConfig;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

/// Validate each instance against the shipped schema (after checking the
/// schema itself against the draft 2020-12 meta-schema): per instance,
/// its errors, empty when it is valid.
fn schema_errors(instances: &[Value]) -> Vec<Vec<String>> {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make test`",
        python.display()
    );
    const SCRIPT: &str = "\
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
json.dump([['/' + '/'.join(map(str, e.absolute_path)) + ': ' + e.message
            for e in validator.iter_errors(i)] for i in json.load(sys.stdin)], sys.stdout)
";
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .arg(root().join(SHIPPED_PATH))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::to_vec(instances).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "jsonschema failed (is it installed? run `make test`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let errors: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(errors.len(), instances.len());
    errors
}

/// The JSON code blocks of the README's "## Configuration" section.
fn readme_configurations() -> Vec<Value> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let (_, section) = readme.split_once("\n## Configuration\n").unwrap();
    let section = section.split("\n## ").next().unwrap();
    section
        .split("```json\n")
        .skip(1)
        .map(|block| serde_json::from_str(block.split("```").next().unwrap()).unwrap())
        .collect()
}

#[test]
fn every_published_configuration_matches_the_schema() {
    let mut configs: Vec<(String, Value)> = Vec::new();
    for file in envoy_yamls() {
        let mut texts = Vec::new();
        yaml(&file)
            .iter()
            .for_each(|d| filter_configs(d, &mut texts));
        for text in texts {
            configs.push((
                file.display().to_string(),
                serde_json::from_str(&text).unwrap(),
            ));
        }
    }
    let istio = root().join("examples/istio/wasmplugin.yaml");
    for doc in yaml(&istio) {
        configs.push((
            istio.display().to_string(),
            doc["spec"]["pluginConfig"].clone(),
        ));
    }
    for config in readme_configurations() {
        configs.push(("README.md, Configuration".into(), config));
    }
    assert!(configs.len() >= 6, "only {} configurations", configs.len());
    assert!(configs.iter().any(|(f, _)| f.contains("docker-compose")));
    let values: Vec<Value> = configs.iter().map(|(_, v)| v.clone()).collect();
    let problems: Vec<String> = configs
        .iter()
        .zip(schema_errors(&values))
        .filter(|(_, errors)| !errors.is_empty())
        .map(|((file, _), errors)| format!("{file}: {errors:?}"))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A configuration both the schema and the parser accept: the demo keys,
/// one provider `test`.
fn base() -> Value {
    let key = |name: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(root().join("envoy/demo").join(name)).unwrap(),
        )
        .unwrap()
    };
    json!({
        "decryption_keys": {"keys": [key("decrypt.jwk")]},
        "providers": {"test": {"issuer": "https://idp.test", "audiences": ["api"],
                               "local_jwks": {"keys": [key("verify.pub.jwk")]}}}
    })
}

/// What the parser says of a configuration.
fn parser_accepts(config: &Value) -> bool {
    CompiledConfig::from_json_with_env(&config.to_string(), &env_lookup).is_ok()
}

/// Judge every case with both; each must get the verdict `expected` from
/// both. Returns the disagreements.
fn judge(cases: &[(String, Value, bool)]) -> Vec<String> {
    let configs: Vec<Value> = cases.iter().map(|(_, c, _)| c.clone()).collect();
    cases
        .iter()
        .zip(schema_errors(&configs))
        .filter_map(|((what, config, expected), errors)| {
            let schema = errors.is_empty();
            let parser = parser_accepts(config);
            (schema != *expected || parser != *expected).then(|| {
                format!("{what}: expected accepted={expected}, schema {schema} {errors:?}, parser {parser}")
            })
        })
        .collect()
}

/// Set the member at `path` (object keys; numbers index arrays).
fn with(mut config: Value, path: &[&str], value: Value) -> Value {
    let mut at = &mut config;
    for key in &path[..path.len() - 1] {
        at = match key.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => &mut at[*key],
        };
    }
    at[path[path.len() - 1]] = value;
    config
}

fn without(mut config: Value, path: &[&str]) -> Value {
    let mut at = &mut config;
    for key in &path[..path.len() - 1] {
        at = &mut at[*key];
    }
    at.as_object_mut().unwrap().remove(path[path.len() - 1]);
    config
}

#[test]
fn the_schema_and_the_parser_refuse_the_same_mistakes() {
    let rule = json!([{"match": {"prefix": "/health"}, "requires": "allow"}]);
    let cases: Vec<(&str, Value, bool)> = vec![
        ("the base configuration", base(), true),
        ("a rule", with(base(), &["rules"], rule.clone()), true),
        // Unknown fields, at the top and nested.
        (
            "unknown top-level field",
            with(base(), &["bogus"], json!(1)),
            false,
        ),
        (
            "unknown provider field",
            with(base(), &["providers", "test", "bogus"], json!(1)),
            false,
        ),
        (
            "unknown cache field",
            with(base(), &["cache", "bogus"], json!(1)),
            false,
        ),
        (
            "misspelt admission field",
            with(base(), &["admission", "worker_percents"], json!(50)),
            false,
        ),
        (
            "unknown match field",
            with(
                with(base(), &["rules"], rule.clone()),
                &["rules", "0", "match", "regex"],
                json!(".*"),
            ),
            false,
        ),
        (
            "unknown key-set field",
            with(base(), &["decryption_keys", "jwks"], json!([])),
            false,
        ),
        // Wrong types.
        (
            "number as a string",
            with(base(), &["clock_skew_seconds"], json!("60")),
            false,
        ),
        (
            "negative number",
            with(base(), &["clock_skew_seconds"], json!(-1)),
            false,
        ),
        (
            "boolean as a string",
            with(base(), &["require_expiration"], json!("true")),
            false,
        ),
        (
            "audiences as a string",
            with(base(), &["providers", "test", "audiences"], json!("api")),
            false,
        ),
        (
            "providers as an array",
            with(base(), &["providers"], json!([])),
            false,
        ),
        (
            "header name as a number",
            with(base(), &["from_headers"], json!([{"name": 1}])),
            false,
        ),
        (
            "required claim as a string",
            with(
                with(base(), &["rules"], rule.clone()),
                &["rules", "0", "required_claims"],
                json!({"scope": "read"}),
            ),
            false,
        ),
        // Required fields.
        ("no providers", without(base(), &["providers"]), false),
        (
            "provider without issuer",
            without(base(), &["providers", "test", "issuer"]),
            false,
        ),
        (
            "rule without requires",
            with(base(), &["rules"], json!([{"match": {"prefix": "/"}}])),
            false,
        ),
    ];
    let cases: Vec<(String, Value, bool)> = cases
        .into_iter()
        .map(|(w, c, e)| (w.to_string(), c, e))
        .collect();
    let disagreements = judge(&cases);
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// Where a definition of the schema lives in [`base`] turned into a
/// configuration that uses it.
fn location(def: &str) -> (Value, Vec<&'static str>) {
    let remote = json!({"http_uri": {"uri": "https://idp.test/jwks", "cluster": "idp"}});
    let provider = ["providers", "test"];
    let base_with = |field: &str, value: Value| {
        with(
            without(base(), &["providers", "test", "local_jwks"]),
            &["providers", "test", field],
            value,
        )
    };
    match def {
        "Config" => (base(), vec![]),
        "AdmissionConfig" => (base(), vec!["admission"]),
        "RemoteJwks" => (
            base_with("remote_jwks", remote),
            [&provider[..], &["remote_jwks"]].concat(),
        ),
        "HttpUri" => (
            base_with("remote_jwks", remote),
            [&provider[..], &["remote_jwks", "http_uri"]].concat(),
        ),
        "Discovery" => (
            base_with("discovery", json!({"cluster": "idp"})),
            [&provider[..], &["discovery"]].concat(),
        ),
        "Revocation" => (
            with(
                base(),
                &["providers", "test", "revocation"],
                json!({"http_uri": remote["http_uri"]}),
            ),
            [&provider[..], &["revocation"]].concat(),
        ),
        "TrustedCertificateHeader" => (
            with(
                base(),
                &["providers", "test", "certificate_bound"],
                json!({"trusted_header": {"name": "x-client-cert", "format": "pem"}}),
            ),
            [&provider[..], &["certificate_bound", "trusted_header"]].concat(),
        ),
        other => panic!("no configuration uses {other}: add it to location()"),
    }
}

/// Values on both sides of a pattern, and whether the parser takes them.
/// Not here: a value ending in a newline (`"5s\n"`), which the schema
/// refuses (ECMA-262 `$`) and so does the parser, but Python's `re`, and so
/// this validator, lets `$` match before a final newline.
fn pattern_probes(pattern: &str) -> Vec<(Value, bool)> {
    let probes: &[(&str, bool)] = match pattern {
        r"^[0-9]+(\.[0-9]{0,3})?s$" => &[
            ("5s", true),
            ("0.5s", true),
            ("0.125s", true),
            ("600s", true),
            ("5.s", true),
            ("5", false),
            ("5ms", false),
            ("0.1234s", false),
            ("-1s", false),
            (".5s", false),
            ("1e3s", false),
            (" 5s", false),
            ("", false),
        ],
        r#"^[^"\\\x00-\x1f\x7f]+$"# => &[
            ("orders-api", true),
            ("my realm", true),
            ("réalm", true),
            ("", false),
            ("a\"b", false),
            ("a\\b", false),
            ("a\u{1}b", false),
            ("a\tb", false),
            ("a\u{7f}b", false),
        ],
        "^https?://" => &[
            ("https://idp.test/jwks", true),
            ("http://127.0.0.1:8080/keys", true),
            ("ftp://idp.test/jwks", false),
            ("HTTPS://idp.test/jwks", false),
            ("idp.test/jwks", false),
            ("", false),
        ],
        other => panic!("no probes for the pattern {other}: add some to pattern_probes()"),
    };
    probes.iter().map(|(v, ok)| (json!(v), *ok)).collect()
}

#[test]
fn every_value_rule_of_the_schema_agrees_with_the_parser() {
    let mut cases = Vec::new();
    for (pointer, rule) in VALUE_RULES {
        let (def, field) = match pointer.strip_prefix("/properties/") {
            Some(field) => ("Config", field),
            None => {
                let rest = pointer.strip_prefix("/$defs/").unwrap();
                rest.split_once("/properties/").unwrap()
            }
        };
        let probes: Vec<(Value, bool)> = match rule {
            ValueRule::Range(min, max) => {
                let mut p = vec![
                    (json!(min), true),
                    (json!(max), true),
                    (json!(max + 1), false),
                ];
                if *min > 0 {
                    p.push((json!(min - 1), false));
                }
                p.push((json!(min.to_string()), false));
                p
            }
            ValueRule::OneOf(values) => {
                let mut p: Vec<_> = values.iter().map(|v| (json!(v), true)).collect();
                p.push((json!(values[0].to_uppercase()), false));
                p.push((json!("other"), false));
                p
            }
            ValueRule::Pattern(pattern) => pattern_probes(pattern),
        };
        let (config, path) = location(def);
        for (value, ok) in probes {
            let full: Vec<&str> = path.iter().copied().chain([field]).collect();
            cases.push((
                format!("{pointer} = {value}"),
                with(config.clone(), &full, value),
                ok,
            ));
        }
    }
    assert!(cases.len() > 60, "only {} cases", cases.len());
    let disagreements = judge(&cases);
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}
