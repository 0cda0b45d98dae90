//! Requirements chosen by Envoy's route, end to end in a real Envoy
//! (`envoy/envoy.yaml` with more routes): a rule that matches Envoy's route
//! name, a requirement carried in a route's metadata, what a route without
//! one gets, and Envoy's RBAC filter deciding on the identity the filter
//! verified.

use crate::harness::{demo_token, now, Envoy};
use serde_json::{json, Value};

fn token(sub: &str, scope: &str) -> String {
    let claims: Value = json!({"iss": "https://idp.demo.example", "sub": sub, "aud": "orders-api",
        "scope": scope, "exp": now() + 600, "iat": now()});
    format!("Bearer {}", demo_token(&claims))
}

/// The demo's catch-all route, which every edit below replaces.
const CATCH_ALL: &str =
    "              - match: { prefix: \"/\" }\n                route: { cluster: echo }\n";

/// Named routes before the catch-all: `admin` matches `/admin` in any case
/// (as Envoy users write it), the others carry requirements in their
/// metadata — one valid, one public, one naming no provider.
const ROUTES: &str = r#"              - name: admin
                match: { prefix: "/admin", case_sensitive: false }
                route: { cluster: echo }
              - name: reports
                match: { prefix: "/reports" }
                route: { cluster: echo }
                metadata: { filter_metadata: { jwe_authn: { requires: demo-idp, required_claims: { scope: [ "reports:read" ] } } } }
              - name: status
                match: { prefix: "/status" }
                route: { cluster: echo }
                metadata: { filter_metadata: { jwe_authn: { requires: allow } } }
              - name: health-locked
                match: { prefix: "/health/locked" }
                route: { cluster: echo }
                metadata: { filter_metadata: { jwe_authn: { requires: any } } }
              - name: broken
                match: { prefix: "/broken" }
                route: { cluster: echo }
                metadata: { filter_metadata: { jwe_authn: { requires: nobody } } }
"#;

fn with_routes(text: String) -> String {
    assert!(
        text.contains(CATCH_ALL),
        "envoy/envoy.yaml changed its routes"
    );
    text.replacen(CATCH_ALL, &format!("{ROUTES}{CATCH_ALL}"), 1)
}

/// The demo configuration with the named routes, `route_metadata` on and,
/// first among the rules, one for the route named `admin`.
fn by_route(text: String) -> String {
    let text = with_routes(text);
    assert!(text.contains(r#""rules": ["#));
    text.replacen(
        r#""rules": ["#,
        r#""route_metadata": true,
                      "rules": [
                        {"match": {"route_name": "admin"}, "requires": "demo-idp",
                         "required_claims": {"scope": ["orders:admin"]}},"#,
        1,
    )
}

#[test]
fn a_rule_on_envoys_route_name_follows_envoys_matching() {
    let reader = token("alice", "orders:read");
    let admin = token("alice", "orders:admin");

    // The path rule alone (`prefix: /admin`, case-sensitive like every
    // text rule) does not see `/ADMIN/x`, which Envoy routes to the admin
    // route: a reader gets through. This is what a route-name rule is for.
    let envoy = Envoy::start(1, with_routes);
    let r = envoy.request("GET", "/ADMIN/x", &[("authorization", &reader)]);
    assert_eq!(r.status, 200, "{r:?}");
    drop(envoy);

    let envoy = Envoy::start(1, by_route);
    for path in ["/ADMIN/x", "/Admin/x", "/admin/x"] {
        let r = envoy.request("GET", path, &[("authorization", &reader)]);
        assert_eq!(r.status, 403, "{path}: {r:?}");
        assert!(r.body.contains("insufficient_scope"), "{path}: {r:?}");
        let r = envoy.request("POST", path, &[("authorization", &admin)]);
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(envoy.request("GET", path, &[]).status, 401, "{path}");
    }
}

#[test]
fn a_requirement_in_the_routes_metadata_travels_with_the_route() {
    let envoy = Envoy::start(1, by_route);
    let reader = token("alice", "orders:read");
    let reports = token("alice", "reports:read orders:read");

    // `reports`: a token from demo-idp with `reports:read`.
    assert_eq!(envoy.request("GET", "/reports/q", &[]).status, 401);
    let r = envoy.request("GET", "/reports/q", &[("authorization", &reader)]);
    assert_eq!(r.status, 403, "{r:?}");
    let r = envoy.request("GET", "/reports/q", &[("authorization", &reports)]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.echoed("x-jwt-sub"), Some("alice"));
    assert_eq!(
        r.echoed("authorization"),
        None,
        "the token is not forwarded"
    );

    // `status`: public by its metadata; no rule says so.
    let r = envoy.request("GET", "/status", &[]);
    assert_eq!(r.status, 200, "{r:?}");

    // The route's requirement comes before the rules: `/health` is public
    // by rule, but the `health-locked` route requires a token.
    assert_eq!(envoy.request("GET", "/health/live", &[]).status, 200);
    assert_eq!(envoy.request("GET", "/health/locked", &[]).status, 401);
    let r = envoy.request("GET", "/health/locked", &[("authorization", &reader)]);
    assert_eq!(r.status, 200, "{r:?}");

    // A route without a requirement or rule gets the default: a valid
    // token from any provider — never open by accident.
    assert_eq!(envoy.request("GET", "/orders", &[]).status, 401);
    let r = envoy.request("GET", "/orders", &[("authorization", "Bearer x.y.z.w.v")]);
    assert_eq!(r.status, 401, "{r:?}");
    let r = envoy.request("GET", "/orders", &[("authorization", &reader)]);
    assert_eq!(r.status, 200, "{r:?}");

    // A requirement that is not a valid one: the route is refused (500),
    // with or without a token, and counted.
    for headers in [&[][..], &[("authorization", reports.as_str())][..]] {
        let r = envoy.request("GET", "/broken", headers);
        assert_eq!(r.status, 500, "{r:?}");
        assert!(r.body.contains("server_error"), "{r:?}");
        assert_eq!(r.header("www-authenticate"), None);
    }
    assert_eq!(
        envoy.stat("wasmcustom.jwe_authn.denied.route_requirement"),
        2
    );
}

#[test]
fn without_route_metadata_the_routes_metadata_is_not_read() {
    // `route_metadata` off (the default): the metadata decides nothing and
    // the demo's rules apply (`/status` falls to the default).
    let envoy = Envoy::start(1, with_routes);
    assert_eq!(envoy.request("GET", "/status", &[]).status, 401);
    assert_eq!(envoy.request("GET", "/broken", &[]).status, 401);
    assert_eq!(envoy.request("GET", "/health/locked", &[]).status, 200);
}

/// Envoy's RBAC filter after jwe_authn, allowing `/orders` to the subject
/// `alice` only, read from the filter state jwe_authn writes
/// (`identity_in_filter_state`, on in the demo).
fn with_rbac(text: String) -> String {
    const ROUTER: &str = "          - name: envoy.filters.http.router\n";
    const RBAC: &str = r#"          - name: envoy.filters.http.rbac
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
              rules:
                action: ALLOW
                policies:
                  alice-orders:
                    permissions: [{ url_path: { path: { prefix: "/orders" } } }]
                    principals:
                    - filter_state: { key: "wasm.jwe_authn.sub", string_match: { exact: "alice" } }
                  everything-else:
                    permissions: [{ not_rule: { url_path: { path: { prefix: "/orders" } } } }]
                    principals: [{ any: true }]
"#;
    assert!(text.contains(ROUTER));
    text.replacen(ROUTER, &format!("{RBAC}{ROUTER}"), 1)
}

#[test]
fn envoys_rbac_decides_on_the_verified_identity() {
    let envoy = Envoy::start(1, with_rbac);
    let alice = token("alice", "orders:read");
    let bob = token("bob", "orders:read");

    let r = envoy.request("GET", "/orders/1", &[("authorization", &alice)]);
    assert_eq!(r.status, 200, "{r:?}");
    let r = envoy.request("GET", "/orders/1", &[("authorization", &bob)]);
    assert_eq!(r.status, 403, "RBAC refuses bob: {r:?}");
    assert!(r.body.contains("RBAC"), "{r:?}");
    // A client cannot claim to be alice: the identity headers it sends
    // are stripped, and RBAC reads filter state, which only jwe_authn
    // writes.
    let r = envoy.request(
        "GET",
        "/orders/1",
        &[("authorization", &bob), ("x-jwt-sub", "alice")],
    );
    assert_eq!(r.status, 403, "{r:?}");
    // Public routes carry no identity; RBAC's other policy lets them by.
    let r = envoy.request("GET", "/health", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    let r = envoy.request("GET", "/public/x", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    // Without a token jwe_authn answers first.
    assert_eq!(envoy.request("GET", "/orders/1", &[]).status, 401);
}
