//! DPoP-bound tokens (RFC 9449) through `decide`, natively: a token with
//! `cnf.jkt` accepted only as `Authorization: DPoP` with one fresh proof
//! for the request, signed by that key, used once; one test per way to get
//! it wrong.

use crate::common::*;
use jwe_authn::admission::Unmetered;
use jwe_authn::cache::replay::{MemoryReplayStore, ReplayGuard};
use jwe_authn::cache::Cache;
use jwe_authn::config::CompiledConfig;
use jwe_authn::decide::{CacheUse, Decision};
use jwe_authn::dpop::DpopError;
use jwe_authn::error::{DpopFailure, Reason};
use jwe_authn::extract::Request;
use jwe_authn::fetch_schedule::FetchSchedule;
use jwe_authn::jose::alg::{
    ContentEncryptionAlg as Enc, KeyManagementAlg as Alg, SignatureAlg as Sig,
};
use jwe_authn::jose::jwk::{Jwk, KeyType};
use serde_json::{json, Value};
use std::sync::OnceLock;

const PLAIN_ISSUER: &str = "https://idp-plain.test";
const PATH: &str = "/orders/42?expand=items";
const HTU: &str = "https://api.example/orders/42";

struct Setup {
    enc: Jwk,
    sig: Jwk,
    /// The client's DPoP key.
    client: Jwk,
    config: CompiledConfig,
}

fn keys() -> &'static (Jwk, Jwk, Jwk) {
    static KEYS: OnceLock<(Jwk, Jwk, Jwk)> = OnceLock::new();
    KEYS.get_or_init(|| {
        (
            key(KeyType::Oct { bytes: 32 }, "e"),
            key(KeyType::P256, "s"),
            key(KeyType::P256, "client"),
        )
    })
}

/// Provider `test` with `dpop` (these members), and provider `plain`
/// (issuer [`PLAIN_ISSUER`], same keys) without.
fn setup(dpop: Value) -> Setup {
    let (enc, sig, client) = keys().clone();
    let mut config = config_value(&[private(&enc)], &[public(&sig)], json!({}));
    config["providers"]["plain"] = config["providers"]["test"].clone();
    config["providers"]["plain"]["issuer"] = json!(PLAIN_ISSUER);
    config["providers"]["test"]["dpop"] = dpop;
    Setup {
        config: compile(&config),
        enc,
        sig,
        client,
    }
}

fn token(s: &Setup, claims: &Value) -> String {
    mint(
        Sig::Es256,
        &s.sig,
        Alg::A256Kw,
        Enc::A256Gcm,
        &s.enc,
        claims,
    )
}

/// A token of provider `test` bound to the client's key.
fn bound(s: &Setup) -> String {
    let mut c = claims();
    c["cnf"] = json!({"jkt": jkt(&s.client)});
    token(s, &c)
}

fn proof(s: &Setup, method: &str, htu: &str, token: &str, jti: &str) -> String {
    dpop_proof(Sig::Es256, &s.client, method, htu, token, NOW, jti)
}

/// GET [`PATH`] on `https://api.example` with `headers` added.
fn run<'s>(s: &'s Setup, cache: &mut Cache, headers: &[(&str, &str)]) -> Decision<'s> {
    run_method(s, cache, "GET", headers)
}

fn run_method<'s>(
    s: &'s Setup,
    cache: &mut Cache,
    method: &str,
    headers: &[(&str, &str)],
) -> Decision<'s> {
    let mut all = vec![
        (":method", method),
        (":scheme", "https"),
        (":authority", "api.example"),
        (":path", PATH),
    ];
    all.extend_from_slice(headers);
    jwe_authn::decide::decide(
        &Request {
            method,
            path: PATH,
            headers: &all,
            ..Default::default()
        },
        NOW,
        &s.config,
        cache,
        &mut FetchSchedule::new(&s.config),
        &mut Unmetered,
    )
}

fn refused(d: &Decision, failure: DpopFailure) {
    match d {
        Decision::Deny(deny) => assert_eq!(deny.reason, Reason::Dpop(failure), "{deny:?}"),
        other => panic!("wanted {failure:?}, got {other:?}"),
    }
}

fn allowed(d: &Decision) -> CacheUse {
    match d {
        Decision::Allow(a) => a.cache,
        other => panic!("wanted allowed, got {other:?}"),
    }
}

#[test]
fn a_bound_token_with_its_proof_is_accepted_once() {
    let s = setup(json!({}));
    let mut cache = Cache::new(100, 300);
    let t = bound(&s);
    let auth = format!("DPoP {t}");
    let p = proof(&s, "GET", HTU, &t, "jti-1");
    let d = run(&s, &mut cache, &[("authorization", &auth), ("dpop", &p)]);
    assert_eq!(allowed(&d), CacheUse::Miss);
    if let Decision::Allow(a) = &d {
        assert!(
            a.remove.iter().any(|n| n == "authorization"),
            "the token does not travel on"
        );
    }
    // The same proof again: a replay, even though the token is cached.
    let d = run(&s, &mut cache, &[("authorization", &auth), ("dpop", &p)]);
    refused(&d, DpopFailure::Replayed);
    let Decision::Deny(deny) = &d else {
        unreachable!()
    };
    assert_eq!(deny.status, 401);
    let challenge = deny.www_authenticate.as_deref().unwrap();
    assert!(
        challenge.starts_with("DPoP realm=\"jwe-authn\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("algs=\"") && challenge.contains("ES256"),
        "{challenge}"
    );
    assert!(
        challenge.contains("error=\"invalid_dpop_proof\""),
        "{challenge}"
    );
    assert!(deny.body.contains("invalid_dpop_proof"));
    // A cached token still needs a fresh proof on each request.
    let d = run(&s, &mut cache, &[("authorization", &auth)]);
    refused(&d, DpopFailure::ProofMissing);
    let p2 = proof(&s, "GET", HTU, &t, "jti-2");
    let d = run(&s, &mut cache, &[("authorization", &auth), ("dpop", &p2)]);
    assert_eq!(allowed(&d), CacheUse::Hit);
}

#[test]
fn a_bound_token_sent_as_bearer_is_refused() {
    let s = setup(json!({}));
    let t = bound(&s);
    let p = proof(&s, "GET", HTU, &t, "j");
    let auth = format!("Bearer {t}");
    let d = run(
        &s,
        &mut Cache::new(100, 300),
        &[("authorization", &auth), ("dpop", &p)],
    );
    refused(&d, DpopFailure::BoundAsBearer);
    let Decision::Deny(deny) = &d else {
        unreachable!()
    };
    assert!(deny
        .www_authenticate
        .as_deref()
        .is_some_and(|w| w.contains("invalid_token")));
}

#[test]
fn exactly_one_proof_is_needed() {
    let s = setup(json!({}));
    let mut cache = Cache::new(100, 300);
    let t = bound(&s);
    let auth = format!("DPoP {t}");
    refused(
        &run(&s, &mut cache, &[("authorization", &auth)]),
        DpopFailure::ProofMissing,
    );
    let (a, b) = (
        proof(&s, "GET", HTU, &t, "a"),
        proof(&s, "GET", HTU, &t, "b"),
    );
    refused(
        &run(
            &s,
            &mut cache,
            &[("authorization", &auth), ("dpop", &a), ("DPoP", &b)],
        ),
        DpopFailure::ProofMissing,
    );
    // Neither was spent: `a` alone is still good.
    let d = run(&s, &mut cache, &[("authorization", &auth), ("dpop", &a)]);
    allowed(&d);
}

#[test]
fn a_proof_for_another_request_is_refused() {
    let s = setup(json!({}));
    let mut cache = Cache::new(100, 300);
    let t = bound(&s);
    let auth = format!("DPoP {t}");
    let cases = [
        ("POST", HTU, t.clone(), DpopError::Htm),
        (
            "GET",
            "https://api.example/orders/43",
            t.clone(),
            DpopError::Htu,
        ),
        (
            "GET",
            "http://api.example/orders/42",
            t.clone(),
            DpopError::Htu,
        ),
        (
            "GET",
            "https://other.example/orders/42",
            t.clone(),
            DpopError::Htu,
        ),
        ("GET", HTU, bound(&s), DpopError::Ath),
    ];
    for (i, (method, htu, for_token, error)) in cases.into_iter().enumerate() {
        let p = proof(&s, method, htu, &for_token, &format!("j{i}"));
        let d = run(&s, &mut cache, &[("authorization", &auth), ("dpop", &p)]);
        refused(&d, DpopFailure::Proof(error));
    }
    // The URI's form: scheme and host in any case, the default port, the
    // query ignored; the method as sent.
    let p = proof(
        &s,
        "GET",
        "HTTPS://API.example:443/orders/42?other=1",
        &t,
        "ok",
    );
    allowed(&run(
        &s,
        &mut cache,
        &[("authorization", &auth), ("dpop", &p)],
    ));
    let p = proof(&s, "POST", HTU, &t, "post");
    let d = run_method(
        &s,
        &mut cache,
        "POST",
        &[("authorization", &auth), ("dpop", &p)],
    );
    allowed(&d);
}

#[test]
fn a_proof_by_another_key_is_refused() {
    let s = setup(json!({}));
    let t = bound(&s);
    let other = key(KeyType::P256, "other");
    let p = dpop_proof(Sig::Es256, &other, "GET", HTU, &t, NOW, "j");
    let auth = format!("DPoP {t}");
    let d = run(
        &s,
        &mut Cache::new(100, 300),
        &[("authorization", &auth), ("dpop", &p)],
    );
    refused(&d, DpopFailure::KeyMismatch);
}

#[test]
fn the_dpop_scheme_needs_a_bound_token_of_a_dpop_provider() {
    let s = setup(json!({}));
    let mut cache = Cache::new(100, 300);
    // An unbound token of the DPoP provider.
    let t = token(&s, &claims());
    let p = proof(&s, "GET", HTU, &t, "j1");
    let auth = format!("DPoP {t}");
    let d = run(&s, &mut cache, &[("authorization", &auth), ("dpop", &p)]);
    refused(&d, DpopFailure::Unbound);
    // ... is a bearer token as `Bearer`.
    let bearer = format!("Bearer {t}");
    allowed(&run(&s, &mut cache, &[("authorization", &bearer)]));
    // A bound token of a provider without `dpop`: refused with the DPoP
    // scheme, a bearer token as `Bearer` (documented).
    let mut c = claims();
    c["iss"] = json!(PLAIN_ISSUER);
    c["cnf"] = json!({"jkt": jkt(&s.client)});
    let t = token(&s, &c);
    let p = proof(&s, "GET", HTU, &t, "j2");
    let auth = format!("DPoP {t}");
    let d = run(&s, &mut cache, &[("authorization", &auth), ("dpop", &p)]);
    refused(&d, DpopFailure::Unbound);
    let bearer = format!("Bearer {t}");
    allowed(&run(&s, &mut cache, &[("authorization", &bearer)]));
}

#[test]
fn required_refuses_a_token_without_cnf_jkt() {
    let s = setup(json!({"required": true}));
    let mut cache = Cache::new(100, 300);
    let bearer = format!("Bearer {}", token(&s, &claims()));
    refused(
        &run(&s, &mut cache, &[("authorization", &bearer)]),
        DpopFailure::Unbound,
    );
    let t = bound(&s);
    let p = proof(&s, "GET", HTU, &t, "j");
    let auth = format!("DPoP {t}");
    allowed(&run(
        &s,
        &mut cache,
        &[("authorization", &auth), ("dpop", &p)],
    ));
    // A `cnf.jkt` that is not a string is no binding at all.
    let mut c = claims();
    c["cnf"] = json!({"jkt": 7});
    let bearer = format!("Bearer {}", token(&s, &c));
    let d = run(&s, &mut cache, &[("authorization", &bearer)]);
    assert!(
        matches!(&d, Decision::Deny(d) if d.reason == Reason::Claims("cnf.jkt is not a string")),
        "{d:?}"
    );
}

#[test]
fn a_proof_is_a_replay_on_every_worker_sharing_the_store() {
    let s = setup(json!({}));
    let store = MemoryReplayStore::default();
    let worker =
        || Cache::new(100, 300).with_replay(ReplayGuard::new(Box::new(store.clone()), 1024));
    let (mut a, mut b) = (worker(), worker());
    let t = bound(&s);
    let auth = format!("DPoP {t}");
    let p = proof(&s, "GET", HTU, &t, "shared");
    allowed(&run(&s, &mut a, &[("authorization", &auth), ("dpop", &p)]));
    refused(
        &run(&s, &mut b, &[("authorization", &auth), ("dpop", &p)]),
        DpopFailure::Replayed,
    );
    assert_eq!(store.len(), 1);
}

#[test]
fn the_host_reads_what_the_proof_needs() {
    let s = setup(json!({}));
    for name in [":method", ":scheme", ":authority", ":path", "dpop", "DPoP"] {
        assert!(s.config.wants_header(name), "{name}");
    }
    assert!(s.config.dpop_enabled);
    // Without `dpop` anywhere, `DPoP` is no scheme of ours.
    let (enc, sig, _) = keys().clone();
    let plain = compile(&config_value(&[private(&enc)], &[public(&sig)], json!({})));
    assert!(!plain.dpop_enabled);
    assert!(!plain.wants_header("dpop"));
}

/// A budget that admits nothing (and counts what it was asked).
struct Spent(u32);

impl jwe_authn::admission::Gate for Spent {
    fn admit(&mut self, _units: u64) -> Result<(), jwe_authn::admission::Shed> {
        self.0 += 1;
        Err(jwe_authn::admission::Shed::Budget)
    }
}

#[test]
fn a_proof_s_signature_draws_on_the_cold_path_budget() {
    let s = setup(json!({}));
    let mut cache = Cache::new(100, 300);
    let t = bound(&s);
    let auth = format!("DPoP {t}");
    let p = proof(&s, "GET", HTU, &t, "first");
    allowed(&run(
        &s,
        &mut cache,
        &[("authorization", &auth), ("dpop", &p)],
    ));
    // The token is cached now; its next proof's signature still costs.
    let p = proof(&s, "GET", HTU, &t, "second");
    let headers = [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "api.example"),
        (":path", PATH),
        ("authorization", auth.as_str()),
        ("dpop", p.as_str()),
    ];
    let request = Request {
        method: "GET",
        path: PATH,
        headers: &headers,
        ..Default::default()
    };
    let mut gate = Spent(0);
    let d = jwe_authn::decide::decide(
        &request,
        NOW,
        &s.config,
        &mut cache,
        &mut FetchSchedule::new(&s.config),
        &mut gate,
    );
    assert!(
        matches!(&d, Decision::Deny(d) if matches!(d.reason, Reason::Overloaded(_)) && d.status == 503),
        "{d:?}"
    );
    assert_eq!(gate.0, 1);
    // Shed before its signature was checked: the proof was not spent.
    allowed(&run(
        &s,
        &mut cache,
        &[("authorization", &auth), ("dpop", &p)],
    ));
}

#[test]
fn a_request_that_waits_is_checked_with_its_proof_when_decided_again() {
    use jwe_authn::decide::{redecide, Redecided};
    use jwe_authn::fetch_schedule::Body;
    let (enc, sig, client) = keys().clone();
    let mut config = config_value(&[private(&enc)], &[public(&sig)], json!({}));
    config["providers"]["test"]["dpop"] = json!({});
    config["providers"]["test"]["revocation"] =
        json!({"http_uri": {"uri": "https://idp.test/revoked", "cluster": "idp"}});
    let s = Setup {
        config: compile(&config),
        enc,
        sig,
        client,
    };
    let mut cache = Cache::new(100, 300);
    let mut keys = FetchSchedule::new(&s.config);
    let t = bound(&s);
    let auth = format!("DPoP {t}");
    let p = proof(&s, "GET", HTU, &t, "parked");
    let headers = [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "api.example"),
        (":path", PATH),
        ("authorization", auth.as_str()),
        ("dpop", p.as_str()),
    ];
    let request = Request {
        method: "GET",
        path: PATH,
        headers: &headers,
        ..Default::default()
    };
    let decision = jwe_authn::decide::decide(
        &request,
        NOW,
        &s.config,
        &mut cache,
        &mut keys,
        &mut Unmetered,
    );
    let Decision::Wait(parked) = decision else {
        panic!("no list yet: the request waits, got {decision:?}");
    };
    assert!(parked.presented.dpop_scheme);
    assert_eq!(parked.presented.method, "GET");
    assert_eq!(parked.presented.path, PATH);
    // Still waiting: decided again, its proof is not spent.
    assert!(matches!(
        redecide(
            &parked,
            NOW,
            &s.config,
            &mut cache,
            &mut keys,
            &mut Unmetered
        ),
        Redecided::Wait(_)
    ));
    let fetch = keys
        .due(NOW)
        .into_iter()
        .find(|f| f.path == "/revoked")
        .unwrap();
    keys.fetched(fetch.id, NOW, Some(200), Body::Bytes(br#"{"jti": []}"#))
        .unwrap();
    match redecide(
        &parked,
        NOW,
        &s.config,
        &mut cache,
        &mut keys,
        &mut Unmetered,
    ) {
        Redecided::Done(Decision::Allow(_)) => {}
        other => panic!("allowed with its proof, got {other:?}"),
    }
    // The proof was spent by that decision.
    let d = jwe_authn::decide::decide(
        &request,
        NOW,
        &s.config,
        &mut cache,
        &mut keys,
        &mut Unmetered,
    );
    refused(&d, DpopFailure::Replayed);
    // A parked request whose proof is for another URI is refused when
    // decided again.
    let mut other = parked.clone();
    other.presented.path = "/orders/43".into();
    match redecide(
        &other,
        NOW,
        &s.config,
        &mut cache,
        &mut keys,
        &mut Unmetered,
    ) {
        Redecided::Done(Decision::Deny(d)) => {
            assert_eq!(d.reason, Reason::Dpop(DpopFailure::Proof(DpopError::Htu)))
        }
        other => panic!("refused, got {other:?}"),
    }
}
