//! The compiled configuration: [`CompiledConfig`], built once from a
//! [`Config`] at configuration time (keys in [`super::keys`], providers in
//! [`super::provider`], their fetch sources in [`super::fetch`], single
//! values in [`super::value`]), every contradiction refused with the path
//! of the field at fault.

use super::request::{self, CompiledRule, Source};
use super::schema::{Algorithms, Config};
use super::{keys, provider, value};
use crate::cache::shared::EntryKey;
use crate::error::ConfigError;
use crate::jose::alg::{ContentEncryptionAlg, KeyManagementAlg, SignatureAlg};
use crate::jose::json;
use crate::jose::jwk::{Jwk, Purpose};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

pub use super::fetch::RemoteSource;
pub use super::provider::{Nesting, Provider, RevokedIds, MAX_REVOKED};
pub use super::value::{duration_ms, normalise_typ};

/// Longest configuration text accepted, in bytes.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Bounds of `max_token_bytes`.
const TOKEN_BYTES_RANGE: std::ops::RangeInclusive<usize> = 64..=1 << 20;

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
    /// A rule matches on Envoy's route name: the host reads it.
    pub reads_route_name: bool,
    /// Requirements are read from the route's metadata (`route_metadata`).
    pub route_metadata: bool,
    /// A provider binds tokens to the certificate of Envoy's own
    /// downstream connection: the host reads its digest.
    pub reads_peer_certificate: bool,
    /// A provider accepts DPoP-bound tokens: `Authorization: DPoP` is read.
    pub dpop_enabled: bool,
    /// The proof algorithms of every provider with `dpop`, space-separated
    /// (the `algs` of a `DPoP` challenge).
    pub dpop_algs: String,
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
        let mut decryption_keys =
            keys::compile_keys(&config.decryption_keys, "decryption_keys", Purpose::Decrypt)?;
        if let Some(name) = &config.decryption_keys_from_env {
            decryption_keys.extend(keys::keys_from_env(name, env)?);
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
        value::realm(&config.realm, "realm")?;
        let mut providers = Vec::with_capacity(config.providers.len());
        let mut issuers = BTreeMap::new();
        for (name, provider) in config.providers {
            let path = format!("providers.{name}");
            let mut compiled =
                provider::compile(name, provider, &path, config.require_signature, &sources)?;
            compiled.index = providers.len();
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
        let mut headers_read = request::headers_read(&sources, &rules);
        // A trusted certificate header is read, never set by the filter.
        for p in &providers {
            if let Some((name, _)) = p.certificate_bound.as_ref().and_then(|c| c.header.as_ref()) {
                let at = format!("providers.{}.certificate_bound.trusted_header.name", p.name);
                if managed_headers.iter().any(|m| m == name) {
                    return Err(ConfigError::new(
                        at,
                        "expected a header the filter does not set",
                    ));
                }
                if !headers_read.contains(name) {
                    headers_read.push(name.clone());
                }
            }
        }
        // DPoP proofs are for `:method` `:scheme`://`:authority``:path`.
        let dpop_enabled = providers.iter().any(|p| p.dpop.is_some());
        if dpop_enabled {
            for name in [":method", ":scheme", ":authority", ":path", "dpop"] {
                if !headers_read.iter().any(|n| n == name) {
                    headers_read.push(name.to_string());
                }
            }
        }
        let mut dpop_algs: Vec<&str> = Vec::new();
        for alg in providers
            .iter()
            .filter_map(|p| p.dpop.as_ref())
            .flat_map(|d| d.policy.algorithms.iter())
        {
            if !dpop_algs.contains(&alg.name()) {
                dpop_algs.push(alg.name());
            }
        }
        let dpop_algs = dpop_algs.join(" ");
        let reads_peer_certificate = providers.iter().any(|p| {
            p.certificate_bound
                .as_ref()
                .is_some_and(|c| c.header.is_none())
        });
        let admission = &config.admission;
        value::percent(admission.worker_percent, "admission.worker_percent")?;
        value::percent(admission.source_percent, "admission.source_percent")?;
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
            reads_route_name: rules
                .iter()
                .any(|r| matches!(r.matcher, request::RuleMatch::RouteName(_))),
            route_metadata: config.route_metadata,
            reads_peer_certificate,
            dpop_enabled,
            dpop_algs,
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

    /// The requirement a route's metadata carries (serialized by the host:
    /// [`request::route_requirement`]), or why it is none.
    pub fn route_requirement(&self, bytes: &[u8]) -> Result<CompiledRule, &'static str> {
        request::route_requirement(bytes, &|name| {
            self.providers.iter().position(|p| p.name == name)
        })
    }

    /// The provider whose issuer is exactly `iss`.
    pub fn provider_for_issuer(&self, iss: &str) -> Option<&Provider> {
        self.issuers.get(iss).and_then(|&i| self.providers.get(i))
    }

    /// The providers whose `nesting` has `order` (e.g.
    /// `|n| n.encrypt_then_sign`), in configuration order.
    pub fn providers_nesting(
        &self,
        order: impl Fn(&Nesting) -> bool,
    ) -> impl Iterator<Item = &Provider> {
        self.providers.iter().filter(move |p| order(&p.nesting))
    }

    /// The provider that accepted `accepted` (by index, and only if the
    /// name agrees: fail closed on an entry from another configuration).
    pub fn provider(&self, accepted: &crate::pipeline::Accepted) -> Option<&Provider> {
        self.providers
            .get(accepted.provider_index)
            .filter(|p| p.name == accepted.provider)
    }
}

type AlgorithmSets = (
    BTreeSet<KeyManagementAlg>,
    BTreeSet<ContentEncryptionAlg>,
    BTreeSet<SignatureAlg>,
);

fn compile_algorithms(a: &Algorithms) -> Result<AlgorithmSets, ConfigError> {
    Ok((
        value::allow_list(
            &a.key_management,
            KeyManagementAlg::ALL,
            KeyManagementAlg::from_name,
            "algorithms.key_management",
        )?,
        value::allow_list(
            &a.content_encryption,
            ContentEncryptionAlg::ALL,
            ContentEncryptionAlg::from_name,
            "algorithms.content_encryption",
        )?,
        value::allow_list(
            &a.signature,
            SignatureAlg::ALL,
            SignatureAlg::from_name,
            "algorithms.signature",
        )?,
    ))
}
