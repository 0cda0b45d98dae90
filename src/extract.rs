//! Step 1: find the token in the request, in the configured order: headers
//! (with their prefix, e.g. `Bearer `), query parameters, cookies.
//!
//! A request must carry its credentials exactly once: a source header sent
//! twice, a parameter or cookie repeated, different tokens in two sources, a
//! value that uses the configured scheme but is not exactly `<scheme> <token>`,
//! or several comma-joined credentials (as Envoy joins a repeated
//! `authorization`) are an invalid token ([`Reason::Ambiguous`]), never a
//! missing one — so an `allow_missing` route cannot pass an unvalidated
//! credential upstream.

use crate::config::request::Source;
use crate::error::Reason;

/// The parts of a request the core looks at, as the host read them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// `:method`.
    pub method: &'a str,
    /// `:path`, with its query string.
    pub path: &'a str,
    /// Request headers (names in any case), one entry per copy: those the
    /// configuration wants ([`crate::config::CompiledConfig::wants_header`]:
    /// the sources, `cookie`, the pseudo-headers rules read, and any managed
    /// header or a spelling of one with `_` for `-`).
    pub headers: &'a [(&'a str, &'a str)],
    /// The name of the route Envoy chose (`xds.route_name`), when a rule
    /// matches on it ([`crate::config::CompiledConfig::reads_route_name`]).
    pub route_name: Option<&'a str>,
    /// The route's `metadata.filter_metadata.jwe_authn`, as the host
    /// serialized it, when `route_metadata` is on and the route has one.
    pub route_metadata: Option<&'a [u8]>,
    /// The SHA-256 digest (hex) of the downstream connection's client
    /// certificate, when a provider binds tokens to it
    /// ([`crate::config::CompiledConfig::reads_peer_certificate`]) and the
    /// client sent one.
    pub peer_certificate_sha256: Option<&'a str>,
}

/// A header value as the core reads it: bytes that are not UTF-8 become
/// U+FFFD rather than making the header absent, so that an odd byte in
/// `:path` cannot take a request out of a rule (fail closed: the path check
/// refuses it) and an odd byte in a token makes it invalid, not missing.
pub fn header_text(value: Vec<u8>) -> String {
    String::from_utf8(value).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The pairs of a serialized header map ([`serialized_pairs`]) that `wanted`
/// names, as text borrowed from the map: a name that is not UTF-8 is no
/// header the configuration names and is skipped; a value that is not UTF-8
/// becomes its [`header_text`], kept in `lossy`. The cached path reads the
/// map once and copies nothing (no copy per header).
pub fn wanted_pairs<'a>(
    pairs: &[(&'a [u8], &'a [u8])],
    wanted: impl Fn(&str) -> bool,
    lossy: &'a mut Vec<String>,
) -> Vec<(&'a str, &'a str)> {
    let mut text = Vec::with_capacity(pairs.len());
    let mut patch = Vec::new();
    let first = lossy.len();
    for &(name, value) in pairs {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if !wanted(name) {
            continue;
        }
        match std::str::from_utf8(value) {
            Ok(value) => text.push((name, value)),
            Err(_) => {
                patch.push(text.len());
                lossy.push(header_text(value.to_vec()));
                text.push((name, ""));
            }
        }
    }
    let lossy: &'a Vec<String> = lossy;
    for (&at, value) in patch.iter().zip(lossy.iter().skip(first)) {
        if let Some(pair) = text.get_mut(at) {
            pair.1 = value.as_str();
        }
    }
    text
}

/// Most header pairs read from the host's serialized map (Envoy's own limit
/// is 100 by default).
pub const MAX_HEADER_PAIRS: usize = 1024;

/// The pairs of a header map serialized as the proxy-wasm ABI does (a
/// little-endian pair count, then each pair's name and value lengths, then
/// each name and value followed by a NUL), borrowed. `None` when the bytes
/// are not such a map or hold more than [`MAX_HEADER_PAIRS`] pairs.
pub fn serialized_pairs(bytes: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let word = |at: usize| -> Option<usize> {
        let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    };
    let count = word(0)?;
    if count > MAX_HEADER_PAIRS {
        return None;
    }
    let mut pairs = Vec::with_capacity(count);
    let mut at = count.checked_mul(8)?.checked_add(4)?;
    for n in 0..count {
        let sizes = n.checked_mul(8)?.checked_add(4)?;
        let (name_len, value_len) = (word(sizes)?, word(sizes.checked_add(4)?)?);
        let name = bytes.get(at..at.checked_add(name_len)?)?;
        at = at.checked_add(name_len)?.checked_add(1)?;
        let value = bytes.get(at..at.checked_add(value_len)?)?;
        at = at.checked_add(value_len)?.checked_add(1)?;
        pairs.push((name, value));
    }
    Some(pairs)
}

/// `pairs` serialized as the proxy-wasm ABI does (the inverse of
/// [`serialized_pairs`]): what the filter hands the host, such as a local
/// response's headers. A length beyond `u32` (never one of ours) is written
/// as `u32::MAX`, which the host refuses.
pub fn serialize_pairs(pairs: &[(&str, &str)]) -> Vec<u8> {
    let word = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    let text: usize = pairs
        .iter()
        .map(|(n, v)| n.len().saturating_add(v.len()).saturating_add(2))
        .fold(0, usize::saturating_add);
    let mut bytes = Vec::with_capacity(
        pairs
            .len()
            .saturating_mul(8)
            .saturating_add(4)
            .saturating_add(text),
    );
    bytes.extend_from_slice(&word(pairs.len()));
    for (name, value) in pairs {
        bytes.extend_from_slice(&word(name.len()));
        bytes.extend_from_slice(&word(value.len()));
    }
    for (name, value) in pairs {
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(value.as_bytes());
        bytes.push(0);
    }
    bytes
}

/// True when `name` is `managed` spelled with `_` for any `-` (or `-` for
/// `_`), in any case: CGI and WSGI upstreams read both as the same
/// `HTTP_X_…` variable.
pub fn same_name_for_cgi(name: &str, managed: &str) -> bool {
    let fold = |b: u8| match b {
        b'_' => b'-',
        b => b.to_ascii_lowercase(),
    };
    name.len() == managed.len()
        && name
            .bytes()
            .zip(managed.bytes())
            .all(|(a, b)| fold(a) == fold(b))
}

impl<'a> Request<'a> {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.values(name).next()
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn values<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a str> + 'n
    where
        'a: 'n,
    {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }
}

/// A token and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'r> {
    /// The token text (borrowed from the request).
    pub token: &'r str,
    /// The configured sources that carried it (bit `i` for `sources[i]`),
    /// to remove unless `forward`.
    pub sources: u64,
    /// It came as `Authorization: DPoP <token>` (RFC 9449 §7.1).
    pub dpop: bool,
}

/// The `Authorization` scheme of a DPoP-bound token (RFC 9449 §7.1).
pub const DPOP_PREFIX: &str = "DPoP ";

/// Most token sources a configuration may have (one bit each in
/// [`Found::sources`]).
pub const MAX_SOURCES: usize = 64;

/// The bytes of an RFC 6750 `b64token` (base64url and the dots between a
/// JWE's segments), before its trailing `=`s.
const fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// [`is_token_byte`] for each of the 256 bytes: a token is checked on every
/// request, cached or not, and a lookup per byte is the cheapest check in
/// Wasm (the character tests were 40 % of a cache hit's time).
static TOKEN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < table.len() {
        #[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)] // b < 256
        {
            table[b] = is_token_byte(b as u8);
        }
        b += 1;
    }
    table
};

/// A JWE's characters (RFC 6750 `b64token`).
fn is_token(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| TOKEN_BYTES.get(usize::from(b)).copied().unwrap_or(false))
}

/// True when `part` (one comma-separated credential) begins with `prefix`:
/// for a scheme such as `Bearer ` (ending in a space), the scheme word then
/// the end or white space; otherwise the prefix itself. Case-insensitive
/// (RFC 7235 §2.1).
fn uses_prefix(part: &str, prefix: &str) -> bool {
    let part = part.trim_start_matches([' ', '\t']);
    let scheme = prefix.trim_end_matches(' ');
    let Some(head) = part.get(..scheme.len()) else {
        return false;
    };
    if !head.eq_ignore_ascii_case(scheme) {
        return false;
    }
    scheme.len() == prefix.len()
        || part
            .as_bytes()
            .get(scheme.len())
            .is_none_or(|b| matches!(b, b' ' | b'\t'))
}

/// The token in one header value: `Ok(None)` when the value does not use
/// the configured prefix (another scheme: not ours), the token when it is
/// exactly `<prefix><token>`, and an error when it uses the prefix in any
/// other way.
pub fn credential<'v>(value: &'v str, prefix: Option<&str>) -> Result<Option<&'v str>, Reason> {
    let Some(prefix) = prefix else {
        let token = value.trim_matches([' ', '\t']);
        return match token {
            "" => Ok(None),
            t if is_token(t) => Ok(Some(t)),
            _ => Err(Reason::Ambiguous("source header is not exactly one token")),
        };
    };
    // One scan for a comma (a token is long: each pass over it counts).
    let several = value.contains(',');
    let ours = if several {
        value.split(',').any(|part| uses_prefix(part, prefix))
    } else {
        uses_prefix(value, prefix)
    };
    if !ours {
        return Ok(None);
    }
    if several {
        return Err(Reason::Ambiguous("several comma-joined credentials"));
    }
    let token = value
        .get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .and_then(|_| value.get(prefix.len()..))
        .filter(|t| is_token(t))
        .ok_or(Reason::Ambiguous("not exactly `<scheme> <token>`"))?;
    Ok(Some(token))
}

/// The one non-empty value named `name` among `pairs` (`k=v`, split by
/// `separator`, trimmed); a repeated name is an error.
fn single<'v>(
    pairs: impl Iterator<Item = &'v str>,
    name: &str,
    what: &'static str,
) -> Result<Option<&'v str>, Reason> {
    let mut found = None;
    for pair in pairs {
        let Some((k, v)) = pair.trim_matches([' ', '\t']).split_once('=') else {
            continue;
        };
        if k != name {
            // `access%5Ftoken` is `access_token` to an upstream that decodes
            // names: it must not slip past as "no token".
            if k.contains('%') && percent_decoded(k).as_deref() == Some(name) {
                return Err(Reason::Ambiguous("encoded parameter or cookie name"));
            }
            continue;
        }
        if found.is_some() {
            return Err(Reason::Ambiguous(what));
        }
        found = Some(v);
    }
    // A cookie value may be quoted (RFC 6265 §4.1.1).
    let found = found.map(|v| {
        v.strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v)
    });
    match found {
        None | Some("") => Ok(None),
        Some(v) if is_token(v) => Ok(Some(v)),
        Some(_) => Err(Reason::Ambiguous("query or cookie value is not one token")),
    }
}

/// `text` with its percent-escapes decoded (`%HH`, two hex digits; `+`
/// stays `+`), if they are well formed and the result is UTF-8.
pub fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The query string of `path` (without a fragment), if any.
pub fn query(path: &str) -> Option<&str> {
    let query = path.split_once('?')?.1;
    Some(query.split_once('#').map_or(query, |(q, _)| q))
}

/// The token in one source, and whether it came with the DPoP scheme
/// (only looked for, with `dpop`, in `authorization`).
fn from_source<'r>(
    source: &Source,
    request: &Request<'r>,
    dpop: bool,
) -> Result<Option<(&'r str, bool)>, Reason> {
    match source {
        Source::Header { name, prefix } => {
            let mut values = request.values(name);
            let Some(value) = values.next() else {
                return Ok(None);
            };
            if values.next().is_some() {
                return Err(Reason::Ambiguous("source header sent more than once"));
            }
            if dpop && name == "authorization" {
                if let Some(token) = credential(value, Some(DPOP_PREFIX))? {
                    return Ok(Some((token, true)));
                }
            }
            Ok(credential(value, prefix.as_deref())?.map(|t| (t, false)))
        }
        Source::Param(name) => match query(request.path) {
            Some(q) => {
                Ok(single(q.split('&'), name, "query parameter repeated")?.map(|t| (t, false)))
            }
            None => Ok(None),
        },
        Source::Cookie(name) => {
            let cookies = request.values("cookie").flat_map(|c| c.split(';'));
            Ok(single(cookies, name, "cookie repeated")?.map(|t| (t, false)))
        }
    }
}

/// The token in `sources`: `Ok(None)` when there is none, an error when
/// the credentials are ambiguous (see the module documentation). The same
/// token in two sources is one token, found in both. With `dpop`,
/// `authorization` may carry it with the DPoP scheme too.
pub fn find<'r>(
    sources: &[Source],
    request: &Request<'r>,
    dpop: bool,
) -> Result<Option<Found<'r>>, Reason> {
    let mut found: Option<Found<'r>> = None;
    for (i, source) in sources.iter().enumerate().take(MAX_SOURCES) {
        let Some((token, with_dpop)) = from_source(source, request, dpop)? else {
            continue;
        };
        let bit = 1u64 << i;
        match &mut found {
            None => {
                found = Some(Found {
                    token,
                    sources: bit,
                    dpop: with_dpop,
                })
            }
            Some(f) if f.token == token && !(f.dpop || with_dpop) => f.sources |= bit,
            Some(_) => return Err(Reason::Ambiguous("different tokens in two sources")),
        }
    }
    Ok(found)
}

/// `path` without the query parameters named in `names` (the token must not
/// travel on upstream, nor into access logs, unless `forward`).
pub fn path_without_params(path: &str, names: &[&str]) -> String {
    let Some((base, rest)) = path.split_once('?') else {
        return path.to_string();
    };
    let kept: Vec<&str> = rest
        .split('&')
        .filter(|pair| !names.iter().any(|n| pair.split('=').next() == Some(n)))
        .collect();
    if kept.is_empty() || kept == [""] {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// The `cookie` header without the cookies named in `names`; `None` when
/// none is left.
pub fn cookies_without(request: &Request<'_>, names: &[&str]) -> Option<String> {
    let kept: Vec<&str> = request
        .values("cookie")
        .flat_map(|c| c.split(';'))
        .map(|c| c.trim_matches([' ', '\t']))
        .filter(|c| !c.is_empty())
        .filter(|c| !names.iter().any(|n| c.split('=').next() == Some(n)))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
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
    fn the_scheme_is_exact_but_case_insensitive() {
        let bearer = Some("Bearer ");
        assert_eq!(credential("Bearer abc", bearer), Ok(Some("abc")));
        assert_eq!(credential("bearer a.b-c_d", bearer), Ok(Some("a.b-c_d")));
        assert_eq!(credential("BEARER abc==", bearer), Ok(Some("abc==")));
        // Not our scheme: no token (a `Basic` route may still be public).
        assert_eq!(credential("Basic abc", bearer), Ok(None));
        assert_eq!(credential("Bearerabc", bearer), Ok(None));
        assert_eq!(credential("Bear", bearer), Ok(None));
        assert_eq!(credential("Basic a, Digest b", bearer), Ok(None));
        // Our scheme, used in any other way: invalid, never missing.
        for v in [
            "Bearer",
            "Bearer ",
            "Bearer\tjunk",
            "Bearer  abc",
            "Bearer abc ",
            "Bearer a b",
            "Bearer a,Bearer b",
            "Basic x,Bearer y",
            "Basic x, bearer y",
            "Bearer abc,",
            "Bearer a\u{fffd}b",
            "Bearer a%2Eb",
        ] {
            assert!(
                matches!(credential(v, bearer), Err(Reason::Ambiguous(_))),
                "{v:?}"
            );
        }
        // A multi-byte character straddling the prefix boundary is no panic.
        assert!(credential("Beare\u{e9}abc", bearer).is_ok());
        // A header without a prefix holds exactly one token.
        assert_eq!(credential(" abc ", None), Ok(Some("abc")));
        assert_eq!(credential("", None), Ok(None));
        assert!(credential("a,b", None).is_err());
        assert!(credential("a b", None).is_err());
    }

    fn request<'a>(path: &'a str, headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
        Request {
            method: "GET",
            path,
            headers,
            ..Default::default()
        }
    }

    fn h<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        pairs.to_vec()
    }

    fn sources() -> Vec<Source> {
        vec![
            Source::Header {
                name: "authorization".into(),
                prefix: Some("Bearer ".into()),
            },
            Source::Header {
                name: "x-access-token".into(),
                prefix: None,
            },
            Source::Param("access_token".into()),
            Source::Cookie("session".into()),
        ]
    }

    #[test]
    fn sources_are_tried_in_order() {
        let sources = sources();
        let token = |path, headers: &[(&str, &str)]| {
            let headers = h(headers);
            find(&sources, &request(path, &headers), false)
                .map(|f| f.map(|f| (f.token.to_string(), f.sources)))
        };
        let cookie = [("Cookie", "a=1; session=cookie-token")];
        assert_eq!(
            token("/x?y=1&access_token=param-token#f", &cookie),
            Err(Reason::Ambiguous("different tokens in two sources"))
        );
        assert_eq!(
            token("/x?y=1&access_token=tok", &[("cookie", "session=tok")]),
            Ok(Some(("tok".into(), 0b1100)))
        );
        assert_eq!(
            token("/x", &cookie),
            Ok(Some(("cookie-token".into(), 0b1000)))
        );
        assert_eq!(
            token("/x", &[("AUTHORIZATION", "bearer header-token")]),
            Ok(Some(("header-token".into(), 0b0001)))
        );
        assert_eq!(token("/x", &[("authorization", "Basic x")]), Ok(None));
        assert_eq!(token("/x?access_token=", &[]), Ok(None));
        assert_eq!(
            token("/x", &[("cookie", "session=\"quoted-token\"")]),
            Ok(Some(("quoted-token".into(), 0b1000)))
        );
    }

    #[test]
    fn credentials_sent_twice_are_refused() {
        let sources = sources();
        let ambiguous = |path, headers: &[(&str, &str)]| {
            let headers = h(headers);
            matches!(
                find(&sources, &request(path, &headers), false),
                Err(Reason::Ambiguous(_))
            )
        };
        assert!(ambiguous(
            "/",
            &[("x-access-token", "a"), ("x-access-token", "b")]
        ));
        assert!(ambiguous(
            "/",
            &[("x-access-token", "a"), ("X-Access-Token", "a")]
        ));
        assert!(ambiguous("/?access_token=a&access_token=b", &[]));
        assert!(ambiguous("/?access_token=a&access_token=a", &[]));
        assert!(ambiguous("/?access%5Ftoken=a", &[]));
        assert!(ambiguous("/?%61ccess_token=a", &[]));
        assert!(ambiguous("/", &[("cookie", "session=a; session=b")]));
        assert!(ambiguous(
            "/",
            &[("cookie", "session=a"), ("cookie", "session=b")]
        ));
        assert!(ambiguous("/", &[("authorization", "Bearer a,Bearer b")]));
    }

    #[test]
    fn the_dpop_scheme_is_read_only_when_dpop_is_on() {
        let sources = sources();
        let find_with = |dpop, headers: &[(&str, &str)]| {
            let headers = h(headers);
            find(&sources, &request("/x", &headers), dpop)
                .map(|f| f.map(|f| (f.token.to_string(), f.sources, f.dpop)))
        };
        let dpop = [("authorization", "DPoP tok")];
        assert_eq!(
            find_with(true, &dpop),
            Ok(Some(("tok".into(), 0b0001, true)))
        );
        assert_eq!(
            find_with(true, &[("authorization", "dpop tok")]),
            Ok(Some(("tok".into(), 0b0001, true))),
            "the scheme is case-insensitive"
        );
        assert_eq!(
            find_with(true, &[("authorization", "Bearer tok")]),
            Ok(Some(("tok".into(), 0b0001, false)))
        );
        // Off: `DPoP` is some other scheme, no token.
        assert_eq!(find_with(false, &dpop), Ok(None));
        // The scheme used in any other way is invalid, never missing.
        for v in ["DPoP", "DPoP  tok", "DPoP a b", "DPoP a,Bearer b"] {
            assert!(
                matches!(
                    find_with(true, &[("authorization", v)]),
                    Err(Reason::Ambiguous(_))
                ),
                "{v:?}"
            );
        }
        // The same token also in another source is not one DPoP token.
        assert!(matches!(
            find_with(
                true,
                &[("authorization", "DPoP tok"), ("x-access-token", "tok")]
            ),
            Err(Reason::Ambiguous(_))
        ));
    }

    #[test]
    fn percent_escapes_are_two_hex_digits() {
        assert_eq!(percent_decoded("a%2Fb%2fc+d").as_deref(), Some("a/b/c+d"));
        for bad in ["%+1", "%-1", "%1", "%zz", "%", "%c3"] {
            assert_eq!(percent_decoded(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_token_can_be_taken_out_of_the_path_and_cookies() {
        assert_eq!(
            path_without_params("/a?access_token=t", &["access_token"]),
            "/a"
        );
        assert_eq!(
            path_without_params("/a?x=1&access_token=t&y=2", &["access_token"]),
            "/a?x=1&y=2"
        );
        assert_eq!(path_without_params("/a", &["access_token"]), "/a");
        let headers = h(&[("cookie", "a=1; session=t"), ("cookie", "b=2")]);
        assert_eq!(
            cookies_without(&request("/", &headers), &["session"]),
            Some("a=1; b=2".into())
        );
        let headers = h(&[("cookie", "session=t")]);
        assert_eq!(cookies_without(&request("/", &headers), &["session"]), None);
    }

    #[test]
    fn underscore_spellings_are_the_same_header_to_cgi() {
        assert!(same_name_for_cgi("x_jwt_sub", "x-jwt-sub"));
        assert!(same_name_for_cgi("X-Jwt_Sub", "x-jwt-sub"));
        assert!(same_name_for_cgi("x-jwt-sub", "x-jwt-sub"));
        assert!(!same_name_for_cgi("x-jwt-subs", "x-jwt-sub"));
        assert!(!same_name_for_cgi("x.jwt.sub", "x-jwt-sub"));
    }

    #[test]
    fn serialized_maps_are_read_without_trusting_their_lengths() {
        let mut bytes = vec![2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0];
        bytes.extend_from_slice(b"a\0bc\0:path\0/\0");
        assert_eq!(
            serialized_pairs(&bytes),
            Some(vec![(&b"a"[..], &b"bc"[..]), (&b":path"[..], &b"/"[..])])
        );
        assert_eq!(serialized_pairs(&[]), Some(vec![]));
        for cut in 1..bytes.len() - 1 {
            let _ = serialized_pairs(&bytes[..cut]);
        }
        assert_eq!(serialized_pairs(&bytes[..bytes.len() - 3]), None);
        assert_eq!(serialized_pairs(&[255, 255, 255, 255]), None);
        let mut huge = bytes.clone();
        huge[4] = 255;
        huge[5] = 255;
        assert_eq!(serialized_pairs(&huge), None);
    }

    #[test]
    fn the_token_table_is_the_b64token_alphabet() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(TOKEN_BYTES[usize::from(b)], expected, "byte {b}");
        }
        assert!(is_token("a.b-c_d~e+f/g=="));
        assert!(!is_token("=="));
        assert!(!is_token("a b"));
        assert!(!is_token("a,b"));
        assert!(!is_token("a\u{e9}"));
    }

    #[test]
    fn wanted_pairs_borrow_the_map_and_keep_odd_values_present() {
        let pairs: Vec<(&[u8], &[u8])> = vec![
            (b":path", b"/a\xffb"),
            (b"authorization", b"Bearer t"),
            (b"x-other", b"\xfe"),
            (b"\xff-name", b"v"),
            (b"authorization", b"Bearer \x80u"),
        ];
        let mut lossy = vec!["already here".to_string()];
        let text = wanted_pairs(&pairs, |n| n != "x-other", &mut lossy);
        assert_eq!(
            text,
            vec![
                (":path", "/a\u{fffd}b"),
                ("authorization", "Bearer t"),
                ("authorization", "Bearer \u{fffd}u"),
            ]
        );
        // Only the odd values were copied (after what `lossy` held).
        assert_eq!(lossy.len(), 3);
    }

    #[test]
    fn serialized_maps_round_trip() {
        let pairs = [("content-type", "application/json"), ("x", ""), ("", "v")];
        let bytes = serialize_pairs(&pairs);
        // The count, three pairs of lengths, then each name and value and its NUL.
        assert_eq!(
            bytes.len(),
            4 + 3 * 8 + (12 + 1 + 16 + 1) + (1 + 1 + 1) + (1 + 1 + 1)
        );
        let read = serialized_pairs(&bytes).unwrap();
        let read: Vec<(&str, &str)> = read
            .iter()
            .map(|(n, v)| {
                (
                    std::str::from_utf8(n).unwrap(),
                    std::str::from_utf8(v).unwrap(),
                )
            })
            .collect();
        assert_eq!(read, pairs);
        assert_eq!(serialize_pairs(&[]), vec![0, 0, 0, 0]);
        assert_eq!(serialized_pairs(&serialize_pairs(&[])), Some(vec![]));
    }
}
