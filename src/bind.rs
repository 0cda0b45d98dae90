//! Step 4b: sender-constrained tokens — a verified token is accepted only
//! from the client it was issued to.
//!
//! Certificate-bound tokens (RFC 8705 §3): the claims' `cnf.x5t#S256` is
//! the base64url SHA-256 thumbprint of the client's TLS certificate (its
//! DER). The client's certificate is the one of Envoy's own downstream
//! connection (the host passes its SHA-256 digest, hex, as Envoy's
//! `connection.sha256_peer_certificate_digest` gives it), or, when the
//! provider names one, a trusted request header written by a TLS-terminating
//! proxy in front of Envoy.
//!
//! DPoP-bound tokens (RFC 9449): the claims' `cnf.jkt` is the RFC 7638
//! thumbprint of a key the client holds; each request carries a `DPoP`
//! proof signed with that key, for this request ([`dpop`]).
//!
//! Checked on every request, cached token or not: the binding is a property
//! of the connection, or of each request, not of the token.

use crate::admission::{self, Gate};
use crate::cache::replay::{ReplayGuard, Seen};
use crate::config::provider::{CertificateBinding, CertificateHeader, DpopBinding};
use crate::dpop::{ParsedProof, ProofRequest};
use crate::error::{CertificateFailure, DpopFailure, Reason};
use crate::extract::{self, Found, Request};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Longest trusted certificate header read, bytes (a PEM certificate with a
/// 4096-bit key, URL-encoded, is about 3 kB).
pub const MAX_CERTIFICATE_HEADER_BYTES: usize = 16 * 1024;

/// Check `claims` (of a verified token) against the client certificate
/// `request` presents, under the provider's `binding`.
pub fn certificate(
    binding: &CertificateBinding,
    claims: &Map<String, Value>,
    request: &Request<'_>,
) -> Result<(), Reason> {
    let expected = match claims.get("cnf").map(|cnf| cnf.get("x5t#S256")) {
        None | Some(None) if binding.required => {
            return Err(Reason::Certificate(CertificateFailure::Unbound))
        }
        None | Some(None) => return Ok(()),
        Some(Some(Value::String(t))) => t.as_str(),
        Some(Some(_)) => return Err(Reason::Claims("cnf.x5t#S256 is not a string")),
    };
    let presented = match &binding.header {
        None => request.peer_certificate_sha256.and_then(thumbprint_of_hex),
        Some((name, format)) => {
            let mut values = request.values(name);
            match (values.next(), values.next()) {
                (Some(value), None) => from_header(value, *format),
                (Some(_), Some(_)) => {
                    return Err(Reason::Ambiguous(
                        "the trusted certificate header is repeated",
                    ))
                }
                (None, _) => None,
            }
        }
    };
    let Some(presented) = presented else {
        return Err(Reason::Certificate(CertificateFailure::Missing));
    };
    if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(Reason::Certificate(CertificateFailure::Mismatch))
    }
}

/// The base64url thumbprint of a SHA-256 digest written in hex (either
/// case); `None` unless exactly 32 bytes.
pub fn thumbprint_of_hex(hex: &str) -> Option<String> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let nibble = |b: u8| char::from(b).to_digit(16);
    let mut digest = [0u8; 32];
    for (out, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = match pair {
            [hi, lo] => (nibble(*hi)?, nibble(*lo)?),
            _ => return None,
        };
        *out = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(URL_SAFE_NO_PAD.encode(digest))
}

/// The thumbprint a trusted header carries; `None` when it carries none
/// that can be read (fail closed: treated as no certificate).
fn from_header(value: &str, format: CertificateHeader) -> Option<String> {
    if value.len() > MAX_CERTIFICATE_HEADER_BYTES {
        return None;
    }
    match format {
        CertificateHeader::Xfcc => from_xfcc(value),
        CertificateHeader::Pem => thumbprint_of_pem(&extract::percent_decoded(value)?),
    }
}

/// `x-forwarded-client-cert` with exactly one element (a proxy that
/// appends to a client's own element is not one to trust): its `Hash` (hex
/// SHA-256 of the DER), or else its `Cert` (URL-encoded PEM).
fn from_xfcc(value: &str) -> Option<String> {
    let pairs = xfcc_pairs(value)?;
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    };
    match (get("Hash"), get("Cert")) {
        (Some(hash), _) => thumbprint_of_hex(hash),
        (None, Some(cert)) => thumbprint_of_pem(&extract::percent_decoded(cert)?),
        (None, None) => None,
    }
}

/// The `key=value` pairs of a single-element XFCC value (`;`-separated,
/// values optionally in double quotes with `\"` escapes); `None` for more
/// than one element (a `,` outside quotes) or a malformed value.
fn xfcc_pairs(value: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            if c == ',' || c == ';' || c == '"' {
                return None;
            }
            key.push(c);
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => val.push(chars.next()?),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => val.push(c),
                }
            }
            if !closed {
                return None;
            }
            match chars.next() {
                None => {
                    pairs.push((key.trim().to_string(), val));
                    return Some(pairs);
                }
                Some(';') => {}
                Some(_) => return None,
            }
        } else {
            let mut end = true;
            for c in chars.by_ref() {
                match c {
                    ';' => {
                        end = false;
                        break;
                    }
                    ',' | '"' => return None,
                    c => val.push(c),
                }
            }
            pairs.push((key.trim().to_string(), val));
            if end {
                return Some(pairs);
            }
            continue;
        }
        pairs.push((key.trim().to_string(), val));
    }
}

/// The RFC 8705 thumbprint (`x5t#S256`) of the first `CERTIFICATE` block
/// of `pem` (the leaf).
pub fn thumbprint_of_pem(pem: &str) -> Option<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let body = pem.split_once(BEGIN)?.1.split_once(END)?.0;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD.decode(b64).ok()?;
    if der.is_empty() {
        return None;
    }
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(&der)))
}

/// Check `claims` (of a verified token) against the DPoP proof the request
/// `request` presents with the token `found`, under the provider's
/// `binding` (`None`: the provider does not take DPoP), at `now`:
///
/// - without `binding`, a token sent with the DPoP scheme is refused
///   ([`DpopFailure::Unbound`]); any other is what it was (a `cnf.jkt`
///   token is a bearer token where DPoP is off);
/// - with it, a token with `cnf.jkt` must come with the DPoP scheme and
///   exactly one `dpop` header holding a proof for this request
///   ([`crate::dpop::check_proof`]: its signature charged to `gate` first)
///   whose key is the token's `cnf.jkt`, and whose `jti` `replay` has not
///   seen; a token without `cnf.jkt` is refused with the DPoP scheme or when
///   `required`, and is a bearer token otherwise.
pub fn dpop(
    binding: Option<&DpopBinding>,
    claims: &Map<String, Value>,
    found: &Found<'_>,
    request: &Request<'_>,
    now: u64,
    replay: &ReplayGuard,
    gate: &mut dyn Gate,
) -> Result<(), Reason> {
    let unbound = Err(Reason::Dpop(DpopFailure::Unbound));
    let Some(binding) = binding else {
        return if found.dpop { unbound } else { Ok(()) };
    };
    let jkt = match claims.get("cnf").map(|cnf| cnf.get("jkt")) {
        None | Some(None) if found.dpop || binding.required => return unbound,
        None | Some(None) => return Ok(()),
        Some(Some(Value::String(jkt))) => jkt.as_str(),
        Some(Some(_)) => return Err(Reason::Claims("cnf.jkt is not a string")),
    };
    if !found.dpop {
        return Err(Reason::Dpop(DpopFailure::BoundAsBearer));
    }
    let mut proofs = request.values("dpop");
    let (Some(proof), None) = (proofs.next(), proofs.next()) else {
        return Err(Reason::Dpop(DpopFailure::ProofMissing));
    };
    let htu = format!(
        "{}://{}{}",
        request.header(":scheme").unwrap_or_default(),
        request.header(":authority").unwrap_or_default(),
        request.path
    );
    let req = ProofRequest {
        method: request.method,
        htu: &htu,
        access_token: found.token,
        nonce: None,
    };
    let policy = &binding.policy;
    let failed = |e| Reason::Dpop(DpopFailure::Proof(e));
    let parsed = ParsedProof::parse(proof, policy).map_err(failed)?;
    // The proof's key is the sender's choice: its signature is cold-path
    // work on every request, charged before it is done.
    gate.admit(admission::verify_units(parsed.alg(), parsed.key()))
        .map_err(Reason::Overloaded)?;
    let checked = parsed.check_with(&req, now, policy, gate.host_verify());
    gate.done();
    let checked = checked.map_err(failed)?;
    if !checked.is_bound_to(jkt) {
        return Err(Reason::Dpop(DpopFailure::KeyMismatch));
    }
    let until = now
        .saturating_add(policy.max_age_seconds)
        .saturating_add(policy.max_future_seconds);
    match replay.remember(&checked.jkt, &checked.jti, until, now) {
        Seen::Fresh => Ok(()),
        Seen::Replayed => Err(Reason::Dpop(DpopFailure::Replayed)),
        Seen::Full => Err(Reason::Dpop(DpopFailure::ReplayStoreFull)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DER: &[u8] = b"not really a certificate, but bytes to hash";

    fn thumbprint() -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(DER))
    }

    fn hex_digest() -> String {
        Sha256::digest(DER)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn pem() -> String {
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            STANDARD.encode(DER)
        )
    }

    fn url_encoded(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                b => format!("%{b:02X}"),
            })
            .collect()
    }

    fn claims(cnf: Value) -> Map<String, Value> {
        match json!({"sub": "alice", "cnf": cnf}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn binding(required: bool, header: Option<CertificateHeader>) -> CertificateBinding {
        CertificateBinding {
            required,
            header: header.map(|f| ("x-client-cert".to_string(), f)),
        }
    }

    #[test]
    fn a_hex_digest_becomes_the_rfc_8705_thumbprint() {
        assert_eq!(thumbprint_of_hex(&hex_digest()), Some(thumbprint()));
        assert_eq!(
            thumbprint_of_hex(&hex_digest().to_uppercase()),
            Some(thumbprint())
        );
        for bad in ["", "ab", &hex_digest()[1..], &format!("{}0", hex_digest())] {
            assert_eq!(thumbprint_of_hex(bad), None, "{bad}");
        }
        let mut odd = hex_digest();
        odd.replace_range(0..1, "g");
        assert_eq!(thumbprint_of_hex(&odd), None);
    }

    #[test]
    fn the_connections_certificate_must_be_the_bound_one() {
        let bound = claims(json!({"x5t#S256": thumbprint()}));
        let digest = hex_digest();
        fn with(peer: Option<&str>) -> Request<'_> {
            Request {
                peer_certificate_sha256: peer,
                ..Default::default()
            }
        }
        let b = binding(false, None);
        assert_eq!(certificate(&b, &bound, &with(Some(&digest))), Ok(()));
        let other = hex_digest().replace(&digest[..2], "00");
        assert_eq!(
            certificate(&b, &bound, &with(Some(&other))),
            Err(Reason::Certificate(CertificateFailure::Mismatch))
        );
        assert_eq!(
            certificate(&b, &bound, &with(None)),
            Err(Reason::Certificate(CertificateFailure::Missing)),
            "plain HTTP, or TLS without a client certificate"
        );
        // Unbound tokens: bearer tokens unless `required`.
        let unbound = claims(json!({}));
        assert_eq!(certificate(&b, &unbound, &with(None)), Ok(()));
        assert_eq!(
            certificate(&binding(true, None), &unbound, &with(Some(&digest))),
            Err(Reason::Certificate(CertificateFailure::Unbound))
        );
        let mut no_cnf = unbound.clone();
        no_cnf.remove("cnf");
        assert_eq!(
            certificate(&binding(true, None), &no_cnf, &with(Some(&digest))),
            Err(Reason::Certificate(CertificateFailure::Unbound))
        );
        // A thumbprint that is not a string is a malformed claim.
        let odd = claims(json!({"x5t#S256": 5}));
        assert!(certificate(&b, &odd, &with(Some(&digest))).is_err());
    }

    #[test]
    fn a_trusted_header_carries_the_certificate_when_configured() {
        let bound = claims(json!({"x5t#S256": thumbprint()}));
        let check = |format, value: &str| {
            let headers = [("x-client-cert", value)];
            let request = Request {
                headers: &headers,
                // Envoy's own connection is not consulted.
                peer_certificate_sha256: Some("00"),
                ..Default::default()
            };
            certificate(&binding(false, Some(format)), &bound, &request)
        };
        let ok = Ok(());
        assert_eq!(check(CertificateHeader::Pem, &url_encoded(&pem())), ok);
        assert_eq!(
            check(
                CertificateHeader::Xfcc,
                &format!("By=spiffe://a;Hash={};Subject=\"CN=x,O=y\"", hex_digest())
            ),
            ok
        );
        assert_eq!(
            check(
                CertificateHeader::Xfcc,
                &format!("Cert=\"{}\";Subject=\"\"", url_encoded(&pem()))
            ),
            ok
        );
        let missing = Err(Reason::Certificate(CertificateFailure::Missing));
        for (format, value) in [
            // Two elements: a client's own element a proxy appended to.
            (
                CertificateHeader::Xfcc,
                format!("Hash={0},Hash={0}", hex_digest()),
            ),
            (CertificateHeader::Xfcc, "Subject=\"CN=x\"".to_string()),
            (CertificateHeader::Xfcc, "Hash=\"unterminated".to_string()),
            (CertificateHeader::Pem, "%ZZ".to_string()),
            (CertificateHeader::Pem, "no pem here".to_string()),
            (
                CertificateHeader::Pem,
                "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----".to_string(),
            ),
            (
                CertificateHeader::Pem,
                "x".repeat(MAX_CERTIFICATE_HEADER_BYTES + 1),
            ),
        ] {
            assert_eq!(check(format, &value), missing, "{value}");
        }
        // Absent, or sent twice.
        let request = Request::default();
        assert_eq!(
            certificate(
                &binding(false, Some(CertificateHeader::Pem)),
                &bound,
                &request
            ),
            missing
        );
        let value = url_encoded(&pem());
        let headers = [
            ("x-client-cert", value.as_str()),
            ("X-Client-Cert", value.as_str()),
        ];
        let request = Request {
            headers: &headers,
            ..Default::default()
        };
        assert!(matches!(
            certificate(
                &binding(false, Some(CertificateHeader::Pem)),
                &bound,
                &request
            ),
            Err(Reason::Ambiguous(_))
        ));
    }
}
