//! Parsers of single configuration values: durations, fetch URIs, media
//! types, algorithm allow-lists, the realm and percentages. Each returns
//! a [`ConfigError`] naming the field it was given and what was expected.

use crate::error::ConfigError;
use std::collections::BTreeSet;

/// A protobuf-JSON duration: `"5s"`, `"0.5s"`, `"600s"`, in milliseconds.
pub fn duration_ms(text: &str, path: &str) -> Result<u64, ConfigError> {
    let bad = || ConfigError::new(path, "expected a duration such as \"5s\" or \"0.5s\"");
    let number = text.strip_suffix('s').ok_or_else(bad)?;
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty()
        || frac.len() > 3
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(frac))
        .ok_or_else(bad)
}

/// A duration that must not be zero, in milliseconds.
pub fn positive_ms(text: &str, path: &str) -> Result<u64, ConfigError> {
    match duration_ms(text, path)? {
        0 => Err(ConfigError::new(path, "must be positive")),
        ms => Ok(ms),
    }
}

/// A duration in whole seconds, rounded up: `"0.5s"` is 1, `"0s"` is 0.
pub fn seconds_up(text: &str, path: &str) -> Result<u64, ConfigError> {
    Ok(duration_ms(text, path)?.div_ceil(1000))
}

/// How long fetched content is used: whole seconds rounded up, and at least
/// one (`"0s"` would refetch without pause).
pub fn cache_seconds(text: &str, path: &str) -> Result<u64, ConfigError> {
    Ok(seconds_up(text, path)?.max(1))
}

/// Where a fetch goes: the `:authority` and `:path` of its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    /// `host[:port]` exactly as the URI has it.
    pub authority: String,
    /// The path and query (`/` when the URI has neither).
    pub path: String,
}

const NOT_HTTP: &str = "expected an http:// or https:// URI";
const USERINFO: &str = "expected host[:port] after the scheme: userinfo (`user@`) is never sent";
const HOST: &str = "expected host[:port] after the scheme: a host name of letters, digits, \
                    `-`, `.`, `_` and `~`, an IPv4 address, or an IPv6 address in brackets";
const PORT: &str = "expected a port from 1 to 65535 after the host's `:`";
const FRAGMENT: &str = "a fragment (`#...`) is never sent: remove it";
const PATH: &str = "expected a path and query of RFC 3986 characters (letters, digits and \
                    `-._~!$&'()*+,;=:@/?`): percent-encode anything else, a space as `%20`";
const PERCENT: &str = "expected two hex digits after `%` (a percent-encoding such as `%20`)";

/// The one URI rule for every fetch: a configured `http_uri.uri`, the
/// discovery URL built from an issuer, and a `jwks_uri` a discovery document
/// names. RFC 3986 §3, as an HTTP request sends it:
/// - the scheme `http://` or `https://`, in lower case;
/// - the authority `host[:port]`, sent verbatim as `:authority`: a host name
///   of unreserved characters (letters, digits, `-._~`, so also an IPv4
///   address) or a bracketed IPv6 address, and a port from 1 to 65535; no
///   userinfo (RFC 9110 §4.2.4 deprecates it; HTTP/2 forbids it in
///   `:authority`);
/// - the path and query, sent as `:path` (`/` when empty): only `pchar`s,
///   `/` and `?` (RFC 3986 §3.3, §3.4), percent-encodings well formed; so
///   a space, a quote, `<>{}|\^` and the backtick, control and non-ASCII
///   bytes are refused, not sent;
/// - no fragment: it is never part of a request (RFC 9110 §7.1).
///
/// The error says what was expected; the caller adds where.
pub fn http_uri(uri: &str) -> Result<HttpTarget, &'static str> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
        .ok_or(NOT_HTTP)?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at_checked(end).ok_or(HOST)?;
    check_authority(authority)?;
    if tail.contains('#') {
        return Err(FRAGMENT);
    }
    check_path_and_query(tail)?;
    let path = if tail.starts_with('/') {
        tail.to_string()
    } else {
        format!("/{tail}")
    };
    Ok(HttpTarget {
        authority: authority.to_string(),
        path,
    })
}

/// RFC 3986 `unreserved`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn check_authority(authority: &str) -> Result<(), &'static str> {
    if authority.contains('@') {
        return Err(USERINFO);
    }
    let port = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (ip, after) = bracketed.split_once(']').ok_or(HOST)?;
            let ipv6 = ip.contains(':')
                && ip
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            if !ipv6 {
                return Err(HOST);
            }
            match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or(HOST)?),
            }
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            if host.is_empty() || !host.bytes().all(is_unreserved) {
                return Err(HOST);
            }
            port
        }
    };
    if let Some(port) = port {
        let digits =
            !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
        if !digits || !port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p)) {
            return Err(PORT);
        }
    }
    Ok(())
}

fn check_path_and_query(tail: &str) -> Result<(), &'static str> {
    let mut bytes = tail.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hex = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_hexdigit());
                if !hex(bytes.next()) || !hex(bytes.next()) {
                    return Err(PERCENT);
                }
            }
            // unreserved, sub-delims, ":" and "@" (pchar), "/" and "?".
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':'
            | b'@' | b'/' | b'?' => {}
            b if is_unreserved(b) => {}
            _ => return Err(PATH),
        }
    }
    Ok(())
}

/// The OpenID Connect discovery URL of `issuer`:
/// `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery
/// 1.0 §4). The issuer must be an [`http_uri`] without query (and so
/// without fragment); a trailing `/` is not doubled.
pub fn discovery_url(issuer: &str) -> Result<String, &'static str> {
    if http_uri(issuer)?.path.contains('?') {
        return Err("an issuer URL has no query (OpenID Connect Discovery 1.0 §4)");
    }
    Ok(format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
}

/// Media-type comparison for `typ` (RFC 7515 §4.1.9): case-insensitive, an
/// `application/` prefix may be omitted.
pub fn normalise_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_string(),
        None => lower,
    }
}

/// An allow-list of algorithm names (`algorithms.*`): absent, every one of
/// `all`; present, the names `parse` knows, and not none of them.
pub fn allow_list<T: Copy + Ord>(
    names: &Option<Vec<String>>,
    all: &[T],
    parse: impl Fn(&str) -> Option<T>,
    path: &str,
) -> Result<BTreeSet<T>, ConfigError> {
    match names {
        None => Ok(all.iter().copied().collect()),
        Some(list) => {
            let mut set = BTreeSet::new();
            for (i, name) in list.iter().enumerate() {
                let alg = parse(name).ok_or_else(|| {
                    ConfigError::new(
                        format!("{path}[{i}]"),
                        format!(
                            "`{name}` is not a supported algorithm{}",
                            unsupported_hint(name)
                        ),
                    )
                })?;
                set.insert(alg);
            }
            if set.is_empty() {
                return Err(ConfigError::new(
                    path,
                    "an empty allow-list would refuse every token",
                ));
            }
            Ok(set)
        }
    }
}

/// Why a registered algorithm name we do not implement is refused
/// (`Ed448`), as a suffix for a configuration error; empty for others.
pub fn unsupported_hint(name: &str) -> String {
    crate::jose::alg::unsupported_signature(name)
        .map(|why| format!(": {why}"))
        .unwrap_or_default()
}

/// The `realm` of `WWW-Authenticate`: it is sent inside a quoted string.
pub fn realm(text: &str, path: &str) -> Result<(), ConfigError> {
    if text.is_empty()
        || text
            .bytes()
            .any(|b| b == b'"' || b == b'\\' || b.is_ascii_control())
    {
        return Err(ConfigError::new(
            path,
            "expected a non-empty string without quotes, backslashes or control characters",
        ));
    }
    Ok(())
}

/// A percentage from 1 to 100.
pub fn percent(value: u64, path: &str) -> Result<u64, ConfigError> {
    if (1..=100).contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(
            path,
            "expected a percentage from 1 to 100",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_seconds_with_at_most_three_decimals() {
        for (text, ms) in [
            ("0s", 0),
            ("5s", 5000),
            ("0.5s", 500),
            ("1.25s", 1250),
            ("0.001s", 1),
            ("600s", 600_000),
        ] {
            assert_eq!(duration_ms(text, "d").ok(), Some(ms), "{text}");
        }
        for text in [
            "",
            "s",
            "5",
            "5m",
            "5 s",
            " 5s",
            "-1s",
            "+1s",
            ".5s",
            "5.s5",
            "1.0001s",
            "1e3s",
            "99999999999999999999s",
        ] {
            let e = duration_ms(text, "a.b").err();
            assert_eq!(e.map(|e| e.path), Some("a.b".to_string()), "{text}");
        }
    }

    #[test]
    fn a_positive_duration_is_not_zero() {
        assert_eq!(positive_ms("0.001s", "t").ok(), Some(1));
        let e = positive_ms("0.000s", "t").err();
        assert!(e.is_some_and(|e| e.path == "t" && e.message.contains("positive")));
        assert!(positive_ms("x", "t").is_err());
    }

    fn target(uri: &str) -> Result<(String, String), &'static str> {
        http_uri(uri).map(|t| (t.authority, t.path))
    }

    #[test]
    fn seconds_are_rounded_up_and_a_cache_lasts_at_least_one() {
        for (text, up, cache) in [
            ("0s", 0, 1),
            ("0.001s", 1, 1),
            ("1s", 1, 1),
            ("1.001s", 2, 2),
            ("59.999s", 60, 60),
            ("600s", 600, 600),
        ] {
            assert_eq!(seconds_up(text, "d").ok(), Some(up), "{text}");
            assert_eq!(cache_seconds(text, "d").ok(), Some(cache), "{text}");
        }
        assert_eq!(seconds_up("1m", "a.b").unwrap_err().path, "a.b");
        assert_eq!(cache_seconds("1m", "a.b").unwrap_err().path, "a.b");
    }

    #[test]
    fn fetch_uris_are_host_port_and_an_rfc_3986_path() {
        for (uri, authority, path) in [
            ("https://idp.test/keys", "idp.test", "/keys"),
            ("http://idp.test", "idp.test", "/"),
            ("https://idp.test?x=1", "idp.test", "/?x=1"),
            ("https://IdP.Test:443//a/", "IdP.Test:443", "//a/"),
            ("http://10.0.0.1:65535/a%2Fb", "10.0.0.1:65535", "/a%2Fb"),
            ("http://[::1]/", "[::1]", "/"),
            ("http://[2001:db8::7]:8080/x", "[2001:db8::7]:8080", "/x"),
            (
                "https://h/a-b._~!$&'()*+,;=:@/c?d=/?e",
                "h",
                "/a-b._~!$&'()*+,;=:@/c?d=/?e",
            ),
        ] {
            assert_eq!(
                target(uri),
                Ok((authority.to_string(), path.to_string())),
                "{uri}"
            );
        }
        for (uri, why) in [
            ("idp.test/keys", NOT_HTTP),
            ("HTTPS://idp.test/", NOT_HTTP),
            ("ftp://idp.test/", NOT_HTTP),
            ("https://", HOST),
            ("https:///keys", HOST),
            ("https://idp test/", HOST),
            ("https://idp%41.test/", HOST),
            ("https://idp.test\u{e4}/", HOST),
            ("https://[::1/", HOST),
            ("https://[zz::1]/", HOST),
            ("https://[127.0.0.1]/", HOST),
            ("https://[::1]x/", HOST),
            ("https://user@idp.test/", USERINFO),
            ("https://user:pw@idp.test/", USERINFO),
            ("https://idp.test:/", PORT),
            ("https://idp.test:0/", PORT),
            ("https://idp.test:65536/", PORT),
            ("https://idp.test:000443/", PORT),
            ("https://idp.test:8a/", PORT),
            ("https://idp.test:1:2/", PORT),
            ("https://idp.test/a#b", FRAGMENT),
            ("https://idp.test#b", FRAGMENT),
            ("https://idp.test/a b", PATH),
            ("https://idp.test/a?b c", PATH),
            ("https://idp.test/\t", PATH),
            ("https://idp.test/\u{7f}", PATH),
            ("https://idp.test/\u{e4}", PATH),
            ("https://idp.test/%", PERCENT),
            ("https://idp.test/%2", PERCENT),
            ("https://idp.test/%g0", PERCENT),
        ] {
            assert_eq!(target(uri), Err(why), "{uri}");
        }
        for c in ['"', '<', '>', '{', '}', '|', '\\', '^', '`', '[', ']'] {
            assert_eq!(target(&format!("https://idp.test/a{c}")), Err(PATH), "{c}");
        }
    }

    #[test]
    fn discovery_urls_come_from_issuers_without_query() {
        for (issuer, url) in [
            (
                "https://idp.test",
                "https://idp.test/.well-known/openid-configuration",
            ),
            (
                "https://idp.test/",
                "https://idp.test/.well-known/openid-configuration",
            ),
            (
                "http://idp.test:8080/realms/a",
                "http://idp.test:8080/realms/a/.well-known/openid-configuration",
            ),
        ] {
            assert_eq!(discovery_url(issuer).as_deref(), Ok(url), "{issuer}");
        }
        for issuer in [
            "idp.test",
            "https://idp.test?a=1",
            "https://idp.test/r?a",
            "https://idp.test/r#a",
        ] {
            assert!(discovery_url(issuer).is_err(), "{issuer}");
        }
    }

    #[test]
    fn typ_is_compared_as_a_media_type() {
        assert_eq!(normalise_typ("at+JWT"), "at+jwt");
        assert_eq!(normalise_typ("Application/AT+jwt"), "at+jwt");
        assert_eq!(normalise_typ("jwt"), "jwt");
        assert_eq!(normalise_typ("application/"), "");
    }

    #[test]
    fn allow_lists_name_the_unknown_entry() {
        let parse = |s: &str| ["a", "b"].iter().position(|n| *n == s);
        let all = [0, 1];
        assert_eq!(
            allow_list(&None, &all, parse, "x").ok().map(|s| s.len()),
            Some(2)
        );
        let some = Some(vec!["b".to_string(), "b".to_string()]);
        assert_eq!(
            allow_list(&some, &all, parse, "x").ok(),
            Some(BTreeSet::from([1]))
        );
        let bad = Some(vec!["a".to_string(), "c".to_string()]);
        assert_eq!(
            allow_list(&bad, &all, parse, "x").err().map(|e| e.path),
            Some("x[1]".to_string())
        );
        let empty = Some(vec![]);
        assert_eq!(
            allow_list(&empty, &all, parse, "x").err().map(|e| e.path),
            Some("x".to_string())
        );
    }

    #[test]
    fn a_realm_fits_in_a_quoted_string() {
        assert!(realm("orders-api", "realm").is_ok());
        for bad in ["", "a\"b", "a\\b", "a\nb", "a\u{7f}b"] {
            assert!(realm(bad, "realm").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn percentages_are_1_to_100() {
        assert_eq!(percent(1, "p").ok(), Some(1));
        assert_eq!(percent(100, "p").ok(), Some(100));
        assert!(percent(0, "p").is_err());
        assert!(percent(101, "p").is_err());
    }
}
