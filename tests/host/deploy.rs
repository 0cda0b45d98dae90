//! The three ways to deploy stay valid: every Envoy YAML passes
//! `envoy --mode validate` (which also runs the filter's `on_configure`),
//! every embedded filter configuration compiles with our own parser, the
//! Istio WasmPlugin matches its schema, the OCI layout is consistent, and the
//! docker-compose files are complete and their Envoy config runs for real.

use crate::harness;

use harness::{root, Envoy};
use jwe_authn::config::CompiledConfig;
use serde_json::Value;
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

fn keys_subset(value: &Value, allowed: &[&str], at: &str) {
    for key in value
        .as_object()
        .unwrap_or_else(|| panic!("{at} is not an object"))
        .keys()
    {
        assert!(
            allowed.contains(&key.as_str()),
            "{at}.{key} is not a field of the schema"
        );
    }
}

#[test]
fn the_istio_wasmplugin_matches_its_schema_and_our_parser() {
    let docs = yaml(&root().join("examples/istio/wasmplugin.yaml"));
    let [plugin] = docs.as_slice() else {
        panic!("one document expected")
    };
    assert_eq!(plugin["apiVersion"], "extensions.istio.io/v1alpha1");
    assert_eq!(plugin["kind"], "WasmPlugin");
    keys_subset(plugin, &["apiVersion", "kind", "metadata", "spec"], "");
    assert!(plugin["metadata"]["name"].is_string());
    let spec = &plugin["spec"];
    // extensions.istio.io/v1alpha1 WasmPlugin spec fields.
    keys_subset(
        spec,
        &[
            "selector",
            "targetRef",
            "targetRefs",
            "url",
            "sha256",
            "imagePullPolicy",
            "imagePullSecret",
            "pluginConfig",
            "pluginName",
            "phase",
            "priority",
            "failStrategy",
            "vmConfig",
            "match",
            "type",
        ],
        "spec",
    );
    keys_subset(&spec["selector"], &["matchLabels"], "spec.selector");
    assert!(spec["selector"]["matchLabels"]
        .as_object()
        .unwrap()
        .values()
        .all(Value::is_string));
    assert!(spec["url"].as_str().unwrap().starts_with("oci://"));
    assert_eq!(spec["phase"], "AUTHN");
    assert_eq!(spec["failStrategy"], "FAIL_CLOSE");
    assert!(["IfNotPresent", "Always", "UNSPECIFIED_POLICY"]
        .contains(&spec["imagePullPolicy"].as_str().unwrap()));
    assert!(spec["priority"].is_i64());
    for m in spec["match"].as_array().unwrap() {
        keys_subset(m, &["mode", "ports"], "spec.match[]");
        assert!(["UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"]
            .contains(&m["mode"].as_str().unwrap()));
    }
    keys_subset(&spec["vmConfig"], &["env"], "spec.vmConfig");
    let env = spec["vmConfig"]["env"].as_array().unwrap();
    for e in env {
        keys_subset(e, &["name", "value", "valueFrom"], "spec.vmConfig.env[]");
        assert!(["INLINE", "HOST"].contains(&e["valueFrom"].as_str().unwrap_or("INLINE")));
    }
    // The plugin configuration is exactly what the filter parses, and the
    // variable it reads is the one vmConfig passes.
    let config = &spec["pluginConfig"];
    let var = config["decryption_keys_from_env"].as_str().unwrap();
    assert!(env
        .iter()
        .any(|e| e["name"] == var && e["valueFrom"] == "HOST"));
    CompiledConfig::from_json_with_env(&config.to_string(), &env_lookup).unwrap();
    // The Secret holds a JWKS the filter accepts, under the key the sidecar patch reads.
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
