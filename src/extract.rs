//! Step 1: find the token in the request, in the configured order: headers
//! (with their prefix, e.g. `Bearer `), query parameters, cookies.

use crate::config::request::Source;

/// The parts of a request the core looks at, as the host read them.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `:method`.
    pub method: &'a str,
    /// `:path`, with its query string.
    pub path: &'a str,
    /// Request headers (names in any case); only those in
    /// `CompiledConfig::headers_read` are needed.
    pub headers: &'a [(String, String)],
}

/// A header value as the core reads it: bytes that are not UTF-8 become
/// U+FFFD rather than making the header absent, so that an odd byte in
/// `:path` cannot take a request out of a rule (fail closed: the rule's
/// prefix still matches) and an odd byte in a token makes it invalid, not
/// missing.
pub fn header_text(value: Vec<u8>) -> String {
    String::from_utf8(value).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl Request<'_> {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A token and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'r, 'c> {
    /// The token text (borrowed from the request).
    pub token: &'r str,
    /// The header it came from (to remove unless `forward`), if any: the
    /// configuration's name for it.
    pub header: Option<&'c str>,
}

/// Strip a configured prefix such as `Bearer ` from a header value. The
/// scheme is compared case-insensitively (RFC 7235 §2.1); an empty token is
/// treated as absent.
pub fn strip_prefix<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let token = value.get(prefix.len()..)?.trim_matches(' ');
    (!token.is_empty()).then_some(token)
}

fn query_param<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    let query = path.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// The first token found in `sources`.
pub fn find<'r, 'c>(sources: &'c [Source], request: &'r Request<'r>) -> Option<Found<'r, 'c>> {
    sources.iter().find_map(|source| match source {
        Source::Header { name, prefix } => {
            let value = request.header(name)?;
            let token = match prefix {
                Some(p) => strip_prefix(value, p)?,
                None => Some(value.trim()).filter(|v| !v.is_empty())?,
            };
            Some(Found {
                token,
                header: Some(name.as_str()),
            })
        }
        Source::Param(name) => query_param(request.path, name).map(|token| Found {
            token,
            header: None,
        }),
        Source::Cookie(name) => {
            request
                .header("cookie")
                .and_then(|c| cookie(c, name))
                .map(|token| Found {
                    token,
                    header: None,
                })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_utf8_do_not_make_a_header_absent() {
        assert_eq!(header_text(b"/orders".to_vec()), "/orders");
        let path = header_text(b"/admin\xff/users".to_vec());
        assert!(path.starts_with("/admin"), "{path}");
        assert_eq!(header_text(b"Bearer a\x80b".to_vec()), "Bearer a\u{fffd}b");
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(strip_prefix("Bearer abc", "Bearer "), Some("abc"));
        assert_eq!(strip_prefix("bearer abc", "Bearer "), Some("abc"));
        assert_eq!(strip_prefix("BEARER  abc ", "Bearer "), Some("abc"));
        assert_eq!(strip_prefix("Basic abc", "Bearer "), None);
        assert_eq!(strip_prefix("Bearer ", "Bearer "), None);
        assert_eq!(strip_prefix("Bear", "Bearer "), None);
        // A multi-byte character straddling the prefix boundary is no panic.
        assert_eq!(strip_prefix("Beare\u{e9}abc", "Bearer "), None);
    }

    #[test]
    fn sources_are_tried_in_order() {
        let sources = vec![
            Source::Header {
                name: "authorization".into(),
                prefix: Some("Bearer ".into()),
            },
            Source::Param("access_token".into()),
            Source::Cookie("session".into()),
        ];
        let headers = vec![(
            "Cookie".to_string(),
            "a=1; session=cookie-token".to_string(),
        )];
        let r = Request {
            method: "GET",
            path: "/x?y=1&access_token=param-token#f",
            headers: &headers,
        };
        assert_eq!(find(&sources, &r).map(|f| f.token), Some("param-token"));
        let r = Request { path: "/x", ..r };
        assert_eq!(find(&sources, &r).map(|f| f.token), Some("cookie-token"));
        let headers = vec![(
            "AUTHORIZATION".to_string(),
            "bearer header-token".to_string(),
        )];
        let r = Request {
            headers: &headers,
            ..r
        };
        assert_eq!(
            find(&sources, &r),
            Some(Found {
                token: "header-token",
                header: Some("authorization")
            })
        );
        let none: Vec<(String, String)> = vec![("authorization".into(), "Basic x".into())];
        let r = Request {
            headers: &none,
            ..r
        };
        assert_eq!(find(&sources, &r), None);
    }
}
