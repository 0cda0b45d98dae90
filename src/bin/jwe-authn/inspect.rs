//! `inspect`: print a token's protected header(s) without decrypting.

use crate::args::Args;
use crate::keygen::print_json;
use crate::Failure;
use jwe_authn::jose::{b64, json};

/// Run `inspect`.
pub fn run(argv: &[String]) -> Result<(), Failure> {
    let args = Args::parse(argv, &[])?;
    let [token] = args.positional.as_slice() else {
        return Err(Failure::usage("inspect takes exactly one TOKEN"));
    };
    let token = token.trim();
    let segments = token.split('.').count();
    if segments != 5 && segments != 3 {
        return Err(Failure::usage(format!(
            "not a compact JOSE token ({segments} segments)"
        )));
    }
    let header = token.split('.').next().unwrap_or_default();
    let bytes = b64::decode(header.as_bytes())
        .ok_or_else(|| Failure::usage("protected header is not base64url"))?;
    let value =
        json::parse(&bytes).map_err(|e| Failure::usage(format!("protected header: {e}")))?;
    let cty_jwt = value
        .get("cty")
        .and_then(|c| c.as_str())
        .is_some_and(|c| jwe_authn::config::compile::normalise_typ(c) == "jwt");
    let kind = match (segments, cty_jwt) {
        (5, _) => "JWE (compact); the payload is encrypted and not shown",
        (_, true) => {
            "JWS (compact) with cty JWT: encrypt-then-sign, accepted only by a provider \
             whose nesting lists encrypt_then_sign; its payload is a JWE, not shown"
        }
        _ => "JWS (compact); a plain JWS is refused by the filter",
    };
    eprintln!("{kind}");
    print_json(&value)
}
