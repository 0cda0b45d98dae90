//! The README's configuration reference cannot drift from the code: every
//! field of the configuration structs (`src/config/schema.rs`, with serde
//! renames) appears in the README's configuration table, and every field path
//! the table names exists in the code.

use std::collections::BTreeSet;

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// Field names as users write them: `pub name:` declarations, with
/// `#[serde(rename = "...")]` applied.
fn schema_fields() -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    let mut rename: Option<String> = None;
    for line in read("src/config/schema.rs").lines().map(str::trim) {
        if let Some(r) = line.strip_prefix("#[serde(rename = \"") {
            rename = r.split('"').next().map(str::to_string);
        } else if let Some(rest) = line.strip_prefix("pub ") {
            if let Some((name, _)) = rest.split_once(':') {
                if !name.contains(' ') && !name.contains('(') {
                    fields.insert(rename.take().unwrap_or_else(|| name.to_string()));
                }
            }
        }
    }
    fields
}

/// The README's configuration table: (first-column paths, the whole table text).
fn readme_table() -> (Vec<String>, String) {
    let readme = read("README.md");
    let start = readme
        .find("| field | default | meaning |")
        .expect("configuration table");
    let table: String = readme[start..]
        .lines()
        .take_while(|l| l.starts_with('|'))
        .collect::<Vec<_>>()
        .join("\n");
    let paths = table
        .lines()
        .skip(2)
        .flat_map(|row| {
            let first = row.split('|').nth(1).unwrap();
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    (paths, table)
}

#[test]
fn every_configuration_field_is_documented() {
    let (_, table) = readme_table();
    let missing: Vec<String> = schema_fields()
        .into_iter()
        .filter(|f| {
            [
                format!("`{f}`"),
                format!(".{f}`"),
                format!("`{f}."),
                format!(".{f}."),
                format!("\"{f}\""),
            ]
            .iter()
            .all(|spelling| !table.contains(spelling.as_str()))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "fields missing from the README configuration table: {missing:?}"
    );
}

#[test]
fn every_documented_field_exists() {
    let fields = schema_fields();
    let (paths, _) = readme_table();
    assert!(paths.len() >= 20, "{paths:?}");
    for path in paths {
        for segment in path
            .split(['.', '/', ' '])
            .map(|s| s.trim_end_matches("[]"))
            .filter(|s| !s.is_empty() && *s != "*")
        {
            assert!(
                fields.contains(segment),
                "README documents `{path}`, but `{segment}` is not a configuration field"
            );
        }
    }
}
