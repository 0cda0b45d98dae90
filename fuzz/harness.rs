//! What each fuzz target does with one input: shared by the targets in
//! `fuzz_targets/` and by `tests/hermetic/fuzz_regressions.rs`, which
//! replays every saved finding (`fuzz/regressions/<target>/`) on each
//! `make test`.

use jwe_authn::admission::{Admission, Metered};
use jwe_authn::cache::Cache;
use jwe_authn::config::CompiledConfig;
use jwe_authn::decide::decide;
use jwe_authn::extract::Request;
use jwe_authn::fetch_schedule::FetchSchedule;
use jwe_authn::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use jwe_authn::jose::header::{JweHeader, JwsHeader};
use jwe_authn::jose::json;
use jwe_authn::jose::jwe::encrypt::encrypt_compact;
use jwe_authn::jose::jwk::{
    check_verification_set, parse_jwk, parse_jwks, parse_pem, parse_public_jwk_value, private_jwk,
    public_jwk, Jwk,
};
use jwe_authn::jose::jws::sign_compact;
use jwe_authn::pipeline::verify_token;
use serde_json::Map;
use std::sync::OnceLock;

/// The fixed `now` the token seeds are minted for.
pub const NOW: u64 = 1_800_000_000;

/// The token target's configuration: keys of every algorithm family.
pub fn config() -> &'static CompiledConfig {
    static CONFIG: OnceLock<CompiledConfig> = OnceLock::new();
    CONFIG.get_or_init(
        || match CompiledConfig::from_json(include_str!("seeds/config/fuzz.json")) {
            Ok(c) => c,
            Err(e) => panic!("fuzz config: {e}"),
        },
    )
}

/// The keys the harness itself encrypts and signs with, so that fuzzed inner
/// JWSs and claims get past the (unforgeable) outer JWE and signature: the
/// configuration's `dir` key and the demo Ed25519 signing key, whose public
/// half the configuration trusts.
struct Minting {
    encrypt: Jwk,
    sign: Jwk,
}

fn minting() -> &'static Minting {
    static MINTING: OnceLock<Minting> = OnceLock::new();
    MINTING.get_or_init(|| {
        let encrypt = config()
            .decryption_keys
            .iter()
            .find(|k| k.kid.as_deref() == Some("enc-oct256"))
            .cloned()
            .unwrap_or_else(|| panic!("fuzz config: no enc-oct256 key"));
        let sign = json::parse(include_bytes!("../envoy/demo/sign.jwk"))
            .ok()
            .and_then(|v| parse_jwk(&v).ok())
            .unwrap_or_else(|| panic!("envoy/demo/sign.jwk does not parse"));
        Minting { encrypt, sign }
    })
}

fn seal(plaintext: &[u8], cty: bool) -> Option<String> {
    let mut extra = Map::new();
    if cty {
        extra.insert("cty".into(), "JWT".into());
    }
    encrypt_compact(
        KeyManagementAlg::Dir,
        ContentEncryptionAlg::A256Gcm,
        &minting().encrypt,
        extra,
        plaintext,
    )
    .ok()
}

/// Sign `payload` as the outer JWS of an encrypt-then-sign token (the
/// configuration's provider enables that order too).
fn sign_outer(payload: &[u8]) -> Option<String> {
    let mut header = Map::new();
    header.insert("cty".into(), "JWT".into());
    sign_compact(SignatureAlg::EdDsa, &minting().sign, header, payload).ok()
}

fn decide_twice(token: &str) {
    let config = config();
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str())];
    let request = Request {
        method: "GET",
        path: "/orders",
        headers: &headers,
        ..Default::default()
    };
    let mut cache = Cache::new(16, 300);
    let mut keys = FetchSchedule::new(config);
    // The filter's gate, with a budget for a few tokens: the cold path
    // under admission, and (for the second call) possibly shed.
    let mut admission = Admission::new(100, 50, 0);
    for _ in 0..2 {
        let mut gate = Metered::new(&mut admission, 0, || Some("10.0.0.1:1".to_string()));
        let _ = decide(&request, NOW, config, &mut cache, &mut keys, &mut gate);
    }
}

/// `token`, on every input:
/// - the whole decision path (`decide`) on the input as a bearer value,
///   twice (the second time possibly from the cache), which parses the
///   compact JWE and its header;
/// - the JWE and JWS protected-header parsers on the raw bytes.
///
/// And, because a fuzzer cannot forge a JWE or a signature:
/// - an input shaped like a compact JWS (two dots) is encrypted with the
///   configuration's `dir` key and run through `verify_token`: inner JWS
///   parsing, its header, key selection and signature checks;
/// - an input that starts with `{` is taken as claims: signed (EdDSA, a
///   trusted key), encrypted and decided (claim validation, rules,
///   `required_claims`, forwarded headers), also encrypted unsigned, and
///   also encrypted then signed (the other nesting order) and decided;
/// - an input shaped like a compact JWE (four dots) is signed as the outer
///   JWS of an encrypt-then-sign token: the inner JWE's parsing and
///   decryption behind a valid signature.
pub fn token(data: &[u8]) {
    let _ = JweHeader::parse(data);
    let _ = JwsHeader::parse(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    decide_twice(text);
    if text.starts_with('{') {
        let m = minting();
        if let Ok(jws) = sign_compact(SignatureAlg::EdDsa, &m.sign, Map::new(), data) {
            if let Some(token) = seal(jws.as_bytes(), true) {
                decide_twice(&token);
            }
        }
        if let Some(token) = seal(data, false) {
            let _ = verify_token(&token, NOW, config());
            if let Some(signed) = sign_outer(token.as_bytes()) {
                decide_twice(&signed);
            }
        }
    } else {
        match text.bytes().filter(|&b| b == b'.').count() {
            2 => {
                if let Some(token) = seal(data, true) {
                    let _ = verify_token(&token, NOW, config());
                }
            }
            4 => {
                if let Some(token) = sign_outer(data) {
                    let _ = verify_token(&token, NOW, config());
                }
            }
            _ => {}
        }
    }
}

/// `jwk`: JWK and JWKS parsing (and the verification-set checks a provider's
/// keys go through), exporting what parsed; PEM parsing of the same bytes.
pub fn jwk(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = parse_pem(text) {
            let k = Jwk::bare(key);
            let _ = public_jwk(&k);
            let _ = private_jwk(&k);
        }
    }
    let Ok(value) = json::parse(data) else {
        return;
    };
    if let Ok(keys) = parse_jwks(&value) {
        let _ = check_verification_set(&keys);
        for k in &keys {
            let _ = public_jwk(k);
        }
    }
    if let Ok(k) = parse_jwk(&value) {
        let _ = public_jwk(&k);
        let _ = private_jwk(&k);
    }
    let _ = parse_public_jwk_value(&value);
}

/// `config`: parse, validate and compile, as `on_configure` does.
pub fn config_text(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = CompiledConfig::from_json_with_env(text, &|_| None);
    }
}
