//! DPoP proofs (RFC 9449): the pure check of one proof against the request
//! it came with. [`crate::bind::dpop`] calls it for providers with `dpop`,
//! on every request, and keeps the `jti`s in [`crate::cache::replay`].
//!
//! A DPoP proof is a compact JWS the client signs with a key of its own and
//! sends in the `DPoP` header beside a sender-constrained access token. The
//! token names the key by its RFC 7638 thumbprint (`cnf.jkt`, §6); the proof
//! shows that the sender holds that key, now, for this request. What the
//! caller does around [`check_proof`]:
//!
//! - exactly one `DPoP` header, its value as sent (§4.3 point 1: no
//!   trimming or joining happens here), and the access token exactly as it
//!   was sent (`Authorization: DPoP <token>`);
//! - [`ProofRequest::htu`]: the request's `scheme://authority/path`, built
//!   from `:scheme`, `:authority` and `:path` without query and fragment;
//! - after `Ok`: compare [`CheckedProof::jkt`] with the token's `cnf.jkt`
//!   ([`CheckedProof::is_bound_to`], [`token_jkt`]), and refuse a
//!   [`CheckedProof::jti`] seen before within the proof window (replay,
//!   §11.1): this module keeps no state.
//!
//! What [`check_proof`] checks, in this order (§4.2, §4.3), cheap before
//! dear, everything before the signature only on what the proof says of
//! itself:
//!
//! 1. at most [`ProofPolicy::max_proof_bytes`], three segments, a header
//!    segment of at most [`MAX_HEADER_BYTES`], strict base64url;
//! 2. the header: a strict JSON object (duplicate names refused at any
//!    depth, nesting bounded by [`json`]), `typ` exactly `dpop+jwt` (no
//!    `application/` prefix, no other case), `alg` an asymmetric algorithm
//!    of [`ProofPolicy::algorithms`] (`none` and every `HS*` refused whatever
//!    the policy says), no `crit`;
//! 3. the header's `jwk`: a public key only (any of `d`, `p`, `q`, `dp`,
//!    `dq`, `qi`, `oth`, `k`, or `kty: oct`, is refused), parsed as strictly
//!    as configured keys are (points on their curve, RSA of 2048 bits and up,
//!    no ROCA modulus), its `alg`, `use` and `key_ops` (when present) allow
//!    verifying with this `alg`, of the type and curve `alg` needs
//!    ([`fit::signature`]), RSA at most [`ProofPolicy::max_rsa_bits`];
//! 4. the signature, with that key ([`jws::verify`], or the host's
//!    check where the glue offers one: [`jws::verify_with`]);
//! 5. the claims: a strict JSON object with `jti` (a string of 1 to
//!    [`MAX_JTI_BYTES`] bytes), `htm` equal to the request method (bytes,
//!    case-sensitive as RFC 9110 methods are), `htu` equal to the request's
//!    URI as [`normalise_htu`] defines, `iat` a number in
//!    `[now - max_age_seconds, now + max_future_seconds]`, `ath` equal to
//!    [`access_token_hash`] of the access token (constant time), and, only
//!    when the request names one, `nonce` equal to it (constant time).
//!
//! Other header members (`kid`, `x5c`, ...) and claims are ignored; keys
//! come only from `jwk`. Server nonces (§8, §9) are optional: with
//! [`ProofRequest::nonce`] `None`, a `nonce` claim is not looked at.
//!
//! Every failure is a [`DpopError`] whose detail is a static string: no
//! proof, claim or key contents reach a log.

use crate::jose::alg::SignatureAlg;
use crate::jose::jwk::{self, Jwk, Key, Purpose};
use crate::jose::{b64, fit, json, jws};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt;
use subtle::ConstantTimeEq;

/// The only accepted header `typ` (RFC 9449 §4.2).
pub const TYP: &str = "dpop+jwt";

/// Longest accepted `jti`, in bytes (§4.2 asks for 96 bits of randomness:
/// 16 base64url characters; a UUID is 36).
pub const MAX_JTI_BYTES: usize = 256;

/// Longest accepted header segment, in base64url characters: an RSA-8192
/// `jwk` fits (about 1.9 K characters).
pub const MAX_HEADER_BYTES: usize = 4096;

/// JWK members that only a private or secret key has (RFC 7518 §6).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a proof may be: its algorithms, its age, its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPolicy {
    /// The algorithms a proof may use. HMAC algorithms are refused even
    /// when listed: a shared secret proves no possession.
    pub algorithms: BTreeSet<SignatureAlg>,
    /// How old `iat` may be, in seconds (§11.1: the replay window; the
    /// caller keeps each `jti` at least this long plus
    /// `max_future_seconds`).
    pub max_age_seconds: u64,
    /// How far in the future `iat` may be, in seconds: the client's clock
    /// skew.
    pub max_future_seconds: u64,
    /// Longest accepted proof, in bytes.
    pub max_proof_bytes: usize,
    /// Largest RSA `jwk`, in bits: the key is the sender's choice, so this
    /// bounds what one proof can cost (2048 is always the least).
    pub max_rsa_bits: usize,
}

impl Default for ProofPolicy {
    /// Every asymmetric algorithm we support, 60 s old at most, 5 s of
    /// clock skew, 8 KiB, RSA up to 4096 bits.
    fn default() -> Self {
        ProofPolicy {
            algorithms: SignatureAlg::ALL
                .iter()
                .copied()
                .filter(|alg| !alg.is_hmac())
                .collect(),
            max_age_seconds: 60,
            max_future_seconds: 5,
            max_proof_bytes: 8192,
            max_rsa_bits: 4096,
        }
    }
}

/// The request a proof must be for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofRequest<'a> {
    /// The HTTP method (`:method`), compared byte for byte.
    pub method: &'a str,
    /// `scheme://authority/path` of the request, without query and fragment.
    pub htu: &'a str,
    /// The access token exactly as sent.
    pub access_token: &'a str,
    /// The nonce this server gave the client (`DPoP-Nonce`, §8, §9), if it
    /// uses nonces; `None`: a `nonce` claim is not looked at.
    pub nonce: Option<&'a str>,
}

/// A proof that passed every check: what the caller still compares and stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's `jwk`, base64url.
    pub jkt: String,
    /// The proof's `jti`, to refuse a replay.
    pub jti: String,
    /// The proof's `iat` (seconds, a fraction dropped).
    pub iat: u64,
}

impl CheckedProof {
    /// True when `cnf_jkt`, the access token's `cnf.jkt`, names this
    /// proof's key (§6.1; compared in constant time).
    pub fn is_bound_to(&self, cnf_jkt: &str) -> bool {
        same(&self.jkt, cnf_jkt)
    }
}

/// The `cnf.jkt` of an access token's claims (§6.1), when it is a string.
pub fn token_jkt(claims: &Map<String, Value>) -> Option<&str> {
    claims.get("cnf")?.get("jkt")?.as_str()
}

/// Why a proof was refused. Each detail is a static string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpopError {
    /// Longer than `max_proof_bytes`, or a header over [`MAX_HEADER_BYTES`].
    TooLarge(&'static str),
    /// Not three strict base64url segments, not strict JSON objects, a
    /// member of the wrong type or size, `crit`.
    Malformed(&'static str),
    /// The header's `typ` is missing or is not `dpop+jwt`.
    Typ,
    /// `alg` is `none`, symmetric, unknown, or not in the policy.
    Alg(&'static str),
    /// No `jwk`, a private or symmetric one, an invalid one, or one that
    /// does not fit `alg`.
    Key(&'static str),
    /// The signature does not verify with the header's `jwk`.
    Signature,
    /// A required claim is absent.
    MissingClaim(&'static str),
    /// `htm` is not the request's method.
    Htm,
    /// `htu` is not the request's URI.
    Htu,
    /// `iat` is older than `max_age_seconds`.
    IatStale,
    /// `iat` is further ahead than `max_future_seconds`.
    IatFuture,
    /// `ath` is not the hash of the access token.
    Ath,
    /// The server gave a nonce and the proof's `nonce` is missing or another.
    Nonce,
}

impl DpopError {
    /// The name this failure is counted under.
    pub fn stat(self) -> &'static str {
        match self {
            DpopError::TooLarge(_) => "too_large",
            DpopError::Malformed(_) => "malformed",
            DpopError::Typ => "typ",
            DpopError::Alg(_) => "alg",
            DpopError::Key(_) => "key",
            DpopError::Signature => "signature",
            DpopError::MissingClaim(_) => "missing_claim",
            DpopError::Htm => "htm",
            DpopError::Htu => "htu",
            DpopError::IatStale => "iat_stale",
            DpopError::IatFuture => "iat_future",
            DpopError::Ath => "ath",
            DpopError::Nonce => "nonce",
        }
    }

    /// The detail for the log line (never proof, claim or key contents).
    pub fn detail(self) -> &'static str {
        match self {
            DpopError::TooLarge(d)
            | DpopError::Malformed(d)
            | DpopError::Alg(d)
            | DpopError::Key(d)
            | DpopError::MissingClaim(d) => d,
            DpopError::Typ => "typ is not dpop+jwt",
            DpopError::Signature => "signature does not verify with the proof's jwk",
            DpopError::Htm => "htm is not the request method",
            DpopError::Htu => "htu is not the request URI",
            DpopError::IatStale => "iat is older than the proof window",
            DpopError::IatFuture => "iat is too far in the future",
            DpopError::Ath => "ath is not the hash of the access token",
            DpopError::Nonce => "nonce is missing or not the one this server gave",
        }
    }

    /// The error code for the client (RFC 9449 §7.1, §9): `use_dpop_nonce`
    /// when a fresh nonce would fix it, else `invalid_dpop_proof`.
    pub fn code(self) -> &'static str {
        match self {
            DpopError::Nonce => "use_dpop_nonce",
            _ => "invalid_dpop_proof",
        }
    }
}

impl fmt::Display for DpopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dpop {}: {}", self.stat(), self.detail())
    }
}

impl std::error::Error for DpopError {}

/// A proof whose shape, header and key passed (steps 1 to 3), its
/// signature not yet checked: [`ParsedProof::alg`] and
/// [`ParsedProof::key`] say what the signature will cost (for
/// [`admission::verify_units`](crate::admission::verify_units)) before
/// [`ParsedProof::check`] does it.
#[derive(Debug)]
pub struct ParsedProof<'p> {
    alg: SignatureAlg,
    jwk: Jwk,
    payload: Vec<u8>,
    signature: Vec<u8>,
    /// `header.payload`, exactly as signed.
    signing_input: &'p [u8],
}

/// Check `proof` (the `DPoP` header's value) for `req` at `now` (seconds
/// since the epoch): [`ParsedProof::parse`], then [`ParsedProof::check`].
pub fn check_proof(
    proof: &str,
    req: &ProofRequest<'_>,
    now: u64,
    policy: &ProofPolicy,
) -> Result<CheckedProof, DpopError> {
    ParsedProof::parse(proof, policy)?.check(req, now, policy)
}

impl<'p> ParsedProof<'p> {
    /// Steps 1 to 3: size, segments, base64url, header and its `jwk`.
    pub fn parse(proof: &'p str, policy: &ProofPolicy) -> Result<Self, DpopError> {
        if proof.len() > policy.max_proof_bytes {
            return Err(DpopError::TooLarge("proof over max_proof_bytes"));
        }
        let mut parts = proof.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(DpopError::Malformed("not a compact JWS of three segments"));
        };
        if header_b64.len() > MAX_HEADER_BYTES {
            return Err(DpopError::TooLarge("header over its size bound"));
        }
        let header = b64::decode(header_b64.as_bytes())
            .ok_or(DpopError::Malformed("header is not base64url"))?;
        let (alg, jwk) = parse_header(&header, policy)?;
        let payload = b64::decode(payload_b64.as_bytes())
            .ok_or(DpopError::Malformed("claims are not base64url"))?;
        let signature = b64::decode(signature_b64.as_bytes())
            .ok_or(DpopError::Malformed("signature is not base64url"))?;
        let signing_input = proof
            .as_bytes()
            .get(
                ..header_b64
                    .len()
                    .saturating_add(1)
                    .saturating_add(payload_b64.len()),
            )
            .ok_or(DpopError::Malformed("not a compact JWS of three segments"))?;
        Ok(ParsedProof {
            alg,
            jwk,
            payload,
            signature,
            signing_input,
        })
    }

    /// The proof's algorithm.
    pub fn alg(&self) -> SignatureAlg {
        self.alg
    }

    /// The proof's public key (from its header's `jwk`).
    pub fn key(&self) -> &Key {
        &self.jwk.key
    }

    /// Steps 4 and 5: the signature, then the claims against `req` at `now`.
    pub fn check(
        &self,
        req: &ProofRequest<'_>,
        now: u64,
        policy: &ProofPolicy,
    ) -> Result<CheckedProof, DpopError> {
        self.check_with(req, now, policy, None)
    }

    /// [`ParsedProof::check`], with an ES* or RS* signature checked by
    /// `host` when there is one ([`jws::verify_with`]).
    pub fn check_with(
        &self,
        req: &ProofRequest<'_>,
        now: u64,
        policy: &ProofPolicy,
        host: Option<jws::HostVerify>,
    ) -> Result<CheckedProof, DpopError> {
        let (alg, key) = (self.alg, &self.jwk.key);
        if !jws::verify_with(alg, key, self.signing_input, &self.signature, host) {
            return Err(DpopError::Signature);
        }
        let claims = json::parse_object(&self.payload)
            .ok_or(DpopError::Malformed("claims are not a strict JSON object"))?;
        let jti = string_claim(&claims, "jti", "jti is missing", "jti is not a string")?;
        if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
            return Err(DpopError::Malformed("jti is empty or over 256 bytes"));
        }
        let htm = string_claim(&claims, "htm", "htm is missing", "htm is not a string")?;
        if htm != req.method {
            return Err(DpopError::Htm);
        }
        let htu = string_claim(&claims, "htu", "htu is missing", "htu is not a string")?;
        if !htu_matches(htu, req.htu) {
            return Err(DpopError::Htu);
        }
        let iat = check_iat(&claims, now, policy)?;
        let ath = string_claim(&claims, "ath", "ath is missing", "ath is not a string")?;
        if !same(ath, &access_token_hash(req.access_token)) {
            return Err(DpopError::Ath);
        }
        if let Some(expected) = req.nonce {
            match claims.get("nonce") {
                Some(Value::String(nonce)) if same(nonce, expected) => {}
                _ => return Err(DpopError::Nonce),
            }
        }
        let jkt =
            jwk::jwk_thumbprint(&self.jwk.key).ok_or(DpopError::Key("jwk has no thumbprint"))?;
        Ok(CheckedProof {
            jkt,
            jti: jti.to_owned(),
            iat,
        })
    }
}

/// The header: strict JSON, `typ`, `alg`, no `crit`, then its `jwk`.
fn parse_header(bytes: &[u8], policy: &ProofPolicy) -> Result<(SignatureAlg, Jwk), DpopError> {
    let header = json::parse_object(bytes)
        .ok_or(DpopError::Malformed("header is not a strict JSON object"))?;
    match header.get("typ") {
        Some(Value::String(typ)) if typ == TYP => {}
        _ => return Err(DpopError::Typ),
    }
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg,
        _ => return Err(DpopError::Malformed("header alg missing or not a string")),
    };
    let alg = SignatureAlg::parse(alg).map_err(|reason| DpopError::Alg(reason.detail()))?;
    if alg.is_hmac() {
        return Err(DpopError::Alg("a symmetric alg proves no possession"));
    }
    if !policy.algorithms.contains(&alg) {
        return Err(DpopError::Alg("alg not in the DPoP allow-list"));
    }
    if header.contains_key("crit") {
        return Err(DpopError::Malformed(
            "crit names an extension we do not understand",
        ));
    }
    let jwk = match header.get("jwk") {
        None => return Err(DpopError::Key("header has no jwk")),
        Some(value) => public_key(value)?,
    };
    check_key(alg, &jwk, policy)?;
    Ok((alg, jwk))
}

/// The header's `jwk`, refused when it carries private or secret material.
fn public_key(value: &Value) -> Result<Jwk, DpopError> {
    let Value::Object(members) = value else {
        return Err(DpopError::Key("jwk is not a JSON object"));
    };
    if PRIVATE_MEMBERS.iter().any(|m| members.contains_key(*m)) {
        return Err(DpopError::Key("jwk carries private key members"));
    }
    if members.get("kty").and_then(Value::as_str) == Some("oct") {
        return Err(DpopError::Key("jwk is a symmetric key"));
    }
    let jwk = jwk::parse_jwk(value).map_err(|_| DpopError::Key("jwk is not a valid public key"))?;
    if jwk.key.is_private() {
        return Err(DpopError::Key("jwk carries private key members"));
    }
    Ok(jwk)
}

/// The key may verify `alg`: its metadata, type, curve and size.
fn check_key(alg: SignatureAlg, jwk: &Jwk, policy: &ProofPolicy) -> Result<(), DpopError> {
    if !jwk.permits(alg.name(), Purpose::Verify) {
        return Err(DpopError::Key(
            "jwk's alg, use or key_ops forbid verifying with alg",
        ));
    }
    if !fit::signature(alg, &jwk.key) {
        return Err(DpopError::Key("jwk does not fit alg"));
    }
    let bits = fit::rsa_bytes(&jwk.key).map_or(0, |bytes| bytes.saturating_mul(8));
    if bits > policy.max_rsa_bits.max(jwk::MIN_RSA_BITS) {
        return Err(DpopError::Key("RSA jwk over max_rsa_bits"));
    }
    Ok(())
}

fn string_claim<'c>(
    claims: &'c Map<String, Value>,
    name: &str,
    missing: &'static str,
    not_a_string: &'static str,
) -> Result<&'c str, DpopError> {
    match claims.get(name) {
        None => Err(DpopError::MissingClaim(missing)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(DpopError::Malformed(not_a_string)),
    }
}

/// `iat` in `[now - max_age, now + max_future]`; a fraction is allowed
/// (NumericDate, RFC 7519 §2) and dropped from the value returned.
fn check_iat(
    claims: &Map<String, Value>,
    now: u64,
    policy: &ProofPolicy,
) -> Result<u64, DpopError> {
    let number = match claims.get("iat") {
        None => return Err(DpopError::MissingClaim("iat is missing")),
        Some(Value::Number(n)) => n,
        Some(_) => return Err(DpopError::Malformed("iat is not a number")),
    };
    // For a whole bound B, x < B exactly when floor(x) < B, and x > B
    // exactly when ceil(x) > B: the window is checked in integers.
    let (floor, ceil) = match number.as_u64() {
        Some(whole) => (whole, whole),
        None => {
            let x = number
                .as_f64()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or(DpopError::Malformed("iat is not a non-negative number"))?;
            // `as` saturates: a huge iat is u64::MAX, in the future.
            (x.floor() as u64, x.ceil() as u64)
        }
    };
    if floor < now.saturating_sub(policy.max_age_seconds) {
        return Err(DpopError::IatStale);
    }
    if ceil > now.saturating_add(policy.max_future_seconds) {
        return Err(DpopError::IatFuture);
    }
    Ok(floor)
}

/// `ath` (§4.2): base64url of the SHA-256 of the access token's bytes.
pub fn access_token_hash(access_token: &str) -> String {
    b64::encode(&Sha256::digest(access_token.as_bytes()))
}

/// The form in which two `htu` values are compared (§4.3 point 9): equal
/// when their forms are equal and both have one. Exactly this, and nothing
/// else, is done to a URI:
///
/// 1. everything from the first `?` or `#` on is dropped (query, fragment);
/// 2. the rest must be `scheme://authority` then an optional path starting
///    with `/`: a scheme of RFC 3986 characters (a letter, then letters,
///    digits, `+`, `-`, `.`), a non-empty authority (up to the first `/`)
///    without userinfo (`@`);
/// 3. the scheme and the authority are lowercased (ASCII only);
/// 4. the default port is removed: `:443` from an `https` authority, `:80`
///    from an `http` one (exactly those spellings: not `:0443`, not an
///    empty `:`);
/// 5. the path is kept byte for byte: case, percent-encoding, dot segments
///    and an empty path (`https://a.example` is not `https://a.example/`)
///    all stay as they are.
///
/// `None` when the URI is not of that shape (it then matches nothing).
pub fn normalise_htu(uri: &str) -> Option<String> {
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    let (scheme, rest) = uri.get(..end)?.split_once("://")?;
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at_checked(slash)?,
        None => (rest, ""),
    };
    if authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => Some(":443"),
        "http" => Some(":80"),
        _ => None,
    };
    let authority = default_port
        .and_then(|port| authority.strip_suffix(port))
        .unwrap_or(&authority);
    if authority.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{authority}{path}"))
}

/// The proof's `htu` names the request's URI ([`normalise_htu`]).
fn htu_matches(claimed: &str, request: &str) -> bool {
    match (normalise_htu(claimed), normalise_htu(request)) {
        (Some(claimed), Some(request)) => claimed == request,
        _ => false,
    }
}

/// Constant-time equality (the lengths are not secret).
fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_forms_are_exactly_the_documented_ones() {
        let form = |uri: &str| normalise_htu(uri);
        let same_as = |uri: &str| Some(uri.to_string());
        // Query and fragment dropped; scheme and host lowercased; default
        // ports removed.
        assert_eq!(
            form("https://a.example/x?q=1#f"),
            same_as("https://a.example/x")
        );
        assert_eq!(
            form("https://a.example/x#f?q"),
            same_as("https://a.example/x")
        );
        assert_eq!(form("HTTPS://A.Example/X"), same_as("https://a.example/X"));
        assert_eq!(
            form("https://a.example:443/x"),
            same_as("https://a.example/x")
        );
        assert_eq!(form("http://a.example:80/x"), same_as("http://a.example/x"));
        assert_eq!(form("https://[::1]:443/x"), same_as("https://[::1]/x"));
        // Nothing else.
        assert_eq!(
            form("https://a.example:80/x"),
            same_as("https://a.example:80/x")
        );
        assert_eq!(
            form("http://a.example:443/x"),
            same_as("http://a.example:443/x")
        );
        assert_eq!(
            form("https://a.example:8443/x"),
            same_as("https://a.example:8443/x")
        );
        assert_eq!(
            form("https://a.example:0443/x"),
            same_as("https://a.example:0443/x")
        );
        assert_eq!(
            form("https://a.example:/x"),
            same_as("https://a.example:/x")
        );
        assert_eq!(form("https://a.example"), same_as("https://a.example"));
        assert_eq!(
            form("https://a.example/%7Ex/../y"),
            same_as("https://a.example/%7Ex/../y")
        );
        assert_eq!(
            form("https://a.example./x"),
            same_as("https://a.example./x")
        );
        // Not of the shape: matches nothing.
        for bad in [
            "",
            "/x",
            "a.example/x",
            "https:/a.example/x",
            "https://",
            "https:///x",
            "https://:443/x",
            "https://user@a.example/x",
            "https://a.example@evil.example/x",
            "1https://a.example/x",
            "ht tps://a.example/x",
            "https?://a.example/x",
        ] {
            assert_eq!(form(bad), None, "{bad}");
        }
        // `?` and `#` end the authority too (RFC 3986 §3.2).
        assert_eq!(
            form("https://evil.example?@a.example/"),
            same_as("https://evil.example")
        );
        assert!(htu_matches(
            "https://A.example:443/x?y",
            "https://a.example/x"
        ));
        assert!(!htu_matches("https://a.example", "https://a.example/"));
        assert!(!htu_matches("", ""), "two unparseable URIs are not a match");
    }

    #[test]
    fn access_token_hash_is_rfc9449_s() {
        // RFC 9449 §7.1, Figures 13 and 14.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn the_window_is_inclusive_and_fractions_round_the_safe_way() {
        let policy = ProofPolicy::default();
        let at = |iat: Value| {
            let mut claims = Map::new();
            claims.insert("iat".into(), iat);
            check_iat(&claims, 1000, &policy)
        };
        assert_eq!(at(Value::from(940)), Ok(940));
        assert_eq!(at(Value::from(939)), Err(DpopError::IatStale));
        assert_eq!(at(Value::from(1005)), Ok(1005));
        assert_eq!(at(Value::from(1006)), Err(DpopError::IatFuture));
        assert_eq!(at(Value::from(939.5)), Err(DpopError::IatStale));
        assert_eq!(at(Value::from(940.5)), Ok(940));
        assert_eq!(at(Value::from(1004.5)), Ok(1004));
        assert_eq!(at(Value::from(1005.5)), Err(DpopError::IatFuture));
        assert_eq!(at(Value::from(1e300)), Err(DpopError::IatFuture));
        assert_eq!(at(Value::from(u64::MAX)), Err(DpopError::IatFuture));
        assert!(matches!(at(Value::from(-1)), Err(DpopError::Malformed(_))));
        assert!(matches!(
            at(Value::from("1000")),
            Err(DpopError::Malformed(_))
        ));
        assert!(matches!(at(Value::Null), Err(DpopError::Malformed(_))));
        // A clock before the window's length does not underflow.
        let mut claims = Map::new();
        claims.insert("iat".into(), Value::from(0));
        assert_eq!(check_iat(&claims, 10, &policy), Ok(0));
    }

    #[test]
    fn errors_are_named_once_and_say_nothing_of_the_proof() {
        let all = [
            DpopError::TooLarge("t"),
            DpopError::Malformed("m"),
            DpopError::Typ,
            DpopError::Alg("a"),
            DpopError::Key("k"),
            DpopError::Signature,
            DpopError::MissingClaim("c"),
            DpopError::Htm,
            DpopError::Htu,
            DpopError::IatStale,
            DpopError::IatFuture,
            DpopError::Ath,
            DpopError::Nonce,
        ];
        let names: BTreeSet<_> = all.iter().map(|e| e.stat()).collect();
        assert_eq!(names.len(), all.len());
        for e in all {
            assert!(!e.detail().is_empty());
            assert!(e.to_string().contains(e.stat()));
            assert_eq!(
                e.code() == "use_dpop_nonce",
                e == DpopError::Nonce,
                "only a nonce failure asks for a nonce"
            );
        }
    }

    #[test]
    fn the_default_policy_allows_no_hmac() {
        let policy = ProofPolicy::default();
        assert!(policy.algorithms.iter().all(|a| !a.is_hmac()));
        assert!(policy.algorithms.contains(&SignatureAlg::Es256));
        assert!(policy.algorithms.contains(&SignatureAlg::EdDsa));
    }
}
