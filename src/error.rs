//! Why a token was rejected.
//!
//! The client only ever sees one error class per HTTP status (see
//! [`Reason::status`]); the precise [`Reason`] is for logs and stats. A
//! reason's detail is a static string: it can never carry token bytes, claim
//! values or key material.

use crate::admission::Shed;
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
}

impl Reason {
    /// The stat name this reason is counted under (`denied_<stat>`).
    pub fn stat(self) -> &'static str {
        match self {
            Reason::Missing => "missing",
            Reason::TooLarge => "too_large",
            Reason::Malformed(_) | Reason::Refused(_) => "malformed",
            Reason::Decrypt(_) => "decrypt",
            Reason::Signature(_) => "signature",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::Issuer => "issuer",
            Reason::Audience => "audience",
            Reason::Claims(_) | Reason::Forbidden => "claims",
            Reason::Revoked => "revoked",
            Reason::KeysUnavailable => "jwks_unavailable",
            Reason::Path(_) => "path",
            Reason::Ambiguous(_) => "ambiguous",
            Reason::RevocationUnavailable => "revocation_unavailable",
            Reason::Overloaded(_) => "overloaded",
        }
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
            | Reason::Ambiguous(d) => d,
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
        }
    }

    /// The HTTP status the client receives: 401 for every token failure, 403
    /// for a valid token without the route's required claims, 400 for a
    /// path that is not in normal form, 503 when the cold-path budget is
    /// spent (the token was not looked at: not a credentials failure).
    pub fn status(self) -> u16 {
        match self {
            Reason::Forbidden => 403,
            Reason::Path(_) => 400,
            Reason::Overloaded(_) => 503,
            _ => 401,
        }
    }

    /// The `WWW-Authenticate` error code: `None` when the token was missing
    /// (RFC 6750 §3.1: no error code then), `invalid_token` otherwise. The
    /// client never learns which check failed.
    pub fn bearer_error(self) -> Option<&'static str> {
        match self {
            Reason::Missing => None,
            Reason::Path(_) => Some("invalid_request"),
            Reason::Overloaded(_) => Some("temporarily_unavailable"),
            Reason::Forbidden => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }

    /// Every stat name, for defining the counters once.
    pub const STATS: &'static [&'static str] = &[
        "missing",
        "malformed",
        "decrypt",
        "signature",
        "expired",
        "not_yet_valid",
        "issuer",
        "audience",
        "claims",
        "too_large",
        "revoked",
        "jwks_unavailable",
        "path",
        "ambiguous",
        "revocation_unavailable",
        "overloaded",
    ];
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
