//! Step 4: validate the claims of a verified token.
//!
//! `exp` (required unless `require_expiration` is false) and `nbf` are
//! checked against `now` with `clock_skew_seconds` of tolerance; `aud` must
//! contain one of the provider's `audiences` when those are set; the inner
//! `typ` must match the provider's `typ` when set. `iss` was matched exactly
//! when the provider was chosen. A date that is not a number is a rejection.

use crate::config::compile::normalise_typ;
use crate::config::CompiledConfig;
use crate::error::Reason;
use crate::verify::VerifiedJws;
use serde_json::{Map, Value};

/// Check the claims of `verified` at time `now` (seconds since the epoch).
pub fn validate(
    verified: &VerifiedJws<'_>,
    now: u64,
    config: &CompiledConfig,
) -> Result<(), Reason> {
    let claims = &verified.claims;
    let skew = config.clock_skew_seconds as f64;
    let now = now as f64;
    match numeric_date(claims, "exp")? {
        Some(exp) if now - skew >= exp => return Err(Reason::Expired),
        Some(_) => {}
        None if config.require_expiration => return Err(Reason::Claims("exp is required")),
        None => {}
    }
    if let Some(nbf) = numeric_date(claims, "nbf")? {
        if now + skew < nbf {
            return Err(Reason::NotYetValid);
        }
    }
    let provider = verified.provider;
    if !provider.audiences.is_empty() && !audience_matches(claims.get("aud"), &provider.audiences)?
    {
        return Err(Reason::Audience);
    }
    if let Some(want) = &provider.typ {
        let have = verified
            .header
            .as_ref()
            .and_then(|h| h.typ.as_deref())
            .map(normalise_typ);
        if have.as_deref() != Some(want.as_str()) {
            return Err(Reason::Claims(
                "inner typ does not match the provider's typ",
            ));
        }
    }
    Ok(())
}

/// A NumericDate claim (RFC 7519 §2): absent, or a JSON number.
fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<f64>, Reason> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or(Reason::Claims("date claim is not a number")),
        Some(_) => Err(Reason::Claims(match name {
            "exp" => "exp is not a number",
            "nbf" => "nbf is not a number",
            _ => "date claim is not a number",
        })),
    }
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3); any other
/// shape is malformed.
fn audience_matches(aud: Option<&Value>, accepted: &[String]) -> Result<bool, Reason> {
    match aud {
        None => Ok(false),
        Some(Value::String(a)) => Ok(accepted.iter().any(|x| x == a)),
        Some(Value::Array(list)) => {
            let mut found = false;
            for item in list {
                match item {
                    Value::String(a) => found |= accepted.iter().any(|x| x == a),
                    _ => return Err(Reason::Claims("aud is not a string or array of strings")),
                }
            }
            Ok(found)
        }
        Some(_) => Err(Reason::Claims("aud is not a string or array of strings")),
    }
}
