//! Key generation for the CLI's `keygen` (and tests). Not used on the
//! request path.

use super::{EcKey, Key, OkpKey, RsaKey, MAX_RSA_BITS, MIN_RSA_BITS};
use crate::jose::random;
use zeroize::Zeroizing;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa { bits: usize },
    P256,
    P384,
    P521,
    X25519,
    Ed25519,
    Oct { bytes: usize },
}

fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>, String> {
    let mut bytes = Zeroizing::new([0u8; N]);
    random::fill(bytes.as_mut_slice()).map_err(|e| format!("no randomness: {e}"))?;
    Ok(bytes)
}

/// A random valid scalar: rejection sampling, bounded (a miss has
/// probability below 2^-32 per try on these curves).
fn scalar<const N: usize, T>(make: impl Fn(&[u8; N]) -> Option<T>) -> Result<T, String> {
    for _ in 0..64 {
        if let Some(key) = make(&*random_bytes::<N>()?) {
            return Ok(key);
        }
    }
    Err("could not draw a valid scalar".into())
}

/// Generate a fresh private key.
pub fn generate(kind: KeyType) -> Result<Key, String> {
    let mut rng = random::infallible_rng();
    Ok(match kind {
        KeyType::Rsa { bits } => {
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(format!(
                    "RSA size must be {MIN_RSA_BITS} to {MAX_RSA_BITS} bits"
                ));
            }
            let key = rsa::RsaPrivateKey::new(&mut rng, bits).map_err(|e| e.to_string())?;
            Key::Rsa(RsaKey::Private(Box::new(key)))
        }
        KeyType::P256 => Key::Ec(EcKey::P256Private(scalar(|b: &[u8; 32]| {
            p256::SecretKey::from_slice(b).ok()
        })?)),
        KeyType::P384 => Key::Ec(EcKey::P384Private(scalar(|b: &[u8; 48]| {
            p384::SecretKey::from_slice(b).ok()
        })?)),
        KeyType::P521 => Key::Ec(EcKey::P521Private(scalar(|b: &[u8; 66]| {
            // The top 7 bits of a 66-byte P-521 scalar are always zero.
            let mut b = *b;
            b[0] &= 0x01;
            p521::SecretKey::from_slice(&b).ok()
        })?)),
        KeyType::X25519 => Key::Okp(OkpKey::X25519Private(x25519_dalek::StaticSecret::from(
            *random_bytes::<32>()?,
        ))),
        KeyType::Ed25519 => Key::Okp(OkpKey::Ed25519Private(Box::new(
            ed25519_dalek::SigningKey::from_bytes(&*random_bytes::<32>()?),
        ))),
        KeyType::Oct { bytes } => {
            if !(16..=1024).contains(&bytes) {
                return Err("oct keys must be 16 to 1024 bytes".into());
            }
            let mut k = Zeroizing::new(vec![0u8; bytes]);
            random::fill(&mut k).map_err(|e| format!("no randomness: {e}"))?;
            Key::Oct(k)
        }
    })
}
