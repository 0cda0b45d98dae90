//! Key parsing: what is accepted, what is refused and why, PEM and JWK
//! round trips for every key type.

use jwe_authn::jose::jwk::{
    self, generate, parse_jwk, parse_jwks, parse_pem, parse_public_jwk_value, Jwk, Key, KeyType,
};
use serde_json::{json, Value};

const ALL: [KeyType; 7] = [
    KeyType::Rsa { bits: 2048 },
    KeyType::P256,
    KeyType::P384,
    KeyType::P521,
    KeyType::X25519,
    KeyType::Ed25519,
    KeyType::Oct { bytes: 32 },
];

fn err_path(value: Value) -> String {
    let e = parse_jwk(&value).unwrap_err();
    assert!(!e.message.is_empty());
    e.path
}

#[test]
fn every_generated_key_round_trips_through_jwk() {
    for kind in ALL {
        let key = Jwk {
            kid: Some("k".into()),
            ..Jwk::bare(generate(kind).unwrap())
        };
        let private = jwk::private_jwk(&key).unwrap();
        let parsed = parse_jwk(&private).unwrap();
        assert_eq!(jwk::private_jwk(&parsed).unwrap(), private, "{kind:?}");
        assert!(parsed.key.is_private());
        if let Some(public) = jwk::public_jwk(&key) {
            for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(
                    public.get(member).is_none(),
                    "{kind:?} public JWK has {member}"
                );
            }
            assert!(!parse_jwk(&public).unwrap().key.is_private());
        } else {
            assert!(matches!(kind, KeyType::Oct { .. }));
        }
    }
}

#[test]
fn rsa_under_2048_bits_and_without_crt_are_refused() {
    let mut rng = jwe_authn::jose::random::infallible_rng();
    let small = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let small =
        jwk::private_jwk(&Jwk::bare(Key::Rsa(jwk::RsaKey::Private(Box::new(small))))).unwrap();
    let e = parse_jwk(&small).unwrap_err();
    assert_eq!(e.path, "n");
    assert!(e.message.contains("2048"));
    let mut public_small = small.clone();
    for m in ["d", "p", "q", "dp", "dq", "qi"] {
        public_small.as_object_mut().unwrap().remove(m);
    }
    assert_eq!(err_path(public_small), "n");

    let full =
        jwk::private_jwk(&Jwk::bare(generate(KeyType::Rsa { bits: 2048 }).unwrap())).unwrap();
    for crt in ["p", "q", "dp", "dq", "qi"] {
        let mut without = full.clone();
        without.as_object_mut().unwrap().remove(crt);
        assert_eq!(err_path(without), crt);
    }
    let mut wrong_dp = full.clone();
    wrong_dp["dp"] = full["dq"].clone();
    assert_eq!(err_path(wrong_dp), "dp");
}

#[test]
fn ec_points_and_scalars_are_checked() {
    let a = jwk::private_jwk(&Jwk::bare(generate(KeyType::P256).unwrap())).unwrap();
    let b = jwk::private_jwk(&Jwk::bare(generate(KeyType::P256).unwrap())).unwrap();
    // d of another key.
    let mut mismatched = a.clone();
    mismatched["d"] = b["d"].clone();
    assert_eq!(err_path(mismatched), "d");
    // y of another point: off the curve (or another point).
    let mut off = a.clone();
    off["y"] = b["y"].clone();
    assert_eq!(err_path(off), "x");
    // Wrong coordinate length, padding, foreign alphabet.
    let mut short = a.clone();
    short["x"] = json!("AAAA");
    assert_eq!(err_path(short), "x");
    let mut padded = a.clone();
    padded["x"] = json!(format!("{}=", a["x"].as_str().unwrap()));
    assert_eq!(err_path(padded), "x");
    let mut plus = a.clone();
    plus["y"] =
        json!(a["y"]
            .as_str()
            .unwrap()
            .replacen(|c: char| c.is_ascii_alphanumeric(), "+", 1));
    assert_eq!(err_path(plus), "y");
    let mut curve = a.clone();
    curve["crv"] = json!("secp256k1");
    assert_eq!(err_path(curve), "crv");
}

#[test]
fn metadata_is_validated() {
    let ec = jwk::public_jwk(&Jwk::bare(generate(KeyType::P256).unwrap())).unwrap();
    let with = |k: &str, v: Value| {
        let mut j = ec.clone();
        j[k] = v;
        j
    };
    assert_eq!(err_path(with("alg", json!("RS256"))), "alg");
    assert_eq!(err_path(with("alg", json!("ES384"))), "alg");
    assert!(parse_jwk(&with("alg", json!("ES256"))).is_ok());
    assert!(parse_jwk(&with("alg", json!("ECDH-ES+A128KW"))).is_ok());
    assert_eq!(err_path(with("use", json!("both"))), "use");
    assert_eq!(
        err_path(with("key_ops", json!(["verify", "verify"]))),
        "key_ops"
    );
    assert_eq!(err_path(with("key_ops", json!(["fly"]))), "key_ops");
    assert_eq!(err_path(with("kid", json!(7))), "kid");
    assert_eq!(err_path(with("kty", json!("RSA-ish"))), "kty");
    assert_eq!(err_path(json!({"kty": "oct", "k": ""})), "k");
    assert_eq!(
        err_path(json!({"kty": "oct", "k": "AAAA", "alg": "RS256"})),
        "alg"
    );
}

#[test]
fn jwks_are_bounded_and_paths_name_the_key() {
    let good = jwk::public_jwk(&Jwk::bare(generate(KeyType::P256).unwrap())).unwrap();
    assert_eq!(
        parse_jwks(&json!({"keys": [good.clone(), good.clone()]}))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        parse_jwks(&json!({"keys": [good.clone(), {"kty": "EC"}]}))
            .unwrap_err()
            .path,
        "keys[1].crv"
    );
    assert!(parse_jwks(&json!({"keys": []})).is_err());
    assert!(parse_jwks(&json!({"keys": vec![good.clone(); 65]})).is_err());
    assert!(parse_jwks(&json!({"keys": [good], "extra": 1})).is_err());
}

#[test]
fn an_ephemeral_key_must_be_public_and_on_its_curve() {
    let private = jwk::private_jwk(&Jwk::bare(generate(KeyType::P256).unwrap())).unwrap();
    assert_eq!(parse_public_jwk_value(&private).unwrap_err().path, "d");
    let mut public = private.clone();
    public.as_object_mut().unwrap().remove("d");
    assert!(parse_public_jwk_value(&public).is_ok());
    let ed = jwk::public_jwk(&Jwk::bare(generate(KeyType::Ed25519).unwrap())).unwrap();
    assert_eq!(parse_public_jwk_value(&ed).unwrap_err().path, "crv");
    let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
    assert_eq!(parse_public_jwk_value(&rsa).unwrap_err().path, "kty");
}

#[test]
fn pem_keys_of_every_type_parse() {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
    let lf = ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF;
    for kind in ALL {
        let key = generate(kind).unwrap();
        let (private, public): (String, String) = match &key {
            Key::Rsa(jwk::RsaKey::Private(k)) => (
                k.to_pkcs8_pem(lf).unwrap().to_string(),
                k.to_public_key().to_public_key_pem(lf).unwrap(),
            ),
            Key::Ec(jwk::EcKey::P256Private(k)) => (
                k.to_pkcs8_pem(lf).unwrap().to_string(),
                k.public_key().to_public_key_pem(lf).unwrap(),
            ),
            Key::Ec(jwk::EcKey::P384Private(k)) => (
                k.to_pkcs8_pem(lf).unwrap().to_string(),
                k.public_key().to_public_key_pem(lf).unwrap(),
            ),
            Key::Ec(jwk::EcKey::P521Private(k)) => (
                k.to_pkcs8_pem(lf).unwrap().to_string(),
                k.public_key().to_public_key_pem(lf).unwrap(),
            ),
            Key::Okp(jwk::OkpKey::Ed25519Private(k)) => (
                k.to_pkcs8_pem(lf).unwrap().to_string(),
                k.verifying_key().to_public_key_pem(lf).unwrap(),
            ),
            Key::Okp(jwk::OkpKey::X25519Private(k)) => {
                // RFC 8410 §10.3 layout, built by hand: no encoder in x25519-dalek.
                let mut der = vec![
                    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04,
                    0x22, 0x04, 0x20,
                ];
                der.extend_from_slice(k.as_bytes());
                let mut spki = vec![
                    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
                ];
                spki.extend_from_slice(x25519_dalek::PublicKey::from(k).as_bytes());
                (pem("PRIVATE KEY", &der), pem("PUBLIC KEY", &spki))
            }
            Key::Oct(_) => continue,
            _ => unreachable!(),
        };
        let parsed = parse_pem(&private).unwrap_or_else(|e| panic!("{kind:?} private: {e}"));
        assert_eq!(
            jwk::public_jwk(&Jwk::bare(parsed.clone())),
            jwk::public_jwk(&Jwk::bare(key.clone())),
            "{kind:?}"
        );
        assert!(parsed.is_private());
        let parsed = parse_pem(&public).unwrap_or_else(|e| panic!("{kind:?} public: {e}"));
        assert!(!parsed.is_private());
        assert_eq!(
            jwk::public_jwk(&Jwk::bare(parsed)),
            jwk::public_jwk(&Jwk::bare(key)),
            "{kind:?}"
        );
    }
    assert!(
        parse_pem("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----").is_err()
    );
    assert!(parse_pem("not pem").is_err());
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = jwe_authn::jose::b64::encode(der); // base64url; convert to standard base64 below
    let std: String = body
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let padded = format!("{std}{}", "=".repeat((4 - std.len() % 4) % 4));
    format!("-----BEGIN {label}-----\n{padded}\n-----END {label}-----\n")
}

/// `n` as big-endian bytes after multiplying it by `factor`.
fn times(n: &mut Vec<u8>, factor: u64) {
    let mut carry = 0u64;
    for b in n.iter_mut().rev() {
        let v = u64::from(*b) * factor + carry;
        *b = v as u8;
        carry = v >> 8;
    }
    while carry > 0 {
        n.insert(0, carry as u8);
        carry >>= 8;
    }
}

/// An odd modulus of exactly `bits` bits: 2^(bits-1) + 1.
fn odd_modulus(bits: usize) -> Vec<u8> {
    let mut n = vec![0u8; bits.div_ceil(8)];
    n[0] = 1 << ((bits - 1) % 8);
    *n.last_mut().unwrap() |= 1;
    n
}

/// The SPKI PEM of an RSA public key with modulus `n` and e = 65537, built
/// whatever its size (the `rsa` crate's own limits are not ours).
fn rsa_public_pem(n: &[u8]) -> String {
    use ed25519_dalek::pkcs8::EncodePublicKey;
    let key = rsa::RsaPublicKey::new_with_size_limits(
        rsa::BoxedUint::from_be_slice_vartime(n),
        rsa::BoxedUint::from(65_537u32),
        512..=16_384,
    )
    .unwrap();
    key.to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap()
}

#[test]
fn rsa_moduli_are_checked_alike_in_jwk_and_pem() {
    // 65537^128 has 2049 bits and, being a power of 65537, the ROCA
    // fingerprint modulo every prime of the test.
    let mut roca = vec![1u8];
    for _ in 0..128 {
        times(&mut roca, 65_537);
    }
    let cases = [
        (roca, "ROCA"),
        (odd_modulus(1000), "under 2048 bits"),
        (odd_modulus(2047), "under 2048 bits"),
        (odd_modulus(8193), "over 8192 bits"),
    ];
    for (n, why) in cases {
        let jwk = json!({"kty": "RSA", "n": jwe_authn::jose::b64::encode(&n), "e": "AQAB"});
        let from_jwk = parse_jwk(&jwk).unwrap_err();
        assert_eq!(from_jwk.path, "n", "{why}");
        assert!(from_jwk.message.contains(why), "{why}: {from_jwk}");
        let from_pem = parse_pem(&rsa_public_pem(&n)).unwrap_err();
        assert_eq!(
            from_pem.message, from_jwk.message,
            "{why}: PEM and JWK must say the same"
        );
    }
    // A private key too: PKCS#8 and JWK say the same.
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let mut rng = jwe_authn::jose::random::infallible_rng();
    let small = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let pem = small
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap();
    let jwk =
        jwk::private_jwk(&Jwk::bare(Key::Rsa(jwk::RsaKey::Private(Box::new(small))))).unwrap();
    assert_eq!(
        parse_pem(&pem).unwrap_err().message,
        parse_jwk(&jwk).unwrap_err().message
    );
}
