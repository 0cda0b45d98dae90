//! `jwe-authn`: generate keys, mint nested JWEs, verify them exactly as the
//! filter does, and inspect their headers.
//!
//! Exit codes: 0 success; 1 token rejected (`verify`); 2 usage or
//! configuration error.

mod args;
mod inspect;
mod keyfile;
mod keygen;
mod mint;
mod verify;

use std::process::ExitCode;

const USAGE: &str = "\
usage:
  jwe-authn keygen --kty RSA|EC|OKP|oct [--crv P-256|P-384|P-521|X25519|Ed25519]
                   [--size BITS] [--kid ID] [--alg ALG] [--use sig|enc]
  jwe-authn keygen --public FILE
  jwe-authn mint --claims JSON|@FILE --sign-key FILE --encrypt-key FILE
                 [--sig-alg ALG] [--alg ALG] [--enc ENC] [--expires-in 1h] [--typ TYP] [--now SECONDS]
                 [--sign-only true]   (a plain signed JWT, for comparisons; the filter refuses it)
                 [--bind-certificate CERT.pem]   (cnf.x5t#S256: bound to that client certificate, RFC 8705)
                 [--bind-jwk KEY]   (cnf.jkt: bound to that DPoP key, its RFC 7638 thumbprint, RFC 9449)
                 [--count N]          (N distinct tokens, one per line; for load tests)
                 [--nesting encrypt_then_sign]  (a signed JWS around a JWE of the claims)
  jwe-authn verify --config FILE [--token TOKEN | --token-file FILE] [--now SECONDS]
  jwe-authn inspect TOKEN
  jwe-authn schema                  (the configuration's JSON Schema, as shipped in schema/)

Keys are JWK files (a JWK or a JWKS with one key) or PEM (PKCS#8, SPKI).
verify reads the token from stdin when neither --token nor --token-file is given
and exits 0 (claims on stdout), 1 (rejected, reason on stderr) or 2 (usage).";

/// A CLI failure: the message and the exit code.
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// A usage or configuration error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// A rejected token (exit 1).
    pub fn rejected(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

/// `schema`: print the configuration's JSON Schema (`make schema` writes it
/// to [`json_schema::SHIPPED_PATH`](jwe_authn::config::json_schema::SHIPPED_PATH)).
fn schema(args: &[String]) -> Result<(), Failure> {
    if let Some(extra) = args.first() {
        return Err(Failure::usage(format!(
            "schema takes no arguments, got `{extra}`"
        )));
    }
    let schema = jwe_authn::config::json_schema::generate().map_err(Failure::usage)?;
    print!("{schema}");
    Ok(())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "keygen" => keygen::run(rest),
        "mint" => mint::run(rest),
        "verify" => verify::run(rest),
        "inspect" => inspect::run(rest),
        "schema" => schema(rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(Failure::usage(format!(
            "unknown command `{other}`\n{USAGE}"
        ))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("jwe-authn: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
