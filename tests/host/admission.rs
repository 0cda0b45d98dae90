//! End to end, in a real Envoy: the cold-path budget (issue 14). With a
//! tiny budget, new tokens beyond it are answered `503` with `retry-after`
//! at once — never forwarded, never 401, never cached — while a cached
//! token and a public route are still served, and the budget refills; one
//! flooding address spends only its share, so another address still gets
//! a decryption; and a client cannot buy itself more shares by inventing
//! `x-forwarded-for` values or new connections, unless the connection
//! manager is told to trust that header.
//!
//! These are functional tests: speed under a flood is `make flood`'s.

use crate::harness::{demo_token, http_from, now, Envoy, Response};
use serde_json::json;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// A token no cache has seen: ECDH-ES+A256KW on X25519, then EdDSA (the
/// demo keys): 2 + 3 budget units, about 0.5 ms of a worker.
fn fresh() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let claims = json!({"iss": "https://idp.demo.example", "sub": format!("user-{n}"),
        "aud": "orders-api", "scope": "orders:read", "exp": now() + 600, "iat": now()});
    demo_token(&claims)
}

/// The demo configuration with this `admission` object.
fn admission(members: &'static str) -> impl Fn(String) -> String {
    move |text| {
        let edited = text.replace(
            r#""realm": "orders-api","#,
            &format!(r#""realm": "orders-api", "admission": {{{members}}},"#),
        );
        assert_ne!(
            edited, text,
            "envoy/envoy.yaml no longer has the realm line"
        );
        edited
    }
}

fn get(envoy: &Envoy, from: Ipv4Addr, path: &str, headers: &[(&str, &str)]) -> Response {
    http_from(from, envoy.api, "GET", path, headers).expect("an answer")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Fresh tokens from `from` (with `extra` headers) until one is shed, at
/// most `limit`: how many were served first, and the shed answer and its
/// token. Panics on any answer but 200 or 503.
fn until_shed(
    envoy: &Envoy,
    from: Ipv4Addr,
    extra: &[(&str, &str)],
    limit: usize,
) -> (usize, Response, String) {
    for served in 0..limit {
        let token = fresh();
        let auth = bearer(&token);
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        let r = get(envoy, from, "/orders", &headers);
        match r.status {
            200 => continue,
            503 => return (served, r, token),
            other => panic!("a fresh token was answered {other}: {}", r.body),
        }
    }
    panic!("{limit} fresh tokens and none shed: the budget is not applied");
}

#[test]
fn a_spent_budget_sheds_new_tokens_while_cached_tokens_and_public_routes_are_served() {
    // 1 % of a worker: 100 units per second, at most 100 held (20 of these
    // tokens); one source may use all of it.
    let envoy = Envoy::start(
        1,
        admission(r#""worker_percent": 1, "source_percent": 100"#),
    );
    let cached = fresh();
    assert_eq!(
        get(&envoy, A, "/orders", &[("authorization", &bearer(&cached))]).status,
        200
    );

    let (served, shed, shed_token) = until_shed(&envoy, A, &[], 200);
    assert!(
        served >= 5,
        "only {served} fresh tokens before the first shed"
    );
    // The answer: retry shortly, with the same token; no challenge, never
    // stored, and from the filter, not the upstream.
    assert_eq!(shed.header("retry-after"), Some("1"));
    assert_eq!(shed.header("www-authenticate"), None);
    assert_eq!(shed.header("cache-control"), Some("no-store"));
    assert_eq!(shed.header("content-type"), Some("application/json"));
    assert!(
        shed.body.contains(r#""error":"temporarily_unavailable""#),
        "{}",
        shed.body
    );
    assert_eq!(shed.echoed("x-jwt-sub"), None, "forwarded: {}", shed.body);

    // While the budget is spent: the cached token, a public route and a
    // request without a token are answered as ever (none draws on it).
    let r = get(&envoy, A, "/orders", &[("authorization", &bearer(&cached))]);
    assert_eq!(r.status, 200);
    assert!(r.echoed("x-jwt-sub").is_some());
    assert_eq!(get(&envoy, A, "/health", &[]).status, 200);
    assert_eq!(get(&envoy, A, "/orders", &[]).status, 401);
    // A token refused by cheap checks is still a 401, not a 503.
    assert_eq!(
        get(
            &envoy,
            A,
            "/orders",
            &[("authorization", "Bearer a.b.c.d.e")]
        )
        .status,
        401
    );

    // The budget refills: after a second the shed token itself is served
    // (it was not remembered as refused, nor as valid).
    std::thread::sleep(Duration::from_millis(1200));
    let r = get(
        &envoy,
        A,
        "/orders",
        &[("authorization", &bearer(&shed_token))],
    );
    assert_eq!(r.status, 200, "{}", r.body);

    let overloaded = envoy.stat("wasmcustom.jwe_authn.denied.overloaded");
    assert!(overloaded >= 1);
    assert_eq!(
        envoy.stat("wasmcustom.jwe_authn.admission.shed.source_share")
            + envoy.stat("wasmcustom.jwe_authn.admission.shed.budget"),
        overloaded
    );
    // What the served tokens really took was charged, and no more than the
    // budget gave: 100 held at the start plus 100 a second (the test runs
    // well under 10 s).
    let spent = envoy.stat("wasmcustom.jwe_authn.admission.spent_units");
    assert!(spent > 0 && spent <= 100 + 10 * 100, "spent {spent}");
    // One debug line per shed request, with the address and never the token.
    let log = envoy.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("reason=overloaded"))
        .collect();
    assert!(!lines.is_empty(), "no log line for a shed request");
    assert!(
        lines.iter().all(|l| l.contains("source=127.0.0.1:")),
        "{lines:?}"
    );
    assert!(!log.contains(&shed_token[..40]), "a token in the log");
}

#[test]
fn one_flooding_address_leaves_budget_for_another_and_cannot_invent_more() {
    // 100 units per second for the worker; one address holds 10 % of it:
    // one or two of these tokens, refilled within a second.
    let envoy = Envoy::start(1, admission(r#""worker_percent": 1, "source_percent": 10"#));
    let (served, _, _) = until_shed(&envoy, A, &[], 20);
    assert!(served >= 1);
    // New connections (new ports) and made-up x-forwarded-for values are
    // the same address: still shed.
    let (served, _, _) = until_shed(&envoy, A, &[("x-forwarded-for", "198.51.100.7")], 20);
    assert_eq!(served, 0, "an invented x-forwarded-for bought a new share");
    // Another address finds its own share at once.
    let token = fresh();
    let r = get(&envoy, B, "/orders", &[("authorization", &bearer(&token))]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(envoy.stat("wasmcustom.jwe_authn.admission.shed.source_share") >= 2);
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.admission.shed.budget"), 0);
}

#[test]
fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_share() {
    // The connection manager trusts one hop of x-forwarded-for: Envoy's
    // `source.address` is then the client that hop names.
    let trusting = |text: String| {
        let text = admission(r#""worker_percent": 1, "source_percent": 10"#)(text);
        assert!(text.contains("          use_remote_address: true\n"));
        text.replacen(
            "          use_remote_address: true\n",
            "          use_remote_address: true\n          xff_num_trusted_hops: 1\n",
            1,
        )
    };
    let envoy = Envoy::start(1, trusting);
    let one = [("x-forwarded-for", "198.51.100.7")];
    let (served, _, _) = until_shed(&envoy, A, &one, 20);
    assert!(served >= 1);
    // The same connection address, another forwarded client: served.
    let token = fresh();
    let auth = bearer(&token);
    let r = get(
        &envoy,
        A,
        "/orders",
        &[("authorization", &auth), ("x-forwarded-for", "203.0.113.9")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(envoy
        .log()
        .lines()
        .any(|l| l.contains("reason=overloaded") && l.contains("source=198.51.100.7")));
}

#[test]
fn admission_can_be_turned_off() {
    let envoy = Envoy::start(
        1,
        admission(r#""enabled": false, "worker_percent": 1, "source_percent": 5"#),
    );
    for _ in 0..30 {
        let token = fresh();
        assert_eq!(
            get(&envoy, A, "/orders", &[("authorization", &bearer(&token))]).status,
            200
        );
    }
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.denied.overloaded"), 0);
}
