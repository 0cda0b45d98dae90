//! PEM keys: PKCS#8 `PRIVATE KEY` and SPKI `PUBLIC KEY` blocks for RSA, EC
//! (P-256/384/521), X25519 and Ed25519. Parsed once, at configuration time.

use super::{check_rsa_modulus, EcKey, Key, OkpKey, RsaKey};
use crate::error::ConfigError;
use pkcs8::der::Decode;
use pkcs8::{DecodePrivateKey, PrivateKeyInfoRef};
use spki::{DecodePublicKey, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

/// X25519 (RFC 8410).
const X25519_OID: pkcs8::ObjectIdentifier = pkcs8::ObjectIdentifier::new_unwrap("1.3.101.110");

const EXPECTED: &str =
    "expected one PEM block: PKCS#8 `PRIVATE KEY` or SPKI `PUBLIC KEY` (RSA, EC P-256/P-384/P-521, X25519, Ed25519)";

/// Parse one PEM block into a typed key.
pub fn parse_pem(text: &str) -> Result<Key, ConfigError> {
    let text = text.trim();
    if text.starts_with("-----BEGIN PRIVATE KEY-----") {
        private(text)
    } else if text.starts_with("-----BEGIN PUBLIC KEY-----") {
        public(text)
    } else {
        Err(ConfigError::new("", EXPECTED))
    }
}

/// The modulus of the RSA key in a PEM block of `label` (`PRIVATE KEY` or
/// `PUBLIC KEY`), if it holds one: checked by [`check_rsa_modulus`] before
/// the `rsa` crate decodes the key, so that a PEM key is refused for the
/// same reasons and with the same words as a JWK (the crate's own size
/// limits would refuse some with only "expected one PEM block").
fn rsa_modulus(text: &str, label: &str) -> Option<Vec<u8>> {
    use rsa::pkcs1::{RsaPrivateKeyRef, RsaPublicKeyRef, ALGORITHM_OID};
    let (found, der) = pkcs8::der::pem::decode_vec(text.as_bytes()).ok()?;
    let der = Zeroizing::new(der);
    if found != label {
        return None;
    }
    if label == "PRIVATE KEY" {
        let info = PrivateKeyInfoRef::from_der(&der).ok()?;
        (info.algorithm.oid == ALGORITHM_OID).then_some(())?;
        let key = RsaPrivateKeyRef::from_der(info.private_key.as_bytes()).ok()?;
        Some(key.modulus.as_bytes().to_vec())
    } else {
        let info = SubjectPublicKeyInfoRef::from_der(&der).ok()?;
        (info.algorithm.oid == ALGORITHM_OID).then_some(())?;
        let key = RsaPublicKeyRef::from_der(info.subject_public_key.as_bytes()?).ok()?;
        Some(key.modulus.as_bytes().to_vec())
    }
}

fn private(text: &str) -> Result<Key, ConfigError> {
    if let Some(n) = rsa_modulus(text, "PRIVATE KEY") {
        check_rsa_modulus(&n)?;
    }
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(text) {
        return Ok(Key::Rsa(RsaKey::Private(Box::new(k))));
    }
    if let Ok(k) = p256::SecretKey::from_pkcs8_pem(text) {
        return Ok(Key::Ec(EcKey::P256Private(k)));
    }
    if let Ok(k) = p384::SecretKey::from_pkcs8_pem(text) {
        return Ok(Key::Ec(EcKey::P384Private(k)));
    }
    if let Ok(k) = p521::SecretKey::from_pkcs8_pem(text) {
        return Ok(Key::Ec(EcKey::P521Private(k)));
    }
    if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(text) {
        return Ok(Key::Okp(OkpKey::Ed25519Private(Box::new(k))));
    }
    x25519_private(text).ok_or_else(|| ConfigError::new("", EXPECTED))
}

/// X25519 has no decoder in its crate: the PKCS#8 private key is an OCTET
/// STRING holding the 32-byte key (RFC 8410 §7).
fn x25519_private(text: &str) -> Option<Key> {
    let (label, der) = pkcs8::der::pem::decode_vec(text.as_bytes()).ok()?;
    let der = Zeroizing::new(der);
    if label != "PRIVATE KEY" {
        return None;
    }
    let info = PrivateKeyInfoRef::from_der(&der).ok()?;
    if info.algorithm.oid != X25519_OID {
        return None;
    }
    let inner = <&pkcs8::der::asn1::OctetStringRef>::from_der(info.private_key.as_bytes()).ok()?;
    let bytes: [u8; 32] = inner.as_bytes().try_into().ok()?;
    let bytes = Zeroizing::new(bytes);
    Some(Key::Okp(OkpKey::X25519Private(
        x25519_dalek::StaticSecret::from(*bytes),
    )))
}

fn public(text: &str) -> Result<Key, ConfigError> {
    if let Some(n) = rsa_modulus(text, "PUBLIC KEY") {
        check_rsa_modulus(&n)?;
    }
    if let Ok(k) = rsa::RsaPublicKey::from_public_key_pem(text) {
        return Ok(Key::Rsa(RsaKey::Public(Box::new(k))));
    }
    if let Ok(k) = p256::PublicKey::from_public_key_pem(text) {
        return Ok(Key::Ec(EcKey::P256Public(k)));
    }
    if let Ok(k) = p384::PublicKey::from_public_key_pem(text) {
        return Ok(Key::Ec(EcKey::P384Public(k)));
    }
    if let Ok(k) = p521::PublicKey::from_public_key_pem(text) {
        return Ok(Key::Ec(EcKey::P521Public(k)));
    }
    if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_pem(text) {
        return Ok(Key::Okp(OkpKey::Ed25519Public(k)));
    }
    x25519_public(text).ok_or_else(|| ConfigError::new("", EXPECTED))
}

fn x25519_public(text: &str) -> Option<Key> {
    let (label, der) = pkcs8::der::pem::decode_vec(text.as_bytes()).ok()?;
    if label != "PUBLIC KEY" {
        return None;
    }
    let info = SubjectPublicKeyInfoRef::from_der(&der).ok()?;
    if info.algorithm.oid != X25519_OID {
        return None;
    }
    let bytes: [u8; 32] = info.subject_public_key.as_bytes()?.try_into().ok()?;
    Some(Key::Okp(OkpKey::X25519Public(
        x25519_dalek::PublicKey::from(bytes),
    )))
}
