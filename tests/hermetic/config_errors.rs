//! Configuration errors name the field path and what was expected; nothing
//! is silently defaulted and nothing panics.

use jwe_authn::config::CompiledConfig;
use serde_json::{json, Value};

fn oct(kid: &str) -> Value {
    json!({"kty": "oct", "kid": kid, "k": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"})
}

fn base() -> Value {
    json!({
        "decryption_keys": {"keys": [oct("enc")]},
        "providers": {"idp": {"issuer": "https://idp.test", "local_jwks": {"keys": [oct("sig")]}}}
    })
}

fn error_for(config: Value) -> (String, String) {
    let e = CompiledConfig::from_json(&config.to_string()).unwrap_err();
    (e.path.clone(), e.to_string())
}

#[test]
fn the_base_configuration_compiles_with_documented_defaults() {
    let c = CompiledConfig::from_json(&base().to_string()).unwrap();
    assert_eq!(c.clock_skew_seconds, 60);
    assert!(c.require_expiration);
    assert!(c.require_signature);
    assert_eq!(c.max_token_bytes, 16384);
    assert_eq!(c.key_management.len(), 15);
    assert_eq!(c.content_encryption.len(), 6);
    assert_eq!(c.signature.len(), 14);
}

#[test]
fn unknown_fields_are_errors_at_every_level() {
    let mut c = base();
    c["bogus"] = json!(1);
    assert!(error_for(c).1.contains("bogus"));
    let mut c = base();
    c["providers"]["idp"]["audience"] = json!(["x"]);
    let (path, msg) = error_for(c);
    assert_eq!(path, "providers.idp.audience");
    assert!(msg.contains("unknown field"), "{msg}");
    let mut c = base();
    c["algorithms"] = json!({"signatures": ["ES256"]});
    assert_eq!(error_for(c).0, "algorithms.signatures");
}

#[test]
fn wrong_types_name_the_field() {
    let mut c = base();
    c["clock_skew_seconds"] = json!("60");
    assert_eq!(error_for(c).0, "clock_skew_seconds");
    let mut c = base();
    c["providers"]["idp"]["audiences"] = json!("orders");
    assert_eq!(error_for(c).0, "providers.idp.audiences");
}

#[test]
fn missing_required_fields_are_named() {
    let mut c = base();
    c.as_object_mut().unwrap().remove("decryption_keys");
    assert!(error_for(c).1.contains("decryption_keys"));
    let mut c = base();
    c["providers"]["idp"]
        .as_object_mut()
        .unwrap()
        .remove("issuer");
    let (path, msg) = error_for(c);
    assert_eq!(path, "providers.idp");
    assert!(msg.contains("issuer"), "{msg}");
}

#[test]
fn unusable_keys_name_the_key_and_member() {
    let mut c = base();
    c["providers"]["idp"]["local_jwks"]["keys"] =
        json!([oct("a"), {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]);
    let (path, _) = error_for(c);
    assert!(
        path.starts_with("providers.idp.local_jwks.keys[1]"),
        "{path}"
    );
    let mut c = base();
    c["decryption_keys"]["keys"] = json!([{"kty": "oct", "k": "AAAA="}]);
    assert!(error_for(c).0.starts_with("decryption_keys.keys[0]"));
    let mut c = base();
    c["decryption_keys"]["pem"] =
        json!([{"pem": "-----BEGIN NONSENSE-----\n-----END NONSENSE-----"}]);
    assert!(error_for(c).0.starts_with("decryption_keys.pem[0]"));
}

#[test]
fn contradictions_are_refused() {
    let mut c = base();
    c["decryption_keys"]["keys"] = json!([]);
    assert_eq!(error_for(c).0, "decryption_keys");
    let mut c = base();
    c["providers"] = json!({});
    assert_eq!(error_for(c).0, "providers");
    let mut c = base();
    c["providers"]["other"] = c["providers"]["idp"].clone();
    assert_eq!(error_for(c).0, "providers.other.issuer");
    let mut c = base();
    c["max_token_bytes"] = json!(10);
    assert_eq!(error_for(c).0, "max_token_bytes");
    let mut c = base();
    c["algorithms"] = json!({"key_management": ["RSA1_5"]});
    assert_eq!(error_for(c).0, "algorithms.key_management[0]");
    let mut c = base();
    c["algorithms"] = json!({"signature": []});
    assert_eq!(error_for(c).0, "algorithms.signature");
}

#[test]
fn duplicate_members_and_bad_json_are_errors() {
    let text =
        r#"{"decryption_keys": {"keys": []}, "decryption_keys": {"keys": []}, "providers": {}}"#;
    let e = CompiledConfig::from_json(text).unwrap_err();
    assert!(e.message.contains("duplicate"), "{e}");
    assert!(CompiledConfig::from_json("{").is_err());
    assert!(CompiledConfig::from_json("[]").is_err());
}

#[test]
fn a_public_key_cannot_decrypt() {
    // An EC public key (no d) as a decryption key is a configuration error.
    let mut c = base();
    c["decryption_keys"]["keys"] = json!([{
        "kty": "EC", "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    }]);
    let (path, msg) = error_for(c);
    assert_eq!(path, "decryption_keys.keys[0]", "{msg}");
}

#[test]
fn decryption_keys_from_the_environment() {
    let mut c = base();
    c["decryption_keys"] = json!({});
    c["decryption_keys_from_env"] = json!("KEYS");
    let text = c.to_string();
    let jwks = json!({"keys": [oct("from-env")]}).to_string();
    let env = |name: &str| (name == "KEYS").then(|| jwks.clone());
    let compiled = CompiledConfig::from_json_with_env(&text, &env).unwrap();
    assert_eq!(compiled.decryption_keys.len(), 1);
    assert_eq!(compiled.decryption_keys[0].kid.as_deref(), Some("from-env"));
    // Unset, not JSON, public keys: errors name the variable, never its contents.
    let e = CompiledConfig::from_json_with_env(&text, &|_| None).unwrap_err();
    assert_eq!(e.path, "decryption_keys_from_env");
    assert!(e.message.contains("`KEYS` is not set"));
    let e =
        CompiledConfig::from_json_with_env(&text, &|_| Some("secret-not-json".into())).unwrap_err();
    assert!(!e.to_string().contains("secret-not-json"), "{e}");
    let public = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}).to_string();
    let e = CompiledConfig::from_json_with_env(&text, &|_| Some(public.clone())).unwrap_err();
    assert_eq!(e.path, "decryption_keys_from_env($KEYS).keys[0]");
    // Inline and environment keys add up.
    let mut both = base();
    both["decryption_keys_from_env"] = json!("KEYS");
    assert_eq!(
        CompiledConfig::from_json_with_env(&both.to_string(), &env)
            .unwrap()
            .decryption_keys
            .len(),
        2
    );
}

/// `base()` with provider `idp` fetching its keys from `uri`.
fn remote(uri: &str) -> Value {
    let mut c = base();
    c["providers"]["idp"] = json!({
        "issuer": "https://idp.test",
        "remote_jwks": {"http_uri": {"uri": uri, "cluster": "idp"}}
    });
    c
}

/// URIs that are not `http(s)://host[:port]` followed by an RFC 3986 path
/// and query: refused wherever a URI is configured or discovered.
const BAD_URIS: &[&str] = &[
    "https://idp.test/my keys",
    "https://idp.test/keys\t",
    "https://idp.test/a\"b",
    "https://idp.test/a<b>",
    "https://idp.test/a{b}",
    "https://idp.test/a|b",
    "https://idp.test/a\\b",
    "https://idp.test/a^b",
    "https://idp.test/a`b",
    "https://idp.test/ä",
    "https://idp.test/keys#fragment",
    "https://idp.test/%zz",
    "https://idp.test/%4",
    "https://user@idp.test/keys",
    "https://idp test/keys",
    "https:///keys",
    "https://idp.test:port/keys",
    "https://idp.test:99999/keys",
    "ftp://idp.test/keys",
    "HTTPS://idp.test/keys",
    "idp.test/keys",
];

/// URIs accepted, with the `:authority` and `:path` sent.
const GOOD_URIS: &[(&str, &str, &str)] = &[
    ("https://idp.test/keys", "idp.test", "/keys"),
    ("https://idp.test", "idp.test", "/"),
    ("http://idp.test:8080", "idp.test:8080", "/"),
    ("https://idp.test?x=1", "idp.test", "/?x=1"),
    (
        "https://idp.test:8443/realms/a/protocol/openid-connect/certs?x=1&y=%20/z",
        "idp.test:8443",
        "/realms/a/protocol/openid-connect/certs?x=1&y=%20/z",
    ),
    (
        "http://127.0.0.1:9000/a-b._~!$&'()*+,;=:@/c",
        "127.0.0.1:9000",
        "/a-b._~!$&'()*+,;=:@/c",
    ),
    ("http://[::1]:9000/jwks", "[::1]:9000", "/jwks"),
];

#[test]
fn fetch_uris_follow_rfc_3986() {
    for uri in BAD_URIS {
        let (path, msg) = error_for(remote(uri));
        assert_eq!(
            path, "providers.idp.remote_jwks.http_uri.uri",
            "{uri}: {msg}"
        );
        let mut c = base();
        c["providers"]["idp"]["revocation"] = json!({"http_uri": {"uri": uri, "cluster": "idp"}});
        let (path, msg) = error_for(c);
        assert_eq!(
            path, "providers.idp.revocation.http_uri.uri",
            "{uri}: {msg}"
        );
    }
    for (uri, authority, path) in GOOD_URIS {
        let c = CompiledConfig::from_json(&remote(uri).to_string())
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        let source = c.providers[0].remote.clone().unwrap();
        assert_sent(uri, (authority, path), (&source.authority, &source.path));
    }
}

/// The `:authority` and `:path` a fetch of `uri` sends are `expected`.
fn assert_sent(uri: &str, expected: (&str, &str), sent: (&str, &str)) {
    assert_eq!(sent, expected, "{uri}");
}

#[test]
fn a_discovered_jwks_uri_follows_the_same_rule() {
    use jwe_authn::fetch_schedule::{Body, FetchSchedule};
    let mut c = base();
    c["providers"]["idp"] = json!({"issuer": "https://idp.test", "discovery": {"cluster": "idp"}});
    let config = CompiledConfig::from_json(&c.to_string()).unwrap();
    let discovered = |uri: &str| {
        let mut store = FetchSchedule::new(&config);
        let id = store.due(1000)[0].id;
        let doc = json!({"issuer": "https://idp.test", "jwks_uri": uri}).to_string();
        store
            .fetched(id, 1000, Some(200), Body::Bytes(doc.as_bytes()))
            .map(|_| store.due(1000).into_iter().next().unwrap())
    };
    for uri in BAD_URIS {
        assert!(discovered(uri).is_err(), "{uri} was discovered");
    }
    for (uri, authority, path) in GOOD_URIS {
        let fetch = discovered(uri).unwrap_or_else(|e| panic!("{uri}: {e:?}"));
        assert_sent(uri, (authority, path), (&fetch.authority, &fetch.path));
    }
}

#[test]
fn discovery_needs_an_issuer_url_without_query_or_fragment() {
    for issuer in [
        "idp.test",
        "https://idp.test/realm?x=1",
        "https://idp.test/realm#a",
        "https://idp.test/my realm",
    ] {
        let mut c = base();
        c["providers"]["idp"] = json!({"issuer": issuer, "discovery": {"cluster": "idp"}});
        let (path, msg) = error_for(c);
        assert_eq!(path, "providers.idp.issuer", "{issuer}: {msg}");
    }
    let mut c = base();
    c["providers"]["idp"] =
        json!({"issuer": "https://idp.test:8443/realms/a/", "discovery": {"cluster": "idp"}});
    let config = CompiledConfig::from_json(&c.to_string()).unwrap();
    let source = config.providers[0].remote.clone().unwrap();
    assert_eq!(source.authority, "idp.test:8443");
    assert_eq!(source.path, "/realms/a/.well-known/openid-configuration");
}
/// The three kinds of fetch source, each with its field paths.
fn fetch_sources() -> Vec<(Value, &'static str, &'static str)> {
    let remote_jwks = remote("https://idp.test/keys");
    let mut discovery = base();
    discovery["providers"]["idp"] =
        json!({"issuer": "https://idp.test", "discovery": {"cluster": "idp"}});
    let mut revocation = base();
    revocation["providers"]["idp"]["revocation"] =
        json!({"http_uri": {"uri": "https://idp.test/revoked", "cluster": "idp"}});
    vec![
        (
            remote_jwks,
            "/providers/idp/remote_jwks/http_uri",
            "/providers/idp/remote_jwks",
        ),
        (
            discovery,
            "/providers/idp/discovery",
            "/providers/idp/discovery",
        ),
        (
            revocation,
            "/providers/idp/revocation/http_uri",
            "/providers/idp/revocation",
        ),
    ]
}

fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

#[test]
fn every_fetch_source_checks_its_cluster_and_timeout() {
    for (config, http, _) in fetch_sources() {
        let mut c = config.clone();
        *c.pointer_mut(&format!("{http}/cluster")).unwrap() = json!("");
        assert_refused(c, &format!("{}.cluster", dotted(http)), "Envoy cluster");
        for timeout in ["0s", "0.000s"] {
            let mut c = config.clone();
            c.pointer_mut(http).unwrap()["timeout"] = json!(timeout);
            assert_refused(c, &format!("{}.timeout", dotted(http)), "positive");
        }
        for bad in ["5", "5m", "-1s", "1.5000s", ".5s", "s", ""] {
            let mut c = config.clone();
            c.pointer_mut(http).unwrap()["timeout"] = json!(bad);
            assert_eq!(error_for(c).0, format!("{}.timeout", dotted(http)), "{bad}");
        }
    }
}

#[test]
fn fetch_durations_are_whole_seconds_rounded_up() {
    for (config, _, at) in fetch_sources() {
        for (text, seconds) in [
            ("0s", 1),
            ("0.001s", 1),
            ("1.5s", 2),
            ("2s", 2),
            ("59.999s", 60),
        ] {
            let mut c = config.clone();
            c.pointer_mut(at).unwrap()["cache_duration"] = json!(text);
            let compiled = CompiledConfig::from_json(&c.to_string()).unwrap();
            let p = &compiled.providers[0];
            let source = p.remote.clone().or(p.revocation_source.clone()).unwrap();
            assert_eq!(
                source.cache_duration_s, seconds,
                "{at}.cache_duration {text}"
            );
        }
    }
    for (text, seconds) in [("0s", 0), ("0.5s", 1), ("1.5s", 2), ("30s", 30)] {
        let mut c = remote("https://idp.test/keys");
        c["providers"]["idp"]["remote_jwks"]["unknown_kid_refetch_interval"] = json!(text);
        let compiled = CompiledConfig::from_json(&c.to_string()).unwrap();
        let source = compiled.providers[0].remote.clone().unwrap();
        assert_eq!(source.refetch_interval_s, seconds, "{text}");
    }
}
fn p256_public() -> Value {
    json!({"kty": "EC", "crv": "P-256",
           "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
           "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})
}

fn with_member(mut key: Value, member: &str, value: Value) -> Value {
    key[member] = value;
    key
}

/// `config` is refused at `path` with a message that says `expected`.
fn assert_refused(config: Value, path: &str, expected: &str) {
    let (at, msg) = error_for(config);
    assert_eq!(at, path, "{msg}");
    assert!(msg.contains(expected), "{at}: {msg}");
}

#[test]
fn a_key_whose_use_or_key_ops_forbid_its_role_is_refused() {
    // Decryption keys: `use: sig`, `key_ops` with no decrypting operation,
    // or a signature `alg` could never decrypt anything.
    for (member, value, expected) in [
        ("use", json!("sig"), "\"enc\""),
        ("key_ops", json!(["wrapKey"]), "unwrapKey"),
        ("key_ops", json!(["sign", "verify"]), "decrypt"),
        ("alg", json!("HS256"), "key management"),
    ] {
        let mut c = base();
        c["decryption_keys"]["keys"] =
            json!([oct("a"), with_member(oct("b"), member, value.clone())]);
        assert_refused(c, &format!("decryption_keys.keys[1].{member}"), expected);
    }
    // Verification keys: `use: enc`, `key_ops` without `verify`, or an
    // encryption `alg`.
    for (key, member, value, expected) in [
        (p256_public(), "use", json!("enc"), "\"sig\""),
        (p256_public(), "key_ops", json!(["sign"]), "verify"),
        (
            p256_public(),
            "key_ops",
            json!(["encrypt", "deriveKey"]),
            "verify",
        ),
        (p256_public(), "alg", json!("ECDH-ES"), "signature"),
        (oct("s"), "alg", json!("A256KW"), "signature"),
        (oct("s"), "alg", json!("A256GCM"), "signature"),
    ] {
        let mut c = base();
        let same_kind = if key["kty"] == "oct" {
            oct("x")
        } else {
            p256_public()
        };
        c["providers"]["idp"]["local_jwks"]["keys"] =
            json!([same_kind, with_member(key, member, value.clone())]);
        assert_refused(
            c,
            &format!("providers.idp.local_jwks.keys[1].{member}"),
            expected,
        );
    }
    // Keys from the environment are held to the same rule.
    let mut c = base();
    c["decryption_keys_from_env"] = json!("KEYS");
    let jwks = json!({"keys": [with_member(oct("env"), "use", json!("sig"))]}).to_string();
    let e =
        CompiledConfig::from_json_with_env(&c.to_string(), &|_| Some(jwks.clone())).unwrap_err();
    assert_eq!(e.path, "decryption_keys_from_env($KEYS).keys[0].use");
    // So are PEM keys' `alg`.
    let mut c = base();
    c["decryption_keys"]["pem"] = json!([{"pem": p256_private_pem(), "alg": "ES256"}]);
    let (path, msg) = error_for(c);
    assert_eq!(path, "decryption_keys.pem[0].alg", "{msg}");
}

#[test]
fn metadata_that_permits_the_role_is_accepted() {
    for (member, value) in [
        ("use", json!("enc")),
        ("key_ops", json!(["unwrapKey"])),
        ("key_ops", json!(["decrypt"])),
        ("key_ops", json!(["wrapKey", "unwrapKey"])),
        ("alg", json!("A256KW")),
        ("alg", json!("dir")),
        ("alg", json!("A128CBC-HS256")),
    ] {
        let mut c = base();
        c["decryption_keys"]["keys"] = json!([with_member(oct("b"), member, value.clone())]);
        CompiledConfig::from_json(&c.to_string()).unwrap_or_else(|e| panic!("{value}: {e}"));
    }
    for (member, value) in [
        ("use", json!("sig")),
        ("key_ops", json!(["verify"])),
        ("key_ops", json!(["sign", "verify"])),
        ("alg", json!("ES256")),
    ] {
        let mut c = base();
        c["providers"]["idp"]["local_jwks"]["keys"] =
            json!([with_member(p256_public(), member, value.clone())]);
        CompiledConfig::from_json(&c.to_string()).unwrap_or_else(|e| panic!("{value}: {e}"));
    }
}

/// A fresh P-256 private key as PKCS#8 PEM, for the PEM cases.
fn p256_private_pem() -> String {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    match jwe_authn::jose::jwk::generate(jwe_authn::jose::jwk::KeyType::P256).unwrap() {
        jwe_authn::jose::jwk::Key::Ec(jwe_authn::jose::jwk::EcKey::P256Private(k)) => k
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap()
            .to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_route_name_rule_is_one_matcher_and_a_real_name() {
    let rule = |m: Value| {
        let mut c = base();
        c["rules"] = json!([{"match": m, "requires": "idp"}]);
        c
    };
    assert!(CompiledConfig::from_json(&rule(json!({"route_name": "admin"})).to_string()).is_ok());
    let (path, text) = error_for(rule(json!({"route_name": "admin", "prefix": "/a"})));
    assert_eq!(path, "rules[0].match");
    assert!(text.contains("route_name"), "{text}");
    assert_eq!(
        error_for(rule(json!({"route_name": ""}))).0,
        "rules[0].match.route_name"
    );
    assert_eq!(
        error_for(rule(json!({"route_name": "a\nb"}))).0,
        "rules[0].match.route_name"
    );
    let mut c = base();
    c["route_metadata"] = json!("yes");
    assert_eq!(error_for(c).0, "route_metadata");
}

/// RFC 8037 A.1's public Ed25519 key.
fn ed25519_public() -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
}

#[test]
fn ed25519_is_accepted_and_ed448_refused_by_name_wherever_an_algorithm_is_named() {
    // RFC 9864's fully specified name, in a key and in the allow-list.
    let mut c = base();
    c["providers"]["idp"]["local_jwks"]["keys"] =
        json!([with_member(ed25519_public(), "alg", json!("Ed25519"))]);
    c["algorithms"] = json!({"signature": ["Ed25519", "EdDSA"]});
    let compiled = CompiledConfig::from_json(&c.to_string()).unwrap();
    assert_eq!(compiled.signature.len(), 2);
    // `Ed25519` does not fit another key type.
    let mut c = base();
    c["providers"]["idp"]["local_jwks"]["keys"] =
        json!([with_member(p256_public(), "alg", json!("Ed25519"))]);
    assert_refused(c, "providers.idp.local_jwks.keys[0].alg", "`Ed25519`");
    // Ed448: in the allow-list, as a key's `alg`, as a PEM key's `alg` and
    // as a curve, each refused naming the field and saying why.
    let mut c = base();
    c["algorithms"] = json!({"signature": ["Ed25519", "Ed448"]});
    assert_refused(c, "algorithms.signature[1]", "Ed448 is not supported");
    let mut c = base();
    c["providers"]["idp"]["local_jwks"]["keys"] =
        json!([with_member(ed25519_public(), "alg", json!("Ed448"))]);
    assert_refused(
        c,
        "providers.idp.local_jwks.keys[0].alg",
        "Ed448 is not supported",
    );
    let mut c = base();
    c["providers"]["idp"]["local_jwks"] = json!({"pem": [{
        "pem": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n",
        "alg": "Ed448"}]});
    assert_refused(
        c,
        "providers.idp.local_jwks.pem[0].alg",
        "Ed448 is not supported",
    );
    // An Ed448 key (57-byte x): the curve is named, not the length.
    let mut c = base();
    c["providers"]["idp"]["local_jwks"]["keys"] = json!([{"kty": "OKP", "crv": "Ed448",
        "x": "X9dEm1m0Yf0s54fsYWrUah2hNCSFpw4fig6nXYDpZ3jt8SR2m0bHBhvWeD3x5Q9s0foavq_oJWGA"}]);
    assert_refused(
        c,
        "providers.idp.local_jwks.keys[0].crv",
        "Ed448 and X448 are not supported",
    );
}
