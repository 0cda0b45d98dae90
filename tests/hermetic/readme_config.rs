//! The README's configuration reference cannot drift from the code: every
//! field of the configuration structs (`src/config/schema.rs`, with serde
//! renames) appears in the README's configuration table, every field path
//! the table names exists in the code, and every field's default is the same
//! in the table as in its doc comment. Nor can its map of the host glue
//! (`src/filter/`): every file is in it, and what it says of them holds.

use std::collections::{BTreeMap, BTreeSet};

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

/// A field of a schema struct: its doc comment (lines joined), the schema
/// struct its type holds (if any) and how (`Map`, `Vec` or directly).
#[derive(Clone)]
struct SchemaField {
    name: String,
    doc: String,
    nested: Option<(String, Nesting)>,
}

#[derive(Clone, Copy, Debug)]
enum Nesting {
    Direct,
    Map,
    Vec,
}

/// Every `pub struct` of schema.rs with its fields, in order.
fn schema_structs() -> BTreeMap<String, Vec<SchemaField>> {
    let text = read("src/config/schema.rs");
    let names: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub struct "))
        .map(|rest| rest.split([' ', '{']).next().unwrap().to_string())
        .collect();
    let mut structs = BTreeMap::new();
    let mut current: Option<(String, Vec<SchemaField>)> = None;
    let (mut doc, mut rename) = (Vec::new(), None::<String>);
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("pub struct ") {
            let name = rest.split([' ', '{']).next().unwrap().to_string();
            current = Some((name, Vec::new()));
            doc.clear();
        } else if line == "}" {
            if let Some((name, fields)) = current.take() {
                structs.insert(name, fields);
            }
        } else if let Some(d) = line.strip_prefix("///") {
            doc.push(d.trim().to_string());
        } else if let Some(r) = line.strip_prefix("#[serde(rename = \"") {
            rename = r.split('"').next().map(str::to_string);
        } else if let (Some((_, fields)), Some(rest)) =
            (current.as_mut(), line.strip_prefix("pub "))
        {
            let (name, ty) = rest.split_once(':').unwrap();
            let ty = ty.trim().trim_end_matches(',');
            let inner = ty
                .split(['<', '>', ',', ' '])
                .find(|t| names.contains(*t))
                .map(str::to_string);
            let how = if ty.contains("BTreeMap<") {
                Nesting::Map
            } else if ty.contains("Vec<") {
                Nesting::Vec
            } else {
                Nesting::Direct
            };
            fields.push(SchemaField {
                name: rename.take().unwrap_or_else(|| name.to_string()),
                doc: doc.join(" "),
                nested: inner.map(|s| (s, how)),
            });
            doc.clear();
        } else if !line.starts_with("#[") {
            doc.clear();
        }
    }
    structs
}

/// Every field as the README writes its path (`providers.*.issuer`,
/// `rules[].match`), with its schema field, walking from `Config`.
fn schema_paths() -> Vec<(String, SchemaField)> {
    fn walk(
        structs: &BTreeMap<String, Vec<SchemaField>>,
        name: &str,
        prefix: &str,
        out: &mut Vec<(String, SchemaField)>,
    ) {
        for field in structs.get(name).into_iter().flatten() {
            let path = format!("{prefix}{}", field.name);
            if let Some((inner, how)) = &field.nested {
                let child = match how {
                    Nesting::Direct => format!("{path}."),
                    Nesting::Map => format!("{path}.*."),
                    Nesting::Vec => format!("{path}[]."),
                };
                walk(structs, inner, &child, out);
            }
            out.push((path, field.clone()));
        }
    }
    let mut out = Vec::new();
    walk(&schema_structs(), "Config", "", &mut out);
    out
}

/// The default a doc comment states: `Required` or the words after
/// `Default` up to the end of that clause (outside backticks).
fn doc_default(doc: &str) -> Option<String> {
    if let Some(at) = doc.find("Default") {
        let rest = doc[at + "Default".len()..]
            .trim_start_matches(':')
            .trim_start();
        let mut quoted = false;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            let next = rest[i + c.len_utf8()..].chars().next();
            match c {
                '`' => quoted = !quoted,
                '.' | ';' | ':' | ',' if !quoted && next.is_none_or(char::is_whitespace) => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        return Some(rest[..end].to_string());
    }
    doc.contains("Required").then(|| "required".to_string())
}

/// A default as compared: without a trailing parenthetical remark, without
/// backticks and one pair of surrounding quotes.
fn normalise(default: &str) -> String {
    let mut quoted = false;
    let mut end = default.len();
    for (i, c) in default.char_indices() {
        match c {
            '`' => quoted = !quoted,
            '(' if !quoted => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let plain = default[..end].replace('`', "");
    let plain = plain.trim();
    plain
        .strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .unwrap_or(plain)
        .to_string()
}

/// The README table's rows by field path: (default column, whole row).
fn readme_rows() -> BTreeMap<String, (String, String)> {
    let (_, table) = readme_table();
    let mut rows = BTreeMap::new();
    for row in table.lines().skip(2) {
        let cells: Vec<&str> = row.split('|').collect();
        let (first, default) = (cells[1], cells[2].trim().to_string());
        let mut parent = String::new();
        for code in first.split('`').skip(1).step_by(2) {
            let path = if code.contains('.') || parent.is_empty() {
                parent = code
                    .rsplit_once('.')
                    .map_or(String::new(), |(p, _)| format!("{p}."));
                code.to_string()
            } else {
                format!("{parent}{code}")
            };
            rows.insert(path, (default.clone(), row.to_string()));
        }
    }
    rows
}

/// The default a row's text gives for a field it describes in passing:
/// `` `name` (default X) `` or `"name" (default X)`.
fn mentioned_default(row: &str, name: &str) -> Option<String> {
    ['`', '"'].iter().find_map(|q| {
        let key = format!("{q}{name}{q} (default ");
        let start = row.find(&key)? + key.len();
        let rest = &row[start..];
        let mut quoted = false;
        let end = rest.char_indices().find_map(|(i, c)| match c {
            '`' => {
                quoted = !quoted;
                None
            }
            ')' | ':' | ';' if !quoted => Some(i),
            _ => None,
        })?;
        Some(rest[..end].to_string())
    })
}

#[test]
fn every_default_is_the_same_in_the_readme_and_the_schema() {
    let rows = readme_rows();
    let absent = ["none", "[]", "{}", "required"];
    let mut problems = Vec::new();
    let (mut in_rows, mut in_passing) = (0, 0);
    for (path, field) in schema_paths() {
        let own_row = rows.get(&path);
        // A section without a row of its own (`cache`, `admission`,
        // `algorithms`) is documented by its fields' rows.
        if own_row.is_none() && field.nested.is_some() {
            continue;
        }
        let Some(doc) = doc_default(&field.doc) else {
            problems.push(format!(
                "`{path}`: its doc comment states no default (`Default …` or `Required`)"
            ));
            continue;
        };
        let doc = normalise(&doc);
        match own_row {
            Some((readme, _)) => {
                in_rows += 1;
                if normalise(readme) != doc {
                    problems.push(format!(
                        "`{path}`: README default {readme}, schema doc `{doc}`"
                    ));
                }
            }
            None => {
                // Described in an ancestor's row: a default that is more
                // than "nothing" must be stated there as `(default X)`.
                let mut ancestor = path.as_str();
                let row = loop {
                    let Some((up, _)) = ancestor.rsplit_once('.') else {
                        break None;
                    };
                    ancestor = up;
                    if let Some((_, row)) = rows
                        .get(ancestor)
                        .or_else(|| rows.get(ancestor.trim_end_matches("[]")))
                        .or_else(|| rows.get(ancestor.trim_end_matches(".*")))
                    {
                        break Some(row);
                    }
                };
                let Some(row) = row else {
                    problems.push(format!("`{path}`: no README row describes it"));
                    continue;
                };
                if absent.contains(&doc.as_str()) {
                    continue;
                }
                in_passing += 1;
                match mentioned_default(row, &field.name) {
                    Some(readme) if normalise(&readme) == doc => {}
                    Some(readme) => problems.push(format!(
                        "`{path}`: README (in `{ancestor}`) default `{readme}`, schema doc `{doc}`"
                    )),
                    None => problems.push(format!(
                        "`{path}`: the README row of `{ancestor}` must say `{}` (default {doc})",
                        field.name
                    )),
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "defaults disagree:\n{}",
        problems.join("\n")
    );
    // Not vacuous: the table's rows and the defaults given in passing
    // (`timeout`, `cache_duration`) were all compared.
    assert!(
        in_rows >= 45 && in_passing >= 4,
        "{in_rows} rows, {in_passing} in passing"
    );
}

#[test]
fn defaults_are_read_from_doc_comments_and_rows() {
    for (doc, default) in [
        ("Most tokens. Default 10000.", "10000"),
        ("A. Default `\"5s\"`.", "`\"5s\"`"),
        ("A. Default 16384; 64 to 1048576.", "16384"),
        ("A. Default: not checked.", "not checked"),
        ("Default `[{\"a\": \"b. c\"}]`.", "`[{\"a\": \"b. c\"}]`"),
        ("The issuer. Required.", "required"),
    ] {
        assert_eq!(doc_default(doc).as_deref(), Some(default), "{doc}");
    }
    assert_eq!(doc_default("No statement."), None);
    assert_eq!(normalise("`[]` (not checked)"), "[]");
    assert_eq!(normalise("`\"600s\"`"), "600s");
    assert_eq!(normalise("10 (5 % of a worker)"), "10");
    assert_eq!(
        mentioned_default("`timeout` (default `\"5s\"`: also…)", "timeout").as_deref(),
        Some("`\"5s\"`")
    );
    assert_eq!(
        mentioned_default("{\"cluster\", \"timeout\" (default \"5s\")}", "timeout").as_deref(),
        Some("\"5s\"")
    );
    assert_eq!(mentioned_default("`timeout`", "timeout"), None);
    // The walk finds nested fields under the README's spelling.
    let paths: BTreeSet<String> = schema_paths().into_iter().map(|(p, _)| p).collect();
    for p in [
        "providers.*.remote_jwks.http_uri.timeout",
        "providers.*.revocation.http_uri.timeout",
        "rules[].match",
        "rules[].match.methods",
        "decryption_keys.pem[].alg",
        "cache.ttl_seconds",
    ] {
        assert!(paths.contains(p), "{p}: {paths:?}");
    }
}

/// The names in backticks in one cell of the README's "## Algorithms"
/// table, `RS256/384/512` read as `RS256`, `RS384`, `RS512`.
fn algorithm_names(cell: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for quoted in cell.split('`').skip(1).step_by(2) {
        let mut parts = quoted.split('/');
        let first = parts.next().unwrap_or_default();
        let stem = first.trim_end_matches(|c: char| c.is_ascii_digit());
        names.insert(first.to_string());
        for more in parts {
            names.insert(format!("{stem}{more}"));
        }
    }
    names
}

/// The README's Algorithms table says exactly what the algorithm table
/// (`src/jose/alg.rs`) supports, row by row, and every name it refuses is
/// refused by name, with its own reason (not as merely unknown).
#[test]
fn the_algorithms_table_is_the_algorithm_table() {
    use jwe_authn::error::Reason;
    use jwe_authn::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
    let readme = read("README.md");
    let section = &readme[readme.find("## Algorithms").expect("## Algorithms")..];
    let row = |label: &str| -> (BTreeSet<String>, BTreeSet<String>) {
        let line = section
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no `{label}` row"));
        let cells: Vec<&str> = line.split('|').collect();
        (algorithm_names(cells[2]), algorithm_names(cells[3]))
    };
    let names = |all: Vec<&str>| all.into_iter().map(str::to_string).collect::<BTreeSet<_>>();
    let specific = |r: Result<(), Reason>, generic: &str| matches!(r, Err(Reason::Refused(why)) if why != generic);
    let (supported, refused) = row("JWE `alg`");
    assert_eq!(
        supported,
        names(KeyManagementAlg::ALL.iter().map(|a| a.name()).collect())
    );
    for name in &refused {
        assert!(
            specific(
                KeyManagementAlg::parse(name).map(drop),
                "unsupported JWE alg"
            ),
            "README refuses JWE alg `{name}`; the code does not say why"
        );
    }
    let (supported, _) = row("JWE `enc`");
    assert_eq!(
        supported,
        names(ContentEncryptionAlg::ALL.iter().map(|a| a.name()).collect())
    );
    let (supported, refused) = row("JWS `alg`");
    assert_eq!(
        supported,
        names(SignatureAlg::ALL.iter().map(|a| a.name()).collect())
    );
    assert!(
        refused.contains("Ed448") && refused.contains("none"),
        "{refused:?}"
    );
    for name in &refused {
        assert!(
            specific(SignatureAlg::parse(name).map(drop), "unsupported JWS alg"),
            "README refuses JWS alg `{name}`; the code does not say why"
        );
    }
}

#[test]
fn every_denial_counter_is_in_the_stats_paragraph() {
    let readme = read("README.md");
    let start = readme.find("**Stats**").expect("a **Stats** paragraph");
    let paragraph = &readme[start..];
    let paragraph = &paragraph[..paragraph.find("\n\n").unwrap_or(paragraph.len())];
    for stat in jwe_authn::error::Stat::ALL {
        assert!(
            paragraph.contains(&format!("`{}`", stat.name())),
            "README's Stats paragraph does not name `{}`",
            stat.name()
        );
    }
}
