//! Applying a decision to the current request (the effective context):
//! used by the HTTP context for fresh requests and by the root context for
//! requests that waited for keys.

use super::root::Shared;
use crate::decide::{Allow, Deny};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{LogLevel, MapType};

fn set_header(name: &str, value: Option<&str>) {
    let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, value);
}

/// Filter state for access logs and later filters (when
/// `identity_in_filter_state`): Envoy stores each under `wasm.<name>`.
fn set_state(name: &str, value: Option<&str>) {
    if let Some(v) = value {
        let _ = hostcalls::set_property(vec![name], Some(v.as_bytes()));
    }
}

/// Rewrite the request headers, record the identity, count it.
pub fn allow(shared: &Shared, allow: &Allow) {
    for name in &allow.remove {
        set_header(name, None);
    }
    for (name, value) in &allow.rewrite {
        set_header(name, Some(value));
    }
    for (name, value) in allow.add() {
        set_header(name, Some(value));
    }
    if let Some(id) = allow.identity() {
        set_state("jwe_authn.provider", Some(id.provider));
        set_state("jwe_authn.iss", id.iss);
        set_state("jwe_authn.sub", id.sub);
    }
    shared.stats.cache(allow.cache);
    shared.stats.allowed();
}

/// Answer the request with the denial, log one line, count it.
pub fn deny(shared: &Shared, deny: &Deny) {
    shared.stats.cache(deny.cache);
    shared.stats.denied(deny.reason);
    let _ = hostcalls::log(
        LogLevel::Debug,
        &format!(
            "jwe_authn: denied status={} reason={} detail=\"{}\" kid={} alg={}{}",
            deny.status,
            deny.reason.stat(),
            deny.reason.detail(),
            deny.kid.as_deref().unwrap_or("-"),
            deny.alg.unwrap_or("-"),
            deny.source
                .as_deref()
                .map(|s| format!(" source={s}"))
                .unwrap_or_default(),
        ),
    );
    let retry_after = deny.retry_after.map(|s| s.to_string());
    let mut headers = vec![
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
    ];
    if let Some(seconds) = &retry_after {
        headers.push(("retry-after", seconds.as_str()));
    }
    if let Some(challenge) = &deny.www_authenticate {
        headers.push(("www-authenticate", challenge.as_str()));
    }
    let _ =
        hostcalls::send_http_response(u32::from(deny.status), headers, Some(deny.body.as_bytes()));
}
