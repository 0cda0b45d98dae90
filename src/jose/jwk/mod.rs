//! Keys: JWK and JWKS (RFC 7517), PEM (PKCS#8, SPKI), parsed once into typed
//! keys at configuration time.
//!
//! A [`Jwk`] is a typed key ([`Key`]) plus the JWK metadata that restricts its
//! use (`kid`, `alg`, `use`, `key_ops`). Nothing on the request path parses
//! key material: the JWE and JWS code match on [`Key`].

mod export;
mod generate;
mod parse;
mod pem;
mod roca;
mod thumbprint;

pub use export::{private_jwk, public_jwk};
pub use generate::{generate, KeyType};
pub use parse::{check_verification_set, parse_jwk, parse_jwks, parse_public_jwk_value, MAX_KEYS};
pub use pem::parse_pem;
pub use roca::has_roca_fingerprint;
pub use thumbprint::jwk_thumbprint;

use crate::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use zeroize::Zeroizing;

/// Smallest RSA modulus we accept, in bits (RFC 7518 §3.3, §4.2).
pub const MIN_RSA_BITS: usize = 2048;

/// Largest RSA modulus we accept, in bits: bounds the cost of one operation.
pub const MAX_RSA_BITS: usize = 8192;

/// Largest RSA modulus of a *decryption* key, in bits. A private-key
/// operation costs about the cube of the modulus size: one RSA-8192
/// decryption is some eight RSA-4096 ones, and any request, with or without
/// credentials, can ask for one. Verification (a public-key operation) stays
/// cheap up to [`MAX_RSA_BITS`].
pub const MAX_RSA_DECRYPTION_BITS: usize = 4096;

/// The checks every RSA modulus passes, from a JWK's `n` or a PEM key:
/// [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`] bits, and no ROCA fingerprint
/// ([`has_roca_fingerprint`]). `n` is big-endian; the error's path is empty
/// (the caller names the member).
pub fn check_rsa_modulus(n: &[u8]) -> Result<(), crate::error::ConfigError> {
    let significant = n
        .iter()
        .position(|&b| b != 0)
        .and_then(|i| n.get(i..))
        .unwrap_or_default();
    let bits = significant.first().map_or(0, |&top| {
        8 * significant.len() - top.leading_zeros() as usize
    });
    let refuse = |message: String| Err(crate::error::ConfigError::new("", message));
    if bits < MIN_RSA_BITS {
        return refuse(format!(
            "RSA keys under {MIN_RSA_BITS} bits are refused ({bits} bits)"
        ));
    }
    if bits > MAX_RSA_BITS {
        return refuse(format!(
            "RSA keys over {MAX_RSA_BITS} bits are refused ({bits} bits)"
        ));
    }
    if has_roca_fingerprint(significant) {
        return refuse(
            "the RSA modulus has the ROCA fingerprint (CVE-2017-15361): the key can be factored"
                .into(),
        );
    }
    Ok(())
}

/// An RSA key: the private half (which holds the public one) or only the public one.
#[derive(Clone)]
pub enum RsaKey {
    Private(Box<rsa::RsaPrivateKey>),
    Public(Box<rsa::RsaPublicKey>),
}

/// An elliptic-curve key on one of the NIST curves.
#[derive(Clone)]
pub enum EcKey {
    P256Private(p256::SecretKey),
    P256Public(p256::PublicKey),
    P384Private(p384::SecretKey),
    P384Public(p384::PublicKey),
    P521Private(p521::SecretKey),
    P521Public(p521::PublicKey),
}

/// An OKP key (RFC 8037): X25519 for ECDH-ES, Ed25519 for EdDSA.
#[derive(Clone)]
pub enum OkpKey {
    X25519Private(x25519_dalek::StaticSecret),
    X25519Public(x25519_dalek::PublicKey),
    Ed25519Private(Box<ed25519_dalek::SigningKey>),
    Ed25519Public(ed25519_dalek::VerifyingKey),
}

/// Typed key material. Private and secret material is zeroized on drop by the
/// underlying crates (and by [`Zeroizing`] for `oct`).
#[derive(Clone)]
pub enum Key {
    Rsa(RsaKey),
    Ec(EcKey),
    Okp(OkpKey),
    /// A shared secret (`kty: oct`).
    Oct(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for Key {
    /// Shows the key type only: key material never reaches a log or an error.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

impl Key {
    /// A short description without key material, e.g. `EC P-256 private`.
    pub fn describe(&self) -> &'static str {
        match self {
            Key::Rsa(RsaKey::Private(_)) => "RSA private",
            Key::Rsa(RsaKey::Public(_)) => "RSA public",
            Key::Ec(EcKey::P256Private(_)) => "EC P-256 private",
            Key::Ec(EcKey::P256Public(_)) => "EC P-256 public",
            Key::Ec(EcKey::P384Private(_)) => "EC P-384 private",
            Key::Ec(EcKey::P384Public(_)) => "EC P-384 public",
            Key::Ec(EcKey::P521Private(_)) => "EC P-521 private",
            Key::Ec(EcKey::P521Public(_)) => "EC P-521 public",
            Key::Okp(OkpKey::X25519Private(_)) => "OKP X25519 private",
            Key::Okp(OkpKey::X25519Public(_)) => "OKP X25519 public",
            Key::Okp(OkpKey::Ed25519Private(_)) => "OKP Ed25519 private",
            Key::Okp(OkpKey::Ed25519Public(_)) => "OKP Ed25519 public",
            Key::Oct(_) => "oct",
        }
    }

    /// True for keys that anyone holding them could also have published
    /// (`oct` is the only kind where "decrypt" and "encrypt" are the same secret).
    pub fn is_symmetric(&self) -> bool {
        matches!(self, Key::Oct(_))
    }

    /// Pass the private or secret material to `sink`, for deriving a key
    /// from it (the shared cache's MAC key); a public key passes nothing.
    /// Copies made on the way are zeroized; the material never leaves as a
    /// value.
    pub(crate) fn with_secret(&self, sink: &mut dyn FnMut(&[u8])) {
        use rsa::traits::PrivateKeyParts;
        match self {
            Key::Rsa(RsaKey::Private(k)) => sink(&Zeroizing::new(k.d().to_be_bytes())),
            Key::Ec(EcKey::P256Private(k)) => sink(&Zeroizing::new(k.to_bytes())),
            Key::Ec(EcKey::P384Private(k)) => sink(&Zeroizing::new(k.to_bytes())),
            Key::Ec(EcKey::P521Private(k)) => sink(&Zeroizing::new(k.to_bytes())),
            Key::Okp(OkpKey::X25519Private(k)) => sink(k.as_bytes()),
            Key::Okp(OkpKey::Ed25519Private(k)) => sink(k.as_bytes()),
            Key::Oct(k) => sink(k),
            Key::Rsa(RsaKey::Public(_))
            | Key::Ec(EcKey::P256Public(_) | EcKey::P384Public(_) | EcKey::P521Public(_))
            | Key::Okp(OkpKey::X25519Public(_) | OkpKey::Ed25519Public(_)) => {}
        }
    }

    /// True when the key holds private or secret material.
    pub fn is_private(&self) -> bool {
        matches!(
            self,
            Key::Rsa(RsaKey::Private(_))
                | Key::Ec(EcKey::P256Private(_) | EcKey::P384Private(_) | EcKey::P521Private(_))
                | Key::Okp(OkpKey::X25519Private(_) | OkpKey::Ed25519Private(_))
                | Key::Oct(_)
        )
    }
}

/// JWK `use` (RFC 7517 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    Sig,
    Enc,
}

impl KeyUse {
    /// The JWK member value: `sig` or `enc`.
    pub fn name(self) -> &'static str {
        match self {
            KeyUse::Sig => "sig",
            KeyUse::Enc => "enc",
        }
    }
}

/// What an operation needs a key for, matched against `use` and `key_ops`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Verify a JWS (`use: sig`, `key_ops: verify`).
    Verify,
    /// Sign a JWS (`use: sig`, `key_ops: sign`): the CLI.
    Sign,
    /// Decrypt a JWE (`use: enc`, `key_ops: decrypt`, `unwrapKey` or `deriveKey`/`deriveBits`).
    Decrypt,
    /// Encrypt a JWE (`use: enc`, `key_ops: encrypt`, `wrapKey`, `deriveKey`): the CLI.
    Encrypt,
}

impl Purpose {
    /// The JWK `use` that allows this purpose.
    pub fn key_use(self) -> KeyUse {
        match self {
            Purpose::Verify | Purpose::Sign => KeyUse::Sig,
            Purpose::Decrypt | Purpose::Encrypt => KeyUse::Enc,
        }
    }

    /// The `key_ops` values that allow this purpose (one is enough).
    pub fn key_ops(self) -> &'static [&'static str] {
        match self {
            Purpose::Verify => &["verify"],
            Purpose::Sign => &["sign"],
            Purpose::Decrypt => &["decrypt", "unwrapKey", "deriveKey", "deriveBits"],
            Purpose::Encrypt => &["encrypt", "wrapKey", "deriveKey", "deriveBits"],
        }
    }

    /// True when a JWK `alg` can name an algorithm of this purpose: a JWS
    /// algorithm to sign or verify; to encrypt or decrypt, a key management
    /// algorithm or, for a `dir` key, its content encryption (RFC 7520 §5.6).
    pub fn admits_alg(self, alg: &str) -> bool {
        match self {
            Purpose::Verify | Purpose::Sign => SignatureAlg::from_name(alg).is_some(),
            Purpose::Decrypt | Purpose::Encrypt => {
                KeyManagementAlg::from_name(alg).is_some()
                    || ContentEncryptionAlg::from_name(alg).is_some()
            }
        }
    }
}

/// A parsed key with its JWK metadata.
#[derive(Clone, Debug)]
pub struct Jwk {
    /// `kid`, used to select the key.
    pub kid: Option<String>,
    /// `alg`: when present, the only algorithm this key may be used with.
    pub alg: Option<String>,
    /// `use`: when present, restricts the key to signatures or encryption.
    pub key_use: Option<KeyUse>,
    /// `key_ops`: when present, the operations this key may be used for.
    pub key_ops: Option<Vec<String>>,
    /// The typed key material.
    pub key: Key,
}

impl Jwk {
    /// A key without metadata.
    pub fn bare(key: Key) -> Self {
        Jwk {
            kid: None,
            alg: None,
            key_use: None,
            key_ops: None,
            key,
        }
    }

    /// [`Jwk::permits`] for decrypting a JWE with `alg`/`enc`. A `dir` key
    /// may carry the `enc` it is for as its `alg` (RFC 7520 §5.6).
    pub fn permits_decryption(&self, alg: KeyManagementAlg, enc: ContentEncryptionAlg) -> bool {
        if alg == KeyManagementAlg::Dir && self.alg.as_deref() == Some(enc.name()) {
            return Jwk {
                alg: None,
                ..self.clone()
            }
            .permits(alg.name(), Purpose::Decrypt);
        }
        self.permits(alg.name(), Purpose::Decrypt)
    }

    /// True when the JWK's `alg`, `use` and `key_ops` (each only when present)
    /// allow using it with algorithm `alg` for `purpose`.
    pub fn permits(&self, alg: &str, purpose: Purpose) -> bool {
        if self.alg.as_deref().is_some_and(|a| a != alg) {
            return false;
        }
        if self.key_use.is_some_and(|u| u != purpose.key_use()) {
            return false;
        }
        self.key_ops_allow(purpose)
    }

    /// True unless `key_ops` is present and names none of the operations
    /// of `purpose`.
    pub fn key_ops_allow(&self, purpose: Purpose) -> bool {
        match &self.key_ops {
            None => true,
            Some(list) => list
                .iter()
                .any(|op| purpose.key_ops().contains(&op.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2^(bits-1) + 1, big-endian, after `zeros` leading zero bytes.
    fn modulus(bits: usize, zeros: usize) -> Vec<u8> {
        let mut n = vec![0u8; zeros + bits.div_ceil(8)];
        n[zeros] = 1 << ((bits - 1) % 8);
        *n.last_mut().unwrap() |= 1;
        n
    }

    #[test]
    fn rsa_moduli_are_2048_to_8192_bits() {
        for zeros in [0, 1, 3] {
            assert!(check_rsa_modulus(&modulus(2048, zeros)).is_ok());
            assert!(check_rsa_modulus(&modulus(8192, zeros)).is_ok());
            let e = check_rsa_modulus(&modulus(2047, zeros)).unwrap_err();
            assert_eq!(
                (e.path.as_str(), e.message.as_str()),
                ("", "RSA keys under 2048 bits are refused (2047 bits)")
            );
            let e = check_rsa_modulus(&modulus(8193, zeros)).unwrap_err();
            assert_eq!(e.message, "RSA keys over 8192 bits are refused (8193 bits)");
        }
        let e = check_rsa_modulus(&[0, 0]).unwrap_err();
        assert_eq!(e.message, "RSA keys under 2048 bits are refused (0 bits)");
    }
}
