//! The configuration as written by users. Every struct refuses unknown
//! fields; each field's doc comment says `Required.` or `Default <value>`,
//! the value as the README's configuration table gives it
//! (`tests/hermetic/readme_config.rs` compares the two). Natively each type
//! also derives `JsonSchema`: the shipped JSON Schema is generated from
//! these structs (`make schema`, see [`super::json_schema`]).

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The whole configuration.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Keys that decrypt the outer JWE: private (RSA, EC, X25519) or secret
    /// (`oct`) keys. Default `{}`: none inline, then `decryption_keys_from_env`
    /// must give at least one.
    #[serde(default)]
    pub decryption_keys: KeySet,
    /// Name of an environment variable holding a JWKS of further decryption
    /// keys (in Envoy: `vm_config.environment_variables.host_env_keys`; in
    /// Istio: `vmConfig.env`), so secrets stay out of the configuration.
    /// Default none.
    #[serde(default)]
    pub decryption_keys_from_env: Option<String>,
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
    /// Headers the token is read from, in order. Default
    /// `[{"name": "authorization", "value_prefix": "Bearer "}]`.
    #[serde(default = "default_from_headers")]
    pub from_headers: Vec<HeaderSource>,
    /// Query parameters the token is read from. Default `[]`.
    #[serde(default)]
    pub from_params: Vec<String>,
    /// Cookies the token is read from. Default `[]`.
    #[serde(default)]
    pub from_cookies: Vec<String>,
    /// `realm` in `WWW-Authenticate`. Default `jwe-authn`.
    #[serde(default = "default_realm")]
    pub realm: String,
    /// Ordered route rules; the first match decides. Default `[]`: every
    /// request needs a valid token from any provider. With rules, a path
    /// that is not in normal form is refused with 400 before any rule is
    /// chosen (see README, Security).
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Take a route's requirement from Envoy's route table when the route
    /// carries one: `metadata.filter_metadata.jwe_authn` with `requires`,
    /// `allow_missing` and `required_claims` as in a rule. It comes before
    /// `rules`; a route without one falls to `rules`, then to the default
    /// (a valid token from any provider). Default false (reading it is a
    /// host call on every request).
    #[serde(default)]
    pub route_metadata: bool,
    /// How a `;` in the path is treated when rules are matched: `refuse`
    /// (400, since upstreams disagree on path parameters) or `literal` (an
    /// ordinary character, as Go, Python and Node upstreams treat it).
    /// Default `refuse`.
    #[serde(default = "default_path_parameters")]
    pub path_parameters: String,
    /// The verified-token cache (per Envoy worker).
    #[serde(default)]
    pub cache: CacheConfig,
    /// Write the verified identity to filter state (`wasm.jwe_authn.provider`,
    /// `wasm.jwe_authn.iss`, `wasm.jwe_authn.sub`) for access logs and later
    /// filters. Default false: like `jwt_authn`'s `payload_in_metadata` it is
    /// asked for, because each property is a host call on every request.
    #[serde(default)]
    pub identity_in_filter_state: bool,
    /// The cold-path budget per worker: how much of a worker's time tokens
    /// that no cache knows may use (README, Security: "A budget for the
    /// cold path").
    #[serde(default)]
    pub admission: AdmissionConfig,
}

/// The cold-path budget (per Envoy worker). A token that would exceed it
/// is answered `503` with `retry-after: 1`.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionConfig {
    /// Meter the cold path. Default true; `false` decrypts every token at
    /// once, however many arrive.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Share of one worker's time that decryptions and signature checks of
    /// new tokens may use, percent, 1 to 100 (estimated per algorithm and
    /// key size). Default 50: cached traffic and public routes keep the
    /// other half.
    #[serde(default = "default_worker_percent")]
    pub worker_percent: u64,
    /// Share of that budget one downstream address (Envoy's
    /// `source.address`; an IPv6 address by its /64) may use, percent, 1
    /// to 100. Default 10 (5 % of a worker). Set 100 when every request
    /// arrives from one address (a load balancer Envoy does not see
    /// through).
    #[serde(default = "default_source_percent")]
    pub source_percent: u64,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            enabled: true,
            worker_percent: default_worker_percent(),
            source_percent: default_source_percent(),
        }
    }
}

fn default_worker_percent() -> u64 {
    crate::admission::DEFAULT_WORKER_PERCENT
}

fn default_source_percent() -> u64 {
    crate::admission::DEFAULT_SOURCE_SHARE_PERCENT
}

/// A header the token may be in, as in `jwt_authn`'s `from_headers`.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct HeaderSource {
    /// Header name (case-insensitive). Required.
    pub name: String,
    /// Prefix before the token, e.g. `Bearer ` (compared case-insensitively).
    /// Default none.
    #[serde(default)]
    pub value_prefix: Option<String>,
}

/// One route rule.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Which requests the rule applies to. Required.
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    /// `allow` (public route), `any` (any provider) or a provider name.
    /// Required.
    pub requires: String,
    /// Let requests without a token through (a present but invalid token is
    /// still rejected). Default false.
    #[serde(default)]
    pub allow_missing: bool,
    /// Claim (dot path) → accepted values; one must match (arrays and
    /// space-separated `scope` strings by membership). Default `{}`.
    #[serde(default)]
    pub required_claims: BTreeMap<String, Vec<String>>,
}

/// A route matcher: exactly one of `prefix`, `path_separated_prefix`,
/// `path` and `route_name`, optional methods. As in Envoy's `RouteMatch`;
/// the query string is ignored by the three path matchers.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteMatch {
    /// Raw path prefix, exactly like Envoy's `prefix`: `/health` also
    /// matches `/healthz` and `/health-admin`. Default none.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Path prefix on segment boundaries, like Envoy's
    /// `path_separated_prefix`: `/health` matches `/health` and
    /// `/health/…`, not `/healthz`. Must not end with `/`. Default none.
    #[serde(default)]
    pub path_separated_prefix: Option<String>,
    /// Exact path. Default none.
    #[serde(default)]
    pub path: Option<String>,
    /// The name of the route Envoy chose (`xds.route_name`), exactly: the
    /// rule follows Envoy's own matching (case-insensitive routes, headers,
    /// regexes). Default none.
    #[serde(default)]
    pub route_name: Option<String>,
    /// HTTP methods. Default `[]`: any method. `GET` also covers `HEAD`
    /// (servers answer `HEAD` with their `GET` handler).
    #[serde(default)]
    pub methods: Vec<String>,
}

/// Cache settings.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Most cached tokens per worker; 0 disables the cache. Default 10000.
    #[serde(default = "default_cache_entries")]
    pub max_entries: usize,
    /// Longest a verified token stays cached, in seconds: an entry lives
    /// until `min(now + ttl_seconds, exp + clock_skew_seconds)`. Default 300.
    #[serde(default = "default_cache_ttl")]
    pub ttl_seconds: u64,
    /// Share verified tokens between Envoy's workers (proxy-wasm shared
    /// data, at most `max_entries` slots), so a token is decrypted once per
    /// Envoy rather than once per worker. Default true.
    #[serde(default = "default_true")]
    pub shared: bool,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_entries: default_cache_entries(),
            ttl_seconds: default_cache_ttl(),
            shared: true,
        }
    }
}

/// A claim copied into a request header, as in `jwt_authn`.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ClaimToHeader {
    /// The header to set. Required.
    pub header_name: String,
    /// The claim, as a dot path (`realm_access.roles`). Required.
    pub claim_name: String,
}

/// A set of keys: a JWKS (`keys`) and/or PEM keys (`pem`).
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct KeySet {
    /// JWKs (RFC 7517). Default `[]`.
    #[serde(default)]
    pub keys: Vec<Value>,
    /// PEM keys: PKCS#8 `PRIVATE KEY` or SPKI `PUBLIC KEY`. Default `[]`.
    #[serde(default)]
    pub pem: Vec<PemKey>,
}

/// One PEM-encoded key with the JWK metadata PEM cannot carry.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PemKey {
    /// The PEM text. Required.
    pub pem: String,
    /// Key id. Default none.
    #[serde(default)]
    pub kid: Option<String>,
    /// The only algorithm this key may be used with. Default none: any
    /// algorithm that fits the key.
    #[serde(default)]
    pub alg: Option<String>,
}

/// One token issuer.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The exact `iss` value of this provider's tokens. Required.
    pub issuer: String,
    /// Accepted `aud` values; the token's `aud` must contain one. Default
    /// `[]`: `aud` is not checked.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The provider's signature verification keys (public keys, or `oct` for
    /// HS*). Default none; exactly one of `local_jwks`, `remote_jwks` and
    /// `discovery` is required.
    #[serde(default)]
    pub local_jwks: Option<KeySet>,
    /// Fetch the provider's JWKS through an Envoy cluster, as `jwt_authn`'s
    /// `remote_jwks`. Default none.
    #[serde(default)]
    pub remote_jwks: Option<RemoteJwks>,
    /// Find the JWKS by OpenID Connect discovery instead. Default none.
    #[serde(default)]
    pub discovery: Option<Discovery>,
    /// Required `typ` of the inner JWS header, e.g. `at+jwt` (RFC 9068), so an
    /// ID token cannot be replayed as an access token. Compared
    /// case-insensitively, an `application/` prefix ignored. Default: not checked.
    #[serde(default)]
    pub typ: Option<String>,
    /// Sender-constrained tokens bound to the client's TLS certificate
    /// (RFC 8705 §3): a token whose claims carry `cnf.x5t#S256` is accepted
    /// only from a client whose certificate has that SHA-256 thumbprint.
    /// Default none: not checked.
    #[serde(default)]
    pub certificate_bound: Option<CertificateBound>,
    /// DPoP-bound tokens (RFC 9449): a token whose claims carry `cnf.jkt`
    /// is accepted only as `Authorization: DPoP <token>` with a valid
    /// `DPoP` proof for this request, signed by that key. Default none:
    /// not checked (`{}` turns it on with its defaults).
    #[serde(default)]
    pub dpop: Option<DpopConfig>,
    /// Keep the token in the header it came from. Default false: removed
    /// before the request goes upstream.
    #[serde(default)]
    pub forward: bool,
    /// Header that receives the decrypted, still-signed inner JWT. Default none.
    #[serde(default)]
    pub forward_jws_header: Option<String>,
    /// Header that receives the claims JSON, base64url. Default none.
    #[serde(default)]
    pub forward_payload_header: Option<String>,
    /// Claims copied into headers. Default `[]`.
    #[serde(default)]
    pub claim_to_headers: Vec<ClaimToHeader>,
    /// Revoked tokens of this provider, checked after verification and on
    /// every cache hit. Default none.
    #[serde(default)]
    pub revocation: Option<Revocation>,
    /// The nesting orders (RFC 7519 §5.2) this provider's tokens may have:
    /// `sign_then_encrypt` (a JWE around the signed JWT) and
    /// `encrypt_then_sign` (a JWS, `cty: JWT`, whose payload is a JWE of
    /// the claims; its signature is checked before anything is decrypted).
    /// Default `["sign_then_encrypt"]`.
    #[serde(default = "default_nesting")]
    pub nesting: Vec<String>,
}

fn default_nesting() -> Vec<String> {
    vec![super::provider::SIGN_THEN_ENCRYPT.into()]
}

/// Certificate-bound tokens (RFC 8705 §3).
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateBound {
    /// Refuse tokens without `cnf.x5t#S256` too. Default false: such a
    /// token is a bearer token.
    #[serde(default)]
    pub required: bool,
    /// Take the client certificate from this request header, written by a
    /// TLS-terminating proxy in front of Envoy, instead of from Envoy's own
    /// connection. Only safe when nothing but that proxy can reach Envoy
    /// (README, Security). Default none: Envoy's connection.
    #[serde(default)]
    pub trusted_header: Option<TrustedCertificateHeader>,
}

/// DPoP (RFC 9449).
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpopConfig {
    /// Refuse tokens without `cnf.jkt` too. Default false: such a token is
    /// a bearer token.
    #[serde(default)]
    pub required: bool,
    /// The algorithms a proof may be signed with. Default: every
    /// asymmetric signature algorithm supported.
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    /// How old a proof's `iat` may be, seconds; also how long its `jti` is
    /// remembered. Default 60; 1 to 3600.
    #[serde(default = "default_dpop_max_age")]
    pub max_age_seconds: u64,
}

fn default_dpop_max_age() -> u64 {
    60
}

/// A request header that carries the client's certificate.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedCertificateHeader {
    /// The header's name. Required.
    pub name: String,
    /// `xfcc`: Envoy's `x-forwarded-client-cert` (one element, its `Hash`,
    /// or else its `Cert`); `pem`: a URL-encoded PEM certificate (NGINX's
    /// `$ssl_client_escaped_cert`, AWS ALB's `x-amzn-mtls-clientcert`).
    /// Required.
    pub format: String,
}

/// A JWKS fetched with `dispatch_http_call` (names as in `jwt_authn`).
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteJwks {
    /// Where the JWKS is. Required.
    pub http_uri: HttpUri,
    /// How long fetched keys are used before a refresh (refreshed in the
    /// background before then). Default `"600s"`.
    #[serde(default = "default_cache_duration")]
    pub cache_duration: String,
    /// Least time between two extra fetches caused by an unknown `kid`.
    /// Default `"30s"`.
    #[serde(default = "default_refetch_interval")]
    pub unknown_kid_refetch_interval: String,
    /// Largest accepted JWKS body, in bytes. Default 65536.
    #[serde(default = "default_max_jwks_bytes")]
    pub max_jwks_bytes: usize,
}

/// An HTTP URI reached through an Envoy cluster.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpUri {
    /// `http://` or `https://` URI, by the one rule every fetch follows
    /// ([`super::value::http_uri`]: RFC 3986 characters, no userinfo or
    /// fragment); its `host[:port]` becomes `:authority`. Required.
    pub uri: String,
    /// The Envoy cluster to send the request to. Required.
    pub cluster: String,
    /// Request timeout, also how long a request waits for the first keys.
    /// Default `"5s"`.
    #[serde(default = "default_fetch_timeout")]
    pub timeout: String,
}

fn default_cache_duration() -> String {
    "600s".into()
}

fn default_refetch_interval() -> String {
    super::fetch::DEFAULT_REFETCH_INTERVAL.into()
}

fn default_fetch_timeout() -> String {
    "5s".into()
}

fn default_max_jwks_bytes() -> usize {
    super::fetch::DEFAULT_MAX_JWKS_BYTES
}

/// A denylist (inline). A token whose `jti`, or whose `sub`, is listed is
/// rejected as `revoked`.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// Revoked `jti` values. Default `[]`.
    #[serde(default)]
    pub jti: Vec<String>,
    /// Revoked subjects (`sub`). Default `[]`.
    #[serde(default)]
    pub sub: Vec<String>,
    /// Also fetch a list `{"jti": [...], "sub": [...]}` through a cluster,
    /// refreshed every `cache_duration`. Default none.
    #[serde(default)]
    pub http_uri: Option<HttpUri>,
    /// How often the fetched list is refreshed. Default `"60s"`.
    #[serde(default = "default_revocation_refresh")]
    pub cache_duration: String,
    /// Before the first fetched list arrives, accept tokens as if nothing
    /// were revoked. Default false: fail closed, such a request waits for
    /// the list (like one for the first keys) and is then denied as
    /// `revocation_unavailable`. Only with `http_uri`.
    #[serde(default)]
    pub fail_open: bool,
}

/// OpenID Connect discovery: `<issuer>/.well-known/openid-configuration`,
/// whose `jwks_uri` is then fetched like `remote_jwks`.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discovery {
    /// The Envoy cluster that reaches the issuer. Required.
    pub cluster: String,
    /// Request timeout. Default `"5s"`.
    #[serde(default = "default_fetch_timeout")]
    pub timeout: String,
    /// How long the discovery document and keys are used before a refresh.
    /// Default `"600s"`.
    #[serde(default = "default_cache_duration")]
    pub cache_duration: String,
}

fn default_revocation_refresh() -> String {
    "60s".into()
}

/// Algorithm allow-lists. A missing list allows every supported algorithm.
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
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

fn default_from_headers() -> Vec<HeaderSource> {
    vec![HeaderSource {
        name: "authorization".into(),
        value_prefix: Some("Bearer ".into()),
    }]
}

fn default_path_parameters() -> String {
    "refuse".into()
}

fn default_realm() -> String {
    "jwe-authn".into()
}

fn default_cache_entries() -> usize {
    10_000
}

fn default_cache_ttl() -> u64 {
    300
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
