//! End to end, in a real Envoy (see `tests/host/harness.rs`): the filter as
//! users load it, with `envoy/envoy.yaml` itself.

use crate::harness;

use crate::common::{encrypt_jws, mint};
use harness::{demo_key, now, Envoy};
use jwe_authn::jose::alg::{
    ContentEncryptionAlg as Enc, KeyManagementAlg as Alg, SignatureAlg as Sig,
};
use jwe_authn::jose::jwk::{Jwk, KeyType};
use serde_json::{json, Value};

fn claims(scope: &str) -> Value {
    json!({"iss": "https://idp.demo.example", "sub": "alice", "aud": "orders-api", "scope": scope, "exp": now() + 600, "iat": now()})
}

fn token(claims: &Value) -> String {
    harness::demo_token(claims)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn the_demo_configuration_end_to_end() {
    let envoy = Envoy::start(1, |t| t);
    let valid = token(&claims("orders:read"));
    the_demo_decisions(&envoy, &valid);

    // Stats: allowed, denials by reason, cache hits for the repeated token.
    assert!(
        envoy.stat("wasmcustom.jwe_authn.cache.hit") >= 3,
        "the repeated token is served from the cache"
    );
    assert!(envoy.stat("wasmcustom.jwe_authn.cache.miss") >= 1);
    // The worker's VM reports its linear memory (at least the 1 MiB stack).
    let memory = envoy.stat("wasmcustom.jwe_authn.vm_memory_bytes");
    assert!(
        memory >= 1 << 20 && memory.is_multiple_of(65_536),
        "vm_memory_bytes={memory}"
    );
    assert!(envoy.stat("wasmcustom.jwe_authn.allowed") >= 6);
    for reason in [
        "missing",
        "expired",
        "audience",
        "signature",
        "malformed",
        "decrypt",
        "claims",
    ] {
        assert!(
            envoy.stat(&format!("wasmcustom.jwe_authn.denied.{reason}")) >= 1,
            "denied.{reason}"
        );
    }

    // Logs: one debug line per rejection with reason, kid and alg, never the token.
    let log = envoy.log();
    assert!(
        log.contains("jwe_authn: denied status=401 reason=expired"),
        "{log}"
    );
    assert!(log.contains("kid=demo-enc-1 alg=ECDH-ES+A256KW"));
    assert!(!log.contains(&valid[..40]), "a token reached the log");
    // Filter state: the identity in the access log.
    let access = envoy.access_log();
    assert!(
        access.contains("GET /orders 200 provider=demo-idp sub=alice"),
        "{access}"
    );
    // No VM was lost.
    assert_eq!(envoy.stat("wasm.jwe_authn.vm_reload"), 0);
}

/// What the demo configuration decides, by either build of the filter
/// (the Wasm filter here, the native module in `native.rs`): accepted and
/// forwarded identity, every rejection class with its status and
/// challenge, spoofed headers, public routes, `required_claims`, nothing
/// denied reaching the upstream. `valid` is a demo token with
/// `orders:read`.
pub(crate) fn the_demo_decisions(envoy: &Envoy, valid: &str) {
    let auth = bearer(valid);

    // Accepted: forwarded claims, no JWE upstream, spoofed headers replaced.
    let r = envoy.request(
        "GET",
        "/orders",
        &[
            ("authorization", &auth),
            ("x-jwt-sub", "mallory"),
            ("x-jwt-sub", "eve"),
            ("x-jwt-scope", "orders:admin"),
        ],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.echoed("x-jwt-sub"), Some("alice"));
    assert_eq!(r.echoed("x-jwt-scope"), Some("orders:read"));
    assert_eq!(
        r.echoed("authorization"),
        None,
        "the JWE must not reach the upstream"
    );
    let inner = r.echoed("x-jwt-inner").unwrap();
    assert_eq!(inner.split('.').count(), 3, "the still-signed inner JWT");
    let payload: Value = serde_json::from_slice(
        &jwe_authn::jose::b64::decode(r.echoed("x-jwt-payload").unwrap().as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(payload["sub"], "alice");
    assert_eq!(
        r.body.matches("x-jwt-sub:").count(),
        1,
        "exactly one x-jwt-sub upstream (the filter's value replaces every copy):\n{}",
        r.body
    );

    // The scheme is case-insensitive.
    let r = envoy.request(
        "GET",
        "/orders",
        &[("authorization", &format!("bearer {valid}"))],
    );
    assert_eq!(r.status, 200);

    let upstream_before = envoy.stat("cluster.echo.upstream_rq_total");

    // Missing: 401 with the realm, no error code.
    let r = envoy.request("GET", "/orders", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="orders-api""#)
    );
    assert!(r.body.contains("unauthorized"));

    // Invalid in different ways: all the same 401 invalid_token.
    let mut tampered: Vec<String> = valid.split('.').map(str::to_string).collect();
    tampered[3] = format!(
        "{}{}",
        if tampered[3].starts_with('A') {
            'B'
        } else {
            'A'
        },
        &tampered[3][1..]
    );
    let tampered = tampered.join(".");
    let mut expired = claims("orders:read");
    expired["exp"] = json!(now() - 3600);
    let mut wrong_aud = claims("orders:read");
    wrong_aud["aud"] = json!("billing-api");
    let other_signer = jwe_authn::jose::jwk::generate(KeyType::Ed25519).unwrap();
    let forged = mint(
        Sig::EdDsa,
        &Jwk {
            kid: Some("demo-sig-1".into()),
            ..Jwk::bare(other_signer)
        },
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &demo_key("encrypt.pub.jwk"),
        &claims("orders:read"),
    );
    let plain_jws = forged.split('.').take(3).collect::<Vec<_>>().join(".");
    let cases = [
        ("tampered", tampered),
        ("expired", token(&expired)),
        ("audience", token(&wrong_aud)),
        ("forged signature", forged),
        ("garbage", "not-a-token".to_string()),
        ("plain JWS", plain_jws),
    ];
    let invalid_www = r#"Bearer realm="orders-api", error="invalid_token", error_description="the access token is invalid""#;
    for (name, t) in &cases {
        let r = envoy.request("GET", "/orders", &[("authorization", &bearer(t))]);
        assert_eq!(r.status, 401, "{name}");
        assert_eq!(
            r.header("www-authenticate"),
            Some(invalid_www),
            "{name}: one error class for every failure"
        );
        assert_eq!(
            r.body,
            r#"{"error":"invalid_token","error_description":"the access token is invalid"}"#,
            "{name}"
        );
    }

    // required_claims on /admin: 403 insufficient_scope; then allowed with the scope.
    let r = envoy.request("GET", "/admin/users", &[("authorization", &auth)]);
    assert_eq!(r.status, 403);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error="insufficient_scope""#));
    assert_eq!(
        envoy.stat("cluster.echo.upstream_rq_total"),
        upstream_before,
        "nothing denied reaches the upstream"
    );
    let admin = bearer(&token(&claims("orders:read orders:admin")));
    assert_eq!(
        envoy
            .request("GET", "/admin/users", &[("authorization", &admin)])
            .status,
        200
    );

    // Rules: /health is public (and spoofed identity headers are still
    // stripped); /public lets anonymous requests through but not bad tokens.
    let r = envoy.request("GET", "/health", &[("x-jwt-sub", "mallory")]);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.echoed("x-jwt-sub"),
        None,
        "spoofed header stripped on a public route"
    );
    assert_eq!(envoy.request("GET", "/public/info", &[]).status, 200);
    assert_eq!(
        envoy
            .request(
                "GET",
                "/public/info",
                &[("authorization", "Bearer garbage")]
            )
            .status,
        401
    );
    assert_eq!(
        envoy
            .request("GET", "/public/info", &[("authorization", &auth)])
            .status,
        200
    );
}

#[test]
fn a_cached_token_is_rejected_once_expired() {
    let envoy = Envoy::start(1, |t| {
        t.replace(
            r#""realm": "orders-api","#,
            r#""realm": "orders-api", "clock_skew_seconds": 0,"#,
        )
    });
    let mut c = claims("orders:read");
    c["exp"] = json!(now() + 2);
    let auth = bearer(&token(&c));
    assert_eq!(
        envoy
            .request("GET", "/orders", &[("authorization", &auth)])
            .status,
        200
    );
    assert_eq!(
        envoy
            .request("GET", "/orders", &[("authorization", &auth)])
            .status,
        200
    );
    assert!(envoy.stat("wasmcustom.jwe_authn.cache.hit") >= 1);
    std::thread::sleep(std::time::Duration::from_secs(4));
    let r = envoy.request("GET", "/orders", &[("authorization", &auth)]);
    assert_eq!(r.status, 401);
    assert!(envoy.stat("wasmcustom.jwe_authn.denied.expired") >= 1);
}

#[test]
fn filter_state_only_when_asked_for() {
    let envoy = Envoy::start(1, |t| t.replace(r#""identity_in_filter_state": true,"#, ""));
    let auth = bearer(&token(&claims("orders:read")));
    let r = envoy.request("GET", "/orders", &[("authorization", &auth)]);
    assert_eq!(r.status, 200);
    let access = envoy.access_log();
    assert!(
        access.contains("GET /orders 200 provider=- sub=-"),
        "{access}"
    );
}

#[test]
fn an_invalid_configuration_is_refused_by_envoy_naming_the_field() {
    let result = Envoy::try_start(1, |t| {
        t.replace(
            r#""realm": "orders-api","#,
            r#""realm": "orders-api", "clock_skew_secs": 60,"#,
        )
    });
    let log = match result {
        Ok(envoy) => {
            // Envoy may start but the listener's filter must be refused.
            let log = envoy.log();
            assert!(
                envoy.request("GET", "/health", &[]).status >= 500
                    || log.contains("clock_skew_secs"),
                "{log}"
            );
            log
        }
        Err(log) => log,
    };
    assert!(
        log.contains("configuration field `clock_skew_secs`"),
        "the filter's error names the field:\n{log}"
    );
}

#[test]
fn two_workers_verify_a_token_once() {
    let envoy = Envoy::start(2, |t| t);
    let auth = bearer(&token(&claims("orders:read")));
    for _ in 0..20 {
        let r = envoy.request("GET", "/orders", &[("authorization", &auth)]);
        assert_eq!(r.status, 200);
        assert_eq!(r.echoed("x-jwt-sub"), Some("alice"));
    }
    assert_eq!(envoy.request("GET", "/orders", &[]).status, 401);
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.allowed"), 20);
    // Each request is a new connection, which the kernel spreads over the
    // two workers (all twenty on one: odds of 2 in a million). The first
    // decrypts; the other worker finds the outcome in shared data once,
    // then in its own cache.
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.cache.miss"), 1);
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.cache.shared_hit"), 1);
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.cache.hit"), 18);
}

#[test]
fn an_unsigned_or_nested_token_is_refused_end_to_end() {
    let envoy = Envoy::start(1, |t| t);
    let enc = demo_key("encrypt.pub.jwk");
    let unsigned = encrypt_jws(
        Alg::EcdhEs,
        Enc::A128Gcm,
        &enc,
        &claims("orders:read").to_string(),
    );
    let nested = encrypt_jws(
        Alg::EcdhEs,
        Enc::A128Gcm,
        &enc,
        &token(&claims("orders:read")),
    );
    for t in [unsigned, nested] {
        assert_eq!(
            envoy
                .request("GET", "/orders", &[("authorization", &bearer(&t))])
                .status,
            401
        );
    }
}

#[test]
fn decryption_keys_from_the_environment() {
    // The key moves out of the configuration into an environment variable
    // that Envoy passes to the VM (vm_config.environment_variables).
    let jwks = format!(
        r#"{{"keys": [{}]}}"#,
        std::fs::read_to_string(harness::root().join("envoy/demo/decrypt.jwk")).unwrap()
    );
    let edit = |t: String| {
        let start = t.find(r#""decryption_keys": {"#).unwrap();
        let end = start + t[start..].find(r#""providers""#).unwrap();
        let t = format!("{}\"decryption_keys_from_env\": \"JWE_AUTHN_DECRYPTION_JWKS\",\n                      {}", &t[..start], &t[end..]);
        t.replace(
            "                  vm_id: jwe_authn\n",
            "                  vm_id: jwe_authn\n                  environment_variables:\n                    host_env_keys: [JWE_AUTHN_DECRYPTION_JWKS]\n",
        )
    };
    let envoy = Envoy::start_with_env(1, &[("JWE_AUTHN_DECRYPTION_JWKS", &jwks)], edit);
    let auth = bearer(&token(&claims("orders:read")));
    let r = envoy.request("GET", "/orders", &[("authorization", &auth)]);
    assert_eq!(r.status, 200, "{}", envoy.log());
    assert!(
        !envoy.log().contains(&jwks[20..60]),
        "key material reached the log"
    );
    // Without the variable the filter refuses its configuration, naming it.
    let missing = match Envoy::try_start(1, edit) {
        Ok(envoy) => envoy.log(),
        Err(log) => log,
    };
    assert!(
        missing.contains("environment variable `JWE_AUTHN_DECRYPTION_JWKS` is not set"),
        "{missing}"
    );
}

#[test]
fn decryption_key_rotation_overlap_then_removal() {
    // Rotation: add the new key, let clients switch, remove the old one.
    let old = demo_key("decrypt.jwk");
    let new = Jwk {
        kid: Some("demo-enc-2".into()),
        ..Jwk::bare(jwe_authn::jose::jwk::generate(KeyType::X25519).unwrap())
    };
    let new_private = jwe_authn::jose::jwk::private_jwk(&new).unwrap().to_string();
    let old_private = serde_json::from_str::<Value>(
        &std::fs::read_to_string(harness::root().join("envoy/demo/decrypt.jwk")).unwrap(),
    )
    .unwrap()
    .to_string();
    let with_keys = |keys: Vec<String>| {
        move |t: String| {
            let start = t.find(r#""decryption_keys": {"#).unwrap();
            let end = start + t[start..].find(r#""providers""#).unwrap();
            format!(
                "{}\"decryption_keys\": {{\"keys\": [{}]}},\n                      {}",
                &t[..start],
                keys.join(","),
                &t[end..]
            )
        }
    };
    let for_old = token(&claims("orders:read"));
    let for_new = mint(
        Sig::EdDsa,
        &demo_key("sign.jwk"),
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &Jwk {
            key: jwe_authn::jose::jwk::parse_jwk(&jwe_authn::jose::jwk::public_jwk(&new).unwrap())
                .unwrap()
                .key,
            ..new.clone()
        },
        &claims("orders:read"),
    );
    assert!(for_new.starts_with("ey") && old.kid.as_deref() == Some("demo-enc-1"));
    {
        // Overlap: both keys configured, both tokens pass.
        let envoy = Envoy::start(1, with_keys(vec![old_private.clone(), new_private.clone()]));
        assert_eq!(
            envoy
                .request("GET", "/orders", &[("authorization", &bearer(&for_old))])
                .status,
            200
        );
        assert_eq!(
            envoy
                .request("GET", "/orders", &[("authorization", &bearer(&for_new))])
                .status,
            200
        );
    }
    // The listener restarted with the old key removed: the old token fails.
    let envoy = Envoy::start(1, with_keys(vec![new_private]));
    assert_eq!(
        envoy
            .request("GET", "/orders", &[("authorization", &bearer(&for_new))])
            .status,
        200
    );
    assert_eq!(
        envoy
            .request("GET", "/orders", &[("authorization", &bearer(&for_old))])
            .status,
        401
    );
    assert!(envoy.stat("wasmcustom.jwe_authn.denied.decrypt") >= 1);
}

/// Encrypt-then-sign in a real Envoy: `demo-idp` enables only that order,
/// `legacy-idp` (same key, another issuer) keeps the default. A token of
/// each order is accepted by the provider that enables it and refused by
/// the other, and a forged one of the new order is a signature failure.
#[test]
fn encrypt_then_sign_is_accepted_only_by_a_provider_that_enables_it() {
    use crate::common::mint_encrypt_then_sign;
    let ets = |claims: &Value| {
        mint_encrypt_then_sign(
            Sig::EdDsa,
            &demo_key("sign.jwk"),
            Alg::EcdhEsA256Kw,
            Enc::A256Gcm,
            &demo_key("encrypt.pub.jwk"),
            claims,
        )
    };
    let mut legacy = claims("orders:read");
    legacy["iss"] = json!("https://legacy.demo.example");
    let request =
        |envoy: &Envoy, t: &str| envoy.request("GET", "/orders", &[("authorization", &bearer(t))]);

    // The demo configuration: default nesting, so a JWS outside is refused.
    let envoy = Envoy::start(1, |t| t);
    let r = request(&envoy, &ets(&claims("orders:read")));
    assert_eq!(r.status, 401, "{r:?}");
    assert!(envoy.stat("wasmcustom.jwe_authn.denied.malformed") >= 1);
    assert_eq!(request(&envoy, &token(&claims("orders:read"))).status, 200);
    drop(envoy);

    let legacy_idp = r#""legacy-idp": {"issuer": "https://legacy.demo.example", "audiences": ["orders-api"], "local_jwks": {"keys": [{"crv": "Ed25519", "kid": "demo-sig-1", "kty": "OKP", "x": "_9xgHXDE018eAYROvawpi4nStRAOiwrS5OCrEmS7jCU"}]}},"#;
    let envoy = Envoy::start(1, |t| {
        t.replacen(
            r#""providers": {"#,
            &format!(r#""providers": {{ {legacy_idp}"#),
            1,
        )
        .replacen(
            r#""issuer": "https://idp.demo.example","#,
            r#""issuer": "https://idp.demo.example", "nesting": ["encrypt_then_sign"],"#,
            1,
        )
    });
    // demo-idp: encrypt-then-sign accepted, forwarded like any token; no
    // decrypted signed JWT exists to put in x-jwt-inner.
    let r = request(&envoy, &ets(&claims("orders:read")));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.echoed("x-jwt-sub"), Some("alice"));
    assert_eq!(r.echoed("x-jwt-inner"), None);
    assert_eq!(r.echoed("authorization"), None);
    let payload: Value = serde_json::from_slice(
        &jwe_authn::jose::b64::decode(r.echoed("x-jwt-payload").unwrap().as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(payload["iss"], "https://idp.demo.example");
    // legacy-idp: the default order accepted, the new one refused (the
    // outer JWS is checked with demo-idp's keys, the only provider that
    // enables the order, and its claims name another issuer).
    assert_eq!(request(&envoy, &token(&legacy)).status, 200);
    let upstream_before = envoy.stat("cluster.echo.upstream_rq_total");
    let r = request(&envoy, &ets(&legacy));
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.body.contains("invalid_token"));
    // demo-idp refuses the default order.
    assert_eq!(request(&envoy, &token(&claims("orders:read"))).status, 401);
    assert!(envoy.stat("wasmcustom.jwe_authn.denied.nesting") >= 2);
    // A forged token of the new order: a signature failure.
    let forger = Jwk {
        kid: Some("demo-sig-1".into()),
        ..Jwk::bare(jwe_authn::jose::jwk::generate(KeyType::Ed25519).unwrap())
    };
    let forged = mint_encrypt_then_sign(
        Sig::EdDsa,
        &forger,
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &demo_key("encrypt.pub.jwk"),
        &claims("orders:read"),
    );
    assert_eq!(request(&envoy, &forged).status, 401);
    assert!(envoy.stat("wasmcustom.jwe_authn.denied.signature") >= 1);
    assert_eq!(
        envoy.stat("cluster.echo.upstream_rq_total"),
        upstream_before,
        "nothing refused reached the upstream"
    );
    assert_eq!(envoy.stat("wasm.jwe_authn.vm_reload"), 0);
}
