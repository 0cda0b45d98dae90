//! Which key fits which algorithm: decided here, and only here, for JWE
//! decryption, JWE minting, JWS signatures and a JWK's `alg` member.
//!
//! A key *fits* when its type, curve and size are what the algorithm needs:
//!
//! | algorithm | key |
//! |---|---|
//! | `dir` | `oct` of exactly the `enc` key length |
//! | `A*KW`, `A*GCMKW` | `oct` of exactly the wrapping key length |
//! | `RSA-OAEP*` | RSA (to decrypt: private, modulus as long as the encrypted key) |
//! | `ECDH-ES*` | P-256, P-384, P-521 or X25519 (to decrypt: private, on the `epk`'s curve) |
//! | `RS*`, `PS*` | RSA |
//! | `ES256`/`ES384`/`ES512` | P-256 / P-384 / P-521 |
//! | `EdDSA`, `Ed25519` | Ed25519 |
//! | `HS*` | `oct` at least as long as the hash output (RFC 7518 §3.2) |
//!
//! For a token, [`decryption`] also uses what the token says about itself
//! (the `epk` curve, the encrypted key's length), so a token without `kid`
//! is tried only against keys that could open it.

use crate::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use crate::jose::header::JweHeader;
use crate::jose::jwk::{EcKey, Jwk, Key, OkpKey, RsaKey};
use crate::jose::jws::hmac;
use rsa::traits::PublicKeyParts;

/// The curve of an EC or OKP key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
    X25519,
    Ed25519,
}

/// The curve of `key`, `None` for RSA and `oct`.
pub fn curve(key: &Key) -> Option<Curve> {
    Some(match key {
        Key::Ec(EcKey::P256Private(_) | EcKey::P256Public(_)) => Curve::P256,
        Key::Ec(EcKey::P384Private(_) | EcKey::P384Public(_)) => Curve::P384,
        Key::Ec(EcKey::P521Private(_) | EcKey::P521Public(_)) => Curve::P521,
        Key::Okp(OkpKey::X25519Private(_) | OkpKey::X25519Public(_)) => Curve::X25519,
        Key::Okp(OkpKey::Ed25519Private(_) | OkpKey::Ed25519Public(_)) => Curve::Ed25519,
        Key::Rsa(_) | Key::Oct(_) => return None,
    })
}

/// The length of an `oct` secret, `None` for other keys.
fn oct_len(key: &Key) -> Option<usize> {
    match key {
        Key::Oct(k) => Some(k.len()),
        _ => None,
    }
}

/// The modulus length in bytes of an RSA key, `None` for other keys.
pub fn rsa_bytes(key: &Key) -> Option<usize> {
    match key {
        Key::Rsa(RsaKey::Private(k)) => Some(k.size()),
        Key::Rsa(RsaKey::Public(k)) => Some(k.size()),
        _ => None,
    }
}

fn is_rsa_oaep(alg: KeyManagementAlg) -> bool {
    use KeyManagementAlg::*;
    matches!(alg, RsaOaep | RsaOaep256 | RsaOaep384 | RsaOaep512)
}

fn is_ecdh(alg: KeyManagementAlg) -> bool {
    use KeyManagementAlg::*;
    matches!(alg, EcdhEs | EcdhEsA128Kw | EcdhEsA192Kw | EcdhEsA256Kw)
}

/// True when `key` may be used with JWE key management `alg` and content
/// encryption `enc`, public or private (minting, and the common part of
/// [`decryption`]).
pub fn key_management(alg: KeyManagementAlg, enc: ContentEncryptionAlg, key: &Key) -> bool {
    use KeyManagementAlg::*;
    match alg {
        Dir => content_key(enc, key),
        A128Kw | A192Kw | A256Kw | A128GcmKw | A192GcmKw | A256GcmKw => {
            oct_len(key).is_some() && oct_len(key) == alg.wrap_key_len()
        }
        RsaOaep | RsaOaep256 | RsaOaep384 | RsaOaep512 => matches!(key, Key::Rsa(_)),
        EcdhEs | EcdhEsA128Kw | EcdhEsA192Kw | EcdhEsA256Kw => matches!(
            curve(key),
            Some(Curve::P256 | Curve::P384 | Curve::P521 | Curve::X25519)
        ),
    }
}

/// True when `key` can be the CEK of `enc` itself (`dir`, or a JWK whose
/// `alg` names the content encryption, RFC 7520 §5.6).
pub fn content_key(enc: ContentEncryptionAlg, key: &Key) -> bool {
    oct_len(key) == Some(enc.key_len())
}

/// True when `key` could decrypt the JWE with this header and an encrypted
/// key of `encrypted_key_len` bytes: a private key that fits the algorithm
/// (see [`key_management`]), for RSA-OAEP a modulus exactly as long as the
/// encrypted key, for ECDH-ES a key on the `epk`'s curve.
pub fn decryption(header: &JweHeader, encrypted_key_len: usize, key: &Key) -> bool {
    if !key.is_private() || !key_management(header.alg, header.enc, key) {
        return false;
    }
    if is_rsa_oaep(header.alg) {
        return rsa_bytes(key) == Some(encrypted_key_len);
    }
    if is_ecdh(header.alg) {
        let epk = header.epk.as_ref().and_then(curve);
        return epk.is_some_and(|c| Some(c) == curve(key));
    }
    true
}

/// True when the decryption of `alg` is a private RSA operation, the most
/// expensive kind: at most one per token (see `decrypt::MAX_RSA_ATTEMPTS`).
pub fn is_rsa_decryption(alg: KeyManagementAlg) -> bool {
    is_rsa_oaep(alg)
}

/// True when `key` has the type, curve and size the JWS `alg` needs. The
/// defence against algorithm confusion: an HMAC algorithm only ever fits an
/// `oct` key, so a token "signed" with HS256 over an RSA public key's bytes
/// finds no key at all.
pub fn signature(alg: SignatureAlg, key: &Key) -> bool {
    use SignatureAlg::*;
    match (alg, key) {
        (Rs256 | Rs384 | Rs512 | Ps256 | Ps384 | Ps512, Key::Rsa(_)) => true,
        (Es256, _) => curve(key) == Some(Curve::P256),
        (Es384, _) => curve(key) == Some(Curve::P384),
        (Es512, _) => curve(key) == Some(Curve::P521),
        (EdDsa | Ed25519, _) => curve(key) == Some(Curve::Ed25519),
        (Hs256 | Hs384 | Hs512, Key::Oct(secret)) => hmac::key_long_enough(alg, secret),
        _ => false,
    }
}

/// True when a JWK whose `alg` member is `alg` may hold `key`: a JWE key
/// management algorithm (with any `enc`), a JWS algorithm, or, for a `dir`
/// key, the content encryption it is for.
pub fn jwk_alg(alg: &str, key: &Key) -> bool {
    if let Some(km) = KeyManagementAlg::from_name(alg) {
        return ContentEncryptionAlg::ALL
            .iter()
            .any(|&enc| key_management(km, enc, key));
    }
    if let Some(sig) = SignatureAlg::from_name(alg) {
        return signature(sig, key);
    }
    ContentEncryptionAlg::from_name(alg).is_some_and(|enc| content_key(enc, key))
}

/// The keys a token's `kid` selects, in the order they are tried: with a
/// `kid`, the keys with that `kid`, then the keys without one; without a
/// `kid`, every key, in configuration order. Of those, only the keys that
/// `fits` (the algorithm, the key's metadata), at most `limit`: the one
/// rule for decryption and verification keys, which bounds the private-
/// and public-key work one token can cause.
pub fn candidates<'k>(
    keys: &'k [Jwk],
    kid: Option<&str>,
    fits: impl Fn(&Jwk) -> bool,
    limit: usize,
) -> Vec<&'k Jwk> {
    let selected: Box<dyn Iterator<Item = &'k Jwk>> = match kid {
        Some(want) => Box::new(
            keys.iter()
                .filter(move |k| k.kid.as_deref() == Some(want))
                .chain(keys.iter().filter(|k| k.kid.is_none())),
        ),
        None => Box::new(keys.iter()),
    };
    selected.filter(|k| fits(k)).take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::jwk::{generate, KeyType};

    fn oct(len: usize) -> Key {
        Key::Oct(zeroize::Zeroizing::new(vec![7; len]))
    }

    #[test]
    fn a_kid_selects_its_keys_first_then_the_keys_without_one() {
        let key = |kid: Option<&str>, len| Jwk {
            kid: kid.map(str::to_string),
            ..Jwk::bare(oct(len))
        };
        let keys = [
            key(None, 16),
            key(Some("b"), 16),
            key(Some("a"), 32),
            key(Some("a"), 16),
            key(None, 32),
        ];
        let lens = |found: Vec<&Jwk>| -> Vec<(Option<String>, usize)> {
            found
                .iter()
                .map(|k| {
                    (
                        k.kid.clone(),
                        match &k.key {
                            Key::Oct(b) => b.len(),
                            _ => 0,
                        },
                    )
                })
                .collect()
        };
        let any = |_: &Jwk| true;
        let a = |l: usize| (Some("a".to_string()), l);
        assert_eq!(
            lens(candidates(&keys, Some("a"), any, 8)),
            vec![a(32), a(16), (None, 16), (None, 32)],
            "the kid's keys, then the keys without kid; never another kid"
        );
        assert_eq!(
            lens(candidates(&keys, None, any, 8)).len(),
            5,
            "no kid: every key"
        );
        assert_eq!(
            lens(candidates(&keys, Some("a"), any, 1)),
            vec![a(32)],
            "bounded"
        );
        let short = |k: &Jwk| matches!(&k.key, Key::Oct(b) if b.len() == 16);
        assert_eq!(
            lens(candidates(&keys, Some("a"), short, 8)),
            vec![a(16), (None, 16)],
            "only keys that fit"
        );
        assert!(
            candidates(&keys, Some("c"), short, 8).len() == 1,
            "unknown kid: kid-less keys"
        );
    }

    #[test]
    fn symmetric_key_lengths_are_exact() {
        use ContentEncryptionAlg as E;
        use KeyManagementAlg as K;
        assert!(key_management(K::A128Kw, E::A256Gcm, &oct(16)));
        assert!(!key_management(K::A128Kw, E::A256Gcm, &oct(32)));
        assert!(key_management(K::A256GcmKw, E::A128Gcm, &oct(32)));
        assert!(!key_management(K::A256GcmKw, E::A128Gcm, &oct(24)));
        assert!(key_management(K::Dir, E::A128CbcHs256, &oct(32)));
        assert!(!key_management(K::Dir, E::A128Gcm, &oct(32)));
        assert!(jwk_alg("dir", &oct(48)));
        assert!(!jwk_alg("dir", &oct(20)));
        assert!(jwk_alg("A128GCM", &oct(16)));
        assert!(!jwk_alg("A128GCM", &oct(32)));
        assert!(!jwk_alg("A192KW", &oct(16)));
        assert!(jwk_alg("HS256", &oct(32)));
        assert!(!jwk_alg("HS256", &oct(16)), "shorter than the hash");
        assert!(!jwk_alg("HS256", &generate(KeyType::P256).unwrap()));
    }

    #[test]
    fn curves_must_match() {
        let p256 = generate(KeyType::P256).unwrap();
        let x25519 = generate(KeyType::X25519).unwrap();
        let ed25519 = generate(KeyType::Ed25519).unwrap();
        assert!(signature(SignatureAlg::Es256, &p256));
        assert!(!signature(SignatureAlg::Es384, &p256));
        assert!(!signature(SignatureAlg::EdDsa, &x25519));
        assert!(signature(SignatureAlg::EdDsa, &ed25519));
        assert!(signature(SignatureAlg::Ed25519, &ed25519));
        assert!(!signature(SignatureAlg::Ed25519, &x25519));
        assert!(!signature(SignatureAlg::Ed25519, &p256));
        assert!(jwk_alg("Ed25519", &ed25519));
        assert!(jwk_alg("EdDSA", &ed25519));
        assert!(!jwk_alg("Ed25519", &x25519));
        assert!(!jwk_alg("Ed448", &ed25519));
        assert!(jwk_alg("ECDH-ES", &x25519));
        assert!(!jwk_alg("ECDH-ES", &ed25519));
        assert!(!jwk_alg("ES256", &x25519));
    }
}
