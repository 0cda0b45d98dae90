//! The request-side configuration, compiled: where tokens come from, which
//! routes need what, and which headers the filter manages.

use super::schema::{ClaimToHeader, HeaderSource, RouteMatch, Rule};
use crate::error::ConfigError;
use crate::path::Parameters;
use std::collections::BTreeSet;

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

/// How a rule matches a path (without its query string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// A raw prefix, as Envoy's `prefix`.
    Prefix(String),
    /// A prefix ending at a segment boundary, as Envoy's
    /// `path_separated_prefix`.
    SeparatedPrefix(String),
    /// The whole path.
    Exact(String),
}

/// A compiled route rule.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// The path matcher (applied to the path without its query string).
    pub path: PathMatch,
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
    /// True when the rule applies to `method` and `path` (query ignored).
    /// The path has passed [`crate::path::check`] first.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        let path = crate::path::without_query(path);
        let path_ok = match &self.path {
            PathMatch::Prefix(p) => path.starts_with(p.as_str()),
            PathMatch::SeparatedPrefix(p) => path
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
            PathMatch::Exact(p) => path == p,
        };
        path_ok
            && (self.methods.is_empty()
                || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
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

/// A rule's path matcher: exactly one kind, a path in normal form (so that
/// it can match a request that passed [`crate::path::check`]), without a
/// query; a `path_separated_prefix` does not end with `/`.
fn path_match(m: &RouteMatch, at: &str, parameters: Parameters) -> Result<PathMatch, ConfigError> {
    let (field, path) = match (&m.prefix, &m.path_separated_prefix, &m.path) {
        (Some(p), None, None) => ("prefix", PathMatch::Prefix(p.clone())),
        (None, Some(p), None) => (
            "path_separated_prefix",
            PathMatch::SeparatedPrefix(p.clone()),
        ),
        (None, None, Some(p)) => ("path", PathMatch::Exact(p.clone())),
        _ => {
            return Err(ConfigError::new(
                at,
                "expected exactly one of `prefix`, `path_separated_prefix` and `path`",
            ))
        }
    };
    let (PathMatch::Prefix(text) | PathMatch::SeparatedPrefix(text) | PathMatch::Exact(text)) =
        &path;
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
        let path = path_match(&rule.matcher, &format!("{at}.match"), parameters)?;
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
        let requires = match rule.requires.as_str() {
            "allow" => Requirement::Allow,
            "any" => Requirement::Any,
            name => Requirement::Provider(provider_index(name).ok_or_else(|| {
                ConfigError::new(
                    format!("{at}.requires"),
                    format!("expected `allow`, `any` or a provider name, not `{name}`"),
                )
            })?),
        };
        if requires == Requirement::Allow
            && (!rule.required_claims.is_empty() || rule.allow_missing)
        {
            return Err(ConfigError::new(
                format!("{at}.requires"),
                "`allow` checks no token: `required_claims` and `allow_missing` would have no effect",
            ));
        }
        let mut required_claims = Vec::new();
        for (claim, values) in &rule.required_claims {
            let claim_at = format!("{at}.required_claims.{claim}");
            if values.is_empty() {
                return Err(ConfigError::new(
                    claim_at,
                    "expected at least one accepted value",
                ));
            }
            required_claims.push((claim_path(claim, &claim_at)?, values.clone()));
        }
        out.push(CompiledRule {
            path,
            methods,
            requires,
            allow_missing: rule.allow_missing,
            required_claims,
        });
    }
    Ok(out)
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
