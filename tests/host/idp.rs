//! A loopback IdP for the end-to-end tests: a JWKS (and discovery,
//! revocation) server whose answers a test changes, tokens signed by keys
//! it serves, and `envoy/envoy.yaml` rewritten to fetch from it.

use crate::common::{mint, public};
use crate::harness::{demo_key, Envoy};
use jwe_authn::jose::alg::{
    ContentEncryptionAlg as Enc, KeyManagementAlg as Alg, SignatureAlg as Sig,
};
use jwe_authn::jose::jwk::{generate, Jwk, KeyType};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the JWKS server answers.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
    pub hits: u32,
    /// Other paths: (path, body), served with 200 and no delay.
    pub routes: Vec<(String, String)>,
}

pub fn answer(body: String, delay: Duration) -> Arc<Mutex<Answer>> {
    Arc::new(Mutex::new(Answer {
        status: 200,
        body,
        delay,
        hits: 0,
        routes: Vec::new(),
    }))
}

/// A JWKS server on a free loopback port; answers as `Answer` says.
pub fn jwks_server(answer: Arc<Mutex<Answer>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let answer = Arc::clone(&answer);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let path = line.split(' ').nth(1).unwrap_or_default().to_string();
                line.clear();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let (status, body, delay) = {
                    let mut a = answer.lock().unwrap();
                    match a.routes.iter().find(|(p, _)| *p == path) {
                        Some((_, body)) => (200, body.clone(), Duration::ZERO),
                        None => {
                            a.hits += 1;
                            (a.status, a.body.clone(), a.delay)
                        }
                    }
                };
                std::thread::sleep(delay);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

/// The filter's own lines of the Envoy log, for assertion messages.
pub fn filter_log(envoy: &Envoy) -> String {
    envoy
        .log()
        .lines()
        .filter(|l| l.contains("wasm"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn signer(kid: &str) -> Jwk {
    Jwk {
        kid: Some(kid.into()),
        ..Jwk::bare(generate(KeyType::P256).unwrap())
    }
}

pub fn jwks(keys: &[&Jwk]) -> String {
    json!({"keys": keys.iter().map(|k| public(k)).collect::<Vec<_>>()}).to_string()
}

pub fn token(signer: &Jwk) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": "https://idp.demo.example", "sub": "alice", "aud": "orders-api", "scope": "orders:read", "exp": now + 600});
    format!(
        "Bearer {}",
        mint(
            Sig::Es256,
            signer,
            Alg::EcdhEsA256Kw,
            Enc::A256Gcm,
            &demo_key("encrypt.pub.jwk"),
            &claims
        )
    )
}

/// envoy/envoy.yaml with the provider's keys fetched from the JWKS server
/// through a new `idp` cluster.
pub fn with_remote_jwks(text: String, port: u16, timeout: &str, cache_duration: &str) -> String {
    let remote = format!(
        r#""remote_jwks": {{"http_uri": {{"uri": "http://idp.test/.well-known/jwks.json", "cluster": "idp", "timeout": "{timeout}"}}, "cache_duration": "{cache_duration}", "unknown_kid_refetch_interval": "30s"}},"#
    );
    with_keys_from(text, port, &remote)
}

/// envoy/envoy.yaml with the provider's `local_jwks` replaced by `keys`
/// (JSON members ending in a comma) and an `idp` cluster to `port`.
pub fn with_keys_from(text: String, port: u16, keys: &str) -> String {
    let start = text.find(r#""local_jwks": {"#).unwrap();
    let end = start + text[start..].find(r#""forward_jws_header""#).unwrap();
    let text = format!(
        "{}{keys}\n                        {}",
        &text[..start],
        &text[end..]
    );
    text.replace(
        "  clusters:\n",
        &format!(
            "  clusters:\n  - name: idp\n    type: STATIC\n    connect_timeout: 1s\n    load_assignment:\n      cluster_name: idp\n      endpoints:\n      - lb_endpoints:\n        - endpoint:\n            address:\n              socket_address: {{ address: 127.0.0.1, port_value: {port} }}\n"
        ),
    )
}

/// `envoy/envoy.yaml` whose provider keeps its local keys and fetches a
/// revocation list from the loopback IdP (`extra`: more members of
/// `revocation`, each followed by a comma).
pub fn with_revocation_list(text: String, port: u16, extra: &str) -> String {
    let revocation = format!(
        r#""revocation": {{{extra}"http_uri": {{"uri": "http://idp.test/revoked", "cluster": "idp", "timeout": "1s"}}, "cache_duration": "1s"}},"#
    );
    let local = text.find(r#""local_jwks": {"#).unwrap();
    let with = format!(
        "{}{revocation}\n                        {}",
        &text[..local],
        &text[local..]
    );
    let keys = with
        [with.find(r#""local_jwks": {"#).unwrap()..with.find(r#""forward_jws_header""#).unwrap()]
        .to_string();
    with_keys_from(with, port, &keys)
}
