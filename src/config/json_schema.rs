//! The JSON Schema of the configuration, derived from the structs of
//! [`super::schema`] that the parser deserializes into: a field added,
//! renamed or retyped there changes the schema with it. Native only (the
//! Wasm filter has no use for it); `jwe-authn schema` prints it, `make
//! schema` writes it to [`SHIPPED_PATH`], and a test fails when that file is
//! not what [`generate`] returns.
//!
//! The derived schema says what deserialization accepts: field names,
//! types, required fields, no unknown fields, defaults and the doc comments.
//! [`VALUE_RULES`] adds what the parser checks of single values right after
//! (ranges, durations, the realm); tests hold each of them to the parser.
//! Rules that involve more than one value (exactly one of `local_jwks`,
//! `remote_jwks` and `discovery`; keys that fit their algorithms) are the
//! parser's alone: a configuration the schema accepts can still be refused.

use super::schema::Config;
use schemars::generate::SchemaSettings;
use serde_json::{json, Value};

/// Where the schema is shipped, relative to the repository.
pub const SHIPPED_PATH: &str = "schema/jwe-authn.config.schema.json";

/// A protobuf-JSON duration as [`super::value::duration_ms`] reads it:
/// digits, at most three decimals, `s`.
const DURATION: &str = r"^[0-9]+(\.[0-9]{0,3})?s$";

/// The single-value checks of the parser that a schema can state: (JSON
/// pointer of a field's schema, members added to it). Each pointer must
/// exist, so renaming a field without updating this list fails
/// [`generate`].
pub const VALUE_RULES: &[(&str, ValueRule)] = &[
    ("/properties/max_token_bytes", ValueRule::Range(64, 1 << 20)),
    (
        "/properties/realm",
        // value::realm: non-empty, no `"`, `\` or control characters.
        ValueRule::Pattern(r#"^[^"\\\x00-\x1f\x7f]+$"#),
    ),
    (
        "/properties/path_parameters",
        ValueRule::OneOf(&["refuse", "literal"]),
    ),
    (
        "/$defs/TrustedCertificateHeader/properties/format",
        ValueRule::OneOf(&["xfcc", "pem"]),
    ),
    (
        "/$defs/AdmissionConfig/properties/worker_percent",
        ValueRule::Range(1, 100),
    ),
    (
        "/$defs/AdmissionConfig/properties/source_percent",
        ValueRule::Range(1, 100),
    ),
    (
        "/$defs/RemoteJwks/properties/max_jwks_bytes",
        ValueRule::Range(
            *super::fetch::JWKS_BYTES_RANGE.start() as u64,
            *super::fetch::JWKS_BYTES_RANGE.end() as u64,
        ),
    ),
    (
        "/$defs/RemoteJwks/properties/cache_duration",
        ValueRule::Pattern(DURATION),
    ),
    (
        "/$defs/RemoteJwks/properties/unknown_kid_refetch_interval",
        ValueRule::Pattern(DURATION),
    ),
    (
        "/$defs/HttpUri/properties/timeout",
        ValueRule::Pattern(DURATION),
    ),
    (
        // value::http_uri checks far more; the schema only the scheme.
        "/$defs/HttpUri/properties/uri",
        ValueRule::Pattern("^https?://"),
    ),
    (
        "/$defs/Discovery/properties/timeout",
        ValueRule::Pattern(DURATION),
    ),
    (
        "/$defs/Discovery/properties/cache_duration",
        ValueRule::Pattern(DURATION),
    ),
    (
        "/$defs/Revocation/properties/cache_duration",
        ValueRule::Pattern(DURATION),
    ),
];

/// One single-value check, as JSON Schema states it.
#[derive(Debug, Clone, Copy)]
pub enum ValueRule {
    /// An integer from .0 to .1, both included.
    Range(u64, u64),
    /// A string matching this regular expression.
    Pattern(&'static str),
    /// One of these strings.
    OneOf(&'static [&'static str]),
}

impl ValueRule {
    fn members(self) -> Value {
        match self {
            ValueRule::Range(min, max) => json!({"minimum": min, "maximum": max}),
            ValueRule::Pattern(pattern) => json!({ "pattern": pattern }),
            ValueRule::OneOf(values) => json!({ "enum": values }),
        }
    }
}

/// The schema as shipped: pretty-printed JSON (draft 2020-12) and a final
/// newline. Fails, naming it, when a [`VALUE_RULES`] pointer names no field.
pub fn generate() -> Result<String, String> {
    let mut schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Config>();
    schema.insert("title".into(), "jwe-authn filter configuration".into());
    for (pointer, rule) in VALUE_RULES {
        let Some(Value::Object(field)) = schema.pointer_mut(pointer) else {
            return Err(format!(
                "json_schema::VALUE_RULES: {pointer} is not a field of the schema"
            ));
        };
        if let Value::Object(members) = rule.members() {
            field.extend(members);
        }
    }
    let mut text = serde_json::to_string_pretty(&schema).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}
