//! The request-side configuration, compiled: where tokens come from, which
//! routes need what, and which headers the filter manages.

use super::schema::{ClaimToHeader, HeaderSource, RouteMatch, Rule};
use crate::error::ConfigError;
use crate::extract::{serialized_pairs, Request};
use crate::path::Parameters;
use std::collections::{BTreeMap, BTreeSet};

/// Where a token may be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A request header (lower-case name) with an optional prefix.
    Header {
        name: String,
        prefix: Option<String>,
    },
    /// A query parameter.
    Param(String),
    /// A cookie.
    Cookie(String),
}

/// What a route requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// A public route: no token needed, none checked.
    Allow,
    /// A valid token from any provider.
    Any,
    /// A valid token from the provider with this index.
    Provider(usize),
}

/// How a rule matches a request: its path (without the query string), or
/// the route Envoy chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleMatch {
    /// A raw prefix, as Envoy's `prefix`.
    Prefix(String),
    /// A prefix ending at a segment boundary, as Envoy's
    /// `path_separated_prefix`.
    SeparatedPrefix(String),
    /// The whole path.
    Exact(String),
    /// Envoy's route name (`xds.route_name`), exactly.
    RouteName(String),
}

/// A compiled route rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledRule {
    /// The matcher (a path matcher sees the path without its query string).
    pub matcher: RuleMatch,
    /// Upper-case methods; empty matches any.
    pub methods: Vec<String>,
    /// What the route requires.
    pub requires: Requirement,
    /// Anonymous requests pass; invalid tokens are still rejected.
    pub allow_missing: bool,
    /// (claim path segments, accepted values).
    pub required_claims: Vec<(Vec<String>, Vec<String>)>,
}

impl CompiledRule {
    /// Without rules, or when none matches (and the route carries no
    /// requirement): a valid token from any provider.
    pub const DEFAULT: CompiledRule = CompiledRule {
        matcher: RuleMatch::Prefix(String::new()),
        methods: Vec::new(),
        requires: Requirement::Any,
        allow_missing: false,
        required_claims: Vec::new(),
    };

    /// True when the rule applies to `request` (path matchers ignore the
    /// query). The path has passed [`crate::path::check`] first.
    pub fn matches(&self, request: &Request<'_>) -> bool {
        let path = crate::path::without_query(request.path);
        let matched = match &self.matcher {
            RuleMatch::Prefix(p) => path.starts_with(p.as_str()),
            RuleMatch::SeparatedPrefix(p) => path
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
            RuleMatch::Exact(p) => path == p,
            RuleMatch::RouteName(name) => request.route_name == Some(name.as_str()),
        };
        matched
            && (self.methods.is_empty()
                || self
                    .methods
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(request.method)))
    }
}

/// RFC 9110 token characters, for header names.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header name the filter may read or set: a token, lower-cased.
pub fn header_name(name: &str, path: &str) -> Result<String, ConfigError> {
    if !is_token(name) {
        return Err(ConfigError::new(
            path,
            "expected an HTTP header name (token characters, no `:`)",
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// Compile the token sources.
pub fn sources(
    headers: &[HeaderSource],
    params: &[String],
    cookies: &[String],
) -> Result<Vec<Source>, ConfigError> {
    let mut out = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let name = header_name(&h.name, &format!("from_headers[{i}].name"))?;
        if h.value_prefix
            .as_deref()
            .is_some_and(|p| p.bytes().any(|b| b.is_ascii_control()))
        {
            return Err(ConfigError::new(
                format!("from_headers[{i}].value_prefix"),
                "must not contain control characters",
            ));
        }
        out.push(Source::Header {
            name,
            prefix: h.value_prefix.clone().filter(|p| !p.is_empty()),
        });
    }
    for (i, p) in params.iter().enumerate() {
        if p.is_empty() || p.contains(['&', '=', '#']) {
            return Err(ConfigError::new(
                format!("from_params[{i}]"),
                "expected a query parameter name",
            ));
        }
        out.push(Source::Param(p.clone()));
    }
    for (i, c) in cookies.iter().enumerate() {
        if !is_token(c) {
            return Err(ConfigError::new(
                format!("from_cookies[{i}]"),
                "expected a cookie name",
            ));
        }
        out.push(Source::Cookie(c.clone()));
    }
    if out.is_empty() {
        return Err(ConfigError::new(
            "from_headers",
            "at least one token source is required",
        ));
    }
    if out.len() > crate::extract::MAX_SOURCES {
        return Err(ConfigError::new(
            "from_headers",
            format!(
                "at most {} token sources in all (headers, parameters, cookies)",
                crate::extract::MAX_SOURCES
            ),
        ));
    }
    Ok(out)
}

/// Split a claim dot path, refusing empty segments.
pub fn claim_path(claim: &str, path: &str) -> Result<Vec<String>, ConfigError> {
    let segments: Vec<String> = claim.split('.').map(str::to_string).collect();
    if segments.iter().any(String::is_empty) {
        return Err(ConfigError::new(
            path,
            "expected a claim name or dot path such as `realm_access.roles`",
        ));
    }
    Ok(segments)
}

/// Compile the rules; `provider_index` maps a provider name to its index.
/// Parse `path_parameters`.
pub fn path_parameters(text: &str) -> Result<Parameters, ConfigError> {
    match text {
        "refuse" => Ok(Parameters::Refuse),
        "literal" => Ok(Parameters::Literal),
        _ => Err(ConfigError::new(
            "path_parameters",
            "expected `refuse` or `literal`",
        )),
    }
}

/// A rule's matcher: exactly one kind; a path in normal form (so that it
/// can match a request that passed [`crate::path::check`]), without a
/// query, and a `path_separated_prefix` that does not end with `/`; a route
/// name that is not empty and has no control characters.
fn rule_match(m: &RouteMatch, at: &str, parameters: Parameters) -> Result<RuleMatch, ConfigError> {
    let (field, path) = match (&m.prefix, &m.path_separated_prefix, &m.path, &m.route_name) {
        (Some(p), None, None, None) => ("prefix", RuleMatch::Prefix(p.clone())),
        (None, Some(p), None, None) => (
            "path_separated_prefix",
            RuleMatch::SeparatedPrefix(p.clone()),
        ),
        (None, None, Some(p), None) => ("path", RuleMatch::Exact(p.clone())),
        (None, None, None, Some(name)) => {
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err(ConfigError::new(
                    format!("{at}.route_name"),
                    "expected the name of an Envoy route (not empty, no control characters)",
                ));
            }
            return Ok(RuleMatch::RouteName(name.clone()));
        }
        _ => return Err(ConfigError::new(
            at,
            "expected exactly one of `prefix`, `path_separated_prefix`, `path` and `route_name`",
        )),
    };
    let (RuleMatch::Prefix(text)
    | RuleMatch::SeparatedPrefix(text)
    | RuleMatch::Exact(text)
    | RuleMatch::RouteName(text)) = &path;
    let normal = if text.contains('?') {
        Err("a rule matches the path without its query")
    } else {
        crate::path::check(text, parameters)
    };
    if let Err(detail) = normal {
        return Err(ConfigError::new(
            format!("{at}.{field}"),
            format!("expected a path in normal form starting with `/` ({detail})"),
        ));
    }
    if field == "path_separated_prefix" && text.len() > 1 && text.ends_with('/') {
        return Err(ConfigError::new(
            format!("{at}.{field}"),
            "must not end with `/` (it matches on segment boundaries)",
        ));
    }
    Ok(path)
}

pub fn rules(
    rules: &[Rule],
    parameters: Parameters,
    provider_index: impl Fn(&str) -> Option<usize>,
) -> Result<Vec<CompiledRule>, ConfigError> {
    let mut out = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        let matcher = rule_match(&rule.matcher, &format!("{at}.match"), parameters)?;
        let mut methods = Vec::new();
        for (j, m) in rule.matcher.methods.iter().enumerate() {
            if !is_token(m) {
                return Err(ConfigError::new(
                    format!("{at}.match.methods[{j}]"),
                    "expected an HTTP method",
                ));
            }
            methods.push(m.to_ascii_uppercase());
        }
        // A server answers HEAD with its GET handler: a rule for GET must
        // not let HEAD fall through to a weaker rule.
        if methods.iter().any(|m| m == "GET") && !methods.iter().any(|m| m == "HEAD") {
            methods.push("HEAD".to_string());
        }
        let (requires, allow_missing, required_claims) = requirement(
            &rule.requires,
            rule.allow_missing,
            &rule.required_claims,
            &at,
            &provider_index,
        )?;
        out.push(CompiledRule {
            matcher,
            methods,
            requires,
            allow_missing,
            required_claims,
        });
    }
    Ok(out)
}

/// A compiled `(requires, allow_missing, required_claims)`.
type Compiled = (Requirement, bool, Vec<(Vec<String>, Vec<String>)>);

/// What a rule requires — `requires`, `allow_missing`, `required_claims` —
/// checked and compiled: the one rule for configured rules and for a
/// requirement in a route's metadata ([`route_requirement`]).
fn requirement(
    requires: &str,
    allow_missing: bool,
    required_claims: &BTreeMap<String, Vec<String>>,
    at: &str,
    provider_index: &dyn Fn(&str) -> Option<usize>,
) -> Result<Compiled, ConfigError> {
    let requires = match requires {
        "allow" => Requirement::Allow,
        "any" => Requirement::Any,
        name => Requirement::Provider(provider_index(name).ok_or_else(|| {
            ConfigError::new(
                format!("{at}.requires"),
                format!("expected `allow`, `any` or a provider name, not `{name}`"),
            )
        })?),
    };
    if requires == Requirement::Allow && (!required_claims.is_empty() || allow_missing) {
        return Err(ConfigError::new(
            format!("{at}.requires"),
            "`allow` checks no token: `required_claims` and `allow_missing` would have no effect",
        ));
    }
    let mut compiled = Vec::new();
    for (claim, values) in required_claims {
        let claim_at = format!("{at}.required_claims.{claim}");
        if values.is_empty() {
            return Err(ConfigError::new(
                claim_at,
                "expected at least one accepted value",
            ));
        }
        compiled.push((claim_path(claim, &claim_at)?, values.clone()));
    }
    Ok((requires, allow_missing, compiled))
}

/// Longest route requirement read from Envoy (serialized), bytes.
pub const MAX_ROUTE_REQUIREMENT_BYTES: usize = 16 * 1024;
/// Most claims, and accepted values per claim, in a route requirement.
const MAX_ROUTE_CLAIMS: usize = 32;
const MAX_ROUTE_CLAIM_VALUES: usize = 64;

/// The requirement in a route's metadata (`filter_metadata.jwe_authn`), as
/// Envoy serializes it for a Wasm plugin: a map (`requires`: string,
/// `allow_missing`: bool, one byte; `required_claims`: a map of lists,
/// each list serialized as a map whose keys are its items). Compiled by
/// the same rule as configured rules; it applies to every method of the
/// route. Anything else — an unknown field, a wrong type, a provider that
/// does not exist, more than the bounds — is an error: the route is
/// misconfigured and its requests are refused, never let through.
pub fn route_requirement(
    bytes: &[u8],
    provider_index: &dyn Fn(&str) -> Option<usize>,
) -> Result<CompiledRule, &'static str> {
    const UNREADABLE: &str = "the route's metadata.filter_metadata.jwe_authn is not a requirement";
    if bytes.len() > MAX_ROUTE_REQUIREMENT_BYTES {
        return Err("the route's requirement is too large");
    }
    let fields = serialized_pairs(bytes).ok_or(UNREADABLE)?;
    let (mut requires, mut allow_missing, mut claims) = (None, false, BTreeMap::new());
    for (name, value) in fields {
        match name {
            b"requires" => {
                requires = Some(std::str::from_utf8(value).map_err(|_| UNREADABLE)?);
            }
            b"allow_missing" => {
                allow_missing = match value {
                    [0] => false,
                    [1] => true,
                    _ => return Err("the route's allow_missing is not a bool"),
                }
            }
            b"required_claims" => {
                let entries = serialized_pairs(value).ok_or(UNREADABLE)?;
                if entries.len() > MAX_ROUTE_CLAIMS {
                    return Err("the route's required_claims has too many claims");
                }
                for (claim, list) in entries {
                    let claim = std::str::from_utf8(claim).map_err(|_| UNREADABLE)?;
                    let items = serialized_pairs(list)
                        .ok_or("the route's required_claims values are not lists of strings")?;
                    if items.len() > MAX_ROUTE_CLAIM_VALUES {
                        return Err("the route's required_claims has too many values");
                    }
                    let mut values = Vec::with_capacity(items.len());
                    for (item, empty) in items {
                        if !empty.is_empty() {
                            return Err(
                                "the route's required_claims values are not lists of strings",
                            );
                        }
                        values.push(
                            std::str::from_utf8(item)
                                .map_err(|_| UNREADABLE)?
                                .to_string(),
                        );
                    }
                    claims.insert(claim.to_string(), values);
                }
            }
            _ => return Err("the route's requirement has an unknown field"),
        }
    }
    let requires = requires.ok_or("the route's requirement has no requires")?;
    let (requires, allow_missing, required_claims) = requirement(
        requires,
        allow_missing,
        &claims,
        "route metadata",
        provider_index,
    )
    .map_err(|_| "the route's requirement is not one a rule accepts")?;
    Ok(CompiledRule {
        requires,
        allow_missing,
        required_claims,
        ..CompiledRule::DEFAULT
    })
}

/// Compile `claim_to_headers`.
pub fn claim_headers(
    list: &[ClaimToHeader],
    at: &str,
) -> Result<Vec<(String, Vec<String>)>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            Ok((
                header_name(&c.header_name, &format!("{at}[{i}].header_name"))?,
                claim_path(&c.claim_name, &format!("{at}[{i}].claim_name"))?,
            ))
        })
        .collect()
}

/// Names that must never be set from a token: pseudo-headers are refused by
/// [`header_name`]; these would change routing or framing.
pub fn check_settable(name: &str, path: &str, sources: &[Source]) -> Result<(), ConfigError> {
    const FORBIDDEN: &[&str] = &[
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "te",
        "upgrade",
        "cookie",
    ];
    let is_source = sources
        .iter()
        .any(|s| matches!(s, Source::Header { name: n, .. } if n == name));
    if FORBIDDEN.contains(&name) || is_source {
        return Err(ConfigError::new(
            path,
            format!("`{name}` cannot be set by the filter"),
        ));
    }
    Ok(())
}

/// Every header any provider may set, deduplicated: removed from (or
/// overwritten on) every forwarded request so a client can never supply
/// them.
pub fn managed(headers: impl IntoIterator<Item = String>) -> Vec<String> {
    headers
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The request headers the core reads, so the host reads only these (one
/// host call each, rather than copying every header into the VM): the
/// token headers, `cookie` for cookie sources, `:path` for query-parameter
/// sources and rules, `:method` for rules.
pub fn headers_read(sources: &[Source], rules: &[CompiledRule]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    };
    for source in sources {
        match source {
            Source::Header { name, .. } => add(name),
            Source::Param(_) => add(":path"),
            Source::Cookie(_) => add("cookie"),
        }
    }
    if !rules.is_empty() {
        add(":path");
        add(":method");
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::serialize_pairs;

    fn providers(name: &str) -> Option<usize> {
        ["bench", "partner"].iter().position(|p| *p == name)
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A list as Envoy serializes it for a plugin: a map of its items to
    /// empty values.
    fn list(items: &[&str]) -> String {
        let pairs: Vec<(&str, &str)> = items.iter().map(|i| (*i, "")).collect();
        String::from_utf8(serialize_pairs(&pairs)).unwrap()
    }

    #[test]
    fn a_route_requirement_as_envoy_serializes_it() {
        // Envoy 1.40's bytes for the route metadata
        // {requires: bench, allow_missing: true,
        //  required_claims: {scope: [a, b], sub: [x]}}, read by the filter
        // as xds.route_metadata.filter_metadata.jwe_authn.
        let bytes = hex(concat!(
            "030000000f0000004900000008000000050000000d0000000100000072657175",
            "697265645f636c61696d730002000000050000001a000000030000000f000000",
            "73636f70650002000000010000000000000001000000000000006100006200",
            "000073756200010000000100000000000000780000000072657175697265730062",
            "656e636800616c6c6f775f6d697373696e67000100"
        ));
        let rule = route_requirement(&bytes, &providers).unwrap();
        assert_eq!(rule.requires, Requirement::Provider(0));
        assert!(rule.allow_missing);
        assert_eq!(
            rule.required_claims,
            vec![
                (
                    vec!["scope".to_string()],
                    vec!["a".to_string(), "b".to_string()]
                ),
                (vec!["sub".to_string()], vec!["x".to_string()]),
            ]
        );
        assert!(rule.methods.is_empty());
    }

    #[test]
    fn a_route_requirement_is_compiled_by_the_rules_own_checks() {
        let claims =
            String::from_utf8(serialize_pairs(&[("scope", &list(&["orders:read"]))])).unwrap();
        let ok = serialize_pairs(&[("requires", "any"), ("required_claims", &claims)]);
        let rule = route_requirement(&ok, &providers).unwrap();
        assert_eq!(rule.requires, Requirement::Any);
        assert!(!rule.allow_missing);
        let public = serialize_pairs(&[("requires", "allow")]);
        assert_eq!(
            route_requirement(&public, &providers).unwrap().requires,
            Requirement::Allow
        );
        let empty_list = String::from_utf8(serialize_pairs(&[("scope", &list(&[]))])).unwrap();
        let refused: Vec<Vec<u8>> = vec![
            // No requires; an unknown provider; an unknown field.
            serialize_pairs(&[("allow_missing", "\u{1}")]),
            serialize_pairs(&[("requires", "nobody")]),
            serialize_pairs(&[("requires", "any"), ("require", "any")]),
            // A bool written as a string; a claim's values not a list.
            serialize_pairs(&[("requires", "any"), ("allow_missing", "true")]),
            serialize_pairs(&[("requires", "any"), ("required_claims", "scope")]),
            // `allow` with claims; a claim with no accepted value.
            serialize_pairs(&[("requires", "allow"), ("required_claims", &claims)]),
            serialize_pairs(&[("requires", "any"), ("required_claims", &empty_list)]),
            // Not a map at all; a string where the map should be.
            b"bench".to_vec(),
            Vec::new(),
            vec![0; MAX_ROUTE_REQUIREMENT_BYTES + 1],
        ];
        for bytes in refused {
            assert!(
                route_requirement(&bytes, &providers).is_err(),
                "accepted {bytes:?}"
            );
        }
    }

    #[test]
    fn a_route_name_rule_matches_that_route_only() {
        let rule = CompiledRule {
            matcher: RuleMatch::RouteName("admin".to_string()),
            methods: vec!["POST".to_string()],
            ..CompiledRule::DEFAULT
        };
        let request = |name, method| Request {
            method,
            path: "/whatever",
            route_name: name,
            ..Default::default()
        };
        assert!(rule.matches(&request(Some("admin"), "POST")));
        assert!(rule.matches(&request(Some("admin"), "post")));
        assert!(!rule.matches(&request(Some("admin"), "GET")));
        assert!(!rule.matches(&request(Some("Admin"), "POST")));
        assert!(!rule.matches(&request(Some("admin-x"), "POST")));
        assert!(!rule.matches(&request(None, "POST")));
    }
}
