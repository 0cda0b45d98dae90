//! DPoP-bound tokens (RFC 9449), end to end in a real Envoy: the demo
//! provider with `dpop`, a token bound to a key made here, a proof for the
//! request accepted with `Authorization: DPoP`, the same proof replayed
//! refused with a `DPoP` challenge, the token as `Bearer` refused, and the
//! stats counted; with two workers, a proof used on one is a replay on the
//! other (the replay store is shared data).

use crate::common::{dpop_proof, jkt, key};
use crate::harness::{demo_token, now, Envoy};
use jwe_authn::jose::alg::SignatureAlg;
use jwe_authn::jose::jwk::{Jwk, KeyType};
use serde_json::json;

/// The demo with `dpop` (these members) on its provider.
fn with_dpop(members: &'static str) -> impl Fn(String) -> String {
    move |text: String| {
        const ISSUER: &str = r#""issuer": "https://idp.demo.example","#;
        assert!(text.contains(ISSUER));
        text.replacen(ISSUER, &format!(r#"{ISSUER} "dpop": {{{members}}},"#), 1)
    }
}

fn bound_token(client: &Jwk) -> String {
    demo_token(
        &json!({"iss": "https://idp.demo.example", "sub": "alice", "aud": "orders-api",
        "scope": "orders:read", "exp": now() + 600, "iat": now(), "cnf": {"jkt": jkt(client)}}),
    )
}

/// The harness sends `host: localhost` over plain HTTP.
const HTU: &str = "http://localhost/orders/1";

fn proof(client: &Jwk, token: &str, jti: &str) -> String {
    dpop_proof(SignatureAlg::Es256, client, "GET", HTU, token, now(), jti)
}

#[test]
fn a_dpop_bound_token_is_accepted_with_a_fresh_proof_once() {
    let client = key(KeyType::P256, "client");
    let token = bound_token(&client);
    let envoy = Envoy::start(1, with_dpop(""));
    let auth = format!("DPoP {token}");
    let first = proof(&client, &token, "jti-first");
    let r = envoy.request(
        "GET",
        "/orders/1?x=1",
        &[("authorization", &auth), ("dpop", &first)],
    );
    assert_eq!(r.status, 200, "{r:?}\n{}", envoy.log());
    assert_eq!(r.echoed("x-jwt-sub"), Some("alice"), "{r:?}");
    // Replayed: refused, with a DPoP challenge.
    let r = envoy.request(
        "GET",
        "/orders/1",
        &[("authorization", &auth), ("dpop", &first)],
    );
    assert_eq!(r.status, 401, "{r:?}");
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(
        challenge.contains("error=\"invalid_dpop_proof\""),
        "{challenge}"
    );
    assert!(challenge.contains("ES256"), "{challenge}");
    // A fresh proof for the (now cached) token: accepted.
    let second = proof(&client, &token, "jti-second");
    let r = envoy.request(
        "GET",
        "/orders/1",
        &[("authorization", &auth), ("dpop", &second)],
    );
    assert_eq!(r.status, 200, "{r:?}");
    // The token as Bearer, even with a proof: refused.
    let third = proof(&client, &token, "jti-third");
    let r = envoy.request(
        "GET",
        "/orders/1",
        &[
            ("authorization", &format!("Bearer {token}")),
            ("dpop", &third),
        ],
    );
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r
        .header("www-authenticate")
        .is_some_and(|w| w.contains("invalid_token")));
    // No proof; a proof for another URI.
    let r = envoy.request("GET", "/orders/1", &[("authorization", &auth)]);
    assert_eq!(r.status, 401, "{r:?}");
    // An invalid token sent with the DPoP scheme: challenged in it.
    let r = envoy.request(
        "GET",
        "/orders/1",
        &[("authorization", "DPoP not.a.token"), ("dpop", &second)],
    );
    assert_eq!(r.status, 401, "{r:?}");
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("DPoP realm=") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
    // No token at all: both schemes are offered (RFC 9449 §7.1).
    let r = envoy.request("GET", "/orders/1", &[]);
    assert_eq!(r.status, 401, "{r:?}");
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer realm=")
            && challenge.contains(", DPoP realm=")
            && challenge.contains("algs=\"")
            && challenge.contains("ES256"),
        "{challenge}"
    );
    let elsewhere = dpop_proof(
        SignatureAlg::Es256,
        &client,
        "GET",
        "http://localhost/orders/2",
        &token,
        now(),
        "jti-elsewhere",
    );
    let r = envoy.request(
        "GET",
        "/orders/1",
        &[("authorization", &auth), ("dpop", &elsewhere)],
    );
    assert_eq!(r.status, 401, "{r:?}");
    // A proof whose signature is not its key's (checked by the host's
    // verify_signature in Envoy): refused.
    let forged = proof(&client, &token, "jti-forged");
    let (signed, signature) = forged.rsplit_once('.').unwrap();
    let mut signature = signature.as_bytes().to_vec();
    signature[10] = if signature[10] == b'A' { b'B' } else { b'A' };
    let forged = format!("{signed}.{}", String::from_utf8(signature).unwrap());
    let r = envoy.request(
        "GET",
        "/orders/1",
        &[("authorization", &auth), ("dpop", &forged)],
    );
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.denied.dpop_replayed"), 1);
    assert_eq!(
        envoy.stat("wasmcustom.jwe_authn.denied.dpop_bound_as_bearer"),
        1
    );
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.denied.dpop_missing"), 1);
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.denied.dpop_proof"), 2);
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.allowed"), 2);
    // Proofs, jti and thumbprints never reach the log.
    let log = envoy.log();
    assert!(!log.contains(&first) && !log.contains("jti-first"));
    assert!(!log.contains(&jkt(&client)));
    // The proofs' ES256 signatures went to Envoy's BoringSSL.
    assert!(
        log.contains("signatures are checked by the host's verify_signature"),
        "{log}"
    );
}

#[test]
fn a_proof_used_on_one_worker_is_a_replay_on_every_other() {
    let client = key(KeyType::P256, "client");
    let token = bound_token(&client);
    let envoy = Envoy::start(2, with_dpop(r#""max_age_seconds": 30"#));
    let auth = format!("DPoP {token}");
    // Each request on a fresh connection: spread over the two workers.
    let mut accepted = 0;
    for i in 0..8 {
        let p = proof(&client, &token, &format!("jti-{i}"));
        for _ in 0..3 {
            let r = envoy.request(
                "GET",
                "/orders/1",
                &[("authorization", &auth), ("dpop", &p)],
            );
            if r.status == 200 {
                accepted += 1;
            } else {
                assert_eq!(r.status, 401, "{r:?}");
            }
        }
    }
    assert_eq!(accepted, 8, "each proof accepted once, whichever worker");
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.denied.dpop_replayed"), 16);
}
