//! The core's entry point, natively: rules, required claims, forwarding and
//! the cache, without Envoy.

use crate::common::*;
use jwe_authn::admission::Unmetered;
use jwe_authn::cache::shared::{MemoryStore, SharedLayer};
use jwe_authn::cache::Cache;
use jwe_authn::config::CompiledConfig;
use jwe_authn::decide::{CacheUse, Decision};
use jwe_authn::error::Reason;
use jwe_authn::extract::Request;
use jwe_authn::fetch_schedule::{Body, FetchSchedule};
use jwe_authn::jose::alg::{
    ContentEncryptionAlg as Enc, KeyManagementAlg as Alg, SignatureAlg as Sig,
};
use jwe_authn::jose::jwk::{Jwk, KeyType};
use serde_json::{json, Value};

/// decide() with the configured keys only.
fn decide_local<'c>(
    request: &Request<'_>,
    now: u64,
    config: &'c CompiledConfig,
    cache: &mut Cache,
) -> Decision<'c> {
    jwe_authn::decide::decide(
        request,
        now,
        config,
        cache,
        &mut FetchSchedule::new(config),
        &mut Unmetered,
    )
}

struct Setup {
    enc: Jwk,
    sig: Jwk,
    config: CompiledConfig,
}

fn setup(extra: Value, provider_extra: Value) -> Setup {
    let enc = key(KeyType::Oct { bytes: 32 }, "e");
    let sig = key(KeyType::P256, "s");
    let mut config = config_value(&[private(&enc)], &[public(&sig)], extra);
    if let (Value::Object(p), Value::Object(more)) =
        (&mut config["providers"]["test"], provider_extra)
    {
        p.extend(more);
    }
    Setup {
        config: compile(&config),
        enc,
        sig,
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

fn run<'s>(
    s: &'s Setup,
    cache: &mut Cache,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Decision<'s> {
    decide_local(
        &Request {
            method,
            path,
            headers,
            ..Default::default()
        },
        NOW,
        &s.config,
        cache,
    )
}

fn removes(a: &jwe_authn::decide::Allow, name: &str) -> bool {
    a.remove.iter().any(|n| n == name)
}

fn status(d: &Decision) -> u16 {
    match d {
        Decision::Allow(_) => 200,
        Decision::Deny(d) => d.status,
        Decision::Wait { .. } => 0,
    }
}

#[test]
fn required_claims_match_by_membership() {
    let rules = json!({"rules": [
        {"match": {"prefix": "/write", "methods": ["POST"]}, "requires": "any", "required_claims": {"scope": ["write"]}},
        {"match": {"path": "/roles"}, "requires": "test", "required_claims": {"realm_access.roles": ["admin"]}}
    ]});
    let s = setup(rules, json!({}));
    let mut cache = Cache::new(100, 300);
    let mut c = claims();
    c["scope"] = json!("read write");
    c["realm_access"] = json!({"roles": ["user", "admin"]});
    let auth = format!("Bearer {}", token(&s, &c));
    assert_eq!(
        status(&run(
            &s,
            &mut cache,
            "POST",
            "/write/x",
            &[("authorization", &auth)]
        )),
        200
    );
    assert_eq!(
        status(&run(
            &s,
            &mut cache,
            "GET",
            "/roles?x=1",
            &[("authorization", &auth)]
        )),
        200
    );
    c["scope"] = json!("read writer");
    c["realm_access"] = json!({"roles": "admin-ish"});
    let auth = format!("Bearer {}", token(&s, &c));
    let d = run(
        &s,
        &mut cache,
        "POST",
        "/write",
        &[("authorization", &auth)],
    );
    assert!(
        matches!(&d, Decision::Deny(d) if d.reason == Reason::Forbidden && d.status == 403 && d.www_authenticate.as_ref().is_some_and(|w| w.contains("insufficient_scope"))),
        "{d:?}"
    );
    assert_eq!(
        status(&run(
            &s,
            &mut cache,
            "GET",
            "/roles",
            &[("authorization", &auth)]
        )),
        403
    );
    // The rule's method filter: GET /write falls to the default rule.
    assert_eq!(
        status(&run(
            &s,
            &mut cache,
            "GET",
            "/write",
            &[("authorization", &auth)]
        )),
        200
    );
}

#[test]
fn forwarding_headers_and_the_cache() {
    let s = setup(
        json!({}),
        json!({"forward_payload_header": "x-payload", "claim_to_headers": [
            {"header_name": "X-Sub", "claim_name": "sub"},
            {"header_name": "x-tenant", "claim_name": "tenant"}
        ]}),
    );
    let mut cache = Cache::new(100, 300);
    let auth = format!("Bearer {}", token(&s, &claims()));
    let first = run(
        &s,
        &mut cache,
        "GET",
        "/",
        &[
            ("authorization", &auth),
            ("X-Sub", "mallory"),
            ("x-tenant", "evil"),
            ("x_tenant", "evil"),
            ("X_sub", "mallory"),
            ("x_payload", "e30"),
        ],
    );
    let Decision::Allow(a) = first else {
        panic!("{first:?}")
    };
    assert_eq!(a.cache, CacheUse::Miss);
    assert!(
        a.add()
            .contains(&("x-sub".to_string(), "alice".to_string())),
        "a spoofed managed header is overwritten (a set replaces every copy)"
    );
    assert!(!removes(&a, "x-sub"), "so it needs no removal");
    assert!(
        a.add().iter().any(|(n, _)| n == "x-payload") && !removes(&a, "x-payload"),
        "the payload header is set"
    );
    assert!(
        removes(&a, "x-tenant"),
        "a managed header this token does not set is removed when sent"
    );
    for spoof in ["x_tenant", "x_sub", "x_payload"] {
        assert!(removes(&a, spoof), "the `_` spelling {spoof} is removed");
    }
    assert!(
        removes(&a, "authorization"),
        "the token is removed unless forward"
    );
    assert_eq!(a.identity(), None, "filter state only when asked for");
    let second = run(&s, &mut cache, "GET", "/", &[("authorization", &auth)]);
    let Decision::Allow(b) = second else { panic!() };
    assert_eq!(b.cache, CacheUse::Hit);
    assert_eq!(b.add(), a.add());
    assert_eq!(
        b.remove,
        ["authorization"],
        "a managed header not sent needs no removal (the host reads them all)"
    );
}

#[test]
fn the_host_reads_only_the_headers_the_core_needs() {
    let s = setup(json!({}), json!({}));
    assert_eq!(s.config.headers_read, ["authorization"]);
    let s = setup(
        json!({"from_cookies": ["session"], "from_params": ["access_token"],
               "from_headers": [{"name": "X-Token"}],
               "rules": [{"match": {"prefix": "/public"}, "requires": "allow"}]}),
        json!({}),
    );
    assert_eq!(
        s.config.headers_read,
        ["x-token", ":path", "cookie", ":method"]
    );
}

#[test]
fn identity_for_filter_state_when_configured() {
    let s = setup(json!({"identity_in_filter_state": true}), json!({}));
    let mut cache = Cache::new(100, 300);
    let auth = format!("Bearer {}", token(&s, &claims()));
    for expected in [CacheUse::Miss, CacheUse::Hit] {
        let d = run(&s, &mut cache, "GET", "/", &[("authorization", &auth)]);
        let Decision::Allow(a) = d else {
            panic!("{d:?}")
        };
        assert_eq!(a.cache, expected);
        let id = a.identity().unwrap();
        assert_eq!(id.provider, "test");
        assert_eq!(id.sub, Some("alice"));
        assert_eq!(id.iss, claims()["iss"].as_str());
    }
}

#[test]
fn forward_true_keeps_the_token() {
    let s = setup(json!({}), json!({"forward": true}));
    let mut cache = Cache::new(0, 0);
    let auth = format!("Bearer {}", token(&s, &claims()));
    let Decision::Allow(a) = run(&s, &mut cache, "GET", "/", &[("authorization", &auth)]) else {
        panic!()
    };
    assert!(!removes(&a, "authorization"));
    assert_eq!(a.cache, CacheUse::Miss);
}

#[test]
fn allow_missing_and_public_routes() {
    let s = setup(
        json!({"rules": [
            {"match": {"prefix": "/public"}, "requires": "any", "allow_missing": true},
            {"match": {"prefix": "/health"}, "requires": "allow"}
        ]}),
        json!({"forward_payload_header": "x-payload", "claim_to_headers": [{"header_name": "x-sub", "claim_name": "sub"}]}),
    );
    let mut cache = Cache::new(100, 300);
    for path in ["/public", "/health"] {
        // Anonymous and public requests lose every managed header they
        // carry, in any spelling.
        let d = run(&s, &mut cache, "GET", path, &[]);
        let Decision::Allow(a) = d else {
            panic!("{d:?}")
        };
        assert!(
            a.remove.is_empty(),
            "{path}: nothing sent, nothing to remove"
        );
        let d = run(
            &s,
            &mut cache,
            "GET",
            path,
            &[
                ("x-payload", "e30"),
                ("X_Sub", "admin"),
                ("x-other", "kept"),
            ],
        );
        let Decision::Allow(a) = d else {
            panic!("{d:?}")
        };
        assert_eq!(a.remove, ["x-payload", "x_sub"], "{path}");
        assert!(a.add().is_empty());
    }
    let d = run(
        &s,
        &mut cache,
        "GET",
        "/public",
        &[("authorization", "Bearer nope")],
    );
    assert!(
        matches!(&d, Decision::Deny(d) if d.status == 401 && d.www_authenticate.as_ref().is_some_and(|w| w.contains("invalid_token")))
    );
    assert_eq!(
        status(&run(
            &s,
            &mut cache,
            "GET",
            "/health",
            &[("authorization", "Bearer nope")]
        )),
        200
    );
    let d = run(&s, &mut cache, "GET", "/private", &[]);
    assert!(
        matches!(&d, Decision::Deny(d) if d.reason == Reason::Missing && d.www_authenticate.as_deref() == Some(r#"Bearer realm="jwe-authn""#))
    );
}

#[test]
fn a_path_that_is_not_utf8_stays_under_its_rule() {
    let s = setup(
        json!({"rules": [
            {"match": {"prefix": "/admin"}, "requires": "any", "required_claims": {"role": ["admin"]}}
        ]}),
        json!({}),
    );
    let mut cache = Cache::new(100, 300);
    let auth = format!("Bearer {}", token(&s, &claims()));
    let headers = [("authorization", auth.as_str())];
    assert_eq!(
        status(&run(&s, &mut cache, "GET", "/orders", &headers)),
        200
    );
    assert_eq!(
        status(&run(&s, &mut cache, "GET", "/admin/x", &headers)),
        403
    );
    // The host turns bytes that are not UTF-8 into U+FFFD (`header_text`)
    // rather than dropping `:path`, which would fall through to the default
    // rule and skip `/admin`'s required claim; such a path is not in normal
    // form, so it is refused before any rule.
    let odd = jwe_authn::extract::header_text(b"/admin\xff/x".to_vec());
    assert_eq!(status(&run(&s, &mut cache, "GET", &odd, &headers)), 400);
}

#[test]
fn a_path_not_in_normal_form_is_refused_before_any_rule() {
    let s = setup(
        json!({"rules": [
            {"match": {"path_separated_prefix": "/health"}, "requires": "allow"},
            {"match": {"prefix": "/admin", "methods": ["GET"]}, "requires": "any",
             "required_claims": {"scope": ["orders:admin"]}},
            {"match": {"prefix": "/"}, "requires": "any", "allow_missing": true}
        ]}),
        json!({}),
    );
    let mut cache = Cache::new(100, 300);
    for path in [
        "/health/../admin/x",
        "/public/%2e%2e/admin/x",
        "/%61dmin/x",
        "//admin/x",
        "/admin%2Fx",
        "/admin\\x",
        "/admin;x",
    ] {
        let d = run(&s, &mut cache, "GET", path, &[]);
        let Decision::Deny(d) = d else {
            panic!("{path}: {d:?}")
        };
        assert_eq!((d.status, d.reason.stat()), (400, "path"), "{path}");
        assert_eq!(
            d.www_authenticate, None,
            "{path}: no challenge for a bad path"
        );
        assert!(d.body.contains("invalid_request"), "{path}");
    }
    // `path_separated_prefix` stops at segment boundaries; `prefix` is raw.
    assert_eq!(status(&run(&s, &mut cache, "GET", "/health", &[])), 200);
    assert_eq!(
        status(&run(&s, &mut cache, "GET", "/health/live?x", &[])),
        200
    );
    let auth = format!("Bearer {}", token(&s, &claims()));
    let headers = [("authorization", auth.as_str())];
    assert_eq!(
        status(&run(&s, &mut cache, "GET", "/healthz", &headers)),
        200,
        "/healthz is not under /health: the catch-all rule decides"
    );
    assert_eq!(status(&run(&s, &mut cache, "GET", "/healthz", &[])), 200);
    // A rule for GET covers HEAD; POST falls through to the catch-all.
    assert_eq!(
        status(&run(&s, &mut cache, "HEAD", "/admin/x", &headers)),
        403
    );
    assert_eq!(
        status(&run(&s, &mut cache, "GET", "/adminx", &headers)),
        403
    );
    assert_eq!(
        status(&run(&s, &mut cache, "POST", "/admin/x", &headers)),
        200
    );
    // `literal` lets `;` through as an ordinary character.
    let s = setup(
        json!({"path_parameters": "literal",
               "rules": [{"match": {"prefix": "/"}, "requires": "any", "allow_missing": true}]}),
        json!({}),
    );
    assert_eq!(status(&run(&s, &mut cache, "GET", "/a;b", &[])), 200);
}

#[test]
fn ambiguous_credentials_are_invalid_even_where_a_token_is_optional() {
    let s = setup(
        json!({"from_headers": [{"name": "authorization", "value_prefix": "Bearer "}, {"name": "x-access-token"}],
               "rules": [{"match": {"prefix": "/"}, "requires": "any", "allow_missing": true}]}),
        json!({}),
    );
    let mut cache = Cache::new(100, 300);
    let tok = token(&s, &claims());
    let auth = format!("Bearer {tok}");
    assert_eq!(
        status(&run(
            &s,
            &mut cache,
            "GET",
            "/",
            &[("authorization", &auth)]
        )),
        200
    );
    assert_eq!(
        status(&run(
            &s,
            &mut cache,
            "GET",
            "/",
            &[("authorization", "Basic eA==")]
        )),
        200
    );
    for headers in [
        vec![("authorization", "Bearer\tjunk".to_string())],
        vec![("authorization", format!("Basic eA==,{auth}"))],
        vec![("authorization", format!("{auth},{auth}"))],
        vec![("authorization", format!("Bearer  {tok}"))],
        vec![
            ("x-access-token", tok.clone()),
            ("x-access-token", "forged".to_string()),
        ],
        vec![
            ("authorization", auth.clone()),
            ("x-access-token", "other".to_string()),
        ],
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let d = run(&s, &mut cache, "GET", "/", &h);
        assert!(
            matches!(&d, Decision::Deny(d) if d.status == 401 && d.reason.stat() == "ambiguous"
                && d.www_authenticate.as_ref().is_some_and(|w| w.contains("invalid_token"))),
            "{headers:?}: {d:?}"
        );
    }
}

#[test]
fn a_token_from_a_parameter_or_cookie_does_not_travel_on() {
    let s = setup(
        json!({"from_params": ["access_token"], "from_cookies": ["session"],
               "rules": [{"match": {"prefix": "/"}, "requires": "any"}]}),
        json!({}),
    );
    let mut cache = Cache::new(100, 300);
    let tok = token(&s, &claims());
    let path = format!("/orders?a=1&access_token={tok}&b=2");
    let Decision::Allow(a) = run(&s, &mut cache, "GET", &path, &[]) else {
        panic!()
    };
    assert_eq!(a.rewrite, [(":path", "/orders?a=1&b=2".to_string())]);
    let cookie = format!("theme=dark; session={tok}");
    let Decision::Allow(a) = run(&s, &mut cache, "GET", "/orders", &[("cookie", &cookie)]) else {
        panic!()
    };
    assert_eq!(a.rewrite, [("cookie", "theme=dark".to_string())]);
    let cookie = format!("session={tok}");
    let Decision::Allow(a) = run(&s, &mut cache, "GET", "/orders", &[("cookie", &cookie)]) else {
        panic!()
    };
    assert!(a.rewrite.is_empty());
    assert_eq!(a.remove, ["cookie"]);
    // With `forward`, the token stays where it was.
    let s = setup(
        json!({"from_params": ["access_token"], "rules": [{"match": {"prefix": "/"}, "requires": "any"}]}),
        json!({"forward": true}),
    );
    let Decision::Allow(a) = run(&s, &mut cache, "GET", &path, &[]) else {
        panic!()
    };
    assert!(a.rewrite.is_empty() && a.remove.is_empty());
}

#[test]
fn a_rule_for_one_provider_refuses_another() {
    let enc = key(KeyType::Oct { bytes: 32 }, "e");
    let a = key(KeyType::P256, "a");
    let b = key(KeyType::P256, "b");
    let config = compile(&json!({
        "decryption_keys": {"keys": [private(&enc)]},
        "providers": {
            "a": {"issuer": "https://a", "local_jwks": {"keys": [public(&a)]}},
            "b": {"issuer": "https://b", "local_jwks": {"keys": [public(&b)]}}
        },
        "rules": [{"match": {"prefix": "/a"}, "requires": "a"}]
    }));
    let mut c = claims();
    c["iss"] = json!("https://b");
    let t = mint(Sig::Es256, &b, Alg::A256Kw, Enc::A256Gcm, &enc, &c);
    let auth = format!("Bearer {t}");
    let headers = [("authorization", auth.as_str())];
    let mut cache = Cache::new(10, 300);
    let req = |path| Request {
        method: "GET",
        path,
        headers: &headers,
        ..Default::default()
    };
    assert!(matches!(
        decide_local(&req("/b"), NOW, &config, &mut cache),
        Decision::Allow(_)
    ));
    assert!(
        matches!(decide_local(&req("/a"), NOW, &config, &mut cache), Decision::Deny(d) if d.reason == Reason::Issuer)
    );
}

/// Header text as `Request` holds it (owned or borrowed).
fn text<'a, T: From<&'a str>>(s: &'a str) -> T {
    T::from(s)
}

/// Configured keys whose `use`/`key_ops` forbid their role are refused at
/// configuration time (tests/config_errors.rs); fetched keys are filtered
/// when used: a `remote_jwks` key marked for encryption never verifies.
#[test]
fn a_fetched_key_restricted_to_encryption_does_not_verify() {
    let enc = key(KeyType::Oct { bytes: 32 }, "e");
    let sig = key(KeyType::P256, "s");
    let mut config = config_value(&[private(&enc)], &[], json!({}));
    config["providers"]["test"] = json!({
        "issuer": ISSUER, "audiences": ["api"],
        "remote_jwks": {"http_uri": {"uri": "https://idp.test/keys", "cluster": "idp"}}
    });
    let config = compile(&config);
    let t = mint(Sig::Es256, &sig, Alg::A256Kw, Enc::A256Gcm, &enc, &claims());
    let decide_with = |jwk: Value| {
        let mut keys = FetchSchedule::new(&config);
        let fetch = keys.due(NOW).into_iter().next().unwrap();
        let body = json!({"keys": [jwk]}).to_string();
        keys.fetched(fetch.id, NOW, Some(200), Body::Bytes(body.as_bytes()))
            .unwrap();
        let auth = format!("Bearer {t}");
        let headers = [(text("authorization"), text(&auth))];
        let request = Request {
            method: "GET",
            path: "/",
            headers: &headers,
            ..Default::default()
        };
        jwe_authn::decide::decide(
            &request,
            NOW,
            &config,
            &mut Cache::new(0, 0),
            &mut keys,
            &mut Unmetered,
        )
    };
    assert!(
        matches!(decide_with(public(&sig)), Decision::Allow(_)),
        "the bare key verifies"
    );
    for (member, value) in [("use", json!("enc")), ("key_ops", json!(["encrypt"]))] {
        let mut restricted = public(&sig);
        restricted[member] = value;
        // No key may verify it: the kid is as good as unknown (a refetch
        // is asked for), never an allow.
        let decision = decide_with(restricted);
        assert!(
            matches!(decision, Decision::Wait(ref w) if w.why == jwe_authn::wait::WaitFor::UnknownKid),
            "{member}: {decision:?}"
        );
    }
}

#[test]
fn revocation_applies_after_verification_and_on_cache_hits() {
    let enc = key(KeyType::Oct { bytes: 32 }, "e");
    let sig = key(KeyType::P256, "s");
    let config_with = |revocation: Value| {
        let mut c = config_value(&[private(&enc)], &[public(&sig)], json!({}));
        c["providers"]["test"]["revocation"] = revocation;
        compile(&c)
    };
    let open = config_with(json!({}));
    let revoked_jti = config_with(json!({"jti": ["stolen-1"]}));
    let revoked_sub = config_with(json!({"sub": ["alice"]}));
    let mut c = claims();
    c["jti"] = json!("stolen-1");
    let t = mint(Sig::Es256, &sig, Alg::A256Kw, Enc::A256Gcm, &enc, &c);
    // The pipeline (and so the CLI) refuses it outright.
    assert_eq!(
        jwe_authn::pipeline::verify_token(&t, NOW, &revoked_jti)
            .unwrap_err()
            .reason,
        Reason::Revoked
    );
    assert_eq!(
        jwe_authn::pipeline::verify_token(&t, NOW, &revoked_sub)
            .unwrap_err()
            .reason,
        Reason::Revoked
    );
    // Cached while valid, then refused from the cache once revoked.
    let auth = format!("Bearer {t}");
    let headers = [("authorization", auth.as_str())];
    let req = Request {
        method: "GET",
        path: "/",
        headers: &headers,
        ..Default::default()
    };
    let mut cache = Cache::new(10, 300);
    assert!(
        matches!(decide_local(&req, NOW, &open, &mut cache), Decision::Allow(a) if a.cache == CacheUse::Miss)
    );
    let d = decide_local(&req, NOW, &revoked_jti, &mut cache);
    assert!(
        matches!(&d, Decision::Deny(d) if d.reason == Reason::Revoked && d.cache == CacheUse::Hit && d.status == 401),
        "{d:?}"
    );
    assert_eq!(Reason::Revoked.stat(), "revoked");
    assert_eq!(Reason::Revoked.bearer_error(), Some("invalid_token"));
}

/// Two workers' caches over one shared store, each built as the filter
/// builds it.
fn worker(config: &CompiledConfig, store: &MemoryStore) -> Cache {
    Cache::new(config.cache_max_entries, config.cache_ttl_seconds).with_shared(SharedLayer::new(
        Box::new(store.clone()),
        config.cache_max_entries,
        config.shared_cache_key().unwrap(),
    ))
}

fn cache_use(d: &Decision) -> CacheUse {
    match d {
        Decision::Allow(a) => a.cache,
        Decision::Deny(d) => d.cache,
        Decision::Wait { .. } => CacheUse::None,
    }
}

/// Another module sharing the `vm_id` reads a genuine shared entry, copies
/// its clear configuration id and writes, in every slot, an entry that
/// lets a bogus token through as `admin`, without the entry key. The
/// worker never takes it: the token is verified, and refused.
#[test]
fn a_forged_shared_entry_lets_nothing_through() {
    let s = setup(
        json!({}),
        json!({"claim_to_headers": [{"header_name": "x-sub", "claim_name": "sub"}]}),
    );
    let store = MemoryStore::default();
    let mut a = worker(&s.config, &store);
    let auth = format!("Bearer {}", token(&s, &claims()));
    assert_eq!(
        status(&run(&s, &mut a, "GET", "/", &[("authorization", &auth)])),
        200
    );
    let genuine = store.slots().pop().unwrap().1;
    let bogus =
        "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA";
    let body = json!({
        "p": "test",
        "c": {"iss": ISSUER, "sub": "admin", "aud": "api", "exp": NOW + 3600},
        "j": null,
        "e": NOW + 3600,
    });
    // magic and configuration id copied from the genuine entry.
    let mut forged = genuine[..36].to_vec();
    {
        use sha2::{Digest, Sha256};
        forged.extend_from_slice(&Sha256::digest(bogus.as_bytes()));
    }
    forged.extend_from_slice(&(NOW + 3000).to_be_bytes());
    forged.extend_from_slice(body.to_string().as_bytes());
    let with_zero_tag = [forged.as_slice(), &[0; 32]].concat();
    for entry in [forged, with_zero_tag] {
        for slot in 0..u32::try_from(s.config.cache_max_entries).unwrap() {
            store.poke(slot, entry.clone());
        }
        let mut b = worker(&s.config, &store);
        let bogus_auth = format!("Bearer {bogus}");
        let d = run(&s, &mut b, "GET", "/", &[("authorization", &bogus_auth)]);
        assert_eq!(status(&d), 401, "{d:?}");
        assert_eq!(cache_use(&d), CacheUse::Miss, "{d:?}");
    }
}

#[test]
fn a_token_is_verified_once_across_workers() {
    let s = setup(
        json!({}),
        json!({"claim_to_headers": [{"header_name": "x-sub", "claim_name": "sub"}]}),
    );
    let store = MemoryStore::default();
    let (mut a, mut b) = (worker(&s.config, &store), worker(&s.config, &store));
    let auth = format!("Bearer {}", token(&s, &claims()));
    let headers = [("authorization", auth.as_str())];
    let first = run(&s, &mut a, "GET", "/", &headers);
    assert_eq!(cache_use(&first), CacheUse::Miss);
    let second = run(&s, &mut b, "GET", "/", &headers);
    assert_eq!(
        cache_use(&second),
        CacheUse::SharedHit,
        "the other worker's result"
    );
    assert_eq!(
        cache_use(&run(&s, &mut b, "GET", "/", &headers)),
        CacheUse::Hit
    );
    // The shared outcome forwards exactly what the verifying worker forwards.
    match (&first, &second) {
        (Decision::Allow(x), Decision::Allow(y)) => {
            assert_eq!(x.add(), y.add());
            assert_eq!(x.remove, y.remove);
            let (xv, yv) = (
                x.verified.as_deref().unwrap(),
                y.verified.as_deref().unwrap(),
            );
            assert_eq!(xv.identity(), yv.identity());
            assert_eq!(yv.identity().sub, Some("alice"));
            assert!(y
                .add()
                .contains(&("x-sub".to_string(), "alice".to_string())));
        }
        other => panic!("{other:?}"),
    }

    // A token past its exp is not served from the shared layer.
    let mut c = claims();
    c["exp"] = json!(NOW + 1);
    let short = format!("Bearer {}", token(&s, &c));
    let short_headers = [("authorization", short.as_str())];
    assert_eq!(status(&run(&s, &mut a, "GET", "/", &short_headers)), 200);
    let mut late = worker(&s.config, &store);
    let decision = decide_local(
        &Request {
            method: "GET",
            path: "/",
            headers: &[("authorization", short.as_str())],
            ..Default::default()
        },
        NOW + 1 + s.config.clock_skew_seconds + 1,
        &s.config,
        &mut late,
    );
    match decision {
        Decision::Deny(d) => {
            assert_eq!(d.reason, Reason::Expired);
            assert_eq!(d.cache, CacheUse::Miss);
        }
        other => panic!("{other:?}"),
    }

    // Another configuration (here: another audience) never reads the
    // outcomes the first one shared, even from the same store.
    let mut v = config_value(&[private(&s.enc)], &[public(&s.sig)], json!({}));
    v["providers"]["test"]["audiences"] = json!(["api", "other"]);
    let other = Setup {
        config: compile(&v),
        enc: s.enc.clone(),
        sig: s.sig.clone(),
    };
    assert_ne!(other.config.fingerprint, s.config.fingerprint);
    let mut c2 = worker(&other.config, &store);
    assert_eq!(
        cache_use(&run(&other, &mut c2, "GET", "/", &headers)),
        CacheUse::Miss
    );

    // Turned off: nothing is written to the store.
    let off = setup(json!({"cache": {"shared": false}}), json!({}));
    let fresh = MemoryStore::default();
    assert!(!off.config.cache_shared);
    // As the filter does: the shared layer only when configured.
    let mut d = Cache::new(off.config.cache_max_entries, off.config.cache_ttl_seconds);
    if off.config.cache_shared {
        d = d.with_shared(SharedLayer::new(
            Box::new(fresh.clone()),
            16,
            off.config.shared_cache_key().unwrap(),
        ));
    }
    let off_auth = format!("Bearer {}", token(&off, &claims()));
    assert_eq!(
        status(&run(
            &off,
            &mut d,
            "GET",
            "/",
            &[("authorization", &off_auth)]
        )),
        200
    );
    assert!(fresh.is_empty());
}

/// A provider whose revocation list is fetched: before the first list a
/// valid token waits (with what an allow needs, not the headers), and is
/// decided again from that once the list is there.
#[test]
fn a_request_waits_for_the_first_revocation_list_then_is_decided_again() {
    use jwe_authn::decide::{redecide, Redecided};
    use jwe_authn::wait::WaitFor;
    let s = setup(
        json!({"from_params": ["access_token"]}),
        json!({
            "claim_to_headers": [{"header_name": "x-sub", "claim_name": "sub"}],
            "revocation": {"http_uri": {"uri": "https://idp.test/revoked", "cluster": "idp"}}
        }),
    );
    let mut cache = Cache::new(100, 300);
    let mut keys = FetchSchedule::new(&s.config);
    let mut c = claims();
    c["jti"] = json!("t-1");
    let path = format!("/orders?a=1&access_token={}", token(&s, &c));
    let headers = [("x-sub", "mallory"), ("x_sub", "mallory")];
    let request = Request {
        method: "GET",
        path: &path,
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
    assert_eq!(parked.why, WaitFor::Revocation);
    assert!(parked.edits.remove.iter().any(|n| n == "x-sub"));
    assert!(parked.edits.remove.iter().any(|n| n == "x_sub"));
    assert_eq!(
        parked.edits.rewrite,
        vec![(":path", "/orders?a=1".to_string())],
        "the token leaves the path"
    );
    // Still no list: decided again, it waits on.
    assert!(matches!(
        redecide(
            &parked,
            NOW,
            &s.config,
            &mut cache,
            &mut keys,
            &mut Unmetered
        ),
        Redecided::Wait(WaitFor::Revocation)
    ));
    // The list arrives and does not name it: allowed, with the edits.
    let fetch = keys
        .due(NOW)
        .into_iter()
        .find(|f| f.path == "/revoked")
        .unwrap();
    keys.fetched(
        fetch.id,
        NOW,
        Some(200),
        Body::Bytes(br#"{"jti": ["other"]}"#),
    )
    .unwrap();
    let Redecided::Done(Decision::Allow(allow)) = redecide(
        &parked,
        NOW,
        &s.config,
        &mut cache,
        &mut keys,
        &mut Unmetered,
    ) else {
        panic!("allowed once the list is there");
    };
    assert!(removes(&allow, "x-sub") && removes(&allow, "x_sub"));
    assert_eq!(allow.rewrite, parked.edits.rewrite);
    assert!(allow
        .add()
        .iter()
        .any(|(n, v)| n == "x-sub" && v == "alice"));
    // A list that names it: revoked.
    let fetch = keys
        .due(NOW + 120)
        .into_iter()
        .find(|f| f.path == "/revoked")
        .unwrap();
    keys.fetched(
        fetch.id,
        NOW + 120,
        Some(200),
        Body::Bytes(br#"{"jti": ["t-1"]}"#),
    )
    .unwrap();
    match redecide(
        &parked,
        NOW + 120,
        &s.config,
        &mut cache,
        &mut keys,
        &mut Unmetered,
    ) {
        Redecided::Done(Decision::Deny(d)) => assert_eq!(d.reason, Reason::Revoked),
        other => panic!("revoked, got {other:?}"),
    }
}

#[test]
fn revocation_fail_open_needs_a_fetched_list() {
    let enc = key(KeyType::Oct { bytes: 32 }, "e");
    let sig = key(KeyType::P256, "s");
    let mut config = config_value(&[private(&enc)], &[public(&sig)], json!({}));
    config["providers"]["test"]["revocation"] = json!({"jti": ["x"], "fail_open": true});
    let err = CompiledConfig::from_json(&config.to_string()).unwrap_err();
    assert!(
        err.to_string()
            .contains("providers.test.revocation.fail_open"),
        "{err}"
    );
}
