//! What each fuzz target does with one input: shared by the targets in
//! `fuzz_targets/` and by `tests/fuzz_regressions.rs`, which replays every
//! saved finding (`fuzz/regressions/<target>/`) on each `make test`.

use jwe_authn::cache::Cache;
use jwe_authn::config::CompiledConfig;
use jwe_authn::decide::decide;
use jwe_authn::extract::Request;
use jwe_authn::jose::json;
use jwe_authn::jose::jwk::{parse_jwk, parse_jwks, private_jwk, public_jwk};
use jwe_authn::keystore::KeyStore;
use std::sync::OnceLock;

/// The fixed `now` the token seeds are minted for.
pub const NOW: u64 = 1_800_000_000;

/// The token target's configuration: keys of every algorithm family.
pub fn config() -> &'static CompiledConfig {
    static CONFIG: OnceLock<CompiledConfig> = OnceLock::new();
    CONFIG.get_or_init(
        || match CompiledConfig::from_json(include_str!("seeds/config.json")) {
            Ok(c) => c,
            Err(e) => panic!("fuzz config: {e}"),
        },
    )
}

/// `token`: the whole decision path on an arbitrary bearer value, twice (the
/// second time possibly from the cache).
pub fn token(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let config = config();
    let headers = vec![("authorization".to_string(), format!("Bearer {token}"))];
    let request = Request {
        method: "GET",
        path: "/orders",
        headers: &headers,
    };
    let mut cache = Cache::new(16, 300);
    let mut keys = KeyStore::new(config);
    let _ = decide(&request, NOW, config, &mut cache, &mut keys);
    let _ = decide(&request, NOW, config, &mut cache, &mut keys);
}

/// `jwk`: JWK and JWKS parsing, and exporting what parsed.
pub fn jwk(data: &[u8]) {
    let Ok(value) = json::parse(data) else {
        return;
    };
    if let Ok(keys) = parse_jwks(&value) {
        for k in &keys {
            let _ = public_jwk(k);
        }
    }
    if let Ok(k) = parse_jwk(&value) {
        let _ = public_jwk(&k);
        let _ = private_jwk(&k);
    }
}

/// `config`: parse, validate and compile, as `on_configure` does.
pub fn config_text(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = CompiledConfig::from_json_with_env(text, &|_| None);
    }
}
