//! Certificate-bound tokens (RFC 8705 §3), end to end in a real Envoy: a
//! TLS listener that asks for client certificates (made here with the
//! `openssl` CLI), a token bound to certificate A accepted with A and
//! refused with B, without a certificate and over plain HTTP; and the same
//! through Envoy's own `x-forwarded-client-cert`, which a client cannot
//! forge past the connection manager.

use crate::harness::{demo_token, now, Envoy};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A CA, a server certificate for 127.0.0.1 and two client certificates
/// (`a`, `b`), all from that CA, in a fresh directory.
fn certificates(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jwe-authn-bound-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ext = dir.join("server.ext");
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
        ],
    );
    for name in ["server", "a", "b"] {
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        openssl(
            &dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        let mut sign = vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
        ];
        if name == "server" {
            sign.extend(["-extfile", "server.ext"]);
        }
        openssl(&dir, &sign);
    }
    dir
}

/// RFC 8705's `x5t#S256` of a PEM certificate: base64url SHA-256 of its DER.
fn thumbprint(pem: &Path) -> String {
    let text = std::fs::read_to_string(pem).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    URL_SAFE_NO_PAD.encode(Sha256::digest(STANDARD.decode(body).unwrap()))
}

fn bound_token(x5t: &str) -> String {
    demo_token(
        &json!({"iss": "https://idp.demo.example", "sub": "alice", "aud": "orders-api",
        "scope": "orders:read", "exp": now() + 600, "iat": now(), "cnf": {"x5t#S256": x5t}}),
    )
}

fn plain_token() -> String {
    demo_token(
        &json!({"iss": "https://idp.demo.example", "sub": "alice", "aud": "orders-api",
        "scope": "orders:read", "exp": now() + 600, "iat": now()}),
    )
}

/// The demo with `certificate_bound` (these members) on its provider.
fn with_binding(members: &'static str) -> impl Fn(String) -> String {
    move |text: String| {
        const ISSUER: &str = r#""issuer": "https://idp.demo.example","#;
        assert!(text.contains(ISSUER));
        text.replacen(
            ISSUER,
            &format!(r#"{ISSUER} "certificate_bound": {{{members}}},"#),
            1,
        )
    }
}

/// The API listener over TLS (client certificates asked for, checked
/// against the test CA, not required), with `hcm` added to its connection
/// manager.
fn over_tls(dir: &Path, hcm: &str, text: String) -> String {
    const CHAIN: &str = "    filter_chains:\n    - filters:\n";
    const HCM: &str = "          stat_prefix: api\n";
    assert!(text.contains(CHAIN) && text.contains(HCM));
    let tls = format!(
        r#"    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: false
          common_tls_context:
            tls_certificates:
            - certificate_chain: {{ filename: "{0}/server.pem" }}
              private_key: {{ filename: "{0}/server.key" }}
            validation_context:
              trusted_ca: {{ filename: "{0}/ca.pem" }}
      filters:
"#,
        dir.display()
    );
    text.replacen(CHAIN, &tls, 1)
        .replacen(HCM, &format!("{HCM}{hcm}"), 1)
}

/// GET `path` over TLS with client certificate `cert` (`None`: without),
/// through curl; the status and body.
fn https(
    envoy: &Envoy,
    dir: &Path,
    cert: Option<&str>,
    token: &str,
    extra: &[&str],
) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--cacert"]).arg(dir.join("ca.pem"));
    if let Some(name) = cert {
        cmd.arg("--cert").arg(dir.join(format!("{name}.pem")));
        cmd.arg("--key").arg(dir.join(format!("{name}.key")));
    }
    cmd.args(["-H", &format!("authorization: Bearer {token}")]);
    for header in extra {
        cmd.args(["-H", header]);
    }
    cmd.args(["-w", "\n%{http_code}"]);
    cmd.arg(format!("https://127.0.0.1:{}/orders/1", envoy.api));
    let out = cmd.output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn a_token_bound_to_certificate_a_is_accepted_only_with_a() {
    let dir = certificates("connection");
    let a = bound_token(&thumbprint(&dir.join("a.pem")));
    let envoy = Envoy::start(1, {
        let dir = dir.clone();
        move |t| over_tls(&dir, "", with_binding("")(t))
    });
    let (status, body) = https(&envoy, &dir, Some("a"), &a, &[]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("x-jwt-sub: alice"), "{body}");
    let (status, body) = https(&envoy, &dir, Some("b"), &a, &[]);
    assert_eq!(status, 401, "another client's certificate: {body}");
    assert!(body.contains("invalid_token"), "{body}");
    let (status, _) = https(&envoy, &dir, None, &a, &[]);
    assert_eq!(status, 401, "TLS without a client certificate");
    // The CLI mints the same binding (`mint --bind-certificate`).
    let root = crate::harness::root();
    let out = Command::new(env!("CARGO_BIN_EXE_jwe-authn"))
        .args(["mint", "--claims"])
        .arg(r#"{"iss":"https://idp.demo.example","sub":"alice","aud":"orders-api"}"#)
        .args(["--expires-in", "10m", "--sign-key"])
        .arg(root.join("envoy/demo/sign.jwk"))
        .arg("--encrypt-key")
        .arg(root.join("envoy/demo/encrypt.pub.jwk"))
        .arg("--bind-certificate")
        .arg(dir.join("a.pem"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let minted = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(https(&envoy, &dir, Some("a"), &minted, &[]).0, 200);
    assert_eq!(https(&envoy, &dir, Some("b"), &minted, &[]).0, 401);
    // Not `required`: an unbound token is a bearer token.
    let (status, _) = https(&envoy, &dir, Some("b"), &plain_token(), &[]);
    assert_eq!(status, 200);
    assert_eq!(
        envoy.stat("wasmcustom.jwe_authn.denied.certificate_mismatch"),
        2
    );
    assert_eq!(
        envoy.stat("wasmcustom.jwe_authn.denied.certificate_missing"),
        1
    );
    // Thumbprints never reach the log.
    let log = envoy.log();
    assert!(!log.contains(&thumbprint(&dir.join("a.pem"))));
    assert!(!log.contains(&thumbprint(&dir.join("b.pem"))));
    drop(envoy);

    // `required`: an unbound token is refused too.
    let envoy = Envoy::start(1, {
        let dir = dir.clone();
        move |t| over_tls(&dir, "", with_binding(r#""required": true"#)(t))
    });
    let (status, _) = https(&envoy, &dir, Some("a"), &plain_token(), &[]);
    assert_eq!(status, 401);
    assert_eq!(
        envoy.stat("wasmcustom.jwe_authn.denied.certificate_unbound"),
        1
    );
    let (status, _) = https(&envoy, &dir, Some("a"), &a, &[]);
    assert_eq!(status, 200);
    drop(envoy);

    // Over plain HTTP there is no certificate at all.
    let envoy = Envoy::start(1, with_binding(""));
    let r = envoy.request(
        "GET",
        "/orders/1",
        &[("authorization", &format!("Bearer {a}"))],
    );
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        envoy.stat("wasmcustom.jwe_authn.denied.certificate_missing"),
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn behind_a_proxy_the_certificate_comes_from_a_trusted_header() {
    let dir = certificates("xfcc");
    let a = bound_token(&thumbprint(&dir.join("a.pem")));
    let xfcc = r#""trusted_header": {"name": "x-forwarded-client-cert", "format": "xfcc"}"#;
    // Envoy itself writes x-forwarded-client-cert from the TLS connection
    // (SANITIZE_SET), as a front proxy would.
    let envoy = Envoy::start(1, {
        let dir = dir.clone();
        move |t| {
            over_tls(
                &dir,
                "          forward_client_cert_details: SANITIZE_SET\n",
                with_binding(xfcc)(t),
            )
        }
    });
    let (status, body) = https(&envoy, &dir, Some("a"), &a, &[]);
    assert_eq!(status, 200, "{body}");
    let (status, _) = https(&envoy, &dir, Some("b"), &a, &[]);
    assert_eq!(status, 401);
    // A client's own header is replaced by Envoy's.
    let forged = format!("x-forwarded-client-cert: Hash={}", hex(&dir.join("a.pem")));
    let (status, _) = https(&envoy, &dir, Some("b"), &a, &[&forged]);
    assert_eq!(status, 401, "SANITIZE_SET replaces the client's header");
    drop(envoy);

    // With Envoy's default (SANITIZE), a header a client writes never
    // reaches the filter: no certificate.
    let envoy = Envoy::start(1, with_binding(xfcc));
    let r = envoy.request(
        "GET",
        "/orders/1",
        &[
            ("authorization", &format!("Bearer {a}")),
            (
                "x-forwarded-client-cert",
                &format!("Hash={}", hex(&dir.join("a.pem"))),
            ),
        ],
    );
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        envoy.stat("wasmcustom.jwe_authn.denied.certificate_missing"),
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The hex SHA-256 of a PEM certificate's DER (as XFCC's `Hash`).
fn hex(pem: &Path) -> String {
    let b = URL_SAFE_NO_PAD.decode(thumbprint(pem)).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}
