//! Refusing RSA moduli with the ROCA fingerprint (CVE-2017-15361, Infineon
//! RSALib): such keys were generated as `k·M + (65537^a mod M)` and can be
//! factored. The published test (Nemec et al., CCS 2017): for each small
//! prime `p` below, `n mod p` lies in the subgroup that 65537 generates
//! modulo `p`. A random modulus passes all of them with negligible
//! probability; a ROCA modulus always does.

/// The primes of the fingerprint test.
const PRIMES: [u32; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

/// `n` (big-endian) modulo a small `p`.
fn residue(n: &[u8], p: u32) -> u32 {
    n.iter().fold(0u32, |r, b| (r * 256 + u32::from(*b)) % p)
}

/// Whether `r` is a power of 65537 modulo `p`.
fn in_subgroup_of_65537(r: u32, p: u32) -> bool {
    let g = 65_537 % p;
    let mut x = 1 % p;
    // The subgroup has at most p - 1 elements.
    for _ in 0..p {
        if x == r {
            return true;
        }
        x = x * g % p;
        if x == 1 % p {
            return x == r;
        }
    }
    false
}

/// True when the modulus `n` (big-endian bytes) has the ROCA fingerprint.
pub fn has_roca_fingerprint(n: &[u8]) -> bool {
    PRIMES
        .iter()
        .all(|&p| in_subgroup_of_65537(residue(n, p), p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modulus_built_like_roca_is_flagged_and_others_are_not() {
        // M = the product of the primes; 65537^a mod M is the ROCA shape
        // modulo every prime of the test (k·M adds nothing modulo them).
        let m: u128 = PRIMES.iter().take(20).map(|&p| u128::from(p)).product();
        let shaped = (0..7).fold(1u128, |x, _| x * 65_537 % m);
        let bytes = shaped.to_be_bytes();
        assert!(PRIMES
            .iter()
            .take(20)
            .all(|&p| in_subgroup_of_65537(residue(&bytes, p), p)));
        // A value outside the subgroup modulo 11 (65537 ≡ 10 mod 11
        // generates {1, 10}): not flagged.
        assert!(!in_subgroup_of_65537(2, 11));
        assert!(!has_roca_fingerprint(&2u128.to_be_bytes()));
        // The committed benchmark RSA modulus is an ordinary key.
        let jwk: serde_json::Value =
            serde_json::from_str(include_str!("../../../envoy/bench/keys/enc-rsa.pub.jwk"))
                .unwrap();
        let n = crate::jose::b64::decode(jwk["n"].as_str().unwrap().as_bytes()).unwrap();
        assert!(!has_roca_fingerprint(&n));
    }
}
