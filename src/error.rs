//! Why a token was rejected.
//!
//! The client only ever sees one error class per HTTP status (see
//! [`Reason::status`]); the precise [`Reason`] is for logs and stats. A
//! reason's detail is a static string: it can never carry token bytes, claim
//! values or key material.

use crate::admission::Shed;
use crate::dpop::DpopError;
use std::fmt;

/// The precise, internal reason for rejecting a token.
///
/// Each variant carries a static description for the log line. [`Reason::stat`]
/// groups the variants into the stat names the filter exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No token was found in any configured source.
    Missing,
    /// The token is longer than `max_token_bytes`.
    TooLarge,
    /// The token's shape is wrong: segments, base64url, JSON, header members.
    Malformed(&'static str),
    /// The token uses something refused by policy (`none`, `RSA1_5`, `PBES2-*`,
    /// `zip`, unknown `crit`, a plain JWS, a nested JWE, an algorithm outside
    /// the allow-list).
    Refused(&'static str),
    /// The JWE could not be decrypted with any configured key.
    Decrypt(&'static str),
    /// The inner JWS signature did not verify with any of the issuer's keys.
    Signature(&'static str),
    /// `exp` is in the past (beyond the clock skew).
    Expired,
    /// `nbf` is in the future (beyond the clock skew).
    NotYetValid,
    /// `iss` is missing or names no configured provider.
    Issuer,
    /// `aud` does not intersect the provider's `audiences`.
    Audience,
    /// A claim or the inner `typ` is missing or malformed.
    Claims(&'static str),
    /// A valid token that the route's `required_claims` do not accept (403).
    Forbidden,
    /// A valid token whose `jti` or `sub` is on the provider's denylist.
    Revoked,
    /// The issuer's remote keys could not be had in time.
    KeysUnavailable,
    /// The request path is not in normal form (400, before any rule is
    /// chosen: see [`crate::path`]).
    Path(&'static str),
    /// Credentials that are not exactly one token: a source header sent
    /// twice, a token in two sources, a value that uses the configured
    /// scheme but is not `<scheme> <token>`, or several comma-joined
    /// credentials. An invalid token, never a missing one.
    Ambiguous(&'static str),
    /// The provider's fetched revocation list has never arrived (and its
    /// `revocation.fail_open` is false): fail closed.
    RevocationUnavailable,
    /// The cold-path budget ([`crate::admission`]) is spent, the worker's
    /// or this source's share of it: 503 with `retry-after`, so a client
    /// retries rather than re-authenticates.
    Overloaded(Shed),
    /// The token's nesting order (JWE outside, or a signed JWS outside:
    /// `providers.*.nesting`) is not one its provider accepts, or the
    /// provider whose key signed an outer JWS is not the claims' issuer.
    Nesting(&'static str),
    /// The route Envoy chose carries a requirement in its metadata that is
    /// not a valid one (`route_metadata`): the route is misconfigured, so
    /// its requests are refused (500), never let through.
    RouteRequirement(&'static str),
    /// A certificate-bound token (RFC 8705) from a client without that
    /// certificate, or an unbound token where binding is required.
    Certificate(CertificateFailure),
    /// A DPoP-bound token (RFC 9449) without a valid proof for this
    /// request, or presented the wrong way.
    Dpop(DpopFailure),
}

/// Why a DPoP-bound token was refused ([`Reason::Dpop`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpopFailure {
    /// The proof failed a check ([`crate::dpop::check_proof`]).
    Proof(DpopError),
    /// No `DPoP` header, or more than one.
    ProofMissing,
    /// A token with `cnf.jkt` sent as a bearer token (§7.1).
    BoundAsBearer,
    /// The `DPoP` scheme with a token that is not DPoP-bound, or one the
    /// provider does not accept DPoP for; or `required` and no `cnf.jkt`.
    Unbound,
    /// The proof's key is not the one the token is bound to (`cnf.jkt`).
    KeyMismatch,
    /// The proof's `jti` was seen within its window (§11.1).
    Replayed,
    /// The replay store has no room: refused, never accepted unchecked.
    ReplayStoreFull,
}

/// Why a token's certificate binding failed ([`Reason::Certificate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateFailure {
    /// The client presented no certificate (plain HTTP, TLS without a
    /// client certificate, or no usable trusted header).
    Missing,
    /// The client's certificate is not the one the token is bound to.
    Mismatch,
    /// The token is not bound, and the provider requires binding.
    Unbound,
}

impl Reason {
    /// The counter this reason is counted under (`jwe_authn.denied.<stat>`).
    pub fn counter(self) -> Stat {
        match self {
            Reason::Missing => Stat::Missing,
            Reason::TooLarge => Stat::TooLarge,
            Reason::Malformed(_) | Reason::Refused(_) => Stat::Malformed,
            Reason::Decrypt(_) => Stat::Decrypt,
            Reason::Signature(_) => Stat::Signature,
            Reason::Expired => Stat::Expired,
            Reason::NotYetValid => Stat::NotYetValid,
            Reason::Issuer => Stat::Issuer,
            Reason::Audience => Stat::Audience,
            Reason::Claims(_) | Reason::Forbidden => Stat::Claims,
            Reason::Revoked => Stat::Revoked,
            Reason::KeysUnavailable => Stat::JwksUnavailable,
            Reason::Path(_) => Stat::Path,
            Reason::Ambiguous(_) => Stat::Ambiguous,
            Reason::RevocationUnavailable => Stat::RevocationUnavailable,
            Reason::Overloaded(_) => Stat::Overloaded,
            Reason::RouteRequirement(_) => Stat::RouteRequirement,
            Reason::Certificate(CertificateFailure::Missing) => Stat::CertificateMissing,
            Reason::Certificate(CertificateFailure::Mismatch) => Stat::CertificateMismatch,
            Reason::Certificate(CertificateFailure::Unbound) => Stat::CertificateUnbound,
            Reason::Nesting(_) => Stat::Nesting,
            Reason::Dpop(DpopFailure::Proof(_)) => Stat::DpopProof,
            Reason::Dpop(DpopFailure::ProofMissing) => Stat::DpopMissing,
            Reason::Dpop(DpopFailure::BoundAsBearer) => Stat::DpopBoundAsBearer,
            Reason::Dpop(DpopFailure::Unbound) => Stat::DpopUnbound,
            Reason::Dpop(DpopFailure::KeyMismatch) => Stat::DpopKeyMismatch,
            Reason::Dpop(DpopFailure::Replayed | DpopFailure::ReplayStoreFull) => {
                Stat::DpopReplayed
            }
        }
    }

    /// The stat name this reason is counted under (`denied.<stat>`).
    pub fn stat(self) -> &'static str {
        self.counter().name()
    }

    /// The detail for the log line (never token, claim or key contents).
    pub fn detail(self) -> &'static str {
        match self {
            Reason::Missing => "no token in any configured source",
            Reason::TooLarge => "token exceeds max_token_bytes",
            Reason::Malformed(d)
            | Reason::Refused(d)
            | Reason::Decrypt(d)
            | Reason::Signature(d)
            | Reason::Claims(d)
            | Reason::Path(d)
            | Reason::Ambiguous(d)
            | Reason::RouteRequirement(d)
            | Reason::Nesting(d) => d,
            Reason::Expired => "token expired",
            Reason::NotYetValid => "token not yet valid",
            Reason::Issuer => "issuer unknown",
            Reason::Audience => "audience not accepted",
            Reason::Forbidden => "required claims not satisfied",
            Reason::Revoked => "token revoked",
            Reason::KeysUnavailable => "the issuer's keys are not available",
            Reason::RevocationUnavailable => "the provider's revocation list has not arrived",
            Reason::Overloaded(Shed::Budget) => "the worker's cold-path budget is spent",
            Reason::Overloaded(Shed::SourceShare) => {
                "this source has spent its share of the cold-path budget"
            }
            Reason::Certificate(CertificateFailure::Missing) => {
                "a certificate-bound token without a client certificate"
            }
            Reason::Certificate(CertificateFailure::Mismatch) => {
                "the client certificate is not the one the token is bound to"
            }
            Reason::Certificate(CertificateFailure::Unbound) => {
                "the token is not bound to a client certificate"
            }
            Reason::Dpop(DpopFailure::Proof(e)) => e.detail(),
            Reason::Dpop(DpopFailure::ProofMissing) => "no DPoP proof, or more than one",
            Reason::Dpop(DpopFailure::BoundAsBearer) => "a DPoP-bound token sent as a bearer token",
            Reason::Dpop(DpopFailure::Unbound) => {
                "the DPoP scheme without a DPoP-bound token, or a bound token required"
            }
            Reason::Dpop(DpopFailure::KeyMismatch) => "the proof's key is not the token's cnf.jkt",
            Reason::Dpop(DpopFailure::Replayed) => "the proof's jti was used before",
            Reason::Dpop(DpopFailure::ReplayStoreFull) => "the DPoP replay store is full",
        }
    }

    /// What the client is told: 401 for every token failure, 403 for a
    /// valid token without the route's required claims, 400 for a path that
    /// is not in normal form, 503 when the cold-path budget is spent (the
    /// token was not looked at: not a credentials failure). The client
    /// never learns which check failed.
    pub fn answer(self) -> Answer {
        match self {
            Reason::Missing => Answer::TokenRequired,
            Reason::Path(_) => Answer::InvalidRequest,
            Reason::Overloaded(_) => Answer::TemporarilyUnavailable,
            Reason::RouteRequirement(_) => Answer::Misconfigured,
            Reason::Forbidden => Answer::InsufficientScope,
            Reason::TooLarge
            | Reason::Malformed(_)
            | Reason::Refused(_)
            | Reason::Decrypt(_)
            | Reason::Signature(_)
            | Reason::Expired
            | Reason::NotYetValid
            | Reason::Issuer
            | Reason::Audience
            | Reason::Claims(_)
            | Reason::Revoked
            | Reason::KeysUnavailable
            | Reason::Ambiguous(_)
            | Reason::RevocationUnavailable
            | Reason::Certificate(_)
            | Reason::Nesting(_) => Answer::InvalidToken,
            Reason::Dpop(DpopFailure::Proof(_) | DpopFailure::ProofMissing)
            | Reason::Dpop(DpopFailure::KeyMismatch | DpopFailure::Replayed)
            | Reason::Dpop(DpopFailure::ReplayStoreFull) => Answer::InvalidDpopProof,
            Reason::Dpop(DpopFailure::BoundAsBearer | DpopFailure::Unbound) => Answer::InvalidToken,
        }
    }

    /// The HTTP status the client receives ([`Reason::answer`]).
    pub fn status(self) -> u16 {
        self.answer().status()
    }

    /// The RFC 6750 error code the client receives ([`Reason::answer`]).
    pub fn bearer_error(self) -> Option<&'static str> {
        self.answer().code()
    }
}

/// The one client-facing error class of each outcome: status, error code,
/// challenge and body are all decided here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 401 with a challenge and no error code (RFC 6750 §3.1): no token.
    TokenRequired,
    /// 401 `invalid_token`, whatever check failed.
    InvalidToken,
    /// 403 `insufficient_scope`.
    InsufficientScope,
    /// 400 `invalid_request`, no challenge: not a credentials problem.
    InvalidRequest,
    /// 503 `temporarily_unavailable`, no challenge, `retry-after`: retry
    /// shortly with the same token.
    TemporarilyUnavailable,
    /// 500 `server_error`, no challenge: the route's requirement is not a
    /// valid one (the operator's error, not the client's).
    Misconfigured,
    /// 401 `invalid_dpop_proof` with a `DPoP` challenge (RFC 9449 §7.1),
    /// whatever was wrong with the proof.
    InvalidDpopProof,
}

impl Answer {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Answer::TokenRequired | Answer::InvalidToken | Answer::InvalidDpopProof => 401,
            Answer::InsufficientScope => 403,
            Answer::InvalidRequest => 400,
            Answer::TemporarilyUnavailable => 503,
            Answer::Misconfigured => 500,
        }
    }

    /// The error code (none when the token was missing).
    pub fn code(self) -> Option<&'static str> {
        match self {
            Answer::TokenRequired => None,
            Answer::InvalidToken => Some("invalid_token"),
            Answer::InsufficientScope => Some("insufficient_scope"),
            Answer::InvalidRequest => Some("invalid_request"),
            Answer::TemporarilyUnavailable => Some("temporarily_unavailable"),
            Answer::Misconfigured => Some("server_error"),
            Answer::InvalidDpopProof => Some("invalid_dpop_proof"),
        }
    }

    /// The small JSON body.
    pub fn body(self) -> &'static str {
        match self {
            Answer::TokenRequired => {
                r#"{"error":"unauthorized","error_description":"a bearer token is required"}"#
            }
            Answer::InvalidToken => {
                r#"{"error":"invalid_token","error_description":"the access token is invalid"}"#
            }
            Answer::InsufficientScope => {
                r#"{"error":"insufficient_scope","error_description":"the token does not grant access to this resource"}"#
            }
            Answer::InvalidRequest => {
                r#"{"error":"invalid_request","error_description":"the request path is not in normal form"}"#
            }
            Answer::TemporarilyUnavailable => {
                r#"{"error":"temporarily_unavailable","error_description":"too many new tokens at once; retry shortly"}"#
            }
            Answer::Misconfigured => {
                r#"{"error":"server_error","error_description":"the route's authentication requirement is misconfigured"}"#
            }
            Answer::InvalidDpopProof => {
                r#"{"error":"invalid_dpop_proof","error_description":"the DPoP proof is invalid"}"#
            }
        }
    }

    /// The `WWW-Authenticate` value for `realm` (none when the answer is
    /// not about credentials).
    /// `dpop_algs` is the space-separated list of proof algorithms (RFC 9449
    /// §7.1 `algs`), for a `DPoP` challenge: empty when no provider accepts
    /// DPoP, and then a missing token is challenged with `Bearer` alone.
    ///
    /// `dpop_scheme`: the token came as `Authorization: DPoP`; an invalid
    /// or insufficient token is then challenged in that scheme (RFC 9449
    /// §7.1), with the algorithms.
    pub fn challenge(self, realm: &str, dpop_algs: &str, dpop_scheme: bool) -> Option<String> {
        match self {
            Answer::InvalidToken | Answer::InsufficientScope if dpop_scheme => {
                let (code, description) = match self {
                    Answer::InvalidToken => ("invalid_token", "the access token is invalid"),
                    _ => (
                        "insufficient_scope",
                        "the token does not grant access to this resource",
                    ),
                };
                Some(format!(
                    "DPoP realm=\"{realm}\", algs=\"{dpop_algs}\", error=\"{code}\", error_description=\"{description}\""
                ))
            }
            Answer::InvalidDpopProof => Some(format!(
                "DPoP realm=\"{realm}\", algs=\"{dpop_algs}\", error=\"invalid_dpop_proof\", error_description=\"the DPoP proof is invalid\""
            )),
            // RFC 9449 §7.1: where DPoP is accepted, the challenge for a
            // request without credentials names both schemes.
            Answer::TokenRequired if dpop_algs.is_empty() => {
                Some(format!("Bearer realm=\"{realm}\""))
            }
            Answer::TokenRequired => Some(format!(
                "Bearer realm=\"{realm}\", DPoP realm=\"{realm}\", algs=\"{dpop_algs}\""
            )),
            Answer::InvalidToken => Some(format!(
                "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"the access token is invalid\""
            )),
            Answer::InsufficientScope => Some(format!(
                "Bearer realm=\"{realm}\", error=\"insufficient_scope\", error_description=\"the token does not grant access to this resource\""
            )),
            Answer::InvalidRequest | Answer::TemporarilyUnavailable | Answer::Misconfigured => None,
        }
    }

    /// `retry-after`, in seconds, when the client should retry shortly.
    pub fn retry_after(self) -> Option<u32> {
        (self == Answer::TemporarilyUnavailable).then_some(1)
    }
}

/// The denial counters (`jwe_authn.denied.<name>`), one per group of
/// reasons ([`Reason::counter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    Missing,
    TooLarge,
    Malformed,
    Decrypt,
    Signature,
    Expired,
    NotYetValid,
    Issuer,
    Audience,
    Claims,
    Revoked,
    JwksUnavailable,
    Path,
    Ambiguous,
    RevocationUnavailable,
    Overloaded,
    RouteRequirement,
    CertificateMissing,
    CertificateMismatch,
    CertificateUnbound,
    Nesting,
    DpopProof,
    DpopMissing,
    DpopBoundAsBearer,
    DpopUnbound,
    DpopKeyMismatch,
    DpopReplayed,
}

impl Stat {
    /// Every counter, each once, in [`Stat::index`] order (the filter
    /// defines them all at start; a test ties this list to the enum).
    pub const ALL: [Stat; 27] = [
        Stat::Missing,
        Stat::TooLarge,
        Stat::Malformed,
        Stat::Decrypt,
        Stat::Signature,
        Stat::Expired,
        Stat::NotYetValid,
        Stat::Issuer,
        Stat::Audience,
        Stat::Claims,
        Stat::Revoked,
        Stat::JwksUnavailable,
        Stat::Path,
        Stat::Ambiguous,
        Stat::RevocationUnavailable,
        Stat::Overloaded,
        Stat::RouteRequirement,
        Stat::CertificateMissing,
        Stat::CertificateMismatch,
        Stat::CertificateUnbound,
        Stat::Nesting,
        Stat::DpopProof,
        Stat::DpopMissing,
        Stat::DpopBoundAsBearer,
        Stat::DpopUnbound,
        Stat::DpopKeyMismatch,
        Stat::DpopReplayed,
    ];

    /// This counter's place in [`Stat::ALL`].
    pub fn index(self) -> usize {
        match self {
            Stat::Missing => 0,
            Stat::TooLarge => 1,
            Stat::Malformed => 2,
            Stat::Decrypt => 3,
            Stat::Signature => 4,
            Stat::Expired => 5,
            Stat::NotYetValid => 6,
            Stat::Issuer => 7,
            Stat::Audience => 8,
            Stat::Claims => 9,
            Stat::Revoked => 10,
            Stat::JwksUnavailable => 11,
            Stat::Path => 12,
            Stat::Ambiguous => 13,
            Stat::RevocationUnavailable => 14,
            Stat::Overloaded => 15,
            Stat::RouteRequirement => 16,
            Stat::CertificateMissing => 17,
            Stat::CertificateMismatch => 18,
            Stat::CertificateUnbound => 19,
            Stat::Nesting => 20,
            Stat::DpopProof => 21,
            Stat::DpopMissing => 22,
            Stat::DpopBoundAsBearer => 23,
            Stat::DpopUnbound => 24,
            Stat::DpopKeyMismatch => 25,
            Stat::DpopReplayed => 26,
        }
    }

    /// The counter's name after `jwe_authn.denied.`.
    pub fn name(self) -> &'static str {
        match self {
            Stat::Missing => "missing",
            Stat::TooLarge => "too_large",
            Stat::Malformed => "malformed",
            Stat::Decrypt => "decrypt",
            Stat::Signature => "signature",
            Stat::Expired => "expired",
            Stat::NotYetValid => "not_yet_valid",
            Stat::Issuer => "issuer",
            Stat::Audience => "audience",
            Stat::Claims => "claims",
            Stat::Revoked => "revoked",
            Stat::JwksUnavailable => "jwks_unavailable",
            Stat::Path => "path",
            Stat::Ambiguous => "ambiguous",
            Stat::RevocationUnavailable => "revocation_unavailable",
            Stat::Overloaded => "overloaded",
            Stat::RouteRequirement => "route_requirement",
            Stat::CertificateMissing => "certificate_missing",
            Stat::CertificateMismatch => "certificate_mismatch",
            Stat::CertificateUnbound => "certificate_unbound",
            Stat::Nesting => "nesting",
            Stat::DpopProof => "dpop_proof",
            Stat::DpopMissing => "dpop_missing",
            Stat::DpopBoundAsBearer => "dpop_bound_as_bearer",
            Stat::DpopUnbound => "dpop_unbound",
            Stat::DpopKeyMismatch => "dpop_key_mismatch",
            Stat::DpopReplayed => "dpop_replayed",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.stat(), self.detail())
    }
}

impl std::error::Error for Reason {}

/// A configuration error: the dotted field path and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where in the configuration, e.g. `providers.my-idp.local_jwks.keys[0].n`.
    pub path: String,
    /// What was wrong and what was expected.
    pub message: String,
}

impl ConfigError {
    /// A configuration error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Prefix the path with a parent field, for errors from nested parsers.
    pub fn under(mut self, parent: &str) -> Self {
        self.path = if self.path.is_empty() {
            parent.to_string()
        } else if self.path.starts_with('[') {
            format!("{parent}{}", self.path)
        } else {
            format!("{parent}.{}", self.path)
        };
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "configuration: {}", self.message)
        } else {
            write!(f, "configuration field `{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_listed_once_in_its_place() {
        for (i, stat) in Stat::ALL.iter().enumerate() {
            assert_eq!(stat.index(), i, "{stat:?} out of place in Stat::ALL");
        }
        // A variant added to `Stat` (and to `index`) but not to `ALL` has
        // an index past its end.
        let names: std::collections::HashSet<_> = Stat::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), Stat::ALL.len(), "two counters share a name");
    }

    #[test]
    fn every_reason_is_counted_and_answered_as_one_class() {
        let reasons = [
            Reason::Missing,
            Reason::TooLarge,
            Reason::Malformed("m"),
            Reason::Refused("r"),
            Reason::Decrypt("d"),
            Reason::Signature("s"),
            Reason::Expired,
            Reason::NotYetValid,
            Reason::Issuer,
            Reason::Audience,
            Reason::Claims("c"),
            Reason::Forbidden,
            Reason::Revoked,
            Reason::KeysUnavailable,
            Reason::Path("p"),
            Reason::Ambiguous("a"),
            Reason::RevocationUnavailable,
            Reason::Overloaded(Shed::Budget),
            Reason::Overloaded(Shed::SourceShare),
            Reason::RouteRequirement("q"),
            Reason::Certificate(CertificateFailure::Missing),
            Reason::Certificate(CertificateFailure::Mismatch),
            Reason::Certificate(CertificateFailure::Unbound),
            Reason::Nesting("n"),
            Reason::Dpop(DpopFailure::Proof(DpopError::Ath)),
            Reason::Dpop(DpopFailure::ProofMissing),
            Reason::Dpop(DpopFailure::BoundAsBearer),
            Reason::Dpop(DpopFailure::Unbound),
            Reason::Dpop(DpopFailure::KeyMismatch),
            Reason::Dpop(DpopFailure::Replayed),
            Reason::Dpop(DpopFailure::ReplayStoreFull),
        ];
        for r in reasons {
            assert!(Stat::ALL.contains(&r.counter()), "{r:?} counted nowhere");
            let a = r.answer();
            assert_eq!(a.code(), r.bearer_error());
            assert!(a.body().contains(a.code().unwrap_or("unauthorized")));
            if let (Some(code), Some(challenge)) = (a.code(), a.challenge("x", "ES256", false)) {
                assert!(challenge.contains(code));
            }
            assert_eq!(a.retry_after().is_some(), a.status() == 503);
        }
        // A missing token: Bearer alone, or both schemes where DPoP is on.
        assert_eq!(
            Answer::TokenRequired.challenge("x", "", false).as_deref(),
            Some(r#"Bearer realm="x""#)
        );
        assert_eq!(
            Answer::TokenRequired
                .challenge("x", "ES256 EdDSA", false)
                .as_deref(),
            Some(r#"Bearer realm="x", DPoP realm="x", algs="ES256 EdDSA""#)
        );
        // A token sent with the DPoP scheme is challenged in it.
        assert_eq!(
            Answer::InvalidToken
                .challenge("x", "ES256", true)
                .as_deref(),
            Some(
                r#"DPoP realm="x", algs="ES256", error="invalid_token", error_description="the access token is invalid""#
            )
        );
        assert!(Answer::InsufficientScope
            .challenge("x", "ES256", true)
            .is_some_and(|c| c.starts_with("DPoP ") && c.contains("insufficient_scope")));
        assert!(Answer::InvalidToken
            .challenge("x", "ES256", false)
            .is_some_and(|c| c.starts_with("Bearer ")));
        // Every counter is some reason's.
        for stat in Stat::ALL {
            assert!(
                reasons.iter().any(|r| r.counter() == stat),
                "{stat:?} unused"
            );
        }
    }
}
