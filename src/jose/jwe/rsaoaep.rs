//! RSA-OAEP key transport (RFC 7518 §4.3; RFC-OAEP-384/512 by the same
//! construction): SHA-1, SHA-256, SHA-384 or SHA-512 with MGF1 of the same
//! hash.
//!
//! Decryption always runs the blinded private-key operation (an RNG is
//! passed to the padding scheme), and the `rsa` 0.10 OAEP decoder does not
//! branch on where the padding check failed. Its failure is hidden further
//! by the caller, which continues with a random CEK.

use crate::jose::alg::KeyManagementAlg;
use crate::jose::random;
use rsa::traits::{PaddingScheme, PublicKeyParts};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

/// Decrypt the encrypted CEK with the blinded private-key operation.
pub fn unwrap(
    alg: KeyManagementAlg,
    key: &RsaPrivateKey,
    encrypted_key: &[u8],
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    if encrypted_key.len() != key.size() {
        return Err("encrypted key length differs from the modulus");
    }
    let mut rng = random::rng();
    let result = match alg {
        KeyManagementAlg::RsaOaep => {
            Oaep::<Sha1>::new().decrypt(Some(&mut rng), key, encrypted_key)
        }
        KeyManagementAlg::RsaOaep256 => {
            Oaep::<Sha256>::new().decrypt(Some(&mut rng), key, encrypted_key)
        }
        KeyManagementAlg::RsaOaep384 => {
            Oaep::<Sha384>::new().decrypt(Some(&mut rng), key, encrypted_key)
        }
        KeyManagementAlg::RsaOaep512 => {
            Oaep::<Sha512>::new().decrypt(Some(&mut rng), key, encrypted_key)
        }
        _ => return Err("not an RSA-OAEP algorithm"),
    };
    result
        .map(Zeroizing::new)
        .map_err(|_| "RSA-OAEP decryption failed")
}

/// Encrypt `cek` to `key` (minting).
pub fn wrap(
    alg: KeyManagementAlg,
    key: &RsaPublicKey,
    cek: &[u8],
) -> Result<Vec<u8>, &'static str> {
    let mut rng = random::infallible_rng();
    let result = match alg {
        KeyManagementAlg::RsaOaep => key.encrypt(&mut rng, Oaep::<Sha1>::new(), cek),
        KeyManagementAlg::RsaOaep256 => key.encrypt(&mut rng, Oaep::<Sha256>::new(), cek),
        KeyManagementAlg::RsaOaep384 => key.encrypt(&mut rng, Oaep::<Sha384>::new(), cek),
        KeyManagementAlg::RsaOaep512 => key.encrypt(&mut rng, Oaep::<Sha512>::new(), cek),
        _ => return Err("not an RSA-OAEP algorithm"),
    };
    result.map_err(|_| "RSA-OAEP encryption failed")
}
