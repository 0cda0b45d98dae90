//! Step 6: what an accepted request carries upstream: the headers a provider
//! is configured to set (inner JWT, payload, claims), computed once per
//! token and cached with it, so that a cache hit copies nothing; and the
//! identity for filter state, borrowed from the token when asked for.

use crate::config::Provider;
use crate::jose::b64;
use crate::pipeline::Accepted;
use serde_json::Value;

/// Longest header value copied from a claim.
const MAX_CLAIM_HEADER_BYTES: usize = 8192;

/// Who a request was authenticated as: for filter state. Borrowed from the
/// verified token, so it costs nothing unless asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    /// The provider's configuration name.
    pub provider: &'a str,
    /// The `iss` and `sub` claims, when they are strings.
    pub iss: Option<&'a str>,
    pub sub: Option<&'a str>,
}

/// An accepted token with what it forwards.
#[derive(Debug)]
pub struct Authenticated {
    /// The pipeline's result.
    pub accepted: Accepted,
    /// Index of its provider in the compiled configuration.
    pub provider: usize,
    /// Headers to set on the upstream request.
    pub headers: Vec<(String, String)>,
}

impl Authenticated {
    /// Complete `accepted`, issued by `provider` (at `index` in the
    /// configuration), with its headers.
    pub fn new(index: usize, provider: &Provider, accepted: Accepted) -> Self {
        Authenticated {
            headers: headers(provider, &accepted),
            provider: index,
            accepted,
        }
    }

    /// The identity, for filter state.
    pub fn identity(&self) -> Identity<'_> {
        let text = |name: &str| self.accepted.claims.get(name).and_then(Value::as_str);
        Identity {
            provider: &self.accepted.provider,
            iss: text("iss"),
            sub: text("sub"),
        }
    }
}

/// The claim at a dot path.
pub fn claim<'a>(claims: &'a serde_json::Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(claims.get(first)?, |v, seg| v.get(seg))
}

/// A claim value as header text: strings as they are, numbers and booleans
/// as JSON, arrays of those joined with `,`; anything else, or text with
/// control characters (header injection), gives no header.
fn header_value(value: &Value) -> Option<String> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let text = match value {
        Value::Array(items) => items
            .iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()?
            .join(","),
        v => scalar(v)?,
    };
    let clean = text.len() <= MAX_CLAIM_HEADER_BYTES && !text.bytes().any(|b| b.is_ascii_control());
    clean.then_some(text)
}

/// The headers `provider` forwards for `accepted`.
pub fn headers(provider: &Provider, accepted: &Accepted) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let (Some(name), Some(jws)) = (&provider.forward_jws_header, &accepted.jws) {
        out.push((name.clone(), jws.clone()));
    }
    if let Some(name) = &provider.forward_payload_header {
        let payload = match accepted.jws.as_deref().and_then(|j| j.split('.').nth(1)) {
            // The signed payload exactly as issued.
            Some(segment) => segment.to_string(),
            None => b64::encode(
                Value::Object(accepted.claims.clone())
                    .to_string()
                    .as_bytes(),
            ),
        };
        out.push((name.clone(), payload));
    }
    for (name, path) in &provider.claim_to_headers {
        if let Some(value) = claim(&accepted.claims, path).and_then(header_value) {
            out.push((name.clone(), value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claim_values_become_safe_header_text() {
        assert_eq!(header_value(&json!("alice")), Some("alice".into()));
        assert_eq!(header_value(&json!(42)), Some("42".into()));
        assert_eq!(header_value(&json!(["a", "b", 3])), Some("a,b,3".into()));
        assert_eq!(header_value(&json!({"a": 1})), None);
        assert_eq!(header_value(&json!([["nested"]])), None);
        assert_eq!(header_value(&json!("evil\r\nx-admin: 1")), None);
    }

    #[test]
    fn dot_paths_walk_objects() {
        let claims = json!({"realm_access": {"roles": ["admin"]}, "sub": "a"});
        let claims = claims.as_object().unwrap();
        assert_eq!(
            claim(claims, &["realm_access".into(), "roles".into()]),
            Some(&json!(["admin"]))
        );
        assert_eq!(claim(claims, &["sub".into(), "x".into()]), None);
        assert_eq!(claim(claims, &[]), None);
    }
}
