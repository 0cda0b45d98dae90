//! ECDH-ES key agreement (RFC 7518 §4.6) on P-256, P-384, P-521 and X25519
//! (RFC 8037 §3.2), with the Concat KDF of NIST SP 800-56A §5.8.1 over
//! SHA-256.
//!
//! The ephemeral public key comes from the token and was validated on its
//! curve when the header was parsed; its curve must match our key's. An
//! X25519 exchange that yields the all-zero secret (a low-order point) is
//! refused.

use crate::jose::b64;
use crate::jose::jwk::{EcKey, Key, OkpKey};
use crate::jose::random;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The shared secret `Z` between our private key and the token's `epk`.
pub fn agree(ours: &Key, epk: &Key) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let z = match (ours, epk) {
        (Key::Ec(EcKey::P256Private(d)), Key::Ec(EcKey::P256Public(q))) => {
            p256::ecdh::diffie_hellman(d.to_nonzero_scalar(), q.as_affine())
                .raw_secret_bytes()
                .to_vec()
        }
        (Key::Ec(EcKey::P384Private(d)), Key::Ec(EcKey::P384Public(q))) => {
            p384::ecdh::diffie_hellman(d.to_nonzero_scalar(), q.as_affine())
                .raw_secret_bytes()
                .to_vec()
        }
        (Key::Ec(EcKey::P521Private(d)), Key::Ec(EcKey::P521Public(q))) => {
            p521::ecdh::diffie_hellman(d.to_nonzero_scalar(), q.as_affine())
                .raw_secret_bytes()
                .to_vec()
        }
        (Key::Okp(OkpKey::X25519Private(d)), Key::Okp(OkpKey::X25519Public(q))) => {
            let shared = d.diffie_hellman(q);
            if !shared.was_contributory() {
                return Err("X25519 shared secret is zero (low-order point)");
            }
            shared.as_bytes().to_vec()
        }
        _ => return Err("epk is not on our key's curve"),
    };
    Ok(Zeroizing::new(z))
}

/// Concat KDF (RFC 7518 §4.6.2): `keydatalen` bytes from `z` with
/// AlgorithmID = `algorithm` and the party infos.
pub fn concat_kdf(
    z: &[u8],
    algorithm: &str,
    apu: &[u8],
    apv: &[u8],
    key_len: usize,
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let bits =
        u32::try_from(key_len.checked_mul(8).ok_or("key too long")?).map_err(|_| "key too long")?;
    let field = |data: &[u8]| -> Result<Vec<u8>, &'static str> {
        let len = u32::try_from(data.len()).map_err(|_| "party info too long")?;
        Ok([len.to_be_bytes().as_slice(), data].concat())
    };
    let other_info = [
        field(algorithm.as_bytes())?,
        field(apu)?,
        field(apv)?,
        bits.to_be_bytes().to_vec(),
    ]
    .concat();
    let mut out = Zeroizing::new(Vec::with_capacity(key_len + 32));
    let mut counter: u32 = 1;
    while out.len() < key_len {
        let mut h = Sha256::new();
        h.update(counter.to_be_bytes());
        h.update(z);
        h.update(&other_info);
        out.extend_from_slice(&h.finalize());
        counter = counter.checked_add(1).ok_or("KDF counter overflow")?;
    }
    out.truncate(key_len);
    Ok(out)
}

/// A fresh ephemeral key on the recipient's curve: (our ephemeral private
/// key, its public JWK for the `epk` header member).
pub fn ephemeral_for(recipient: &Key) -> Result<(Key, Value), &'static str> {
    use crate::jose::jwk::{generate, public_jwk, Jwk, KeyType};
    let kind = match recipient {
        Key::Ec(EcKey::P256Private(_) | EcKey::P256Public(_)) => KeyType::P256,
        Key::Ec(EcKey::P384Private(_) | EcKey::P384Public(_)) => KeyType::P384,
        Key::Ec(EcKey::P521Private(_) | EcKey::P521Public(_)) => KeyType::P521,
        Key::Okp(OkpKey::X25519Private(_) | OkpKey::X25519Public(_)) => KeyType::X25519,
        _ => return Err("ECDH-ES needs an EC or X25519 key"),
    };
    let key = generate(kind).map_err(|_| "could not generate an ephemeral key")?;
    let epk = public_jwk(&Jwk::bare(key.clone())).ok_or("no public half")?;
    Ok((key, epk))
}

/// The public half of a recipient key, as the peer of an exchange.
pub fn recipient_public(recipient: &Key) -> Result<Key, &'static str> {
    Ok(match recipient {
        Key::Ec(EcKey::P256Private(k)) => Key::Ec(EcKey::P256Public(k.public_key())),
        Key::Ec(EcKey::P384Private(k)) => Key::Ec(EcKey::P384Public(k.public_key())),
        Key::Ec(EcKey::P521Private(k)) => Key::Ec(EcKey::P521Public(k.public_key())),
        Key::Okp(OkpKey::X25519Private(k)) => {
            Key::Okp(OkpKey::X25519Public(x25519_dalek::PublicKey::from(k)))
        }
        public @ (Key::Ec(_) | Key::Okp(OkpKey::X25519Public(_))) => public.clone(),
        _ => return Err("ECDH-ES needs an EC or X25519 key"),
    })
}

/// Random bytes of `len`, for a CEK.
pub fn random_key(len: usize) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let mut k = Zeroizing::new(vec![0u8; len]);
    random::fill(&mut k).map_err(|_| "no randomness")?;
    Ok(k)
}

/// `apu`/`apv` as header values.
pub fn party_info(bytes: &[u8]) -> Value {
    json!(b64::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7518 Appendix C: ECDH-ES key agreement computation.
    #[test]
    fn rfc7518_appendix_c_concat_kdf() {
        let z = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let key = concat_kdf(&z, "A128GCM", b"Alice", b"Bob", 16).unwrap();
        assert_eq!(b64::encode(&key), "VqqN6vgjbSBcIijNcacQGg");
    }
}
