//! Turning a [`Config`] into a [`CompiledConfig`]: keys parsed into typed
//! keys, algorithm names into enums, every contradiction refused with the
//! path of the field at fault.

use super::request::{self, CompiledRule, Source};
use super::schema::{Algorithms, Config, KeySet, ProviderConfig};
use crate::cache::shared::EntryKey;
use crate::error::ConfigError;
use crate::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use crate::jose::jwk::{self, Jwk, MAX_KEYS};
use crate::jose::{fit, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Longest configuration text accepted, in bytes.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Most entries in one provider's revocation list.
pub const MAX_REVOKED: usize = 100_000;

/// Bounds of `max_token_bytes`.
const TOKEN_BYTES_RANGE: std::ops::RangeInclusive<usize> = 64..=1 << 20;

/// A provider, ready for the request path.
#[derive(Debug)]
pub struct Provider {
    /// The provider's name in the configuration.
    pub name: String,
    /// The exact `iss` value.
    pub issuer: String,
    /// Accepted audiences; empty means `aud` is not checked.
    pub audiences: Vec<String>,
    /// Signature verification keys.
    pub keys: Vec<Jwk>,
    /// Required inner `typ`, normalised (lower case, no `application/`).
    pub typ: Option<String>,
    /// Keep the token in its source header.
    pub forward: bool,
    /// Header for the still-signed inner JWT.
    pub forward_jws_header: Option<String>,
    /// Header for the base64url claims JSON.
    pub forward_payload_header: Option<String>,
    /// (header, claim path) pairs.
    pub claim_to_headers: Vec<(String, Vec<String>)>,
    /// Where the keys are fetched from, when they are remote (for
    /// discovery: where the discovery document is).
    pub remote: Option<RemoteSource>,
    /// True when `remote` is an OpenID Connect discovery document.
    pub discovery: bool,
    /// Where a revocation list is fetched from, if any.
    pub revocation_source: Option<RemoteSource>,
    /// Before the first fetched list, treat nothing as revoked
    /// (`revocation.fail_open`) rather than wait and deny.
    pub revocation_fail_open: bool,
    /// Revoked `jti` and `sub` values: sets, so a lookup does not scan.
    pub revoked_jti: HashSet<String>,
    pub revoked_sub: HashSet<String>,
}

/// A compiled `remote_jwks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSource {
    /// The Envoy cluster.
    pub cluster: String,
    /// `:authority` of the request.
    pub authority: String,
    /// `:path` of the request (with query).
    pub path: String,
    /// Timeout in milliseconds.
    pub timeout_ms: u64,
    /// Keys are refreshed after this many seconds (before they expire).
    pub cache_duration_s: u64,
    /// Least seconds between unknown-`kid` refetches.
    pub refetch_interval_s: u64,
    /// Largest accepted body.
    pub max_bytes: usize,
}

/// A protobuf-JSON duration: `"5s"`, `"0.5s"`, `"600s"`, in milliseconds.
pub fn duration_ms(text: &str, path: &str) -> Result<u64, ConfigError> {
    let bad = || ConfigError::new(path, "expected a duration such as \"5s\" or \"0.5s\"");
    let number = text.strip_suffix('s').ok_or_else(bad)?;
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty()
        || frac.len() > 3
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(frac))
        .ok_or_else(bad)
}

/// Split an `http(s)://authority/path` URI.
fn split_uri(uri: &str, path: &str) -> Result<(String, String), ConfigError> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
        .ok_or_else(|| ConfigError::new(path, "expected an http:// or https:// URI"))?;
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty()
        || authority
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(ConfigError::new(path, "expected a host in the URI"));
    }
    Ok((authority.to_string(), tail.to_string()))
}

fn positive_ms(text: &str, path: &str) -> Result<u64, ConfigError> {
    match duration_ms(text, path)? {
        0 => Err(ConfigError::new(path, "must be positive")),
        ms => Ok(ms),
    }
}

/// Discovery fetches `<issuer>/.well-known/openid-configuration`.
fn compile_discovery(
    d: &super::schema::Discovery,
    issuer: &str,
    path: &str,
) -> Result<RemoteSource, ConfigError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let (authority, uri_path) = split_uri(&url, path)
        .map_err(|_| ConfigError::new(path, "discovery needs an http(s) issuer URL"))?;
    if d.cluster.is_empty() {
        return Err(ConfigError::new(
            format!("{path}.cluster"),
            "must name an Envoy cluster",
        ));
    }
    Ok(RemoteSource {
        cluster: d.cluster.clone(),
        authority,
        path: uri_path,
        timeout_ms: positive_ms(&d.timeout, &format!("{path}.timeout"))?,
        cache_duration_s: duration_ms(&d.cache_duration, &format!("{path}.cache_duration"))?
            .div_ceil(1000)
            .max(1),
        refetch_interval_s: 30,
        max_bytes: 65536,
    })
}

fn compile_remote(
    remote: &super::schema::RemoteJwks,
    path: &str,
) -> Result<RemoteSource, ConfigError> {
    let (authority, uri_path) = split_uri(&remote.http_uri.uri, &format!("{path}.http_uri.uri"))?;
    if remote.http_uri.cluster.is_empty() {
        return Err(ConfigError::new(
            format!("{path}.http_uri.cluster"),
            "must name an Envoy cluster",
        ));
    }
    let secs = |ms: u64| ms.div_ceil(1000).max(1);
    let timeout_ms = duration_ms(
        &remote.http_uri.timeout,
        &format!("{path}.http_uri.timeout"),
    )?;
    if timeout_ms == 0 {
        return Err(ConfigError::new(
            format!("{path}.http_uri.timeout"),
            "must be positive",
        ));
    }
    if !(256..=4 << 20).contains(&remote.max_jwks_bytes) {
        return Err(ConfigError::new(
            format!("{path}.max_jwks_bytes"),
            "expected 256 to 4194304",
        ));
    }
    Ok(RemoteSource {
        cluster: remote.http_uri.cluster.clone(),
        authority,
        path: uri_path,
        timeout_ms,
        cache_duration_s: secs(duration_ms(
            &remote.cache_duration,
            &format!("{path}.cache_duration"),
        )?),
        refetch_interval_s: duration_ms(
            &remote.unknown_kid_refetch_interval,
            &format!("{path}.unknown_kid_refetch_interval"),
        )? / 1000,
        max_bytes: remote.max_jwks_bytes,
    })
}

impl Provider {
    /// True when `claims` names a revoked `jti` or `sub`.
    pub fn is_revoked(&self, claims: &serde_json::Map<String, serde_json::Value>) -> bool {
        let listed = |set: &HashSet<String>, name: &str| {
            !set.is_empty()
                && claims
                    .get(name)
                    .and_then(|v| v.as_str())
                    .is_some_and(|v| set.contains(v))
        };
        listed(&self.revoked_jti, "jti") || listed(&self.revoked_sub, "sub")
    }
}

/// The validated, compiled configuration shared by every request.
#[derive(Debug)]
pub struct CompiledConfig {
    /// Keys that decrypt the JWE.
    pub decryption_keys: Vec<Jwk>,
    /// Providers in name order.
    pub providers: Vec<Provider>,
    /// Provider index by exact issuer.
    issuers: BTreeMap<String, usize>,
    /// Allowed clock difference, seconds.
    pub clock_skew_seconds: u64,
    /// Reject tokens without `exp`.
    pub require_expiration: bool,
    /// Require a signed JWT inside the JWE.
    pub require_signature: bool,
    /// Longest accepted token, bytes.
    pub max_token_bytes: usize,
    /// Allowed JWE `alg` values.
    pub key_management: BTreeSet<KeyManagementAlg>,
    /// Allowed JWE `enc` values.
    pub content_encryption: BTreeSet<ContentEncryptionAlg>,
    /// Allowed JWS `alg` values.
    pub signature: BTreeSet<SignatureAlg>,
    /// Where tokens are read from, in order.
    pub sources: Vec<Source>,
    /// `realm` for `WWW-Authenticate`.
    pub realm: String,
    /// Route rules, first match wins.
    pub rules: Vec<CompiledRule>,
    /// How `;` in a path is treated (`path_parameters`).
    pub path_parameters: crate::path::Parameters,
    /// Every header a provider may set: stripped from each request.
    pub managed_headers: Vec<String>,
    /// The request headers the core reads ([`request::headers_read`]): the
    /// host passes these and only these.
    pub headers_read: Vec<String>,
    /// Cache capacity per worker (0: no cache).
    pub cache_max_entries: usize,
    /// Cache lifetime cap, seconds.
    pub cache_ttl_seconds: u64,
    /// Share verified tokens between workers.
    pub cache_shared: bool,
    /// Write the identity to filter state.
    pub identity_in_filter_state: bool,
    /// The cold-path budget, units per second (0: off;
    /// [`crate::admission`]).
    pub admission_rate: u64,
    /// One source's share of it, percent.
    pub admission_source_percent: u64,
    /// SHA-256 of the configuration text and the environment keys it named:
    /// an input of [`CompiledConfig::shared_cache_key`], so shared cache
    /// entries written under another configuration are ignored. Not itself
    /// written to the shared store. All zero when compiled from a
    /// [`Config`] value directly.
    pub fingerprint: [u8; 32],
}

impl CompiledConfig {
    /// Parse, validate and compile a configuration from JSON text.
    ///
    /// The JSON is parsed strictly (duplicate member names are errors), then
    /// deserialized with the path of any error, then compiled.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        Self::from_json_with_env(text, &|_| None)
    }

    /// [`CompiledConfig::from_json`], with `env` looking up environment
    /// variables for `decryption_keys_from_env`. The core never reads the
    /// environment itself: the host passes the lookup.
    pub fn from_json_with_env(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::new(
                "",
                format!("longer than {MAX_CONFIG_BYTES} bytes"),
            ));
        }
        let value = json::parse_str(text)
            .map_err(|e| ConfigError::new("", format!("not valid JSON: {e}")))?;
        let config: Config = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            ConfigError::new(path, e.into_inner().to_string())
        })?;
        let mut fingerprint = Sha256::new();
        fingerprint.update(text.as_bytes());
        if let Some(value) = config.decryption_keys_from_env.as_deref().and_then(env) {
            fingerprint.update([0]);
            fingerprint.update(value.as_bytes());
        }
        let mut compiled = Self::compile(config, env)?;
        compiled.fingerprint = fingerprint.finalize().into();
        Ok(compiled)
    }

    /// Validate and compile deserialized configuration.
    pub fn compile(
        config: Config,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut decryption_keys = compile_keys(&config.decryption_keys, "decryption_keys", true)?;
        if let Some(name) = &config.decryption_keys_from_env {
            decryption_keys.extend(keys_from_env(name, env)?);
        }
        if decryption_keys.is_empty() {
            return Err(ConfigError::new(
                "decryption_keys",
                "at least one key is required",
            ));
        }
        if !config.require_signature && decryption_keys.iter().any(|k| !k.key.is_symmetric()) {
            return Err(ConfigError::new(
                "require_signature",
                "false is only allowed when every decryption key is symmetric (oct): \
                 anyone holding a public key could mint an unsigned token",
            ));
        }
        if !TOKEN_BYTES_RANGE.contains(&config.max_token_bytes) {
            return Err(ConfigError::new(
                "max_token_bytes",
                format!(
                    "expected {} to {}",
                    TOKEN_BYTES_RANGE.start(),
                    TOKEN_BYTES_RANGE.end()
                ),
            ));
        }
        if config.providers.is_empty() {
            return Err(ConfigError::new(
                "providers",
                "at least one provider is required",
            ));
        }
        let sources = request::sources(
            &config.from_headers,
            &config.from_params,
            &config.from_cookies,
        )?;
        if config.realm.is_empty()
            || config
                .realm
                .bytes()
                .any(|b| b == b'"' || b == b'\\' || b.is_ascii_control())
        {
            return Err(ConfigError::new(
                "realm",
                "expected a non-empty string without quotes, backslashes or control characters",
            ));
        }
        let mut providers = Vec::with_capacity(config.providers.len());
        let mut issuers = BTreeMap::new();
        for (name, provider) in config.providers {
            let path = format!("providers.{name}");
            let compiled =
                compile_provider(name, provider, &path, config.require_signature, &sources)?;
            if issuers
                .insert(compiled.issuer.clone(), providers.len())
                .is_some()
            {
                return Err(ConfigError::new(
                    format!("{path}.issuer"),
                    "another provider has the same issuer",
                ));
            }
            providers.push(compiled);
        }
        let (key_management, content_encryption, signature) =
            compile_algorithms(&config.algorithms)?;
        let path_parameters = request::path_parameters(&config.path_parameters)?;
        let rules = request::rules(&config.rules, path_parameters, |name| {
            providers.iter().position(|p: &Provider| p.name == name)
        })?;
        let managed_headers = request::managed(providers.iter().flat_map(|p| {
            p.forward_jws_header
                .iter()
                .chain(p.forward_payload_header.iter())
                .cloned()
                .chain(p.claim_to_headers.iter().map(|(h, _)| h.clone()))
                .collect::<Vec<_>>()
        }));
        let headers_read = request::headers_read(&sources, &rules);
        let admission = &config.admission;
        for (field, value) in [
            ("admission.worker_percent", admission.worker_percent),
            ("admission.source_percent", admission.source_percent),
        ] {
            if !(1..=100).contains(&value) {
                return Err(ConfigError::new(
                    field,
                    "expected a percentage from 1 to 100",
                ));
            }
        }
        let admission_rate = if admission.enabled {
            crate::admission::WORKER_UNITS_PER_SECOND * admission.worker_percent / 100
        } else {
            0
        };
        Ok(CompiledConfig {
            headers_read,
            decryption_keys,
            providers,
            issuers,
            clock_skew_seconds: config.clock_skew_seconds,
            require_expiration: config.require_expiration,
            require_signature: config.require_signature,
            max_token_bytes: config.max_token_bytes,
            key_management,
            content_encryption,
            signature,
            sources,
            realm: config.realm,
            rules,
            path_parameters,
            managed_headers,
            cache_max_entries: config.cache.max_entries,
            cache_ttl_seconds: config.cache.ttl_seconds,
            cache_shared: config.cache.shared,
            identity_in_filter_state: config.identity_in_filter_state,
            admission_rate,
            admission_source_percent: admission.source_percent,
            fingerprint: [0; 32],
        })
    }

    /// The key that authenticates this configuration's shared cache
    /// entries, derived from the decryption keys' secret material and
    /// [`CompiledConfig::fingerprint`] ([`EntryKey::derive`]): call it once,
    /// when the cache is built. `None` (never in practice) leaves the shared
    /// layer off. Its `Debug` shows nothing.
    pub fn shared_cache_key(&self) -> Option<EntryKey> {
        EntryKey::derive(&self.decryption_keys, &self.fingerprint)
    }

    /// True when the core needs request header `name` (any case): the
    /// headers it reads ([`CompiledConfig::headers_read`]) and any spelling
    /// of a managed or source header with `_` for `-` (to remove it). The
    /// host passes every copy of these, and only these.
    pub fn wants_header(&self, name: &str) -> bool {
        self.headers_read
            .iter()
            .chain(self.managed_headers.iter())
            .chain(self.sources.iter().filter_map(|s| match s {
                Source::Header { name, .. } => Some(name),
                _ => None,
            }))
            .any(|wanted| crate::extract::same_name_for_cgi(name, wanted))
    }

    /// The provider whose issuer is exactly `iss`.
    pub fn provider_for_issuer(&self, iss: &str) -> Option<&Provider> {
        self.issuers.get(iss).and_then(|&i| self.providers.get(i))
    }

    /// The provider with this configuration name, with its index.
    pub fn provider_with_index(&self, name: &str) -> Option<(usize, &Provider)> {
        self.providers
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == name)
    }
}

fn compile_provider(
    name: String,
    provider: ProviderConfig,
    path: &str,
    require_signature: bool,
    sources: &[Source],
) -> Result<Provider, ConfigError> {
    if provider.issuer.is_empty() {
        return Err(ConfigError::new(
            format!("{path}.issuer"),
            "must not be empty",
        ));
    }
    let (keys, remote) = match (
        &provider.local_jwks,
        &provider.remote_jwks,
        &provider.discovery,
    ) {
        (Some(local), None, None) => (
            compile_keys(local, &format!("{path}.local_jwks"), false)?,
            None,
        ),
        (None, Some(remote), None) => (
            Vec::new(),
            Some(compile_remote(remote, &format!("{path}.remote_jwks"))?),
        ),
        (None, None, Some(d)) => (
            Vec::new(),
            Some(compile_discovery(
                d,
                &provider.issuer,
                &format!("{path}.discovery"),
            )?),
        ),
        _ => {
            return Err(ConfigError::new(
                path,
                "expected exactly one of `local_jwks`, `remote_jwks` and `discovery`",
            ))
        }
    };
    if provider
        .revocation
        .as_ref()
        .is_some_and(|r| r.fail_open && r.http_uri.is_none())
    {
        return Err(ConfigError::new(
            format!("{path}.revocation.fail_open"),
            "only applies to a fetched list: set `http_uri` or remove `fail_open`",
        ));
    }
    let revocation_fail_open = provider.revocation.as_ref().is_some_and(|r| r.fail_open);
    let revocation_source = match provider
        .revocation
        .as_ref()
        .and_then(|r| r.http_uri.as_ref().map(|u| (r, u)))
    {
        None => None,
        Some((r, uri)) => {
            let at = format!("{path}.revocation");
            let (authority, uri_path) = split_uri(&uri.uri, &format!("{at}.http_uri.uri"))?;
            Some(RemoteSource {
                cluster: uri.cluster.clone(),
                authority,
                path: uri_path,
                timeout_ms: positive_ms(&uri.timeout, &format!("{at}.http_uri.timeout"))?,
                cache_duration_s: duration_ms(&r.cache_duration, &format!("{at}.cache_duration"))?
                    .div_ceil(1000)
                    .max(1),
                refetch_interval_s: 0,
                max_bytes: 4 << 20,
            })
        }
    };
    if keys.is_empty() && remote.is_none() && require_signature {
        return Err(ConfigError::new(
            format!("{path}.local_jwks"),
            "at least one verification key is required",
        ));
    }
    let settable = |field: &str, name: &Option<String>| -> Result<Option<String>, ConfigError> {
        name.as_deref()
            .map(|n| {
                let at = format!("{path}.{field}");
                let n = request::header_name(n, &at)?;
                request::check_settable(&n, &at, sources)?;
                Ok(n)
            })
            .transpose()
    };
    let forward_jws_header = settable("forward_jws_header", &provider.forward_jws_header)?;
    let forward_payload_header =
        settable("forward_payload_header", &provider.forward_payload_header)?;
    let at = format!("{path}.claim_to_headers");
    let claim_to_headers = request::claim_headers(&provider.claim_to_headers, &at)?;
    for (i, (header, _)) in claim_to_headers.iter().enumerate() {
        request::check_settable(header, &format!("{at}[{i}].header_name"), sources)?;
    }
    let (revoked_jti, revoked_sub) = match &provider.revocation {
        None => (HashSet::new(), HashSet::new()),
        Some(r) => {
            if r.jti.len() + r.sub.len() > MAX_REVOKED {
                return Err(ConfigError::new(
                    format!("{path}.revocation"),
                    format!("at most {MAX_REVOKED} entries"),
                ));
            }
            (
                r.jti.iter().cloned().collect(),
                r.sub.iter().cloned().collect(),
            )
        }
    };
    Ok(Provider {
        name,
        issuer: provider.issuer,
        audiences: provider.audiences,
        keys,
        typ: provider.typ.map(|t| normalise_typ(&t)),
        forward: provider.forward,
        forward_jws_header,
        forward_payload_header,
        claim_to_headers,
        discovery: provider.discovery.is_some(),
        remote,
        revocation_source,
        revocation_fail_open,
        revoked_jti,
        revoked_sub,
    })
}

/// Media-type comparison for `typ` (RFC 7515 §4.1.9): case-insensitive, an
/// `application/` prefix may be omitted.
pub fn normalise_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_string(),
        None => lower,
    }
}

/// Decryption keys from the JWKS in environment variable `name`. The text is
/// zeroized when dropped; errors name the variable, never its contents.
fn keys_from_env(
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Jwk>, ConfigError> {
    let path = "decryption_keys_from_env";
    let text = zeroize::Zeroizing::new(env(name).ok_or_else(|| {
        ConfigError::new(path, format!("environment variable `{name}` is not set"))
    })?);
    // serde_json's intermediate values cannot be zeroized; they live only
    // for this call (see README, Security).
    let value = json::parse_str(&text).map_err(|_| {
        ConfigError::new(
            path,
            format!("`{name}` does not hold JSON (expected a JWKS)"),
        )
    })?;
    let keys = jwk::parse_jwks(&value).map_err(|e| e.under(&format!("{path}(${name})")))?;
    for (i, key) in keys.iter().enumerate() {
        check_decryption_key(key, &format!("{path}(${name}).keys[{i}]"), "n")?;
    }
    Ok(keys)
}

/// A decryption key must hold its private half, and an RSA one at most
/// [`jwk::MAX_RSA_DECRYPTION_BITS`]: any request may cost one private-key
/// operation with it. `modulus` names the member holding the modulus.
fn check_decryption_key(key: &Jwk, at: &str, modulus: &str) -> Result<(), ConfigError> {
    if !key.key.is_private() {
        return Err(ConfigError::new(
            at,
            "a decryption key must be private or secret (`d` or `k`)",
        ));
    }
    if fit::rsa_bytes(&key.key).is_some_and(|n| n > jwk::MAX_RSA_DECRYPTION_BITS / 8) {
        return Err(ConfigError::new(
            format!("{at}.{modulus}"),
            format!(
                "RSA decryption keys over {} bits are refused: every request \
                 may cost one private-key operation (verification keys may \
                 have up to {} bits)",
                jwk::MAX_RSA_DECRYPTION_BITS,
                jwk::MAX_RSA_BITS
            ),
        ));
    }
    Ok(())
}

/// Parse a key set's JWKs and PEM keys into typed keys; `require_private`
/// refuses public keys (decryption needs the private half).
fn compile_keys(set: &KeySet, path: &str, require_private: bool) -> Result<Vec<Jwk>, ConfigError> {
    if set.keys.len() + set.pem.len() > MAX_KEYS {
        return Err(ConfigError::new(path, format!("at most {MAX_KEYS} keys")));
    }
    let mut out = Vec::with_capacity(set.keys.len() + set.pem.len());
    let check = |key: Jwk, at: &str, modulus: &str| {
        if require_private {
            check_decryption_key(&key, at, modulus)?;
        }
        Ok(key)
    };
    for (i, value) in set.keys.iter().enumerate() {
        let at = format!("{path}.keys[{i}]");
        let key = jwk::parse_jwk(value).map_err(|e| e.under(&at))?;
        out.push(check(key, &at, "n")?);
    }
    for (i, pem) in set.pem.iter().enumerate() {
        let at = format!("{path}.pem[{i}]");
        let key = jwk::parse_pem(&pem.pem).map_err(|e| e.under(&format!("{at}.pem")))?;
        if let Some(alg) = &pem.alg {
            let known = KeyManagementAlg::from_name(alg).is_some()
                || SignatureAlg::from_name(alg).is_some();
            if !known {
                return Err(ConfigError::new(
                    format!("{at}.alg"),
                    "not a supported JOSE algorithm",
                ));
            }
            if !fit::jwk_alg(alg, &key) {
                return Err(ConfigError::new(
                    format!("{at}.alg"),
                    format!("`{alg}` does not fit this {} key", key.describe()),
                ));
            }
        }
        let key = Jwk {
            kid: pem.kid.clone(),
            alg: pem.alg.clone(),
            key_use: None,
            key_ops: None,
            key,
        };
        out.push(check(key, &at, "pem")?);
    }
    if !require_private {
        jwk::check_verification_set(&out).map_err(|e| e.under(path))?;
    }
    Ok(out)
}

fn allow_list<T: Copy + Ord>(
    names: &Option<Vec<String>>,
    all: &[T],
    parse: impl Fn(&str) -> Option<T>,
    path: &str,
) -> Result<BTreeSet<T>, ConfigError> {
    match names {
        None => Ok(all.iter().copied().collect()),
        Some(list) => {
            let mut set = BTreeSet::new();
            for (i, name) in list.iter().enumerate() {
                let alg = parse(name).ok_or_else(|| {
                    ConfigError::new(
                        format!("{path}[{i}]"),
                        format!("`{name}` is not a supported algorithm"),
                    )
                })?;
                set.insert(alg);
            }
            if set.is_empty() {
                return Err(ConfigError::new(
                    path,
                    "an empty allow-list would refuse every token",
                ));
            }
            Ok(set)
        }
    }
}

type AlgorithmSets = (
    BTreeSet<KeyManagementAlg>,
    BTreeSet<ContentEncryptionAlg>,
    BTreeSet<SignatureAlg>,
);

fn compile_algorithms(a: &Algorithms) -> Result<AlgorithmSets, ConfigError> {
    Ok((
        allow_list(
            &a.key_management,
            KeyManagementAlg::ALL,
            KeyManagementAlg::from_name,
            "algorithms.key_management",
        )?,
        allow_list(
            &a.content_encryption,
            ContentEncryptionAlg::ALL,
            ContentEncryptionAlg::from_name,
            "algorithms.content_encryption",
        )?,
        allow_list(
            &a.signature,
            SignatureAlg::ALL,
            SignatureAlg::from_name,
            "algorithms.signature",
        )?,
    ))
}
