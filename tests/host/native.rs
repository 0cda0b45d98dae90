//! The native dynamic module (`native/`, issue 18's spike) in the real
//! Envoy 1.40: `envoy/native.yaml` is `envoy/envoy.yaml` with the Wasm
//! filter swapped for `envoy.filters.http.dynamic_modules` (checked here,
//! so the two cannot drift), and the demo's decisions are the same
//! assertions the Wasm filter meets (`e2e::the_demo_decisions`).

use crate::e2e::the_demo_decisions;
use crate::harness::{demo_token, now, root, target_dir, Envoy};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const WASM_FILTER: &str = r#"          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: jwe_authn
                root_id: jwe_authn
                vm_config:
                  vm_id: jwe_authn
                  runtime: envoy.wasm.runtime.v8
                  code:
                    local:
                      filename: target/wasm32-wasip1/release/jwe_authn.wasm
                configuration:
"#;

const NATIVE_FILTER: &str = r#"          - name: envoy.filters.http.dynamic_modules
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter
              dynamic_module_config: { name: jwe_authn }
              filter_name: jwe_authn
              filter_config:
"#;

const HEADER: &str = "# GENERATED from envoy/envoy.yaml by tests/host/native.rs: the same file
# with the Wasm filter swapped for the native module (issue 18's spike).
# Edit envoy.yaml, then `JWE_AUTHN_WRITE_NATIVE_YAML=1 cargo test --test host native::`.
# Envoy finds libjwe_authn.so in ENVOY_DYNAMIC_MODULES_SEARCH_PATH.
";

/// `envoy/native.yaml` as it must be.
fn native_yaml() -> String {
    let wasm = std::fs::read_to_string(root().join("envoy/envoy.yaml")).unwrap();
    assert_eq!(
        wasm.matches(WASM_FILTER).count(),
        1,
        "envoy.yaml's filter block changed"
    );
    format!("{HEADER}{}", wasm.replace(WASM_FILTER, NATIVE_FILTER))
}

/// The directory holding the built module as `libjwe_authn.so` (built
/// once per test run, here, so it is never stale).
pub(crate) fn module_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = target_dir().join("native");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--locked", "--release"])
            .arg("--manifest-path")
            .arg(root().join("native/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .status()
            .unwrap();
        assert!(status.success(), "native/ did not build");
        let dir = target.join("module");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            target.join("release/libjwe_authn_native.so"),
            dir.join("libjwe_authn.so"),
        )
        .unwrap();
        dir
    })
    .clone()
}

fn start_native(edit: impl Fn(String) -> String) -> Result<Envoy, String> {
    let dir = module_dir();
    let dir = dir.to_str().unwrap();
    Envoy::launch(1, &[("ENVOY_DYNAMIC_MODULES_SEARCH_PATH", dir)], |p| {
        let text = native_yaml()
            .replace("port_value: 10000", &format!("port_value: {}", p.api))
            .replace("port_value: 10001", &format!("port_value: {}", p.echo))
            .replace("port_value: 9901", &format!("port_value: {}", p.admin));
        edit(text)
    })
}

#[test]
fn envoy_native_yaml_is_envoy_yaml_with_the_native_module() {
    let path = root().join("envoy/native.yaml");
    if std::env::var_os("JWE_AUTHN_WRITE_NATIVE_YAML").is_some() {
        std::fs::write(&path, native_yaml()).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        native_yaml(),
        "envoy/native.yaml is stale: JWE_AUTHN_WRITE_NATIVE_YAML=1 cargo test --test host native::"
    );
}

#[test]
fn the_native_module_decides_as_the_wasm_filter_does() {
    let envoy = start_native(|t| t).unwrap();
    let valid = demo_token(&json!({"iss": "https://idp.demo.example", "sub": "alice",
        "aud": "orders-api", "scope": "orders:read", "exp": now() + 600, "iat": now()}));
    the_demo_decisions(&envoy, &valid);
    assert!(
        envoy
            .log()
            .contains("Dynamic module ABI version v0.2.0 matched"),
        "the module was written for another ABI version"
    );
}

#[test]
fn an_invalid_configuration_is_refused_by_envoy_naming_the_field() {
    let log = start_native(|t| t.replace("\"realm\":", "\"realmm\":"))
        .err()
        .expect("Envoy must refuse the configuration");
    assert!(log.contains("Failed to initialize dynamic module"), "{log}");
    assert!(log.contains("realmm"), "{log}");
}
