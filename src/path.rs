//! Before a rule is chosen: the request path must already be in the normal
//! form the upstream will see, or the request is refused.
//!
//! Rules compare the path as text, so a path an upstream decodes or
//! collapses differently (`/health/../admin`, `/%61dmin`, `//admin`,
//! `/admin%2Fx`, `/admin\x`) could match one rule here and name another
//! resource there. Envoy removes most of these before any filter runs when
//! the HTTP connection manager sets `normalize_path`, `merge_slashes` and
//! `path_with_escaped_slashes_action` (every configuration we publish does);
//! this check makes a missing setting fail closed rather than open.
//!
//! A path is in normal form (RFC 3986 §6.2.2) when it starts with `/`, has no
//! empty, `.` or `..` segment, no percent-encoded unreserved character
//! (`%41` for `A`, `%2E` for `.`), and every `%` starts a well-formed
//! escape. On top of that it must not hold what upstreams disagree on: an
//! encoded `/` or `\` (`%2F`, `%5C`), an encoded NUL, a backslash, a control
//! character, a byte outside ASCII, or a fragment. A `;` (path parameters,
//! which Tomcat and Spring strip and Go and Python keep) is refused unless
//! the configuration says upstreams treat it as an ordinary character. The
//! query string is not checked: rules never look at it.

/// How `;` in a path is treated (`path_parameters` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parameters {
    /// A path with `;` is refused (the default): upstreams disagree on
    /// whether `/admin;x/users` is `/admin/users`.
    #[default]
    Refuse,
    /// `;` is an ordinary character, as for Go, Python and Node upstreams.
    Literal,
}

/// The part of `:path` that rules match: everything before `?`.
pub fn without_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Check that `path` (a `:path` value; its query is ignored) is in normal
/// form; `Err` carries the log detail. Linear in the path's length, no
/// allocation.
pub fn check(path: &str, parameters: Parameters) -> Result<(), &'static str> {
    let path = without_query(path);
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err("path does not start with /");
    }
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let (Some(hi), Some(lo)) = (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) else {
                    return Err("path has a malformed percent-escape");
                };
                let decoded = hi * 16 + lo;
                if unreserved(decoded) {
                    return Err("path has a percent-encoded unreserved character");
                }
                if matches!(decoded, b'/' | b'\\' | 0) {
                    return Err("path has an encoded slash, backslash or NUL");
                }
                i += 3;
                continue;
            }
            b'\\' => return Err("path has a backslash"),
            b'#' => return Err("path has a fragment"),
            b';' if parameters == Parameters::Refuse => {
                return Err("path has a `;` path parameter")
            }
            b if b.is_ascii_control() || !b.is_ascii() => {
                return Err("path has a control or non-ASCII character")
            }
            _ => {}
        }
        i += 1;
    }
    // Segments after the leading `/`: none empty (but a trailing `/` is
    // fine), none `.` or `..`.
    let mut segments = path.get(1..).unwrap_or_default().split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if segment.is_empty() && !last {
            return Err("path has an empty segment (repeated /)");
        }
        if segment == "." || segment == ".." {
            return Err("path has a dot segment");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_paths_pass() {
        for p in [
            "/",
            "/orders",
            "/orders/",
            "/orders/42?x=../..&y=%2F",
            "/a%3ab/%3A/%20/%7C",
            "/a.b/..c/.d/~e",
            "/a|b",
        ] {
            assert_eq!(check(p, Parameters::Refuse), Ok(()), "{p}");
        }
        assert_eq!(check("/a;x/b", Parameters::Literal), Ok(()));
    }

    #[test]
    fn tricks_are_refused() {
        for p in [
            "",
            "*",
            "admin",
            "/health/../admin/x",
            "/public/%2e%2e/admin/x",
            "/public/%2E%2E/admin/x",
            "/./admin",
            "/admin/.",
            "/admin/..",
            "/%61dmin/x",
            "/A%7e",
            "//admin/x",
            "/admin//x",
            "/admin%2Fx",
            "/admin%2fx",
            "/admin%5Cx",
            "/admin%5cx",
            "/admin\\x",
            "/admin%00x",
            "/admin\0x",
            "/admin\tx",
            "/admin%zz",
            "/admin%4",
            "/admin%",
            "/admin#x",
            "/admin;x/users",
            "/\u{e9}",
            "/admin\u{fffd}",
        ] {
            assert!(check(p, Parameters::Refuse).is_err(), "{p:?} passed");
        }
        assert!(check("/a;x/../b", Parameters::Literal).is_err());
    }

    #[test]
    fn the_query_is_not_the_path() {
        assert_eq!(without_query("/a?b?c"), "/a");
        assert_eq!(without_query("/a"), "/a");
        assert!(check("?/a", Parameters::Refuse).is_err());
    }
}
