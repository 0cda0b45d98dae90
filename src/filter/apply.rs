//! Applying a decision to the current request (the effective context),
//! through [`super::host`]: for fresh requests and for requests that waited
//! for keys alike.

use super::host;
use super::stats::Stats;
use crate::decide::{Allow, Deny};
use proxy_wasm::types::LogLevel;

/// Filter state for access logs and later filters (when
/// `identity_in_filter_state`): Envoy stores each under `wasm.<name>`.
fn set_state(name: &str, value: Option<&str>) {
    if let Some(v) = value {
        host::set_filter_state(name, v.as_bytes());
    }
}

/// Rewrite the request headers, record the identity, count it.
pub fn allow(stats: &Stats, allow: &Allow) {
    for name in &allow.remove {
        host::set_request_header(name, None);
    }
    for (name, value) in &allow.rewrite {
        host::set_request_header(name, Some(value));
    }
    for (name, value) in allow.add() {
        host::set_request_header(name, Some(value));
    }
    if let Some(id) = allow.identity() {
        set_state("jwe_authn.provider", Some(id.provider));
        set_state("jwe_authn.iss", id.iss);
        set_state("jwe_authn.sub", id.sub);
    }
    stats.cache(allow.cache);
    stats.allowed();
}

/// Answer the request with the denial, log one line, count it.
pub fn deny(stats: &Stats, deny: &Deny) {
    stats.cache(deny.cache);
    stats.denied(deny.reason);
    host::log(
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
    let _ = host::send_response(deny.status, &headers, deny.body.as_bytes());
}
