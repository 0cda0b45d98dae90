//! `remote_jwks` end to end in a real Envoy, against a JWKS server on
//! loopback whose answers the test changes: first fetch with the request
//! held until the keys arrive, rotation picked up by an unknown `kid`, the
//! refetch rate limit, failed and malformed fetches keeping the last good
//! keys, and a slow server hitting the timeout.

use crate::idp;

use crate::common::mint;
use crate::harness::{demo_key, Envoy};
use idp::*;
use jwe_authn::jose::alg::{
    ContentEncryptionAlg as Enc, KeyManagementAlg as Alg, SignatureAlg as Sig,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn keys_are_fetched_rotated_and_kept_through_failures() {
    let first = signer("sig-1");
    let second = signer("sig-2");
    let answer = answer(jwks(&[&first]), Duration::from_millis(1500));
    let port = jwks_server(Arc::clone(&answer));
    let envoy = Envoy::start(1, |t| with_remote_jwks(t, port, "5s", "3s"));

    // The first keys are still on their way: the request waits, then passes.
    let r = envoy.request("GET", "/orders", &[("authorization", &token(&first))]);
    assert_eq!(r.status, 200, "{}", filter_log(&envoy));
    assert_eq!(r.echoed("x-jwt-sub"), Some("alice"));
    assert!(envoy.stat("wasmcustom.jwe_authn.jwks_fetched") >= 1);
    answer.lock().unwrap().delay = Duration::ZERO;

    // Rotation: the IdP now signs with sig-2; the unknown kid triggers a refetch.
    answer.lock().unwrap().body = jwks(&[&second]);
    let r = envoy.request("GET", "/orders", &[("authorization", &token(&second))]);
    assert_eq!(r.status, 200, "{}", filter_log(&envoy));

    // An unknown kid again within the refetch interval: no extra fetch, 401.
    let hits = answer.lock().unwrap().hits;
    let stranger = signer("sig-3");
    assert_eq!(
        envoy
            .request("GET", "/orders", &[("authorization", &token(&stranger))])
            .status,
        401
    );
    assert_eq!(
        envoy
            .request("GET", "/orders", &[("authorization", &token(&stranger))])
            .status,
        401
    );
    // Two refetches without the limit; at most the scheduled refresh
    // (every ~3 s here) with it.
    let extra = answer.lock().unwrap().hits - hits;
    assert!(
        extra <= 1,
        "unknown-kid refetches are rate-limited ({extra} fetches)"
    );
    assert!(envoy.stat("wasmcustom.jwe_authn.denied.signature") >= 2);

    // The server fails, then serves garbage: the last good keys stay in use.
    {
        let mut a = answer.lock().unwrap();
        a.status = 500;
        a.body = "oops".into();
    }
    std::thread::sleep(Duration::from_millis(4500)); // past cache_duration: a refresh fails
    assert!(
        envoy.stat("wasmcustom.jwe_authn.jwks_fetch_failed") >= 1,
        "{}",
        envoy.log()
    );
    let fresh = token(&second);
    assert_eq!(
        envoy
            .request("GET", "/orders", &[("authorization", &fresh)])
            .status,
        200
    );
    {
        let mut a = answer.lock().unwrap();
        a.status = 200;
        a.body = r#"{"keys": "not a list"}"#.into();
    }
    let failed = envoy.stat("wasmcustom.jwe_authn.jwks_fetch_failed");
    std::thread::sleep(Duration::from_millis(4500));
    assert!(
        envoy.stat("wasmcustom.jwe_authn.jwks_fetch_failed") > failed,
        "the malformed JWKS counts as a failure"
    );
    assert_eq!(
        envoy
            .request("GET", "/orders", &[("authorization", &token(&second))])
            .status,
        200
    );
    assert!(envoy.log().contains("keeping the last good one"));
    assert_eq!(envoy.stat("wasm.jwe_authn.vm_reload"), 0);
}

#[test]
fn a_slow_jwks_server_ends_in_401_jwks_unavailable() {
    let key = signer("sig-1");
    let answer = answer(jwks(&[&key]), Duration::from_secs(30));
    let port = jwks_server(Arc::clone(&answer));
    let envoy = Envoy::start(1, |t| with_remote_jwks(t, port, "1s", "600s"));
    let r = envoy.request("GET", "/orders", &[("authorization", &token(&key))]);
    assert_eq!(r.status, 401, "never forwarded unauthenticated");
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    assert!(
        envoy.stat("wasmcustom.jwe_authn.denied.jwks_unavailable") >= 1,
        "{}",
        envoy.log()
    );
    assert_eq!(envoy.stat("cluster.echo.upstream_rq_total"), 0);
}

#[test]
fn a_token_revoked_while_cached_is_rejected_at_the_next_refresh() {
    let key = demo_key("sign.jwk");
    let answer = answer(String::new(), Duration::ZERO);
    answer
        .lock()
        .unwrap()
        .routes
        .push(("/revoked".into(), r#"{"jti": []}"#.into()));
    let port = jwks_server(Arc::clone(&answer));
    let envoy = Envoy::start(1, |t| with_revocation_list(t, port, ""));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": "https://idp.demo.example", "sub": "alice", "aud": "orders-api", "jti": "t-1", "exp": now + 600});
    let auth = format!(
        "Bearer {}",
        mint(
            Sig::EdDsa,
            &key,
            Alg::EcdhEsA256Kw,
            Enc::A256Gcm,
            &demo_key("encrypt.pub.jwk"),
            &claims
        )
    );
    std::thread::sleep(Duration::from_millis(1500)); // the first list has arrived
    assert_eq!(
        envoy
            .request("GET", "/orders", &[("authorization", &auth)])
            .status,
        200,
        "{}",
        filter_log(&envoy)
    );
    assert_eq!(
        envoy
            .request("GET", "/orders", &[("authorization", &auth)])
            .status,
        200
    );
    assert!(
        envoy.stat("wasmcustom.jwe_authn.cache.hit") >= 1,
        "the token is cached"
    );
    answer.lock().unwrap().routes[0].1 = r#"{"jti": ["t-1"]}"#.into();
    std::thread::sleep(Duration::from_millis(3000)); // the list refreshes every second
    let r = envoy.request("GET", "/orders", &[("authorization", &auth)]);
    assert_eq!(r.status, 401, "{}", filter_log(&envoy));
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    assert!(envoy.stat("wasmcustom.jwe_authn.denied.revoked") >= 1);
}

#[test]
fn openid_connect_discovery_finds_the_keys() {
    let key = signer("sig-d");
    let answer = answer(String::new(), Duration::ZERO);
    answer.lock().unwrap().routes = vec![
        ("/.well-known/openid-configuration".into(), json!({"issuer": "https://idp.demo.example", "jwks_uri": "https://idp.demo.example/keys"}).to_string()),
        ("/keys".into(), jwks(&[&key])),
    ];
    let port = jwks_server(Arc::clone(&answer));
    let envoy = Envoy::start(1, |t| {
        with_keys_from(
            t,
            port,
            r#""discovery": {"cluster": "idp", "timeout": "5s"},"#,
        )
    });
    let r = envoy.request("GET", "/orders", &[("authorization", &token(&key))]);
    assert_eq!(r.status, 200, "{}", filter_log(&envoy));
    assert!(
        envoy.stat("wasmcustom.jwe_authn.jwks_fetched") >= 2,
        "discovery, then the JWKS"
    );
}

#[test]
fn discovery_for_another_issuer_is_refused() {
    let key = signer("sig-d");
    let answer = answer(String::new(), Duration::ZERO);
    answer.lock().unwrap().routes = vec![
        (
            "/.well-known/openid-configuration".into(),
            json!({"issuer": "https://evil.example", "jwks_uri": "https://idp.demo.example/keys"})
                .to_string(),
        ),
        ("/keys".into(), jwks(&[&key])),
    ];
    let port = jwks_server(Arc::clone(&answer));
    let envoy = Envoy::start(1, |t| {
        with_keys_from(
            t,
            port,
            r#""discovery": {"cluster": "idp", "timeout": "1s"},"#,
        )
    });
    let r = envoy.request("GET", "/orders", &[("authorization", &token(&key))]);
    assert_eq!(r.status, 401);
    assert!(
        envoy.log().contains("WrongIssuer"),
        "{}",
        filter_log(&envoy)
    );
}

#[test]
fn a_jwks_over_max_jwks_bytes_is_a_failed_fetch() {
    // A valid JWKS made larger than the limit by whitespace: were its size
    // not checked, its key would be used and the token below would pass.
    let key = signer("sig-big");
    let small = jwks(&[&key]);
    let limit = 4096;
    let big = format!("{small}{}", " ".repeat(limit));
    let answer = answer(big, Duration::ZERO);
    let port = jwks_server(Arc::clone(&answer));
    let remote = format!(
        r#""remote_jwks": {{"http_uri": {{"uri": "http://idp.test/.well-known/jwks.json", "cluster": "idp", "timeout": "1s"}}, "cache_duration": "600s", "max_jwks_bytes": {limit}}},"#
    );
    let envoy = Envoy::start(1, |t| with_keys_from(t, port, &remote));
    let auth = token(&key);

    let r = envoy.request("GET", "/orders", &[("authorization", &auth)]);
    assert_eq!(r.status, 401, "{}", filter_log(&envoy));
    assert!(
        envoy.stat("wasmcustom.jwe_authn.denied.jwks_unavailable") >= 1,
        "{}",
        filter_log(&envoy)
    );
    assert!(envoy.stat("wasmcustom.jwe_authn.jwks_fetch_failed") >= 1);
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.jwks_fetched"), 0);
    assert!(
        envoy
            .log()
            .contains("fetch for provider demo-idp failed (TooLarge"),
        "{}",
        filter_log(&envoy)
    );
    assert_eq!(envoy.stat("cluster.echo.upstream_rq_total"), 0);

    // The same keys within the limit are taken at the next retry (the
    // backoff is at most a few seconds here): the body was refused for its
    // size alone.
    answer.lock().unwrap().body = small;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        let status = envoy
            .request("GET", "/orders", &[("authorization", &auth)])
            .status;
        if status == 200 || std::time::Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(status, 200, "{}", filter_log(&envoy));
    assert_eq!(envoy.stat("wasm.jwe_authn.vm_reload"), 0);
}
