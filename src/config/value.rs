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

/// Split an `http(s)://authority/path` URI.
pub fn split_uri(uri: &str, path: &str) -> Result<(String, String), ConfigError> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
        .ok_or_else(|| ConfigError::new(path, "expected an http:// or https:// URI"))?;
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty()
        || authority
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(ConfigError::new(path, "expected a host in the URI"));
    }
    Ok((authority.to_string(), tail.to_string()))
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
                        format!("`{name}` is not a supported algorithm"),
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
