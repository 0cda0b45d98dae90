//! DPoP proofs (RFC 9449) through `jwe_authn::dpop`'s public API: proofs
//! minted here with the crate's own signing code, one accepted proof per
//! key family, then one test per attack, each changing one thing of an
//! otherwise valid proof; and the RFC's own example proofs.

use crate::common::key;
use jwe_authn::dpop::{
    access_token_hash, check_proof, token_jkt, CheckedProof, DpopError, ParsedProof, ProofPolicy,
    ProofRequest, MAX_HEADER_BYTES, TYP,
};
use jwe_authn::jose::alg::SignatureAlg;
use jwe_authn::jose::b64;
use jwe_authn::jose::jwk::{self, Jwk, KeyType};
use jwe_authn::jose::jws;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

const NOW: u64 = 1_800_000_000;
const HTU: &str = "https://api.example/orders/42";
const TOKEN: &str = "eyJhbGciOiJSU0EtT0FFUC0yNTYifQ.k.i.c.t";

fn request() -> ProofRequest<'static> {
    ProofRequest {
        method: "GET",
        htu: HTU,
        access_token: TOKEN,
        nonce: None,
    }
}

fn p256() -> &'static Jwk {
    static KEY: OnceLock<Jwk> = OnceLock::new();
    KEY.get_or_init(|| key(KeyType::P256, "p256"))
}

fn ed25519() -> &'static Jwk {
    static KEY: OnceLock<Jwk> = OnceLock::new();
    KEY.get_or_init(|| key(KeyType::Ed25519, "ed"))
}

/// One RSA key for every RSA test: generating one is slow.
fn rsa() -> &'static Jwk {
    static KEY: OnceLock<Jwk> = OnceLock::new();
    KEY.get_or_init(|| key(KeyType::Rsa { bits: 2048 }, "rsa"))
}

/// The public JWK of `k` without its `kid` (as a client would send it).
fn public(k: &Jwk) -> Value {
    let mut v = jwk::public_jwk(k).unwrap();
    v.as_object_mut().unwrap().remove("kid");
    v
}

fn header(alg: SignatureAlg, k: &Jwk) -> Value {
    json!({"typ": TYP, "alg": alg.name(), "jwk": public(k)})
}

fn claims() -> Value {
    json!({
        "jti": "f3Uq8nDk1yJ0R8c2",
        "htm": "GET",
        "htu": HTU,
        "iat": NOW,
        "ath": access_token_hash(TOKEN),
    })
}

/// A proof of these exact header and claims bytes, signed with `signer`.
fn mint_raw(alg: SignatureAlg, signer: &Jwk, header: &[u8], claims: &[u8]) -> String {
    let input = format!("{}.{}", b64::encode(header), b64::encode(claims));
    let signature = jws::sign(alg, &signer.key, input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(&signature))
}

fn mint(alg: SignatureAlg, signer: &Jwk, header: &Value, claims: &Value) -> String {
    mint_raw(
        alg,
        signer,
        &serde_json::to_vec(header).unwrap(),
        &serde_json::to_vec(claims).unwrap(),
    )
}

/// A valid proof with `change` applied to its claims.
fn with_claims(change: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut c = claims();
    change(c.as_object_mut().unwrap());
    mint(
        SignatureAlg::Es256,
        p256(),
        &header(SignatureAlg::Es256, p256()),
        &c,
    )
}

/// A valid proof with `change` applied to its header.
fn with_header(change: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut h = header(SignatureAlg::Es256, p256());
    change(h.as_object_mut().unwrap());
    mint(SignatureAlg::Es256, p256(), &h, &claims())
}

fn check(proof: &str) -> Result<CheckedProof, DpopError> {
    check_proof(proof, &request(), NOW, &ProofPolicy::default())
}

fn check_for(proof: &str, req: ProofRequest<'_>) -> Result<CheckedProof, DpopError> {
    check_proof(proof, &req, NOW, &ProofPolicy::default())
}

fn valid() -> String {
    with_claims(|_| {})
}

fn is<T: std::fmt::Debug>(result: Result<T, DpopError>, stat: &str) {
    match result {
        Err(e) => assert_eq!(e.stat(), stat, "{e}"),
        Ok(v) => panic!("accepted, wanted {stat}: {v:?}"),
    }
}

// ---- accepted ----

#[test]
fn an_es256_proof_is_accepted_and_names_its_key() {
    let checked = check(&valid()).unwrap();
    assert_eq!(
        checked,
        CheckedProof {
            jkt: jwk::jwk_thumbprint(&p256().key).unwrap(),
            jti: "f3Uq8nDk1yJ0R8c2".into(),
            iat: NOW,
        }
    );
    let claims = json!({"cnf": {"jkt": checked.jkt.clone()}});
    let bound = token_jkt(claims.as_object().unwrap()).unwrap();
    assert!(checked.is_bound_to(bound));
    let other = jwk::jwk_thumbprint(&ed25519().key).unwrap();
    assert!(!checked.is_bound_to(&other));
    assert!(!checked.is_bound_to(""));
    assert_eq!(
        token_jkt(json!({"cnf": {"jkt": 1}}).as_object().unwrap()),
        None
    );
    assert_eq!(token_jkt(json!({"cnf": "x"}).as_object().unwrap()), None);
}

#[test]
fn an_eddsa_proof_is_accepted() {
    let proof = mint(
        SignatureAlg::EdDsa,
        ed25519(),
        &header(SignatureAlg::EdDsa, ed25519()),
        &claims(),
    );
    let checked = check(&proof).unwrap();
    assert_eq!(checked.jkt, jwk::jwk_thumbprint(&ed25519().key).unwrap());
    // What the signature will cost is known before it is checked.
    let parsed = ParsedProof::parse(&proof, &ProofPolicy::default()).unwrap();
    assert_eq!(parsed.alg(), SignatureAlg::EdDsa);
    assert!(!parsed.key().is_private());
}

#[test]
fn rsa_proofs_are_accepted_with_both_paddings() {
    for alg in [SignatureAlg::Ps256, SignatureAlg::Rs256] {
        let proof = mint(alg, rsa(), &header(alg, rsa()), &claims());
        let checked = check(&proof).unwrap();
        assert_eq!(checked.jkt, jwk::jwk_thumbprint(&rsa().key).unwrap());
    }
}

#[test]
fn the_jwk_s_metadata_is_honoured_but_not_required() {
    let proof = with_header(|h| {
        let jwk = h["jwk"].as_object_mut().unwrap();
        jwk.insert("use".into(), json!("sig"));
        jwk.insert("alg".into(), json!("ES256"));
        jwk.insert("kid".into(), json!("client-key"));
    });
    let checked = check(&proof).unwrap();
    assert_eq!(checked.jkt, jwk::jwk_thumbprint(&p256().key).unwrap());
    for (member, value) in [
        ("use", json!("enc")),
        ("alg", json!("ES384")),
        ("key_ops", json!(["sign"])),
    ] {
        let proof = with_header(|h| {
            h["jwk"]
                .as_object_mut()
                .unwrap()
                .insert(member.into(), value);
        });
        is(check(&proof), "key");
    }
}

// ---- htm, htu ----

#[test]
fn a_proof_for_another_method_is_refused() {
    for method in ["POST", "get", "GET ", "HEAD"] {
        is(
            check_for(
                &valid(),
                ProofRequest {
                    method,
                    ..request()
                },
            ),
            "htm",
        );
    }
    is(
        check(&with_claims(|c| {
            c.insert("htm".into(), json!("POST"));
        })),
        "htm",
    );
}

#[test]
fn a_proof_for_another_uri_is_refused() {
    for htu in [
        "https://api.example/orders/43",
        "https://api.example/orders/42/",
        "https://api.example/Orders/42",
        "https://api.example/orders/%34%32",
        "https://api.example/orders/./42",
        "https://evil.example/orders/42",
        "https://api.example.evil.example/orders/42",
        "http://api.example/orders/42",
        "https://api.example:8443/orders/42",
        "https://user@api.example/orders/42",
        "api.example/orders/42",
        "/orders/42",
    ] {
        let proof = with_claims(|c| {
            c.insert("htu".into(), json!(htu));
        });
        is(check(&proof), "htu");
    }
}

#[test]
fn query_fragment_scheme_and_host_case_and_default_port_are_ignored() {
    for htu in [
        "https://api.example/orders/42?page=2",
        "https://api.example/orders/42#top",
        "https://api.example/orders/42?",
        "HTTPS://API.Example/orders/42",
        "https://api.example:443/orders/42",
    ] {
        let proof = with_claims(|c| {
            c.insert("htu".into(), json!(htu));
        });
        assert!(check(&proof).is_ok(), "{htu}");
    }
    // The request's side is read the same way.
    let req = ProofRequest {
        htu: "https://API.example:443/orders/42?x=1",
        ..request()
    };
    assert!(check_for(&valid(), req).is_ok());
    let req = ProofRequest {
        htu: "http://api.example/orders/42",
        ..request()
    };
    is(check_for(&valid(), req), "htu");
}

// ---- iat ----

#[test]
fn a_stale_proof_is_refused() {
    let policy = ProofPolicy::default();
    let at = |iat: u64| {
        with_claims(|c| {
            c.insert("iat".into(), json!(iat));
        })
    };
    assert!(check(&at(NOW - policy.max_age_seconds)).is_ok());
    is(check(&at(NOW - policy.max_age_seconds - 1)), "iat_stale");
    is(check(&at(0)), "iat_stale");
    // The same proof, checked later.
    let proof = valid();
    let later = NOW + policy.max_age_seconds + 1;
    is(check_proof(&proof, &request(), later, &policy), "iat_stale");
}

#[test]
fn a_proof_from_the_future_is_refused() {
    let policy = ProofPolicy::default();
    let at = |iat: Value| {
        with_claims(|c| {
            c.insert("iat".into(), iat);
        })
    };
    assert!(check(&at(json!(NOW + policy.max_future_seconds))).is_ok());
    is(
        check(&at(json!(NOW + policy.max_future_seconds + 1))),
        "iat_future",
    );
    is(check(&at(json!(u64::MAX))), "iat_future");
    is(check(&at(json!(1e300))), "iat_future");
    // NumericDate may have a fraction: it is not rounded into the window.
    assert_eq!(check(&at(json!(NOW as f64 + 0.5))).unwrap().iat, NOW);
    is(check(&at(json!(NOW as f64 + 5.5))), "iat_future");
    is(check(&at(json!(-1))), "malformed");
    is(check(&at(json!("1800000000"))), "malformed");
}

// ---- ath ----

#[test]
fn a_proof_for_another_token_is_refused() {
    is(
        check_for(
            &valid(),
            ProofRequest {
                access_token: "another",
                ..request()
            },
        ),
        "ath",
    );
    is(
        check_for(
            &valid(),
            ProofRequest {
                access_token: "",
                ..request()
            },
        ),
        "ath",
    );
    for ath in [
        json!(access_token_hash("another")),
        json!(access_token_hash(TOKEN).to_uppercase()),
        json!(format!("{}=", access_token_hash(TOKEN))),
        json!(""),
        // The token itself, not its hash.
        json!(TOKEN),
    ] {
        let proof = with_claims(|c| {
            c.insert("ath".into(), ath);
        });
        is(check(&proof), "ath");
    }
    let proof = with_claims(|c| {
        c.insert("ath".into(), json!(["x"]));
    });
    is(check(&proof), "malformed");
}

#[test]
fn a_proof_without_ath_is_refused() {
    let proof = with_claims(|c| {
        c.remove("ath");
    });
    assert_eq!(
        check(&proof),
        Err(DpopError::MissingClaim("ath is missing"))
    );
}

#[test]
fn every_required_claim_is_required() {
    for name in ["jti", "htm", "htu", "iat", "ath"] {
        let proof = with_claims(|c| {
            c.remove(name);
        });
        is(check(&proof), "missing_claim");
    }
    for (name, value) in [
        ("jti", json!("")),
        ("jti", json!("j".repeat(257))),
        ("jti", json!(7)),
        ("htm", json!(null)),
        ("htu", json!({"u": HTU})),
    ] {
        let proof = with_claims(|c| {
            c.insert(name.into(), value);
        });
        is(check(&proof), "malformed");
    }
    let proof = with_claims(|c| {
        c.insert("jti".into(), json!("j".repeat(256)));
    });
    assert!(check(&proof).is_ok());
}

// ---- nonce ----

#[test]
fn a_nonce_is_checked_only_when_the_server_gave_one() {
    let with_nonce = with_claims(|c| {
        c.insert("nonce".into(), json!("n-1"));
    });
    let expecting = |nonce| ProofRequest {
        nonce: Some(nonce),
        ..request()
    };
    assert!(check_for(&with_nonce, expecting("n-1")).is_ok());
    assert!(check(&with_nonce).is_ok(), "no nonce asked: not looked at");
    is(check_for(&with_nonce, expecting("n-2")), "nonce");
    is(check_for(&valid(), expecting("n-1")), "nonce");
    let err = check_for(&valid(), expecting("n-1")).unwrap_err();
    assert_eq!(err.code(), "use_dpop_nonce");
    let not_a_string = with_claims(|c| {
        c.insert("nonce".into(), json!(1));
    });
    is(check_for(&not_a_string, expecting("1")), "nonce");
}

// ---- the key ----

#[test]
fn a_jwk_with_private_ec_parts_is_refused() {
    let proof = with_header(|h| {
        h.insert("jwk".into(), jwk::private_jwk(p256()).unwrap());
    });
    assert_eq!(
        check(&proof),
        Err(DpopError::Key("jwk carries private key members"))
    );
    // Even a `d` that is not a valid scalar, or is null.
    for d in [json!("AA"), json!(null)] {
        let proof = with_header(|h| {
            h["jwk"].as_object_mut().unwrap().insert("d".into(), d);
        });
        is(check(&proof), "key");
    }
}

#[test]
fn a_jwk_with_private_rsa_parts_is_refused() {
    let private = jwk::private_jwk(rsa()).unwrap();
    let mut h = header(SignatureAlg::Ps256, rsa());
    h["jwk"] = private.clone();
    let proof = mint(SignatureAlg::Ps256, rsa(), &h, &claims());
    assert_eq!(
        check(&proof),
        Err(DpopError::Key("jwk carries private key members"))
    );
    // Any one private member alone is enough.
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
        let mut h = header(SignatureAlg::Ps256, rsa());
        h["jwk"][member] = private.get(member).cloned().unwrap_or(json!([]));
        let proof = mint(SignatureAlg::Ps256, rsa(), &h, &claims());
        is(check(&proof), "key");
    }
}

#[test]
fn a_symmetric_jwk_is_refused() {
    let secret = b64::encode(&[7u8; 32]);
    for jwk in [json!({"kty": "oct", "k": secret}), json!({"kty": "oct"})] {
        let proof = with_header(|h| {
            h.insert("jwk".into(), jwk);
        });
        is(check(&proof), "key");
    }
}

#[test]
fn a_missing_or_invalid_jwk_is_refused() {
    let p = public(p256());
    let mut off_curve = p.clone();
    off_curve["y"] = p["x"].clone();
    let x25519 = public(&key(KeyType::X25519, "x"));
    let small_rsa = json!({"kty": "RSA", "e": "AQAB", "n": b64::encode(&[0xc5; 128])});
    for jwk in [
        None,
        Some(json!("a key")),
        Some(json!({})),
        Some(json!({"kty": "EC"})),
        Some(off_curve),
        Some(small_rsa),
        Some(json!({"kty": "XYZ", "x": "AA"})),
    ] {
        let proof = with_header(|h| match jwk {
            None => {
                h.remove("jwk");
            }
            Some(jwk) => {
                h.insert("jwk".into(), jwk);
            }
        });
        is(check(&proof), "key");
    }
    // Of a type that does not fit alg: X25519 for EdDSA, P-256 for ES384,
    // RSA for ES256, EC for PS256.
    for (alg, jwk) in [
        (SignatureAlg::EdDsa, x25519),
        (SignatureAlg::Es384, p.clone()),
        (SignatureAlg::Es256, public(rsa())),
        (SignatureAlg::Ps256, p),
    ] {
        let mut h = header(alg, p256());
        h["jwk"] = jwk;
        let proof = mint_raw(
            SignatureAlg::Es256,
            p256(),
            &serde_json::to_vec(&h).unwrap(),
            b"{}",
        );
        assert_eq!(
            check(&proof),
            Err(DpopError::Key("jwk does not fit alg")),
            "{alg}"
        );
    }
}

#[test]
fn an_rsa_jwk_over_the_policy_s_size_is_refused() {
    let proof = mint(
        SignatureAlg::Ps256,
        rsa(),
        &header(SignatureAlg::Ps256, rsa()),
        &claims(),
    );
    let small = ProofPolicy {
        max_rsa_bits: 1024,
        ..ProofPolicy::default()
    };
    // 2048 bits are always allowed, whatever the policy says...
    assert!(check_proof(&proof, &request(), NOW, &small).is_ok());
    // ...and the RSA-4096 default refuses an 8192-bit key, whose size the
    // sender chose.
    let n = b64::encode(&[0xd3; 1024]);
    let big = with_header(|h| {
        h.insert("alg".into(), json!("PS256"));
        h.insert("jwk".into(), json!({"kty": "RSA", "e": "AQAB", "n": n}));
    });
    assert_eq!(
        check(&big),
        Err(DpopError::Key("RSA jwk over max_rsa_bits"))
    );
}

// ---- alg, typ ----

#[test]
fn alg_none_is_refused() {
    for none in ["none", "None", "NONE"] {
        let mut h = header(SignatureAlg::Es256, p256());
        h["alg"] = json!(none);
        let proof = format!(
            "{}.{}.",
            b64::encode(&serde_json::to_vec(&h).unwrap()),
            b64::encode(&serde_json::to_vec(&claims()).unwrap())
        );
        assert_eq!(
            check(&proof),
            Err(DpopError::Alg("alg none is refused")),
            "{none}"
        );
    }
}

#[test]
fn alg_hs256_is_refused_even_when_listed() {
    let secret = Jwk::bare(jwk::generate(KeyType::Oct { bytes: 32 }).unwrap());
    let mut policy = ProofPolicy::default();
    policy.algorithms.insert(SignatureAlg::Hs256);
    for jwk in [
        public(p256()),
        json!({"kty": "oct", "k": b64::encode(&[7u8; 32])}),
    ] {
        let h = json!({"typ": TYP, "alg": "HS256", "jwk": jwk});
        let proof = mint(SignatureAlg::Hs256, &secret, &h, &claims());
        let err = check_proof(&proof, &request(), NOW, &policy).unwrap_err();
        assert_eq!(err, DpopError::Alg("a symmetric alg proves no possession"));
    }
}

#[test]
fn an_alg_outside_the_allow_list_is_refused() {
    let policy = ProofPolicy {
        algorithms: [SignatureAlg::Es256].into(),
        ..ProofPolicy::default()
    };
    let eddsa = mint(
        SignatureAlg::EdDsa,
        ed25519(),
        &header(SignatureAlg::EdDsa, ed25519()),
        &claims(),
    );
    assert_eq!(
        check_proof(&eddsa, &request(), NOW, &policy),
        Err(DpopError::Alg("alg not in the DPoP allow-list"))
    );
    assert!(check_proof(&valid(), &request(), NOW, &policy).is_ok());
    // Names we do not support at all (`Ed25519`, RFC 9864, is supported:
    // with a P-256 key it fails as a key that does not fit), and the wrong
    // JSON type.
    for alg in [
        json!("ES256K"),
        json!("Ed448"),
        json!("RSA1_5"),
        json!("es256"),
    ] {
        let proof = with_header(|h| {
            h.insert("alg".into(), alg);
        });
        is(check(&proof), "alg");
    }
    let proof = with_header(|h| {
        h.insert("alg".into(), json!(["ES256"]));
    });
    is(check(&proof), "malformed");
}

#[test]
fn typ_must_be_exactly_dpop_jwt() {
    for typ in [
        None,
        Some(json!("jwt")),
        Some(json!("JWT")),
        Some(json!("DPoP+jwt")),
        Some(json!("application/dpop+jwt")),
        Some(json!("at+jwt")),
        Some(json!(["dpop+jwt"])),
    ] {
        let proof = with_header(|h| match typ {
            None => {
                h.remove("typ");
            }
            Some(typ) => {
                h.insert("typ".into(), typ);
            }
        });
        assert_eq!(check(&proof), Err(DpopError::Typ));
    }
}

#[test]
fn crit_is_refused() {
    let proof = with_header(|h| {
        h.insert("crit".into(), json!(["exp"]));
        h.insert("exp".into(), json!(1));
    });
    is(check(&proof), "malformed");
}

// ---- the signature ----

#[test]
fn a_signature_by_another_key_than_the_header_s_is_refused() {
    let thief = key(KeyType::P256, "thief");
    // Signed by the thief's key, naming the victim's.
    let proof = mint(
        SignatureAlg::Es256,
        &thief,
        &header(SignatureAlg::Es256, p256()),
        &claims(),
    );
    assert_eq!(check(&proof), Err(DpopError::Signature));
    // And the other way round: the thief names their key, with the
    // victim's signature.
    let victims = valid();
    let thief_header =
        b64::encode(&serde_json::to_vec(&header(SignatureAlg::Es256, &thief)).unwrap());
    let (_, rest) = victims.split_once('.').unwrap();
    assert_eq!(
        check(&format!("{thief_header}.{rest}")),
        Err(DpopError::Signature)
    );
}

#[test]
fn a_tampered_proof_is_refused() {
    let proof = valid();
    let parts: Vec<&str> = proof.split('.').collect();
    let mut c = claims();
    c["htu"] = json!("https://api.example/admin");
    let payload = b64::encode(&serde_json::to_vec(&c).unwrap());
    assert_eq!(
        check(&format!("{}.{payload}.{}", parts[0], parts[2])),
        Err(DpopError::Signature)
    );
    // A header with one more member, the same signature.
    let mut h = header(SignatureAlg::Es256, p256());
    h["kid"] = json!("x");
    let header = b64::encode(&serde_json::to_vec(&h).unwrap());
    assert_eq!(
        check(&format!("{header}.{}.{}", parts[1], parts[2])),
        Err(DpopError::Signature)
    );
    // A signature cut short, or empty.
    let short = &parts[2][..parts[2].len() - 2];
    assert_eq!(
        check(&format!("{}.{}.{short}", parts[0], parts[1])),
        Err(DpopError::Signature)
    );
    assert_eq!(
        check(&format!("{}.{}.", parts[0], parts[1])),
        Err(DpopError::Signature)
    );
}

// ---- shape and size ----

#[test]
fn wrong_segment_counts_are_refused() {
    let proof = valid();
    let parts: Vec<&str> = proof.split('.').collect();
    for bad in [
        String::new(),
        parts[0].to_string(),
        format!("{}.{}", parts[0], parts[1]),
        // Two signatures.
        format!("{proof}.{}", parts[2]),
        format!("{proof}."),
        // A JWE's five segments.
        format!("{}.{}.{}.{}.{}", parts[0], "", parts[1], parts[2], "x"),
        // The JSON serialization.
        json!({"protected": parts[0], "payload": parts[1], "signature": parts[2]}).to_string(),
    ] {
        is(check(&bad), "malformed");
    }
}

#[test]
fn bad_base64url_is_refused() {
    let proof = valid();
    let parts: Vec<&str> = proof.split('.').collect();
    for bad in [
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}==.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}+", parts[0], parts[1], parts[2]),
        format!(" {proof}"),
        format!("{proof}\n"),
    ] {
        is(check(&bad), "malformed");
    }
}

#[test]
fn an_oversized_proof_is_refused_before_anything_is_read() {
    let policy = ProofPolicy::default();
    let big = with_claims(|c| {
        c.insert("pad".into(), json!("x".repeat(policy.max_proof_bytes)));
    });
    assert_eq!(
        check(&big),
        Err(DpopError::TooLarge("proof over max_proof_bytes"))
    );
    // Any bytes at all, over the limit.
    is(check(&"!".repeat(policy.max_proof_bytes + 1)), "too_large");
    // A header over its own bound, in a proof the policy would allow.
    let wide = ProofPolicy {
        max_proof_bytes: 64 * 1024,
        ..ProofPolicy::default()
    };
    let fat = with_header(|h| {
        h.insert("pad".into(), json!("x".repeat(MAX_HEADER_BYTES)));
    });
    assert_eq!(
        check_proof(&fat, &request(), NOW, &wide),
        Err(DpopError::TooLarge("header over its size bound"))
    );
    // The same bound with a proof just under it is fine.
    let exact = valid();
    let tight = ProofPolicy {
        max_proof_bytes: exact.len(),
        ..ProofPolicy::default()
    };
    assert!(check_proof(&exact, &request(), NOW, &tight).is_ok());
    let tighter = ProofPolicy {
        max_proof_bytes: exact.len() - 1,
        ..ProofPolicy::default()
    };
    is(check_proof(&exact, &request(), NOW, &tighter), "too_large");
}

#[test]
fn duplicate_members_are_refused() {
    let jwk = serde_json::to_string(&public(p256())).unwrap();
    let claims_json = serde_json::to_string(&claims()).unwrap();
    // In the header: typ twice (the second is what a last-wins parser sees).
    let header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"typ":"jwt"}}"#);
    let proof = mint_raw(
        SignatureAlg::Es256,
        p256(),
        header.as_bytes(),
        claims_json.as_bytes(),
    );
    is(check(&proof), "malformed");
    // Inside the jwk: x twice.
    let x = public(p256())["x"].clone();
    let inner = jwk.replacen('{', &format!(r#"{{"x":{x},"#), 1);
    let header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{inner}}}"#);
    let proof = mint_raw(
        SignatureAlg::Es256,
        p256(),
        header.as_bytes(),
        claims_json.as_bytes(),
    );
    is(check(&proof), "malformed");
    // In the claims: htu twice, the second one the request's.
    let header = serde_json::to_vec(&self::header(SignatureAlg::Es256, p256())).unwrap();
    let twice = claims_json.replacen('{', r#"{"htu":"https://evil.example/","#, 1);
    let proof = mint_raw(SignatureAlg::Es256, p256(), &header, twice.as_bytes());
    is(check(&proof), "malformed");
    // An escaped spelling of the same name is the same name.
    let escaped = claims_json.replacen('{', r#"{"\u0068tm":"POST","#, 1);
    let proof = mint_raw(SignatureAlg::Es256, p256(), &header, escaped.as_bytes());
    is(check(&proof), "malformed");
}

#[test]
fn claims_that_are_not_an_object_are_refused() {
    let header = serde_json::to_vec(&header(SignatureAlg::Es256, p256())).unwrap();
    for claims in [
        &b"[]"[..],
        b"\"jti\"",
        b"1800000000",
        b"null",
        b"",
        b"{\"jti\":\"a\"} {}",
        b"{\"jti\":",
    ] {
        let proof = mint_raw(SignatureAlg::Es256, p256(), &header, claims);
        assert_eq!(
            check(&proof),
            Err(DpopError::Malformed("claims are not a strict JSON object")),
            "{}",
            String::from_utf8_lossy(claims)
        );
    }
    // Nesting beyond the JSON parser's bound.
    let deep = format!("{{\"x\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    let proof = mint_raw(SignatureAlg::Es256, p256(), &header, deep.as_bytes());
    is(check(&proof), "malformed");
}

#[test]
fn a_header_that_is_not_an_object_is_refused() {
    let claims = serde_json::to_vec(&claims()).unwrap();
    for header in [&b"[]"[..], b"\"dpop+jwt\"", b"", b"{\"typ\":\"dpop+jwt\""] {
        let proof = mint_raw(SignatureAlg::Es256, p256(), header, &claims);
        is(check(&proof), "malformed");
    }
}

#[test]
fn no_detail_carries_proof_contents() {
    // A marker in every place a proof can carry text.
    const MARK: &str = "SECRETMARK";
    let proofs = [
        with_claims(|c| {
            c.insert("jti".into(), json!(MARK.repeat(40)));
        }),
        with_claims(|c| {
            c.insert("htu".into(), json!(format!("https://{MARK}/")));
        }),
        with_claims(|c| {
            c.insert("htm".into(), json!(MARK));
        }),
        with_header(|h| {
            h.insert("alg".into(), json!(MARK));
        }),
        with_header(|h| {
            h.insert("typ".into(), json!(MARK));
        }),
        with_header(|h| {
            h["jwk"]["kty"] = json!(MARK);
        }),
        with_header(|h| {
            h["jwk"]["alg"] = json!(MARK);
        }),
    ];
    for proof in proofs {
        let err = check(&proof).unwrap_err();
        assert!(!err.to_string().contains(MARK), "{err}");
        assert!(!format!("{err:?}").contains(MARK), "{err:?}");
    }
}

// ---- RFC 9449's examples ----

/// RFC 9449 §7.1, Figure 13: a proof sent to a protected resource with
/// the access token of Figure 12.
const RFC_RESOURCE_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
const RFC_ACCESS_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
/// RFC 9449 §4.1 (decoded in §4.2, Figure 3): the proof of a token request.
const RFC_TOKEN_REQUEST_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
/// The thumbprint of both proofs' key (§6.1).
const RFC_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

#[test]
fn rfc9449_resource_proof_is_accepted_at_its_time() {
    let req = ProofRequest {
        method: "GET",
        htu: "https://resource.example.org/protectedresource",
        access_token: RFC_ACCESS_TOKEN,
        nonce: None,
    };
    let policy = ProofPolicy::default();
    let checked = check_proof(RFC_RESOURCE_PROOF, &req, 1_562_262_618, &policy).unwrap();
    assert_eq!(
        checked,
        CheckedProof {
            jkt: RFC_JKT.into(),
            jti: "e1j3V_bKic8-LAEB".into(),
            iat: 1_562_262_618,
        }
    );
    // Today it is stale; for another token it is not ours.
    is(
        check_proof(RFC_RESOURCE_PROOF, &req, NOW, &policy),
        "iat_stale",
    );
    let other = ProofRequest {
        access_token: TOKEN,
        ..req
    };
    is(
        check_proof(RFC_RESOURCE_PROOF, &other, 1_562_262_618, &policy),
        "ath",
    );
}

#[test]
fn rfc9449_token_request_proof_verifies_and_lacks_only_ath() {
    let req = ProofRequest {
        method: "POST",
        htu: "https://server.example.com/token",
        access_token: RFC_ACCESS_TOKEN,
        nonce: None,
    };
    // Every check before `ath` passed (signature, htm, htu, iat): a token
    // request carries no access token, and a resource server needs one.
    assert_eq!(
        check_proof(
            RFC_TOKEN_REQUEST_PROOF,
            &req,
            1_562_262_616,
            &ProofPolicy::default()
        ),
        Err(DpopError::MissingClaim("ath is missing"))
    );
    let parsed = ParsedProof::parse(RFC_TOKEN_REQUEST_PROOF, &ProofPolicy::default()).unwrap();
    assert_eq!(parsed.alg(), SignatureAlg::Es256);
    assert_eq!(jwk::jwk_thumbprint(parsed.key()).unwrap(), RFC_JKT);
}
