//! HS256/384/512 (RFC 7518 §3.2). Verification compares in constant time
//! (`Mac::verify_slice`), and keys shorter than the hash output are refused.

use crate::jose::alg::SignatureAlg;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384, Sha512};

/// RFC 7518 §3.2: the key must be at least as long as the hash output.
pub fn key_long_enough(alg: SignatureAlg, key: &[u8]) -> bool {
    let needed = match alg {
        SignatureAlg::Hs256 => 32,
        SignatureAlg::Hs384 => 48,
        SignatureAlg::Hs512 => 64,
        _ => return false,
    };
    key.len() >= needed
}

macro_rules! with_mac {
    ($hash:ty, $key:expr, $input:expr, |$mac:ident| $body:expr) => {{
        match <Hmac<$hash> as KeyInit>::new_from_slice($key) {
            Ok(mut $mac) => {
                $mac.update($input);
                $body
            }
            Err(_) => None,
        }
    }};
}

/// Verify an HMAC tag in constant time; the tag must have the full length.
pub fn verify(alg: SignatureAlg, key: &[u8], input: &[u8], tag: &[u8]) -> bool {
    let ok = match alg {
        SignatureAlg::Hs256 => with_mac!(Sha256, key, input, |m| Some(m.verify_slice(tag).is_ok())),
        SignatureAlg::Hs384 => with_mac!(Sha384, key, input, |m| Some(m.verify_slice(tag).is_ok())),
        SignatureAlg::Hs512 => with_mac!(Sha512, key, input, |m| Some(m.verify_slice(tag).is_ok())),
        _ => None,
    };
    ok == Some(true)
}

/// Compute an HMAC tag.
pub fn sign(alg: SignatureAlg, key: &[u8], input: &[u8]) -> Result<Vec<u8>, &'static str> {
    let tag = match alg {
        SignatureAlg::Hs256 => with_mac!(Sha256, key, input, |m| Some(
            m.finalize().into_bytes().to_vec()
        )),
        SignatureAlg::Hs384 => with_mac!(Sha384, key, input, |m| Some(
            m.finalize().into_bytes().to_vec()
        )),
        SignatureAlg::Hs512 => with_mac!(Sha512, key, input, |m| Some(
            m.finalize().into_bytes().to_vec()
        )),
        _ => None,
    };
    tag.ok_or("HMAC failed")
}
