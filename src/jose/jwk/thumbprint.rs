//! JWK thumbprints (RFC 7638, RFC 8037 §2): the SHA-256 of a key's required
//! public members as canonical JSON, base64url-encoded. A DPoP proof's key
//! is bound to an access token by this value (`cnf.jkt`, RFC 9449 §6).
//!
//! The members come from the typed [`Key`], not from the JSON the key was
//! read from: `n` and `e` minimal, EC coordinates at full length, as RFC
//! 7518 requires of every JWK. So a key has one thumbprint however its JWK
//! was spelt, and metadata (`kid`, `alg`, `use`, ...) never changes it.

use super::export::public_members;
use super::Key;
use crate::jose::b64;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The required members of each key type, in lexicographic order
/// (RFC 7638 §3.2; OKP: RFC 8037 §2).
fn required_members(kty: &str) -> Option<&'static [&'static str]> {
    match kty {
        "RSA" => Some(&["e", "kty", "n"]),
        "EC" => Some(&["crv", "kty", "x", "y"]),
        "OKP" => Some(&["crv", "kty", "x"]),
        _ => None,
    }
}

/// The JSON that is hashed: the required members only, in lexicographic
/// order, no whitespace (RFC 7638 §3). `None` for `oct`: a shared secret
/// has no public half to name.
pub(crate) fn thumbprint_input(key: &Key) -> Option<String> {
    let members = public_members(key)?;
    let kty = members.get("kty").and_then(Value::as_str)?;
    let mut json = String::from("{");
    for (i, name) in required_members(kty)?.iter().enumerate() {
        let value = members.get(*name).and_then(Value::as_str)?;
        if i > 0 {
            json.push(',');
        }
        // `Value`'s Display is compact JSON with the string escaped.
        json.push_str(&Value::from(*name).to_string());
        json.push(':');
        json.push_str(&Value::from(value).to_string());
    }
    json.push('}');
    Some(json)
}

/// The RFC 7638 SHA-256 thumbprint of a public (or private) RSA, EC or
/// OKP key, base64url without padding; `None` for `oct`.
pub fn jwk_thumbprint(key: &Key) -> Option<String> {
    let input = thumbprint_input(key)?;
    Some(b64::encode(&Sha256::digest(input.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::jwk::{generate, parse_jwk, private_jwk, public_jwk, Jwk, KeyType};
    use serde_json::json;

    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    fn key(value: serde_json::Value) -> Key {
        parse_jwk(&value).unwrap().key
    }

    #[test]
    fn rfc7638_section_3_1_example() {
        // The RFC's key, with the metadata it carries there.
        let k = key(
            json!({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}),
        );
        assert_eq!(
            thumbprint_input(&k).unwrap(),
            format!(r#"{{"e":"AQAB","kty":"RSA","n":"{RFC7638_N}"}}"#),
            "required members only, in lexicographic order, no whitespace"
        );
        assert_eq!(
            jwk_thumbprint(&k).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn rfc9449_ec_key_and_rfc8037_ed25519_key() {
        // RFC 9449 §4.2's proof key and its thumbprint (§6.1).
        let ec = key(json!({
            "kty": "EC", "crv": "P-256",
            "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        }));
        assert_eq!(
            thumbprint_input(&ec).unwrap(),
            r#"{"crv":"P-256","kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#
        );
        assert_eq!(
            jwk_thumbprint(&ec).unwrap(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
        // RFC 8037 §A.3.
        let ed = key(
            json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}),
        );
        assert_eq!(
            jwk_thumbprint(&ed).unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn a_private_key_has_its_public_half_s_thumbprint_and_oct_none() {
        for kind in [
            KeyType::P384,
            KeyType::P521,
            KeyType::Ed25519,
            KeyType::X25519,
        ] {
            let private = Jwk::bare(generate(kind).unwrap());
            let public = key(public_jwk(&private).unwrap());
            assert_eq!(jwk_thumbprint(&private.key), jwk_thumbprint(&public));
            assert!(jwk_thumbprint(&public).is_some());
            // The private JWK parses back to the same thumbprint.
            let again = key(private_jwk(&private).unwrap());
            assert_eq!(jwk_thumbprint(&again), jwk_thumbprint(&public));
        }
        assert_eq!(
            jwk_thumbprint(&generate(KeyType::Oct { bytes: 32 }).unwrap()),
            None
        );
    }
}
