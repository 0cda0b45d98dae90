//! `mint`: sign claims as a JWS, then encrypt that JWS as a JWE (a nested
//! JWT), with the core's own signing and encryption code; with `--nesting
//! encrypt_then_sign`, the other order: encrypt the claims as a JWE, then
//! sign that JWE's compact serialization as a JWS with `cty: JWT`.

use crate::args::{read_file, Args};
use crate::{keyfile, Failure};
use jwe_authn::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use jwe_authn::jose::json;
use jwe_authn::jose::jwe::encrypt::encrypt_compact;
use jwe_authn::jose::jwk::{EcKey, Key, OkpKey};
use jwe_authn::jose::jws::sign_compact;
use serde_json::{Map, Value};
use std::io::Write;

/// Run `mint`.
pub fn run(argv: &[String]) -> Result<(), Failure> {
    let args = Args::parse(
        argv,
        &[
            "claims",
            "sign-key",
            "encrypt-key",
            "sig-alg",
            "alg",
            "enc",
            "expires-in",
            "typ",
            "now",
            "sign-only",
            "count",
            "bind-certificate",
            "bind-jwk",
            "nesting",
        ],
    )?;
    args.no_positional()?;
    let count: u32 = match args.get("count") {
        None => 1,
        Some(n) => n
            .parse()
            .ok()
            .filter(|n| (1..=MAX_COUNT).contains(n))
            .ok_or_else(|| Failure::usage(format!("--count expects 1 to {MAX_COUNT}")))?,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut claims = read_claims(args.require("claims")?)?;
    let now = args.now()?;
    if let Some(span) = args.get("expires-in") {
        let seconds = parse_duration(span)?;
        claims.insert("exp".into(), Value::from(now.saturating_add(seconds)));
        claims.entry("iat").or_insert(Value::from(now));
    }
    // Sender constraints: `cnf` names the client's certificate (RFC 8705
    // §3.1) and/or its DPoP key (RFC 9449 §6.1).
    let mut cnf = Map::new();
    if let Some(file) = args.get("bind-certificate") {
        let pem = read_file(file)?;
        let x5t = jwe_authn::bind::thumbprint_of_pem(&pem)
            .ok_or_else(|| Failure::usage("--bind-certificate expects a PEM certificate"))?;
        cnf.insert("x5t#S256".into(), Value::from(x5t));
    }
    if let Some(file) = args.get("bind-jwk") {
        let key = keyfile::load(file)?;
        let jkt = jwe_authn::jose::jwk::jwk_thumbprint(&key.key)
            .ok_or_else(|| Failure::usage("--bind-jwk expects an asymmetric key (RSA, EC, OKP)"))?;
        cnf.insert("jkt".into(), Value::from(jkt));
    }
    if !cnf.is_empty() {
        claims.insert("cnf".into(), Value::Object(cnf));
    }
    let sign_key = keyfile::load(args.require("sign-key")?)?;
    let sign_only = match args.get("sign-only") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(Failure::usage("--sign-only expects true or false")),
    };
    if sign_only {
        // A plain signed JWT, for comparisons (e.g. with Envoy's jwt_authn):
        // the filter itself refuses these.
        let sig_alg = match args.get("sig-alg").or(sign_key.alg.as_deref()) {
            Some(name) => SignatureAlg::from_name(name).ok_or_else(|| {
                Failure::usage(format!("unsupported signature algorithm `{name}`"))
            })?,
            None => default_sig_alg(&sign_key.key)?,
        };
        let payload = serde_json::to_vec(&claims).map_err(|e| Failure::usage(e.to_string()))?;
        let mut header = Map::new();
        header.insert("typ".into(), Value::from(args.get("typ").unwrap_or("JWT")));
        for _ in 0..count {
            let jws = sign_compact(sig_alg, &sign_key, header.clone(), &payload)
                .map_err(|e| Failure::usage(format!("signing with {sig_alg}: {e}")))?;
            line(&mut out, &jws)?;
        }
        return out.flush().map_err(|e| Failure::usage(e.to_string()));
    }
    let encrypt_key = keyfile::load(args.require("encrypt-key")?)?;

    let sig_alg = match args.get("sig-alg").or(sign_key.alg.as_deref()) {
        Some(name) => SignatureAlg::from_name(name)
            .ok_or_else(|| Failure::usage(format!("unsupported signature algorithm `{name}`")))?,
        None => default_sig_alg(&sign_key.key)?,
    };
    let alg = match args.get("alg").or(encrypt_key.alg.as_deref()) {
        Some(name) => KeyManagementAlg::from_name(name)
            .ok_or_else(|| Failure::usage(format!("unsupported JWE alg `{name}`")))?,
        None => default_key_alg(&encrypt_key.key)?,
    };
    let enc = match args.get("enc") {
        Some(name) => ContentEncryptionAlg::from_name(name)
            .ok_or_else(|| Failure::usage(format!("unsupported JWE enc `{name}`")))?,
        None => default_enc(alg, &encrypt_key.key),
    };

    let payload = serde_json::to_vec(&claims).map_err(|e| Failure::usage(e.to_string()))?;
    match args.get("nesting") {
        None | Some("sign_then_encrypt") => {}
        Some("encrypt_then_sign") => {
            // The claims encrypted (no `cty`: the plaintext is the claims),
            // then that JWE signed, `cty: JWT` saying what the payload is.
            let mut outer_header = Map::new();
            outer_header.insert("typ".into(), Value::from(args.get("typ").unwrap_or("JWT")));
            outer_header.insert("cty".into(), Value::from("JWT"));
            for _ in 0..count {
                let jwe = encrypt_compact(alg, enc, &encrypt_key, Map::new(), &payload)
                    .map_err(|e| Failure::usage(format!("encrypting with {alg}/{enc}: {e}")))?;
                let jws = sign_compact(sig_alg, &sign_key, outer_header.clone(), jwe.as_bytes())
                    .map_err(|e| Failure::usage(format!("signing with {sig_alg}: {e}")))?;
                line(&mut out, &jws)?;
            }
            return out.flush().map_err(|e| Failure::usage(e.to_string()));
        }
        Some(_) => {
            return Err(Failure::usage(
                "--nesting expects sign_then_encrypt or encrypt_then_sign",
            ))
        }
    }
    let mut inner_header = Map::new();
    inner_header.insert("typ".into(), Value::from(args.get("typ").unwrap_or("JWT")));
    let mut outer_header = Map::new();
    outer_header.insert("cty".into(), Value::from("JWT"));
    // Each token is signed and encrypted afresh: every one is distinct.
    for _ in 0..count {
        let jws = sign_compact(sig_alg, &sign_key, inner_header.clone(), &payload)
            .map_err(|e| Failure::usage(format!("signing with {sig_alg}: {e}")))?;
        let jwe = encrypt_compact(alg, enc, &encrypt_key, outer_header.clone(), jws.as_bytes())
            .map_err(|e| Failure::usage(format!("encrypting with {alg}/{enc}: {e}")))?;
        line(&mut out, &jwe)?;
    }
    out.flush().map_err(|e| Failure::usage(e.to_string()))
}

/// Most tokens one `mint --count` writes.
const MAX_COUNT: u32 = 1_000_000;

fn line(out: &mut impl Write, token: &str) -> Result<(), Failure> {
    writeln!(out, "{token}").map_err(|e| Failure::usage(e.to_string()))
}

fn read_claims(arg: &str) -> Result<Map<String, Value>, Failure> {
    let text = match arg.strip_prefix('@') {
        Some(path) => read_file(path)?,
        None => arg.to_string(),
    };
    match json::parse_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Failure::usage(
            "--claims must be a JSON object (or @FILE holding one)",
        )),
    }
}

/// `90`, `90s`, `15m`, `1h`, `7d` → seconds.
fn parse_duration(text: &str) -> Result<u64, Failure> {
    let bad = || Failure::usage("--expires-in expects e.g. 90s, 15m, 1h or 7d");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

fn default_sig_alg(key: &Key) -> Result<SignatureAlg, Failure> {
    Ok(match key {
        Key::Rsa(_) => SignatureAlg::Ps256,
        Key::Ec(EcKey::P256Private(_) | EcKey::P256Public(_)) => SignatureAlg::Es256,
        Key::Ec(EcKey::P384Private(_) | EcKey::P384Public(_)) => SignatureAlg::Es384,
        Key::Ec(EcKey::P521Private(_) | EcKey::P521Public(_)) => SignatureAlg::Es512,
        Key::Okp(OkpKey::Ed25519Private(_) | OkpKey::Ed25519Public(_)) => SignatureAlg::EdDsa,
        Key::Oct(_) => SignatureAlg::Hs256,
        Key::Okp(_) => return Err(Failure::usage("an X25519 key cannot sign")),
    })
}

fn default_key_alg(key: &Key) -> Result<KeyManagementAlg, Failure> {
    Ok(match key {
        Key::Rsa(_) => KeyManagementAlg::RsaOaep256,
        Key::Ec(_) | Key::Okp(OkpKey::X25519Private(_) | OkpKey::X25519Public(_)) => {
            KeyManagementAlg::EcdhEsA256Kw
        }
        Key::Oct(k) => match k.len() {
            16 => KeyManagementAlg::A128Kw,
            24 => KeyManagementAlg::A192Kw,
            32 => KeyManagementAlg::A256Kw,
            _ => KeyManagementAlg::Dir,
        },
        Key::Okp(_) => return Err(Failure::usage("an Ed25519 key cannot encrypt")),
    })
}

/// A256GCM, except for `dir`, where the key length decides.
fn default_enc(alg: KeyManagementAlg, key: &Key) -> ContentEncryptionAlg {
    match (alg, key) {
        (KeyManagementAlg::Dir, Key::Oct(k)) => ContentEncryptionAlg::ALL
            .iter()
            .copied()
            .find(|e| e.key_len() == k.len())
            .unwrap_or(ContentEncryptionAlg::A256Gcm),
        _ => ContentEncryptionAlg::A256Gcm,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").ok(), Some(90));
        assert_eq!(parse_duration("15m").ok(), Some(900));
        assert_eq!(parse_duration("1h").ok(), Some(3600));
        assert_eq!(parse_duration("2d").ok(), Some(172800));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
    }
}
