//! `keygen`: print a fresh private JWK, or the public half of a key file.

use crate::args::Args;
use crate::{keyfile, Failure};
use jwe_authn::jose::jwk::{self, Jwk, KeyType, KeyUse};
use serde_json::Value;

/// Run `keygen`.
pub fn run(argv: &[String]) -> Result<(), Failure> {
    let args = Args::parse(argv, &["kty", "crv", "size", "kid", "alg", "use", "public"])?;
    args.no_positional()?;
    if let Some(path) = args.get("public") {
        return print_public(path);
    }
    let kind = key_type(&args)?;
    let key = jwk::generate(kind).map_err(Failure::usage)?;
    let key_use = match args.get("use") {
        None => None,
        Some("sig") => Some(KeyUse::Sig),
        Some("enc") => Some(KeyUse::Enc),
        Some(_) => return Err(Failure::usage("--use expects sig or enc")),
    };
    let jwk = Jwk {
        kid: args.get("kid").map(str::to_string),
        alg: args.get("alg").map(str::to_string),
        key_use,
        key_ops: None,
        key,
    };
    let value = jwk::private_jwk(&jwk).ok_or_else(|| Failure::usage("key cannot be exported"))?;
    // Round-trip through the parser so `--alg` is validated exactly like configuration.
    jwk::parse_jwk(&value).map_err(|e| Failure::usage(e.to_string()))?;
    print_json(&value)
}

fn key_type(args: &Args) -> Result<KeyType, Failure> {
    let size = match args.get("size") {
        Some(s) => Some(
            s.parse::<usize>()
                .map_err(|_| Failure::usage("--size expects a number of bits"))?,
        ),
        None => None,
    };
    match (args.require("kty")?, args.get("crv")) {
        ("RSA", None) => Ok(KeyType::Rsa {
            bits: size.unwrap_or(2048),
        }),
        ("EC", Some("P-256") | None) => Ok(KeyType::P256),
        ("EC", Some("P-384")) => Ok(KeyType::P384),
        ("EC", Some("P-521")) => Ok(KeyType::P521),
        ("OKP", Some("X25519")) => Ok(KeyType::X25519),
        ("OKP", Some("Ed25519") | None) => Ok(KeyType::Ed25519),
        ("oct", None) => {
            let bits = size.unwrap_or(256);
            if bits % 8 != 0 {
                return Err(Failure::usage("--size for oct must be a multiple of 8"));
            }
            Ok(KeyType::Oct { bytes: bits / 8 })
        }
        (kty, crv) => Err(Failure::usage(format!(
            "unsupported --kty {kty}{}",
            crv.map(|c| format!(" --crv {c}")).unwrap_or_default()
        ))),
    }
}

fn print_public(path: &str) -> Result<(), Failure> {
    let (keys, is_set) = keyfile::load_all(path)?;
    let public: Option<Vec<Value>> = keys.iter().map(jwk::public_jwk).collect();
    let mut public = public.ok_or_else(|| Failure::usage("an oct key has no public half"))?;
    match (is_set, public.pop()) {
        (false, Some(one)) => print_json(&one),
        (_, last) => {
            public.extend(last);
            print_json(&serde_json::json!({ "keys": public }))
        }
    }
}

/// Print JSON to stdout, pretty.
pub fn print_json(value: &Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::usage(e.to_string()))?;
    println!("{text}");
    Ok(())
}
