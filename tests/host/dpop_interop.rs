//! DPoP (RFC 9449) end to end in a real Envoy, with proofs made by an
//! independent client library: npm `dpop` (tests/interop/dpop.mjs, pinned
//! in tests/interop/package-lock.json), for every proof algorithm it and
//! the filter share (ES256, PS256, RS256, Ed25519).

use crate::harness::{demo_token, now, root, Envoy};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A `dpop` client holding one key pair.
struct Client {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// The key's RFC 7638 thumbprint: the token's `cnf.jkt`.
    jkt: String,
}

impl Client {
    fn new(alg: &str) -> Client {
        let dir = root().join("tests/interop");
        let mut child = Command::new("node")
            .arg("dpop.mjs")
            .arg(alg)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node");
        let input = child.stdin.take().unwrap();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        output.read_line(&mut line).unwrap();
        let first: Value = serde_json::from_str(&line).unwrap();
        let jkt = first["jkt"].as_str().unwrap().to_string();
        Client {
            child,
            input,
            output,
            jkt,
        }
    }

    /// A fresh proof for `method url` with `token`.
    fn proof(&mut self, method: &str, url: &str, token: &str) -> String {
        writeln!(self.input, "{method} {url} {token}").unwrap();
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        line.trim().to_string()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn bound_token(jkt: &str) -> String {
    demo_token(
        &json!({"iss": "https://idp.demo.example", "sub": "alice", "aud": "orders-api",
        "scope": "orders:read", "exp": now() + 600, "iat": now(), "cnf": {"jkt": jkt}}),
    )
}

/// The demo with `dpop` on its provider.
fn with_dpop(text: String) -> String {
    const ISSUER: &str = r#""issuer": "https://idp.demo.example","#;
    assert!(text.contains(ISSUER));
    text.replacen(ISSUER, &format!(r#"{ISSUER} "dpop": {{}},"#), 1)
}

#[test]
fn proofs_from_an_independent_client_are_accepted_once() {
    let envoy = Envoy::start(1, with_dpop);
    // The harness's client sends `host: localhost`; Envoy's :scheme is http.
    let url = "http://localhost/orders/1";
    // Every algorithm npm `dpop` 2.1.2 makes (no ES384/ES512; Ed25519 by
    // its RFC 9864 name).
    for alg in ["ES256", "PS256", "RS256", "Ed25519"] {
        let mut client = Client::new(alg);
        let token = bound_token(&client.jkt);
        let proof = client.proof("GET", url, &token);
        let auth = format!("DPoP {token}");
        let headers = [("authorization", auth.as_str()), ("dpop", proof.as_str())];
        let r = envoy.request("GET", "/orders/1", &headers);
        assert_eq!(r.status, 200, "{alg}: {r:?}");
        assert_eq!(r.echoed("x-jwt-sub"), Some("alice"));
        // The same proof again: a replay.
        let r = envoy.request("GET", "/orders/1", &headers);
        assert_eq!(r.status, 401, "{alg} replayed: {r:?}");
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("DPoP "), "{challenge}");
        assert!(challenge.contains("invalid_dpop_proof"), "{challenge}");
        // A fresh proof for the cached token: accepted again.
        let proof = client.proof("GET", url, &token);
        let headers = [("authorization", auth.as_str()), ("dpop", proof.as_str())];
        assert_eq!(
            envoy.request("GET", "/orders/1", &headers).status,
            200,
            "{alg}"
        );
        // A proof for another method, or the token as a bearer token.
        let proof = client.proof("POST", url, &token);
        let headers = [("authorization", auth.as_str()), ("dpop", proof.as_str())];
        assert_eq!(envoy.request("GET", "/orders/1", &headers).status, 401);
        let bearer = format!("Bearer {token}");
        let r = envoy.request("GET", "/orders/1", &[("authorization", &bearer)]);
        assert_eq!(r.status, 401, "{alg} as bearer: {r:?}");
    }
    assert!(envoy.stat("wasmcustom.jwe_authn.denied.dpop_replayed") >= 4);
    assert!(envoy.stat("wasmcustom.jwe_authn.denied.dpop_bound_as_bearer") >= 4);
    assert!(envoy.stat("wasmcustom.jwe_authn.denied.dpop_proof") >= 4);
}
