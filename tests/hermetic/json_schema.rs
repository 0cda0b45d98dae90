//! The shipped JSON Schema cannot drift from the parser's structs: it is
//! byte for byte what `jwe-authn schema` prints, which is what
//! `jwe_authn::config::json_schema::generate` derives from
//! `src/config/schema.rs`. (`tests/host/config_schema.rs` validates every
//! published configuration against it and holds it to the parser.)

use jwe_authn::config::json_schema::{self, SHIPPED_PATH};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn shipped() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SHIPPED_PATH);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Where two texts first differ, as "line N: shipped `…`, generated `…`".
fn first_difference(shipped: &str, generated: &str) -> String {
    let (a, b): (Vec<_>, Vec<_>) = (shipped.lines().collect(), generated.lines().collect());
    let n = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    format!(
        "line {}: shipped `{}`, generated `{}`",
        n + 1,
        a.get(n).unwrap_or(&"<end>"),
        b.get(n).unwrap_or(&"<end>")
    )
}

#[test]
fn the_shipped_schema_is_what_the_structs_generate() {
    let out = Command::new(env!("CARGO_BIN_EXE_jwe-authn"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed, json_schema::generate().unwrap());
    let shipped = shipped();
    assert!(
        shipped == printed,
        "{SHIPPED_PATH} is not the schema src/config/schema.rs generates \
         ({}): run `make schema` and commit the file",
        first_difference(&shipped, &printed)
    );
}

/// Every struct of the configuration refuses unknown fields, so every
/// object in the schema with named members says `additionalProperties:
/// false`; the maps (`providers`, `required_claims`) have a schema there.
#[test]
fn every_object_of_the_schema_refuses_unknown_members() {
    fn walk(v: &Value, at: &str, objects: &mut usize) {
        match v {
            Value::Object(map) => {
                if map.contains_key("properties") {
                    assert_eq!(
                        map.get("additionalProperties"),
                        Some(&Value::Bool(false)),
                        "{at}"
                    );
                    *objects += 1;
                }
                if map.get("type") == Some(&Value::from("object")) {
                    assert!(
                        map.contains_key("additionalProperties"),
                        "{at}: open object"
                    );
                }
                for (k, v) in map {
                    walk(v, &format!("{at}/{k}"), objects);
                }
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| walk(v, &format!("{at}/{i}"), objects)),
            _ => {}
        }
    }
    let schema: Value = serde_json::from_str(&shipped()).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let mut objects = 0;
    walk(&schema, "", &mut objects);
    assert!(objects >= 15, "only {objects} objects with properties");
}

/// The README's "Validating a configuration" and `make schema` name the
/// file the test above compares.
#[test]
fn the_readme_and_make_schema_name_the_shipped_file() {
    let read = |p: &str| {
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap()
    };
    let readme = read("README.md");
    let (_, section) = readme
        .split_once("\n### Validating a configuration\n")
        .unwrap();
    let section = section.split("\n## ").next().unwrap();
    for needle in [SHIPPED_PATH, "jwe-authn schema", "make schema"] {
        assert!(
            section.contains(needle),
            "README, Validating a configuration: no `{needle}`"
        );
    }
    let makefile = read("Makefile");
    let (_, target) = makefile.split_once("\nschema:\n").unwrap();
    assert!(
        target.contains("-- schema >") && target.contains(SHIPPED_PATH),
        "Makefile `schema` target"
    );
}
