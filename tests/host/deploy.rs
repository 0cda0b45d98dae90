//! The ways to deploy stay valid: every Envoy YAML passes
//! `envoy --mode validate` (which also runs the filter's `on_configure`),
//! every embedded filter configuration compiles with our own parser, the
//! Istio WasmPlugin and TrafficExtension and the Envoy Gateway
//! EnvoyExtensionPolicy and ClientTrafficPolicy match their CRDs' schemas
//! (`../shared/crds`) and carry a configuration our parser accepts, the OCI
//! layout is consistent, and the docker-compose files are complete and their
//! Envoy config runs for real.

use crate::harness;

use harness::{root, Envoy};
use jwe_authn::config::CompiledConfig;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The demo decryption keys as the JWKS a Secret would hold.
fn demo_jwks() -> String {
    format!(
        r#"{{"keys": [{}]}}"#,
        std::fs::read_to_string(root().join("envoy/demo/decrypt.jwk")).unwrap()
    )
}

pub(crate) fn env_lookup(name: &str) -> Option<String> {
    (name == "JWE_AUTHN_DECRYPTION_JWKS").then(demo_jwks)
}

/// Every Envoy configuration the project ships.
pub(crate) fn envoy_yamls() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("envoy"), &mut files);
    files.push(root().join("examples/docker-compose/envoy.yaml"));
    files.push(root().join("examples/docker-compose/echo.yaml"));
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    files
}

/// Parse YAML (all documents) with PyYAML from the project's virtualenv.
pub(crate) fn yaml(path: &Path) -> Vec<Value> {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make test`",
        python.display()
    );
    let out = Command::new(python)
        .args(["-c", "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The YAML with the filter's path pointing at the built `.wasm`.
fn with_built_wasm(text: &str) -> String {
    let wasm = harness::wasm_path().display().to_string();
    text.replace(
        "filename: /etc/envoy/jwe_authn.wasm",
        &format!("filename: {wasm}"),
    )
    .replace(
        "filename: target/wasm32-wasip1/release/jwe_authn.wasm",
        &format!("filename: {wasm}"),
    )
}

fn validate(text: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!(
        "jwe-authn-validate-{}-{:x}",
        std::process::id(),
        Sha256::digest(text.as_bytes())[0]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("envoy.yaml");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(harness::envoy_binary())
        .args(["--mode", "validate", "-l", "error", "-c"])
        .arg(&file)
        .env("JWE_AUTHN_DECRYPTION_JWKS", demo_jwks())
        // envoy/native.yaml loads the native module (validation runs its
        // configuration hook too).
        .env(
            "ENVOY_DYNAMIC_MODULES_SEARCH_PATH",
            crate::native::module_dir(),
        )
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn every_envoy_yaml_passes_envoy_validate() {
    for file in envoy_yamls() {
        let text = with_built_wasm(&std::fs::read_to_string(&file).unwrap());
        let (ok, output) = validate(&text);
        assert!(ok && output.contains("OK"), "{}:\n{output}", file.display());
    }
}

#[test]
fn validate_runs_the_filter_configuration() {
    // The check can fail: an unknown field in the filter configuration makes
    // `envoy --mode validate` fail with the filter's own message.
    let text = std::fs::read_to_string(root().join("envoy/envoy.yaml")).unwrap();
    let broken = with_built_wasm(&text).replace(
        r#""realm": "orders-api","#,
        r#""realm": "orders-api", "bogus": 1,"#,
    );
    assert_ne!(broken, with_built_wasm(&text));
    let (ok, output) = validate(&broken);
    assert!(!ok, "{output}");
    assert!(
        output.contains("Unable to create Wasm plugin jwe_authn"),
        "{output}"
    );
}

/// The filter configurations embedded in an Envoy YAML.
pub(crate) fn filter_configs(doc: &Value, out: &mut Vec<String>) {
    match doc {
        Value::Object(map) => {
            let is_wasm =
                map.get("name").and_then(Value::as_str) == Some("envoy.filters.http.wasm");
            if is_wasm && map["typed_config"]["config"]["root_id"] == "jwe_authn" {
                let value = &map["typed_config"]["config"]["configuration"]["value"];
                out.push(value.as_str().unwrap().to_string());
            }
            // The native module (envoy/native.yaml): the same JSON.
            let is_native = map.get("name").and_then(Value::as_str)
                == Some("envoy.filters.http.dynamic_modules");
            if is_native && map["typed_config"]["filter_name"] == "jwe_authn" {
                let value = &map["typed_config"]["filter_config"]["value"];
                out.push(value.as_str().unwrap().to_string());
            }
            map.values().for_each(|v| filter_configs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| filter_configs(v, out)),
        _ => {}
    }
}

/// Every HTTP connection manager in `doc` (its `typed_config`).
fn connection_managers<'v>(doc: &'v Value, out: &mut Vec<&'v Value>) {
    match doc {
        Value::Object(map) => {
            if map
                .get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with(".HttpConnectionManager"))
            {
                out.push(doc);
            }
            map.values().for_each(|v| connection_managers(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| connection_managers(v, out)),
        _ => {}
    }
}

/// README, "What the Envoy configuration must set": every connection
/// manager clients reach in the configurations we publish sets all of it
/// (the internal `echo` and `upstream` listeners stand for the API behind).
#[test]
fn every_published_connection_manager_sets_the_edge_protection() {
    let mut checked = 0;
    for file in envoy_yamls() {
        let docs = yaml(&file);
        let mut hcms = Vec::new();
        docs.iter().for_each(|d| connection_managers(d, &mut hcms));
        for hcm in hcms {
            let prefix = hcm["stat_prefix"].as_str().unwrap_or_default();
            if prefix == "echo" || prefix == "upstream" {
                continue;
            }
            let at = format!("{} ({prefix})", file.display());
            assert_eq!(hcm["normalize_path"], true, "{at}: normalize_path");
            assert_eq!(hcm["merge_slashes"], true, "{at}: merge_slashes");
            assert!(
                ["UNESCAPE_AND_REDIRECT", "REJECT_REQUEST"].contains(
                    &hcm["path_with_escaped_slashes_action"]
                        .as_str()
                        .unwrap_or("")
                ),
                "{at}: path_with_escaped_slashes_action"
            );
            assert_eq!(
                hcm["common_http_protocol_options"]["headers_with_underscores_action"],
                "REJECT_REQUEST",
                "{at}: headers_with_underscores_action"
            );
            assert_eq!(hcm["use_remote_address"], true, "{at}: use_remote_address");
            checked += 1;
        }
    }
    assert!(checked >= 7, "only {checked} connection managers checked");
}

#[test]
fn every_embedded_configuration_compiles_with_our_parser() {
    let mut count = 0;
    for file in envoy_yamls() {
        let mut configs = Vec::new();
        yaml(&file)
            .iter()
            .for_each(|d| filter_configs(d, &mut configs));
        for text in configs {
            CompiledConfig::from_json_with_env(&text, &env_lookup)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            count += 1;
        }
    }
    assert!(count >= 3, "only {count} filter configurations found");
}

/// One served version of a CustomResourceDefinition in `../shared/crds`
/// (the Istio and Envoy Gateway CRDs, unchanged from their projects).
struct Crd {
    api_version: String,
    kind: String,
    schema: Value,
}

fn crd(file: &str, kind: &str) -> Crd {
    let path = root().join("../shared/crds").join(file);
    let definition = yaml(&path)
        .into_iter()
        .find(|d| d["kind"] == "CustomResourceDefinition" && d["spec"]["names"]["kind"] == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind} in {}", path.display()));
    assert_eq!(definition["spec"]["scope"], "Namespaced", "{kind}");
    let version = definition["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["served"] == true && v["storage"] == true)
        .unwrap_or_else(|| panic!("{kind}: no served storage version"));
    Crd {
        api_version: format!(
            "{}/{}",
            definition["spec"]["group"].as_str().unwrap(),
            version["name"].as_str().unwrap()
        ),
        kind: kind.to_string(),
        schema: version["schema"]["openAPIV3Schema"].clone(),
    }
}

impl Crd {
    /// What the API server would refuse in `doc` on `kubectl apply` (strict
    /// field validation, kubectl's default), as far as the OpenAPI schema
    /// says: see [`schema_errors`] for what is checked. Empty when valid.
    fn errors(&self, doc: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        if doc["apiVersion"] != self.api_version.as_str() {
            errors.push(format!(
                "apiVersion: {} is not {}",
                doc["apiVersion"], self.api_version
            ));
        }
        if doc["kind"] != self.kind.as_str() {
            errors.push(format!("kind: {} is not {}", doc["kind"], self.kind));
        }
        // Every object has these three; a CRD need not list them (Istio's do
        // not) and lists `metadata` as a bare object, whose fields the API
        // server knows without the CRD.
        let mut schema = self.schema.clone();
        let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
        let properties = schema["properties"].as_object_mut().unwrap();
        properties.insert("apiVersion".into(), json!({"type": "string"}));
        properties.insert("kind".into(), json!({"type": "string"}));
        properties.insert(
            "metadata".into(),
            json!({
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 253},
                    "namespace": {"type": "string", "minLength": 1, "maxLength": 63},
                    "labels": string_map,
                    "annotations": string_map,
                },
            }),
        );
        schema_errors(&schema, doc, "", true, &mut errors);
        errors
    }

    /// `doc` (from `file`) is valid.
    fn check(&self, doc: &Value, file: &str) {
        let errors = self.errors(doc);
        assert!(
            errors.is_empty(),
            "{file} does not match the {} CRD:\n{}",
            self.kind,
            errors.join("\n")
        );
    }
}

fn schema_type_matches(ty: &str, value: &Value) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        other => panic!("schema type {other} unknown to this validator"),
    }
}

/// Validate `value` at `at` against a Kubernetes structural OpenAPI v3
/// schema, pushing one message per violation: `type` (and `nullable`),
/// `enum`, `required`, `properties` with `additionalProperties` (a schema or
/// `true`), `items`, `allOf`/`anyOf`/`oneOf`/`not`,
/// `x-kubernetes-int-or-string`, `x-kubernetes-preserve-unknown-fields`,
/// `x-kubernetes-list-type` (`set`, `map` with its keys), and the length,
/// count and range bounds. A field the schema does not declare is an error
/// (`kubectl apply` refuses it; the API server alone would silently drop it),
/// except under `x-kubernetes-preserve-unknown-fields` (the filter's own
/// configuration) and inside the logical junctors, which in a structural
/// schema only restrict values. Not checked: `pattern`, `format` and the CEL
/// rules (`x-kubernetes-validations`); the tests assert the rules that
/// concern our manifests by hand.
fn schema_errors(
    schema: &Value,
    value: &Value,
    at: &str,
    structural: bool,
    errors: &mut Vec<String>,
) {
    let here = if at.is_empty() { "(root)" } else { at };
    if value.is_null() && schema["nullable"] == true {
        return;
    }
    if let Some(ty) = schema["type"].as_str() {
        if !schema_type_matches(ty, value) {
            errors.push(format!("{here}: {value} is not of type {ty}"));
            return;
        }
    }
    if schema["x-kubernetes-int-or-string"] == true
        && !(value.is_string() || value.is_i64() || value.is_u64())
    {
        errors.push(format!(
            "{here}: {value} is neither an integer nor a string"
        ));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            let allowed: Vec<String> = allowed.iter().map(Value::to_string).collect();
            errors.push(format!(
                "{here}: {value} is not one of {}",
                allowed.join(", ")
            ));
        }
    }
    let passes = |sub: &Value| {
        let mut found = Vec::new();
        schema_errors(sub, value, at, false, &mut found);
        found.is_empty()
    };
    for sub in schema["allOf"].as_array().into_iter().flatten() {
        schema_errors(sub, value, at, false, errors);
    }
    if let Some(any) = schema["anyOf"].as_array() {
        if !any.iter().any(passes) {
            errors.push(format!("{here}: {value} matches none of anyOf"));
        }
    }
    if let Some(one) = schema["oneOf"].as_array() {
        let matched = one.iter().filter(|s| passes(s)).count();
        if matched != 1 {
            errors.push(format!(
                "{here}: matches {matched} of oneOf, not exactly one"
            ));
        }
    }
    if schema.get("not").is_some_and(passes) {
        errors.push(format!("{here}: matches the schema under `not`"));
    }
    let bound = |key: &str| schema[key].as_f64();
    let mut check_range = |what: &str, n: f64, low: &str, high: &str| {
        if bound(low).is_some_and(|b| n < b) || bound(high).is_some_and(|b| n > b) {
            errors.push(format!(
                "{here}: {what} {n} is outside [{}, {}]",
                schema[low], schema[high]
            ));
        }
    };
    match value {
        Value::String(s) => {
            check_range("length", s.chars().count() as f64, "minLength", "maxLength")
        }
        Value::Number(n) => check_range("value", n.as_f64().unwrap(), "minimum", "maximum"),
        Value::Array(items) => {
            check_range("item count", items.len() as f64, "minItems", "maxItems")
        }
        Value::Object(map) => check_range(
            "field count",
            map.len() as f64,
            "minProperties",
            "maxProperties",
        ),
        _ => {}
    }
    match value {
        Value::Object(map) => {
            for key in schema["required"].as_array().into_iter().flatten() {
                let key = key.as_str().unwrap();
                if !map.contains_key(key) {
                    errors.push(format!("{here}: required field {key} is missing"));
                }
            }
            let open = schema["additionalProperties"] == true
                || schema["x-kubernetes-preserve-unknown-fields"] == true;
            for (key, item) in map {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                if let Some(sub) = schema["properties"].get(key) {
                    schema_errors(sub, item, &path, structural, errors);
                } else if schema["additionalProperties"].is_object() {
                    let sub = &schema["additionalProperties"];
                    schema_errors(sub, item, &path, structural, errors);
                } else if structural && !open {
                    errors.push(format!("{path}: unknown field"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    schema_errors(sub, item, &format!("{at}[{i}]"), structural, errors);
                }
            }
            let keys: Vec<&str> = schema["x-kubernetes-list-map-keys"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|k| k.as_str().unwrap())
                .collect();
            let identity = |item: &Value| match schema["x-kubernetes-list-type"].as_str() {
                Some("set") => Some(item.to_string()),
                Some("map") => Some(
                    keys.iter()
                        .map(|k| item[*k].to_string())
                        .collect::<Vec<_>>()
                        .join("/"),
                ),
                _ => None,
            };
            let mut seen = std::collections::BTreeSet::new();
            for id in items.iter().filter_map(identity) {
                if !seen.insert(id.clone()) {
                    errors.push(format!("{here}: duplicate list entry {id}"));
                }
            }
        }
        _ => {}
    }
}

/// The Istio and Envoy Gateway manifests with the CRD each is checked against.
fn crd_backed_manifests() -> Vec<(&'static str, Crd)> {
    let istio = "istio/extensions.istio.io.crds.yaml";
    vec![
        ("examples/istio/wasmplugin.yaml", crd(istio, "WasmPlugin")),
        (
            "examples/istio/trafficextension.yaml",
            crd(istio, "TrafficExtension"),
        ),
        (
            "examples/envoy-gateway/envoyextensionpolicy.yaml",
            crd(
                "envoy-gateway/gateway.envoyproxy.io_envoyextensionpolicies.yaml",
                "EnvoyExtensionPolicy",
            ),
        ),
        (
            "examples/envoy-gateway/clienttrafficpolicy.yaml",
            crd(
                "envoy-gateway/gateway.envoyproxy.io_clienttrafficpolicies.yaml",
                "ClientTrafficPolicy",
            ),
        ),
    ]
}

/// The one document of a manifest, checked against its CRD.
fn checked(file: &str) -> Value {
    let (_, crd) = crd_backed_manifests()
        .into_iter()
        .find(|(f, _)| *f == file)
        .unwrap();
    let docs = yaml(&root().join(file));
    let [doc] = docs.as_slice() else {
        panic!("{file}: one document expected")
    };
    crd.check(doc, file);
    assert!(
        doc["metadata"]["namespace"].is_string(),
        "{file}: namespace"
    );
    doc.clone()
}

/// The filter configuration compiles with our parser, given the demo keys
/// in the variable it names, and that variable is `var`.
fn compiles_reading(config: &Value, var: &str, file: &str) {
    assert_eq!(config["decryption_keys_from_env"], var, "{file}");
    CompiledConfig::from_json_with_env(&config.to_string(), &env_lookup)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
}

/// Istio: the sidecar patch puts the Secret's JWKS into `var`, and the
/// configuration compiles with that JWKS.
fn istio_keys_reach(config: &Value, var: &str) {
    let secret = &yaml(&root().join("examples/istio/secret.yaml"))[0];
    let jwks = secret["stringData"]["jwks.json"]
        .as_str()
        .unwrap()
        .to_string();
    CompiledConfig::from_json_with_env(&config.to_string(), &|_| Some(jwks.clone())).unwrap();
    let patch = &yaml(&root().join("examples/istio/sidecar-env.yaml"))[0];
    let proxy = &patch["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(proxy["name"], "istio-proxy");
    let from = &proxy["env"][0];
    assert_eq!(from["name"], var);
    assert_eq!(
        from["valueFrom"]["secretKeyRef"]["name"],
        secret["metadata"]["name"]
    );
    assert_eq!(from["valueFrom"]["secretKeyRef"]["key"], "jwks.json");
}

/// Istio's `vmConfig.env`: `var` comes from the host (the sidecar's
/// environment), and no HOST entry also sets a value (CEL rule of both CRDs).
fn istio_env_passes(vm_config: &Value, var: &str, file: &str) {
    let env = vm_config["env"].as_array().unwrap();
    assert!(
        env.iter()
            .any(|e| e["name"] == var && e["valueFrom"] == "HOST"),
        "{file}: {var} is not passed from the host"
    );
    for e in env {
        assert!(
            e["valueFrom"] != "HOST" || e.get("value").is_none(),
            "{file}: value may only be set when valueFrom is INLINE"
        );
    }
}

#[test]
fn the_istio_wasmplugin_matches_its_schema_and_our_parser() {
    let file = "examples/istio/wasmplugin.yaml";
    let plugin = checked(file);
    let spec = &plugin["spec"];
    // CEL: at most one of selector, targetRef, targetRefs.
    let selectors = ["selector", "targetRef", "targetRefs"]
        .iter()
        .filter(|k| spec.get(**k).is_some())
        .count();
    assert!(selectors <= 1, "only one of targetRefs or selector");
    assert!(spec["url"].as_str().unwrap().starts_with("oci://"));
    assert_eq!(spec["phase"], "AUTHN");
    assert_eq!(spec["failStrategy"], "FAIL_CLOSE");
    // The plugin configuration is exactly what the filter parses, and the
    // variable it reads is the one vmConfig passes.
    let config = &spec["pluginConfig"];
    let var = config["decryption_keys_from_env"].as_str().unwrap();
    istio_env_passes(&spec["vmConfig"], var, file);
    compiles_reading(config, var, file);
    // The Secret holds a JWKS the filter accepts, under the key the sidecar patch reads.
    istio_keys_reach(config, var);
}

#[test]
fn the_istio_trafficextension_matches_its_schema_and_our_parser() {
    let file = "examples/istio/trafficextension.yaml";
    let extension = checked(file);
    let spec = &extension["spec"];
    // CEL: exactly one of wasm or lua; at most one of selector, targetRefs.
    assert!(spec["wasm"].is_object() && spec.get("lua").is_none());
    assert!(spec.get("selector").is_none() || spec.get("targetRefs").is_none());
    let wasm = &spec["wasm"];
    assert_eq!(spec["phase"], "AUTHN");
    assert_eq!(wasm["failStrategy"], "FAIL_CLOSE");
    let config = &wasm["pluginConfig"];
    let var = config["decryption_keys_from_env"].as_str().unwrap();
    istio_env_passes(&wasm["vmConfig"], var, file);
    compiles_reading(config, var, file);
    istio_keys_reach(config, var);
    // The same image, workload and configuration as the WasmPlugin it
    // supersedes, so that moving from one to the other changes nothing else.
    let plugin = checked("examples/istio/wasmplugin.yaml");
    assert_eq!(wasm["url"], plugin["spec"]["url"]);
    assert_eq!(spec["selector"], plugin["spec"]["selector"]);
    assert_eq!(config, &plugin["spec"]["pluginConfig"]);
    assert_eq!(
        extension["metadata"]["namespace"],
        plugin["metadata"]["namespace"]
    );
}

/// examples/envoy-gateway/gateway.yaml: the Gateway and the HTTPRoute.
fn envoy_gateway_objects() -> (Value, Value) {
    let docs = yaml(&root().join("examples/envoy-gateway/gateway.yaml"));
    let [gateway, route] = docs.as_slice() else {
        panic!("gateway.yaml: a Gateway and an HTTPRoute expected")
    };
    assert_eq!(gateway["apiVersion"], "gateway.networking.k8s.io/v1");
    assert_eq!(gateway["kind"], "Gateway");
    assert_eq!(route["apiVersion"], "gateway.networking.k8s.io/v1");
    assert_eq!(route["kind"], "HTTPRoute");
    // The route is the Gateway's.
    assert_eq!(
        route["metadata"]["namespace"],
        gateway["metadata"]["namespace"]
    );
    assert!(route["spec"]["parentRefs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == gateway["metadata"]["name"]));
    (gateway.clone(), route.clone())
}

/// An Envoy Gateway policy attaches to exactly the example Gateway (CEL:
/// targetRefs of group gateway.networking.k8s.io; a local reference, so the
/// same namespace).
fn targets_the_gateway(policy: &Value, gateway: &Value, file: &str) {
    assert!(
        policy["spec"].get("targetRef").is_none(),
        "{file}: targetRefs"
    );
    let refs = policy["spec"]["targetRefs"].as_array().unwrap();
    assert!(!refs.is_empty(), "{file}: no targetRefs");
    for r in refs {
        assert_eq!(r["group"], "gateway.networking.k8s.io", "{file}");
        assert_eq!(r["kind"], "Gateway", "{file}");
        assert_eq!(r["name"], gateway["metadata"]["name"], "{file}");
    }
    assert_eq!(
        policy["metadata"]["namespace"], gateway["metadata"]["namespace"],
        "{file}"
    );
}

#[test]
fn the_envoy_gateway_extension_policy_matches_its_schema_and_our_parser() {
    let file = "examples/envoy-gateway/envoyextensionpolicy.yaml";
    let policy = checked(file);
    let (gateway, _) = envoy_gateway_objects();
    targets_the_gateway(&policy, &gateway, file);
    let [wasm] = policy["spec"]["wasm"].as_array().unwrap().as_slice() else {
        panic!("{file}: one Wasm extension expected")
    };
    // The OCI image (CEL: type Image needs `image` and no `http`), the same
    // one the Istio examples name with their oci:// scheme.
    let code = &wasm["code"];
    assert_eq!(code["type"], "Image");
    assert!(code.get("http").is_none());
    let plugin = checked("examples/istio/wasmplugin.yaml");
    assert_eq!(
        Some(code["image"]["url"].as_str().unwrap()),
        plugin["spec"]["url"]
            .as_str()
            .unwrap()
            .strip_prefix("oci://")
    );
    // Fail closed, stated rather than left to the default.
    assert_eq!(wasm["failOpen"], false);
    // The configuration is the Istio one, reads the variable hostKeys
    // passes, and compiles.
    let config = &wasm["config"];
    let var = config["decryption_keys_from_env"].as_str().unwrap();
    assert!(
        wasm["env"]["hostKeys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == var),
        "{file}: env.hostKeys does not pass {var}"
    );
    compiles_reading(config, var, file);
    assert_eq!(config, &plugin["spec"]["pluginConfig"]);
    // The variable reaches Envoy: the Gateway names the EnvoyProxy, which
    // sets it from the Secret, in the namespace the proxies run in.
    let proxy = &yaml(&root().join("examples/envoy-gateway/envoyproxy.yaml"))[0];
    assert_eq!(proxy["apiVersion"], "gateway.envoyproxy.io/v1alpha1");
    assert_eq!(proxy["kind"], "EnvoyProxy");
    let params = &gateway["spec"]["infrastructure"]["parametersRef"];
    assert_eq!(params["group"], "gateway.envoyproxy.io");
    assert_eq!(params["kind"], "EnvoyProxy");
    assert_eq!(params["name"], proxy["metadata"]["name"]);
    assert_eq!(
        proxy["metadata"]["namespace"],
        gateway["metadata"]["namespace"]
    );
    assert_eq!(proxy["spec"]["provider"]["type"], "Kubernetes");
    let env = proxy["spec"]["provider"]["kubernetes"]["envoyDeployment"]["container"]["env"]
        .as_array()
        .unwrap();
    let from = env
        .iter()
        .find(|e| e["name"] == var)
        .unwrap_or_else(|| panic!("envoyproxy.yaml does not set {var}"));
    let secret = &yaml(&root().join("examples/envoy-gateway/secret.yaml"))[0];
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["metadata"]["namespace"], "envoy-gateway-system");
    let key = &from["valueFrom"]["secretKeyRef"];
    assert_eq!(key["name"], secret["metadata"]["name"]);
    let jwks = secret["stringData"][key["key"].as_str().unwrap()]
        .as_str()
        .unwrap()
        .to_string();
    CompiledConfig::from_json_with_env(&config.to_string(), &|_| Some(jwks.clone())).unwrap();
}

/// README, "What the Envoy configuration must set", as Envoy Gateway spells
/// it (it always sets normalize_path itself).
#[test]
fn the_envoy_gateway_client_traffic_policy_sets_the_edge_protection() {
    let file = "examples/envoy-gateway/clienttrafficpolicy.yaml";
    let policy = checked(file);
    let (gateway, _) = envoy_gateway_objects();
    targets_the_gateway(&policy, &gateway, file);
    let spec = &policy["spec"];
    assert_eq!(spec["path"]["disableMergeSlashes"], false, "merge_slashes");
    assert!(
        ["UnescapeAndRedirect", "RejectRequest"]
            .contains(&spec["path"]["escapedSlashesAction"].as_str().unwrap_or("")),
        "path_with_escaped_slashes_action"
    );
    assert_eq!(
        spec["headers"]["withUnderscoresAction"], "RejectRequest",
        "headers_with_underscores_action"
    );
}

/// A copy of `doc` changed by `edit` at the JSON pointer `at`.
fn edited(doc: &Value, at: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut copy = doc.clone();
    edit(copy.pointer_mut(at).unwrap_or_else(|| panic!("{at}")));
    copy
}

fn rename(doc: &Value, at: &str, from: &str, to: &str) -> Value {
    edited(doc, at, |v| {
        let map = v.as_object_mut().unwrap();
        let value = map.remove(from).unwrap_or_else(|| panic!("{at}/{from}"));
        map.insert(to.to_string(), value);
    })
}

fn set(doc: &Value, at: &str, key: &str, value: Value) -> Value {
    edited(doc, at, |v| {
        v.as_object_mut().unwrap().insert(key.to_string(), value);
    })
}

fn remove(doc: &Value, at: &str, key: &str) -> Value {
    edited(doc, at, |v| {
        v.as_object_mut().unwrap().remove(key).unwrap();
    })
}

/// The schema checks can fail: the likely mistakes in each manifest (a
/// misspelt or misplaced field, a value outside an enum, a wrong type, a
/// missing required field) are each reported, where the unchanged manifest
/// is not; an unknown field is refused at every level except inside the
/// filter's own configuration, which our parser checks instead.
#[test]
fn the_schema_check_rejects_broken_manifests() {
    for (file, crd) in crd_backed_manifests() {
        let doc = yaml(&root().join(file)).remove(0);
        crd.check(&doc, file);
        let mut broken = vec![
            (
                rename(&doc, "/metadata", "name", "nmae"),
                "metadata.nmae: unknown field",
            ),
            (
                set(&doc, "", "apiVersion", json!("extensions.istio.io/v1")),
                "apiVersion",
            ),
            (set(&doc, "", "kind", json!("EnvoyFilter")), "kind"),
            (remove(&doc, "", "spec"), "required field spec is missing"),
        ];
        match crd.kind.as_str() {
            "WasmPlugin" => broken.extend([
                (
                    rename(&doc, "/spec", "failStrategy", "failStrategie"),
                    "spec.failStrategie: unknown field",
                ),
                (
                    set(&doc, "/spec", "phase", json!("AUTHENTICATION")),
                    "spec.phase: \"AUTHENTICATION\" is not one of",
                ),
                (
                    set(&doc, "/spec", "priority", json!("10")),
                    "spec.priority: \"10\" is not of type integer",
                ),
                (
                    remove(&doc, "/spec/vmConfig/env/0", "name"),
                    "spec.vmConfig.env[0]: required field name is missing",
                ),
                (
                    remove(&doc, "/spec", "url"),
                    "spec: required field url is missing",
                ),
            ]),
            "TrafficExtension" => broken.extend([
                // The WasmPlugin layout in a TrafficExtension.
                (
                    set(
                        &doc,
                        "/spec",
                        "vmConfig",
                        doc["spec"]["wasm"]["vmConfig"].clone(),
                    ),
                    "spec.vmConfig: unknown field",
                ),
                (
                    rename(&doc, "/spec/wasm", "pluginConfig", "plugin_config"),
                    "spec.wasm.plugin_config: unknown field",
                ),
                (
                    set(&doc, "/spec/wasm", "failStrategy", json!("FAIL_CLOSED")),
                    "spec.wasm.failStrategy: \"FAIL_CLOSED\" is not one of",
                ),
                (
                    remove(&doc, "/spec/wasm", "url"),
                    "spec.wasm: required field url is missing",
                ),
                (
                    set(&doc, "/spec", "lua", json!({"inlineCode": "x"})),
                    "spec: matches 2 of oneOf",
                ),
            ]),
            "EnvoyExtensionPolicy" => broken.extend([
                (
                    rename(&doc, "/spec/wasm/0/env", "hostKeys", "hostkeys"),
                    "spec.wasm[0].env.hostkeys: unknown field",
                ),
                (
                    set(&doc, "/spec/wasm/0/code", "type", json!("OCI")),
                    "spec.wasm[0].code.type: \"OCI\" is not one of",
                ),
                (
                    set(&doc, "/spec/wasm/0", "failOpen", json!("false")),
                    "spec.wasm[0].failOpen: \"false\" is not of type boolean",
                ),
                (
                    remove(&doc, "/spec/wasm/0/code/image", "url"),
                    "spec.wasm[0].code.image: required field url is missing",
                ),
                (
                    remove(&doc, "/spec/targetRefs/0", "group"),
                    "spec.targetRefs[0]: required field group is missing",
                ),
            ]),
            "ClientTrafficPolicy" => broken.extend([
                // Envoy's own names and spellings are not Envoy Gateway's.
                (
                    set(&doc, "/spec/path", "mergeSlashes", json!(true)),
                    "spec.path.mergeSlashes: unknown field",
                ),
                (
                    set(
                        &doc,
                        "/spec/path",
                        "escapedSlashesAction",
                        json!("UNESCAPE_AND_REDIRECT"),
                    ),
                    "spec.path.escapedSlashesAction: \"UNESCAPE_AND_REDIRECT\" is not one of",
                ),
                (
                    rename(
                        &doc,
                        "/spec/headers",
                        "withUnderscoresAction",
                        "withUnderscoreAction",
                    ),
                    "spec.headers.withUnderscoreAction: unknown field",
                ),
                (
                    set(&doc, "/spec/path", "disableMergeSlashes", json!("false")),
                    "spec.path.disableMergeSlashes: \"false\" is not of type boolean",
                ),
            ]),
            other => panic!("{other}"),
        }
        for (bad, expected) in broken {
            let errors = crd.errors(&bad);
            assert!(
                errors.iter().any(|e| e.contains(expected)),
                "{file}: expected an error containing {expected:?}, got {errors:?}"
            );
        }
        // An unknown field is refused in every object of the manifest but
        // the filter configuration (and label maps, which take any key).
        let mut objects = Vec::new();
        object_pointers(&doc, String::new(), &mut objects);
        let mut filter_config = 0;
        for at in objects {
            let bad = set(&doc, &at, "bogusField", json!("x"));
            let refused = !crd.errors(&bad).is_empty();
            let free = [
                "/pluginConfig",
                "/config",
                "/matchLabels",
                "/labels",
                "/annotations",
            ]
            .iter()
            .any(|p| at.contains(p));
            assert_eq!(refused, !free, "{file}: bogusField at {at:?}");
            filter_config += usize::from(at.ends_with("/pluginConfig") || at.ends_with("/config"));
        }
        // (The ClientTrafficPolicy carries no filter configuration.)
        assert_eq!(
            filter_config > 0,
            crd.kind != "ClientTrafficPolicy",
            "{file}: the filter configuration was not reached"
        );
    }
}

/// The JSON pointers of every object in `value`.
fn object_pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            out.push(at.clone());
            for (k, v) in map {
                object_pointers(v, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                object_pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn the_oci_layout_is_consistent() {
    let wasm = harness::wasm_path();
    let out = std::env::temp_dir().join(format!("jwe-authn-oci-{}", std::process::id()));
    let status = Command::new("python3")
        .arg(root().join("scripts/oci-image.py"))
        .arg(&wasm)
        .arg(&out)
        .arg("test")
        .status()
        .unwrap();
    assert!(status.success());
    let layout = out.join("jwe-authn");
    let read_json =
        |p: PathBuf| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    assert_eq!(
        read_json(layout.join("oci-layout"))["imageLayoutVersion"],
        "1.0.0"
    );
    // Every descriptor's digest and size match the blob it names.
    let blob = |descriptor: &Value| -> Vec<u8> {
        let digest = descriptor["digest"]
            .as_str()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap();
        let bytes = std::fs::read(layout.join("blobs/sha256").join(digest)).unwrap();
        assert_eq!(
            sha256_hex(&bytes),
            digest,
            "blob content does not match its digest"
        );
        assert_eq!(
            bytes.len() as u64,
            descriptor["size"].as_u64().unwrap(),
            "size of {digest}"
        );
        bytes
    };
    let index = read_json(layout.join("index.json"));
    let [entry] = index["manifests"].as_array().unwrap().as_slice() else {
        panic!("one manifest")
    };
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.ref.name"],
        "test"
    );
    let manifest: Value = serde_json::from_slice(&blob(entry)).unwrap();
    assert_eq!(manifest["mediaType"], entry["mediaType"]);
    let config: Value = serde_json::from_slice(&blob(&manifest["config"])).unwrap();
    let [layer] = manifest["layers"].as_array().unwrap().as_slice() else {
        panic!("one layer")
    };
    assert_eq!(
        layer["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let gz = blob(layer);
    // The layer's uncompressed digest is the config's diff_id, and the layer
    // holds exactly plugin.wasm, byte for byte the built filter.
    std::fs::write(out.join("layer.tar.gz"), &gz).unwrap();
    let tar = Command::new("gzip")
        .arg("-dc")
        .arg(out.join("layer.tar.gz"))
        .output()
        .unwrap()
        .stdout;
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        format!("sha256:{}", sha256_hex(&tar))
    );
    std::fs::write(out.join("layer.tar"), &tar).unwrap();
    let names = String::from_utf8(
        Command::new("tar")
            .arg("-tf")
            .arg(out.join("layer.tar"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(names.trim(), "plugin.wasm");
    let extracted = out.join("x");
    std::fs::create_dir_all(&extracted).unwrap();
    assert!(Command::new("tar")
        .arg("-xf")
        .arg(out.join("layer.tar"))
        .arg("-C")
        .arg(&extracted)
        .status()
        .unwrap()
        .success());
    assert_eq!(
        std::fs::read(extracted.join("plugin.wasm")).unwrap(),
        std::fs::read(&wasm).unwrap()
    );
    // The tarball holds the same layout.
    let list = Command::new("tar")
        .arg("-tf")
        .arg(out.join("jwe-authn.tar"))
        .output()
        .unwrap();
    let names = String::from_utf8(list.stdout).unwrap();
    assert!(
        names.contains("oci-layout")
            && names.contains("index.json")
            && names.matches("blobs/sha256/").count() == 3,
        "{names}"
    );
    // The Dockerfile makes the same image shape.
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("FROM scratch") && dockerfile.contains("./plugin.wasm"));
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn the_docker_compose_files_are_complete() {
    let dir = root().join("examples/docker-compose");
    let compose = &yaml(&dir.join("compose.yaml"))[0];
    let services = compose["services"].as_object().unwrap();
    for name in ["envoy", "echo", "tokens"] {
        assert!(services.contains_key(name), "service {name}");
    }
    let dockerfile_text = |build: &Value| {
        let context = dir.join(build["context"].as_str().unwrap());
        assert!(context.is_dir(), "build context {}", context.display());
        let file = context.join(build["dockerfile"].as_str().unwrap());
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|_| panic!("{} missing", file.display()));
        let target = build["target"].as_str().unwrap();
        assert!(
            text.contains(&format!(" AS {target}")),
            "stage {target} in {}",
            file.display()
        );
        // Every file the Dockerfile copies from the context exists.
        for line in text
            .lines()
            .filter(|l| l.starts_with("COPY ") && !l.contains("--from="))
        {
            let parts: Vec<&str> = line.split_whitespace().collect();
            for src in &parts[1..parts.len() - 1] {
                assert!(context.join(src).exists(), "{line}: {src} is missing");
            }
        }
        text
    };
    let mut uses_official_envoy =
        compose["services"]["echo"]["image"] == "envoyproxy/envoy:v1.40.0";
    for (name, service) in services {
        if service.get("build").is_some() {
            let text = dockerfile_text(&service["build"]);
            uses_official_envoy &= text.contains("FROM envoyproxy/envoy:v1.40.0 AS envoy");
            assert!(
                text.contains("FROM rust:") && text.contains("wasm32-wasip1"),
                "{name}: multi-stage Rust build"
            );
        }
        for volume in service
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let source = volume.as_str().unwrap().split(':').next().unwrap();
            assert!(
                dir.join(source).exists(),
                "{name}: mounted {source} is missing"
            );
        }
    }
    assert!(
        uses_official_envoy,
        "the official envoyproxy/envoy:v1.40.0 image"
    );
    // The compose Envoy config carries exactly the demo filter configuration.
    let configs = |path: PathBuf| {
        let mut out = Vec::new();
        yaml(&path).iter().for_each(|d| filter_configs(d, &mut out));
        out.iter()
            .map(|t| serde_json::from_str::<Value>(t).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        configs(dir.join("envoy.yaml")),
        configs(root().join("envoy/envoy.yaml"))
    );
}

#[test]
fn the_docker_compose_envoy_config_runs_end_to_end() {
    let dir = root().join("examples/docker-compose");
    // The echo container's config, on a free port.
    let echo = Envoy::launch(1, &[], |p| {
        std::fs::read_to_string(dir.join("echo.yaml")).unwrap().replace("address: 0.0.0.0, port_value: 10001", &format!("address: 127.0.0.1, port_value: {}", p.api))
            + &format!("admin:\n  address:\n    socket_address: {{ address: 127.0.0.1, port_value: {} }}\n", p.admin)
    })
    .unwrap();
    let echo_port = echo.api;
    // The compose Envoy, its addresses and the .wasm path substituted.
    let envoy = Envoy::launch(2, &[], |p| {
        with_built_wasm(&std::fs::read_to_string(dir.join("envoy.yaml")).unwrap())
            .replace(
                "address: 0.0.0.0, port_value: 10000",
                &format!("address: 127.0.0.1, port_value: {}", p.api),
            )
            .replace(
                "address: 0.0.0.0, port_value: 9901",
                &format!("address: 127.0.0.1, port_value: {}", p.admin),
            )
            .replace(
                "address: echo, port_value: 10001",
                &format!("address: 127.0.0.1, port_value: {echo_port}"),
            )
    })
    .unwrap();
    // Tokens from the compose `tokens` service's own script.
    let out = Command::new("sh")
        .arg(dir.join("mint-tokens.sh"))
        .env("KEYS", root().join("envoy/demo"))
        .env("JWE_AUTHN", env!("CARGO_BIN_EXE_jwe-authn"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let token = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_string()
    };
    let r = envoy.request(
        "GET",
        "/orders",
        &[("authorization", &format!("Bearer {}", token("VALID")))],
    );
    assert_eq!(r.status, 200, "{}", envoy.log());
    assert_eq!(r.echoed("x-jwt-sub"), Some("alice"));
    let r = envoy.request(
        "GET",
        "/orders",
        &[("authorization", &format!("Bearer {}", token("EXPIRED")))],
    );
    assert_eq!(r.status, 401);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    let r = envoy.request("GET", "/orders", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="orders-api""#)
    );
}
