//! Wycheproof primitive vectors (`../shared/wycheproof/primitives`) run
//! through the crate's own primitives, with the keys parsed by our own JWK
//! parser wherever the vectors give a JWK. Every `valid` vector must pass,
//! every `invalid` one must fail; `acceptable` ones are counted but not
//! asserted (they are legitimately either way). Groups outside what JOSE
//! uses (other IV or tag sizes, keys under 2048 bits, OAEP labels) are
//! skipped, each with the reason, and every test asserts it checked vectors.

use crate::common::{read_json, shared};
use jwe_authn::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use jwe_authn::jose::jwe::{aeskw, content, ecdh, rsaoaep};
use jwe_authn::jose::jwk::{parse_jwk, parse_public_jwk_value, EcKey, Key, OkpKey, RsaKey};
use jwe_authn::jose::jws;
use serde_json::Value;

pub(crate) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn vectors(file: &str) -> Value {
    read_json(shared("wycheproof/primitives").join(file))
}

/// Tally of one file: what was checked, and any mismatch.
#[derive(Default)]
struct Tally {
    checked: usize,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, t: &Value, ok: bool) {
        match t["result"].as_str().unwrap() {
            "valid" if !ok => self.failures.push(format!(
                "tcId {} valid but rejected ({})",
                t["tcId"], t["comment"]
            )),
            "invalid" if ok => self.failures.push(format!(
                "tcId {} invalid but accepted ({})",
                t["tcId"], t["comment"]
            )),
            _ => {}
        }
        self.checked += 1;
    }

    fn finish(self, file: &str, at_least: usize) {
        assert!(
            self.failures.is_empty(),
            "{file}:\n{}",
            self.failures.join("\n")
        );
        assert!(
            self.checked >= at_least,
            "{file}: only {} vectors checked",
            self.checked
        );
    }
}

#[test]
fn aes_gcm() {
    let v = vectors("aes_gcm_test.json");
    let mut tally = Tally::default();
    for g in v["testGroups"].as_array().unwrap() {
        // JOSE uses 96-bit IVs and 128-bit tags only; other sizes are refused
        // by construction (tested in the attack tests).
        if g["ivSize"] != 96 || g["tagSize"] != 128 {
            continue;
        }
        let enc = match g["keySize"].as_u64().unwrap() {
            128 => ContentEncryptionAlg::A128Gcm,
            192 => ContentEncryptionAlg::A192Gcm,
            256 => ContentEncryptionAlg::A256Gcm,
            _ => continue,
        };
        for t in g["tests"].as_array().unwrap() {
            let out = content::decrypt(
                enc,
                &hex(t["key"].as_str().unwrap()),
                &hex(t["iv"].as_str().unwrap()),
                &hex(t["aad"].as_str().unwrap()),
                &hex(t["ct"].as_str().unwrap()),
                &hex(t["tag"].as_str().unwrap()),
            );
            let ok = out
                .as_ref()
                .is_ok_and(|p| p.as_slice() == hex(t["msg"].as_str().unwrap()));
            tally.record(t, ok);
        }
    }
    tally.finish("aes_gcm_test.json", 100);
}

#[test]
fn aes_key_wrap() {
    let v = vectors("aes_wrap_test.json");
    let mut tally = Tally::default();
    for g in v["testGroups"].as_array().unwrap() {
        for t in g["tests"].as_array().unwrap() {
            let out = aeskw::unwrap(
                &hex(t["key"].as_str().unwrap()),
                &hex(t["ct"].as_str().unwrap()),
            );
            let ok = out
                .as_ref()
                .is_ok_and(|p| p.as_slice() == hex(t["msg"].as_str().unwrap()));
            // JOSE only wraps CEKs of 16 bytes or more: shorter valid vectors
            // are refused on purpose (RFC 7518 §4.4 CEKs are 16-64 bytes).
            if t["result"] == "valid" && hex(t["msg"].as_str().unwrap()).len() < 16 {
                assert!(!ok);
                continue;
            }
            tally.record(t, ok);
        }
    }
    tally.finish("aes_wrap_test.json", 50);
}

#[test]
fn rsa_oaep() {
    for (file, alg) in [
        (
            "rsa_oaep_2048_sha1_mgf1sha1_test.json",
            KeyManagementAlg::RsaOaep,
        ),
        (
            "rsa_oaep_2048_sha256_mgf1sha256_test.json",
            KeyManagementAlg::RsaOaep256,
        ),
        (
            "rsa_oaep_3072_sha256_mgf1sha256_test.json",
            KeyManagementAlg::RsaOaep256,
        ),
        (
            "rsa_oaep_4096_sha256_mgf1sha256_test.json",
            KeyManagementAlg::RsaOaep256,
        ),
    ] {
        let v = vectors(file);
        let mut tally = Tally::default();
        for g in v["testGroups"].as_array().unwrap() {
            let key = parse_jwk(&g["privateKeyJwk"]).unwrap_or_else(|e| panic!("{file}: {e}"));
            let Key::Rsa(RsaKey::Private(private)) = &key.key else {
                panic!("{file}: not a private RSA key")
            };
            for t in g["tests"].as_array().unwrap() {
                // JOSE never uses an OAEP label; a labelled ciphertext must not
                // decrypt with the empty label.
                let labelled = !t["label"].as_str().unwrap().is_empty();
                let out = rsaoaep::unwrap(alg, private, &hex(t["ct"].as_str().unwrap()));
                let ok = out
                    .as_ref()
                    .is_ok_and(|p| p.as_slice() == hex(t["msg"].as_str().unwrap()));
                if labelled {
                    assert!(
                        !ok,
                        "{file} tcId {}: a labelled ciphertext decrypted without its label",
                        t["tcId"]
                    );
                    continue;
                }
                tally.record(t, ok);
            }
        }
        tally.finish(file, 20);
    }
}

#[test]
fn ecdh_nist_curves() {
    for file in [
        "ecdh_secp256r1_webcrypto_test.json",
        "ecdh_secp384r1_webcrypto_test.json",
        "ecdh_secp521r1_webcrypto_test.json",
    ] {
        let v = vectors(file);
        let mut tally = Tally::default();
        for g in v["testGroups"].as_array().unwrap() {
            for t in g["tests"].as_array().unwrap() {
                let mut private = t["private"].clone();
                private.as_object_mut().unwrap().remove("kid");
                let mut public = t["public"].clone();
                public.as_object_mut().unwrap().remove("kid");
                // The peer key is parsed exactly as a JWE `epk` is.
                let ok = match (parse_jwk(&private), parse_public_jwk_value(&public)) {
                    (Ok(ours), Ok(peer)) => ecdh::agree(&ours.key, &peer)
                        .is_ok_and(|z| z.as_slice() == hex(t["shared"].as_str().unwrap())),
                    _ => false,
                };
                tally.record(t, ok);
            }
        }
        tally.finish(file, 20);
    }
}

#[test]
fn x25519() {
    let v = vectors("x25519_test.json");
    let mut tally = Tally::default();
    for g in v["testGroups"].as_array().unwrap() {
        for t in g["tests"].as_array().unwrap() {
            let private: [u8; 32] = hex(t["private"].as_str().unwrap()).try_into().unwrap();
            let public: [u8; 32] = hex(t["public"].as_str().unwrap()).try_into().unwrap();
            let ours = Key::Okp(OkpKey::X25519Private(x25519_dalek::StaticSecret::from(
                private,
            )));
            let peer = Key::Okp(OkpKey::X25519Public(x25519_dalek::PublicKey::from(public)));
            let shared = hex(t["shared"].as_str().unwrap());
            let out = ecdh::agree(&ours, &peer);
            if shared.iter().all(|&b| b == 0) {
                // A low-order peer point: the all-zero secret is refused (RFC 8037 §3.2
                // / RFC 7748 §6.1), whatever the vector's label.
                assert!(
                    out.is_err(),
                    "tcId {}: zero shared secret accepted",
                    t["tcId"]
                );
                tally.checked += 1;
                continue;
            }
            let ok = out.is_ok_and(|z| z.as_slice() == shared);
            // "acceptable" vectors (non-canonical or twist points) must still
            // give the RFC 7748 result when they are accepted.
            if t["result"] == "acceptable" {
                assert!(
                    ok,
                    "tcId {}: acceptable vector gave a wrong secret",
                    t["tcId"]
                );
            }
            tally.record(t, ok);
        }
    }
    tally.finish("x25519_test.json", 100);
}

fn verify_file(file: &str, key_member: &str, alg: SignatureAlg, at_least: usize) {
    let v = vectors(file);
    let mut tally = Tally::default();
    for g in v["testGroups"].as_array().unwrap() {
        let key = if g[key_member].is_object() {
            let mut jwk = g[key_member].clone();
            jwk.as_object_mut().unwrap().remove("kid");
            parse_jwk(&jwk)
                .unwrap_or_else(|e| panic!("{file}: group key refused: {e}"))
                .key
        } else {
            // A few ECDSA groups give only the SEC1 point (edge-case
            // coordinates without a JWK in the file): build the key from it.
            let sec1 = hex(g["publicKey"]["uncompressed"].as_str().unwrap());
            let ec = match alg {
                SignatureAlg::Es256 => {
                    EcKey::P256Public(p256::PublicKey::from_sec1_bytes(&sec1).unwrap())
                }
                SignatureAlg::Es384 => {
                    EcKey::P384Public(p384::PublicKey::from_sec1_bytes(&sec1).unwrap())
                }
                SignatureAlg::Es512 => {
                    EcKey::P521Public(p521::PublicKey::from_sec1_bytes(&sec1).unwrap())
                }
                _ => panic!("{file}: group without a JWK"),
            };
            Key::Ec(ec)
        };
        for t in g["tests"].as_array().unwrap() {
            let ok = jws::verify(
                alg,
                &key,
                &hex(t["msg"].as_str().unwrap()),
                &hex(t["sig"].as_str().unwrap()),
            );
            tally.record(t, ok);
        }
    }
    tally.finish(file, at_least);
}

#[test]
fn ecdsa_p1363() {
    verify_file(
        "ecdsa_secp256r1_sha256_p1363_test.json",
        "publicKeyJwk",
        SignatureAlg::Es256,
        100,
    );
    verify_file(
        "ecdsa_secp384r1_sha384_p1363_test.json",
        "publicKeyJwk",
        SignatureAlg::Es384,
        100,
    );
    verify_file(
        "ecdsa_secp521r1_sha512_p1363_test.json",
        "publicKeyJwk",
        SignatureAlg::Es512,
        100,
    );
}

#[test]
fn ed25519() {
    verify_file(
        "ed25519_test.json",
        "publicKeyJwk",
        SignatureAlg::EdDsa,
        100,
    );
}

#[test]
fn rsa_pkcs1_and_pss_signatures() {
    verify_file(
        "rsa_signature_2048_sha256_test.json",
        "keyJwk",
        SignatureAlg::Rs256,
        100,
    );
    verify_file(
        "rsa_signature_2048_sha384_test.json",
        "keyJwk",
        SignatureAlg::Rs384,
        100,
    );
    verify_file(
        "rsa_signature_2048_sha512_test.json",
        "keyJwk",
        SignatureAlg::Rs512,
        100,
    );
    verify_file(
        "rsa_signature_3072_sha256_test.json",
        "keyJwk",
        SignatureAlg::Rs256,
        100,
    );
    verify_file(
        "rsa_signature_4096_sha256_test.json",
        "keyJwk",
        SignatureAlg::Rs256,
        100,
    );
    verify_file(
        "rsa_pss_2048_sha256_mgf1_32_test.json",
        "publicKeyJwk",
        SignatureAlg::Ps256,
        50,
    );
    verify_file(
        "rsa_pss_2048_sha384_mgf1_48_test.json",
        "publicKeyJwk",
        SignatureAlg::Ps384,
        50,
    );
    verify_file(
        "rsa_pss_4096_sha512_mgf1_64_test.json",
        "publicKeyJwk",
        SignatureAlg::Ps512,
        50,
    );
}

#[test]
fn hmac() {
    for (file, alg, size) in [
        ("hmac_sha256_test.json", SignatureAlg::Hs256, 256),
        ("hmac_sha384_test.json", SignatureAlg::Hs384, 384),
        ("hmac_sha512_test.json", SignatureAlg::Hs512, 512),
    ] {
        let v = vectors(file);
        let mut tally = Tally::default();
        for g in v["testGroups"].as_array().unwrap() {
            // JWS uses full-length tags and keys of at least the hash size
            // (RFC 7518 §3.2); other groups are out of scope.
            if g["tagSize"] != size || g["keySize"].as_u64().unwrap() < size {
                continue;
            }
            for t in g["tests"].as_array().unwrap() {
                let key = Key::Oct(hex(t["key"].as_str().unwrap()).into());
                let ok = jws::verify(
                    alg,
                    &key,
                    &hex(t["msg"].as_str().unwrap()),
                    &hex(t["tag"].as_str().unwrap()),
                );
                tally.record(t, ok);
            }
        }
        tally.finish(file, 10);
    }
}

/// Our key parser refuses what the EC vectors' keys would never be: an EC
/// key with a private half for an `epk`.
#[test]
fn an_ec_private_key_is_never_an_epk() {
    let v = vectors("ecdh_secp256r1_webcrypto_test.json");
    let mut private = v["testGroups"][0]["tests"][0]["private"].clone();
    private.as_object_mut().unwrap().remove("kid");
    assert!(parse_public_jwk_value(&private).is_err());
    assert!(matches!(
        parse_jwk(&private).unwrap().key,
        Key::Ec(EcKey::P256Private(_))
    ));
}
