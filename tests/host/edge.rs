//! The request edge, end to end in a real Envoy (`envoy/envoy.yaml`): path
//! tricks, credentials sent more than once or in odd shapes, spoofed
//! identity headers in `_` spellings, tokens left in the path or cookies.
//!
//! Each defence is tested twice where Envoy has one of its own: with the
//! HTTP connection manager's protection as we ship it, and with it taken out,
//! to show that the filter alone fails closed.

use crate::harness::{demo_token, now, Envoy};
use serde_json::{json, Value};

fn token(scope: &str) -> String {
    let claims: Value = json!({"iss": "https://idp.demo.example", "sub": "alice", "aud": "orders-api",
        "scope": scope, "exp": now() + 600, "iat": now()});
    demo_token(&claims)
}

/// The shipped configuration without the connection manager's path and
/// header-name protection: what a deployment that forgot it runs.
fn unprotected(text: String) -> String {
    const PROTECTION: [&str; 5] = [
        "normalize_path: true",
        "merge_slashes: true",
        "path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT",
        "common_http_protocol_options:",
        "headers_with_underscores_action: REJECT_REQUEST",
    ];
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !PROTECTION.contains(&l.trim()))
        .collect();
    assert!(
        kept.len() + PROTECTION.len() <= text.lines().count(),
        "envoy/envoy.yaml no longer sets the protection this test removes"
    );
    kept.join("\n") + "\n"
}

/// Add members to the filter's JSON configuration.
fn with(text: String, members: &str) -> String {
    text.replace(
        r#""realm": "orders-api","#,
        &format!(r#""realm": "orders-api", {members},"#),
    )
}

#[test]
fn rules_see_the_path_the_upstream_sees() {
    let reader = format!("Bearer {}", token("orders:read"));
    let reader = [("authorization", reader.as_str())];

    // Without Envoy's normalisation the filter refuses every trick itself.
    let envoy = Envoy::start(1, unprotected);
    for (path, headers) in [
        ("/health/../admin/x", &[][..]),
        ("/public/%2e%2e/admin/x", &[][..]),
        ("/public/./x", &[][..]),
        ("/%61dmin/x", &reader[..]),
        ("//admin/x", &reader[..]),
        ("/admin%2Fx", &reader[..]),
        ("/admin%5cx", &reader[..]),
        ("/admin;v=1/x", &reader[..]),
    ] {
        let r = envoy.request("GET", path, headers);
        assert_eq!(r.status, 400, "{path}: {r:?}");
        assert!(r.body.contains("invalid_request"), "{path}: {r:?}");
        assert_eq!(r.header("www-authenticate"), None, "{path}");
    }
    assert_eq!(envoy.stat("wasmcustom.jwe_authn.denied.path"), 8);
    // HEAD is served by GET handlers: a rule for GET covers it.
    let r = envoy.request("HEAD", "/admin/x", &reader);
    assert_eq!(r.status, 403, "{r:?}");
    let r = envoy.request("GET", "/admin/x", &reader);
    assert_eq!(r.status, 403, "{r:?}");
    drop(envoy);

    // As shipped, Envoy normalises first and the rules apply to the result.
    let envoy = Envoy::start(1, |t| t);
    let r = envoy.request("GET", "/health/../admin/x", &[]);
    assert_eq!(r.status, 401, "normalised to /admin/x: {r:?}");
    for path in ["/%61dmin/x", "//admin/x", "/public/%2e%2e/admin/x"] {
        let r = envoy.request("GET", path, &reader);
        assert_eq!(r.status, 403, "{path}: {r:?}");
    }
    let r = envoy.request("GET", "/admin%2Fx", &reader);
    assert_eq!(
        r.status, 307,
        "Envoy redirects to the unescaped path: {r:?}"
    );
    let r = envoy.request("GET", "/health/live", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.echoed(":path"), Some("/health/live"));
}

#[test]
fn public_routes_stop_at_segment_boundaries() {
    // The demo's public routes are `path_separated_prefix` rules.
    let envoy = Envoy::start(1, |t| t);
    assert_eq!(envoy.request("GET", "/health", &[]).status, 200);
    assert_eq!(envoy.request("GET", "/health/live?x=1", &[]).status, 200);
    for path in ["/healthz", "/health-admin", "/healthANYTHING"] {
        let r = envoy.request("GET", path, &[]);
        assert_eq!(r.status, 401, "{path} is not under /health: {r:?}");
    }
    // `prefix` is raw, exactly like Envoy's: `/admin` covers `/adminx`.
    let reader = format!("Bearer {}", token("orders:read"));
    let r = envoy.request("GET", "/adminx", &[("authorization", &reader)]);
    assert_eq!(r.status, 403, "{r:?}");
}

#[test]
fn only_the_validated_token_and_our_identity_headers_reach_the_upstream() {
    let admin = token("orders:admin");
    let bearer = format!("Bearer {admin}");
    // Without Envoy's `headers_with_underscores_action`, the filter removes
    // every `_` spelling of the headers it manages itself.
    let envoy = Envoy::start(1, unprotected);
    for (path, auth) in [
        ("/health/x", None),
        ("/public", None),
        ("/orders", Some(&bearer)),
    ] {
        let mut headers = vec![
            ("x_jwt_sub", "admin"),
            ("X-Jwt_Scope", "orders:admin"),
            ("x_jwt_payload", "e30"),
            ("x-unrelated_header", "kept"),
        ];
        if let Some(a) = auth {
            headers.push(("authorization", a));
        }
        let r = envoy.request("GET", path, &headers);
        assert_eq!(r.status, 200, "{path}: {r:?}");
        let upstream = r.body.to_ascii_lowercase();
        for spoof in ["x_jwt_sub", "x-jwt_scope", "x_jwt_payload"] {
            assert!(
                !upstream.contains(spoof),
                "{path}: {spoof} reached the upstream:\n{}",
                r.body
            );
        }
        assert_eq!(r.echoed("x-unrelated_header"), Some("kept"), "{path}");
        let sub = r.echoed("x-jwt-sub");
        assert_eq!(sub, auth.map(|_| "alice"), "{path}");
    }

    // A value that uses the scheme but is not exactly `Bearer <token>`, or
    // several credentials joined by Envoy, is invalid even where a token is
    // optional.
    for headers in [
        vec![("authorization", "Bearer\tjunk".to_string())],
        vec![("authorization", format!("Bearer  {admin}"))],
        vec![
            ("authorization", "Basic YTpi".to_string()),
            ("authorization", bearer.clone()),
        ],
        vec![("authorization", format!("Basic YTpi,{bearer}"))],
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let r = envoy.request("GET", "/public", &h);
        assert_eq!(r.status, 401, "{headers:?}: {r:?}");
        assert!(
            r.header("www-authenticate")
                .is_some_and(|w| w.contains("invalid_token")),
            "{r:?}"
        );
    }
    let r = envoy.request("GET", "/public", &[("authorization", "Basic YTpi")]);
    assert_eq!(r.status, 200, "another scheme is no token of ours: {r:?}");
    assert!(envoy.stat("wasmcustom.jwe_authn.denied.ambiguous") >= 4);
    drop(envoy);

    // As shipped, Envoy refuses `_` header names itself.
    let envoy = Envoy::start(1, |t| t);
    let r = envoy.request("GET", "/health/x", &[("x_jwt_sub", "admin")]);
    assert_eq!(r.status, 400, "{r:?}");
}

#[test]
fn a_token_in_a_parameter_or_cookie_is_cut_out_and_a_repeated_header_refused() {
    let token = token("orders:read");
    let envoy = Envoy::start(1, |t| {
        with(
            t,
            concat!(
                r#""from_headers": [{"name": "authorization", "value_prefix": "Bearer "}, {"name": "x-access-token"}], "#,
                r#""from_params": ["access_token"], "from_cookies": ["session"]"#
            ),
        )
    });
    let r = envoy.request("GET", &format!("/orders?a=1&access_token={token}&b=2"), &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.echoed(":path"), Some("/orders?a=1&b=2"));
    let cookie = format!("theme=dark; session={token}");
    let r = envoy.request("GET", "/orders", &[("cookie", &cookie)]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.echoed("cookie"), Some("theme=dark"));
    let r = envoy.request("GET", "/orders", &[("x-access-token", &token)]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.echoed("x-access-token"), None);
    let r = envoy.request(
        "GET",
        "/orders",
        &[
            ("x-access-token", &token),
            ("x-access-token", "unvalidated"),
        ],
    );
    assert_eq!(r.status, 401, "a source header sent twice: {r:?}");
    let r = envoy.request(
        "GET",
        &format!("/orders?access_token={token}&access_token=unvalidated"),
        &[],
    );
    assert_eq!(r.status, 401, "a parameter sent twice: {r:?}");
    drop(envoy);

    // With `forward`, the validated token stays, and a second copy of its
    // header can never ride along.
    let envoy = Envoy::start(1, |t| {
        with(t, r#""from_headers": [{"name": "x-access-token"}]"#).replace(
            r#""forward_jws_header""#,
            r#""forward": true, "forward_jws_header""#,
        )
    });
    let r = envoy.request("GET", "/orders", &[("x-access-token", &token)]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.echoed("x-access-token"), Some(token.as_str()));
    let r = envoy.request(
        "GET",
        "/orders",
        &[
            ("x-access-token", &token),
            ("x-access-token", "unvalidated"),
        ],
    );
    assert_eq!(r.status, 401, "{r:?}");
}
