//! The configuration as written by users. Every struct refuses unknown
//! fields; defaults are stated on each field.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The whole configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Keys that decrypt the outer JWE: private (RSA, EC, X25519) or secret
    /// (`oct`) keys. Required, at least one key.
    pub decryption_keys: KeySet,
    /// Token issuers by name. The provider is chosen by the inner token's
    /// `iss`. Required, at least one.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Allowed clock difference for `exp` and `nbf`, in seconds. Default 60.
    #[serde(default = "default_clock_skew")]
    pub clock_skew_seconds: u64,
    /// Reject tokens without `exp`. Default true.
    #[serde(default = "default_true")]
    pub require_expiration: bool,
    /// Require the JWE to contain a signed JWT. Default true. `false` accepts
    /// a JWE whose plaintext is the claims JSON, and is only allowed when every
    /// decryption key is symmetric (`oct`): with a public key anyone could
    /// mint such a token.
    #[serde(default = "default_true")]
    pub require_signature: bool,
    /// Longest accepted token, in bytes. Default 16384; 64 to 1048576.
    #[serde(default = "default_max_token_bytes")]
    pub max_token_bytes: usize,
    /// Optional allow-lists of algorithm names. Default: every supported
    /// algorithm.
    #[serde(default)]
    pub algorithms: Algorithms,
}

/// A set of keys: a JWKS (`keys`) and/or PEM keys (`pem`).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct KeySet {
    /// JWKs (RFC 7517). Default empty.
    #[serde(default)]
    pub keys: Vec<Value>,
    /// PEM keys: PKCS#8 `PRIVATE KEY` or SPKI `PUBLIC KEY`. Default empty.
    #[serde(default)]
    pub pem: Vec<PemKey>,
}

/// One PEM-encoded key with the JWK metadata PEM cannot carry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PemKey {
    /// The PEM text. Required.
    pub pem: String,
    /// Key id. Default none.
    #[serde(default)]
    pub kid: Option<String>,
    /// The only algorithm this key may be used with. Default any that fits.
    #[serde(default)]
    pub alg: Option<String>,
}

/// One token issuer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The exact `iss` value of this provider's tokens. Required.
    pub issuer: String,
    /// Accepted `aud` values; the token's `aud` must contain one. Default
    /// empty: `aud` is not checked.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The provider's signature verification keys (public keys, or `oct` for
    /// HS*). Required.
    pub local_jwks: KeySet,
    /// Required `typ` of the inner JWS header, e.g. `at+jwt` (RFC 9068), so an
    /// ID token cannot be replayed as an access token. Compared
    /// case-insensitively, an `application/` prefix ignored. Default: not checked.
    #[serde(default)]
    pub typ: Option<String>,
}

/// Algorithm allow-lists. A missing list allows every supported algorithm.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Algorithms {
    /// JWE `alg` values. Default all supported.
    #[serde(default)]
    pub key_management: Option<Vec<String>>,
    /// JWE `enc` values. Default all supported.
    #[serde(default)]
    pub content_encryption: Option<Vec<String>>,
    /// JWS `alg` values. Default all supported.
    #[serde(default)]
    pub signature: Option<Vec<String>>,
}

fn default_clock_skew() -> u64 {
    60
}

fn default_true() -> bool {
    true
}

fn default_max_token_bytes() -> usize {
    16384
}
