//! Strict unpadded base64url (RFC 7515 §2): no `=`, no characters outside the
//! URL-safe alphabet, no non-zero trailing bits.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Decode strict base64url, or `None` if the input is not canonical unpadded
/// base64url.
pub fn decode(input: &[u8]) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(input).ok()
}

/// Encode as unpadded base64url.
pub fn encode(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(
            decode(encode(b"\xfb\xff").as_bytes()),
            Some(vec![0xfb, 0xff])
        );
    }

    #[test]
    fn rejects_padding_and_foreign_alphabet() {
        assert_eq!(decode(b"YQ"), Some(b"a".to_vec()));
        assert_eq!(decode(b"YQ=="), None);
        assert_eq!(decode(b"Y+Q"), None);
        assert_eq!(decode(b"Y/Q"), None);
        assert_eq!(decode(b"Y Q"), None);
        assert_eq!(decode(b"Y?"), None);
        // Non-zero trailing bits are a second spelling of the same bytes.
        assert_eq!(decode(b"YR"), None);
    }
}
