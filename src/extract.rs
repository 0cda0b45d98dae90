//! Step 1: pick the token out of the values the host found in the
//! configured sources.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
