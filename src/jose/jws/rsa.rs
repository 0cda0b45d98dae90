//! RS256/384/512 (RSASSA-PKCS1-v1_5) and PS256/384/512 (RSASSA-PSS, salt
//! length = hash length, MGF1 with the same hash), RFC 7518 §3.3 and §3.5.

use crate::jose::alg::SignatureAlg;
use crate::jose::jwk::RsaKey;
use crate::jose::random;
use rsa::{Pkcs1v15Sign, Pss, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

fn public(key: &RsaKey) -> &RsaPublicKey {
    match key {
        RsaKey::Private(k) => k.as_public_key(),
        RsaKey::Public(k) => k,
    }
}

/// Verify an RS* or PS* signature.
pub fn verify(alg: SignatureAlg, key: &RsaKey, input: &[u8], signature: &[u8]) -> bool {
    use SignatureAlg::*;
    let key = public(key);
    let result = match alg {
        Rs256 => key.verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(input),
            signature,
        ),
        Rs384 => key.verify(
            Pkcs1v15Sign::new::<Sha384>(),
            &Sha384::digest(input),
            signature,
        ),
        Rs512 => key.verify(
            Pkcs1v15Sign::new::<Sha512>(),
            &Sha512::digest(input),
            signature,
        ),
        Ps256 => key.verify(Pss::<Sha256>::new(), &Sha256::digest(input), signature),
        Ps384 => key.verify(Pss::<Sha384>::new(), &Sha384::digest(input), signature),
        Ps512 => key.verify(Pss::<Sha512>::new(), &Sha512::digest(input), signature),
        _ => return false,
    };
    result.is_ok()
}

/// Sign with RS* or PS* (blinded private-key operation).
pub fn sign(alg: SignatureAlg, key: &RsaKey, input: &[u8]) -> Result<Vec<u8>, &'static str> {
    use SignatureAlg::*;
    let RsaKey::Private(key) = key else {
        return Err("signing needs a private key");
    };
    let mut rng = random::infallible_rng();
    let result = match alg {
        Rs256 => key.sign_with_rng(
            &mut rng,
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(input),
        ),
        Rs384 => key.sign_with_rng(
            &mut rng,
            Pkcs1v15Sign::new::<Sha384>(),
            &Sha384::digest(input),
        ),
        Rs512 => key.sign_with_rng(
            &mut rng,
            Pkcs1v15Sign::new::<Sha512>(),
            &Sha512::digest(input),
        ),
        Ps256 => key.sign_with_rng(&mut rng, Pss::<Sha256>::new(), &Sha256::digest(input)),
        Ps384 => key.sign_with_rng(&mut rng, Pss::<Sha384>::new(), &Sha384::digest(input)),
        Ps512 => key.sign_with_rng(&mut rng, Pss::<Sha512>::new(), &Sha512::digest(input)),
        _ => return Err("not an RSA signature algorithm"),
    };
    result.map_err(|_| "RSA signing failed")
}
