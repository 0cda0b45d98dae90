//! The README's configuration reference cannot drift from the code: every
//! field of the configuration structs (`src/config/schema.rs`, with serde
//! renames) appears in the README's configuration table, and every field path
//! the table names exists in the code. Nor can its map of the host glue
//! (`src/filter/`): every file is in it, and what it says of them holds.

// Tests unwrap and index freely: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

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

/// The code of a Rust file without its comment lines.
fn code_of(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segments of every path after `super::` in `code`
/// (`super::a::B`, `super::{a, b::C}`).
fn super_modules(code: &str) -> BTreeSet<String> {
    let segment = |p: &str| {
        p.trim()
            .split("::")
            .next()
            .unwrap_or_default()
            .trim_matches(|c: char| !c.is_alphanumeric() && c != '_')
            .to_string()
    };
    let mut found = BTreeSet::new();
    for rest in code.split("super::").skip(1) {
        match rest.strip_prefix('{') {
            Some(group) => found.extend(group.split('}').next().unwrap().split(',').map(segment)),
            None => {
                found.insert(segment(
                    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap(),
                ));
            }
        }
    }
    found
}

/// The README says of `src/filter/`: its table names every file; no file
/// but `host.rs` calls the host (the SDK's `hostcalls`, an `extern` import)
/// or has `unsafe` code; and the files' imports of one another form no
/// cycle.
#[test]
fn the_host_glue_map_holds() {
    let readme = read("README.md");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/filter");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    let mut uses: Vec<(String, Vec<String>)> = Vec::new();
    for file in &files {
        let module = file.trim_end_matches(".rs").to_string();
        let code = code_of(&read(&format!("src/filter/{file}")));
        if file != "mod.rs" {
            assert!(
                readme.contains(&format!("| `{file}` |")),
                "the README's host-glue table does not name src/filter/{file}"
            );
        }
        if file != "host.rs" {
            for host_call in ["hostcalls", "extern \"C\"", "unsafe {", "unsafe fn"] {
                assert!(
                    !code.contains(host_call),
                    "src/filter/{file} has `{host_call}`: every raw host call belongs in host.rs"
                );
            }
        }
        let used = super_modules(&code)
            .into_iter()
            .filter(|m| *m != module && files.contains(&format!("{m}.rs")))
            .collect();
        uses.push((module, used));
    }
    assert!(read("src/filter/host.rs").contains("extern \"C\""));
    // No cycle: repeatedly take away the modules that use no module left.
    let mut left = uses;
    while !left.is_empty() {
        let names: Vec<String> = left.iter().map(|(m, _)| m.clone()).collect();
        let before = left.len();
        left.retain(|(_, used)| used.iter().any(|u| names.contains(u)));
        assert!(
            left.len() < before,
            "src/filter/ imports form a cycle among {left:?}"
        );
    }
}
