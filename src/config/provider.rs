//! A provider (token issuer), compiled: its issuer and audiences, its keys
//! or where to fetch them ([`super::fetch`]), what it forwards upstream and
//! what it has revoked.

use super::request::{self, Source};
use super::schema::ProviderConfig;
use super::{fetch, keys, value};
use crate::error::ConfigError;
use crate::jose::jwk::{Jwk, Purpose};
use fetch::RemoteSource;
use std::collections::HashSet;

/// Most entries in one provider's revocation list.
pub const MAX_REVOKED: usize = 100_000;

/// `nesting` value: a JWE whose plaintext is the signed JWT (the default).
pub const SIGN_THEN_ENCRYPT: &str = "sign_then_encrypt";
/// `nesting` value: a JWS (`cty: JWT`) whose payload is a JWE of the claims.
pub const ENCRYPT_THEN_SIGN: &str = "encrypt_then_sign";

/// The nesting orders a provider accepts (`providers.*.nesting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nesting {
    /// A JWE outside, the signed JWT inside.
    pub sign_then_encrypt: bool,
    /// A signed JWS outside, a JWE of the claims inside.
    pub encrypt_then_sign: bool,
}

impl Default for Nesting {
    fn default() -> Self {
        Nesting {
            sign_then_encrypt: true,
            encrypt_then_sign: false,
        }
    }
}

/// `providers.*.nesting`, at `path`: known values, each once, at least one.
fn nesting(names: &[String], path: &str) -> Result<Nesting, ConfigError> {
    let mut out = Nesting {
        sign_then_encrypt: false,
        encrypt_then_sign: false,
    };
    for (i, name) in names.iter().enumerate() {
        let slot = match name.as_str() {
            SIGN_THEN_ENCRYPT => &mut out.sign_then_encrypt,
            ENCRYPT_THEN_SIGN => &mut out.encrypt_then_sign,
            _ => {
                return Err(ConfigError::new(
                    format!("{path}[{i}]"),
                    format!("expected `{SIGN_THEN_ENCRYPT}` or `{ENCRYPT_THEN_SIGN}`"),
                ))
            }
        };
        if *slot {
            return Err(ConfigError::new(
                format!("{path}[{i}]"),
                format!("`{name}` is listed twice"),
            ));
        }
        *slot = true;
    }
    if names.is_empty() {
        return Err(ConfigError::new(
            path,
            "an empty list would refuse every token",
        ));
    }
    Ok(out)
}

/// A provider, ready for the request path.
#[derive(Debug)]
pub struct Provider {
    /// The provider's name in the configuration.
    pub name: String,
    /// Its place in [`CompiledConfig::providers`](super::CompiledConfig):
    /// what the pipeline, the cache and the fetch schedule carry, so that no
    /// step looks a provider up by name.
    pub index: usize,
    /// The exact `iss` value.
    pub issuer: String,
    /// Accepted audiences; empty means `aud` is not checked.
    pub audiences: Vec<String>,
    /// Signature verification keys.
    pub keys: Vec<Jwk>,
    /// Required inner `typ`, normalised (lower case, no `application/`).
    pub typ: Option<String>,
    /// Tokens bound to the client's certificate (`certificate_bound`).
    pub certificate_bound: Option<CertificateBinding>,
    /// DPoP-bound tokens (`dpop`).
    pub dpop: Option<DpopBinding>,
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
    /// The configured revocation list (`revocation.jti`, `revocation.sub`).
    pub revoked: RevokedIds,
    /// The nesting orders its tokens may have.
    pub nesting: Nesting,
}

/// `certificate_bound`, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateBinding {
    /// Tokens without `cnf.x5t#S256` are refused too.
    pub required: bool,
    /// Where the client certificate is read: a trusted request header
    /// (lower-case name) in this format, or Envoy's connection (`None`).
    pub header: Option<(String, CertificateHeader)>,
}

/// `dpop`, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopBinding {
    /// Tokens without `cnf.jkt` are refused too.
    pub required: bool,
    /// What a proof may be.
    pub policy: crate::dpop::ProofPolicy,
}

/// The format of a trusted certificate header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateHeader {
    /// Envoy's `x-forwarded-client-cert`, one element: `Hash`, or `Cert`.
    Xfcc,
    /// A URL-encoded PEM certificate.
    Pem,
}

/// Revoked `jti` and `sub` values, configured or fetched: sets, so a
/// lookup does not scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevokedIds {
    pub jti: HashSet<String>,
    pub sub: HashSet<String>,
}

impl RevokedIds {
    /// True when `claims` names one of them (its `jti` or `sub`, a string):
    /// the one revocation lookup, for the configured list and the fetched one.
    pub fn name(&self, claims: &serde_json::Map<String, serde_json::Value>) -> bool {
        let listed = |set: &HashSet<String>, name: &str| {
            !set.is_empty()
                && claims
                    .get(name)
                    .and_then(|v| v.as_str())
                    .is_some_and(|v| set.contains(v))
        };
        listed(&self.jti, "jti") || listed(&self.sub, "sub")
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.jti.len().saturating_add(self.sub.len())
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Provider {
    /// True when `claims` names a `jti` or `sub` of the configured list.
    pub fn is_revoked(&self, claims: &serde_json::Map<String, serde_json::Value>) -> bool {
        self.revoked.name(claims)
    }
}

/// Compile provider `name`, configured at `path` (`providers.<name>`).
pub(super) fn compile(
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
            keys::compile_keys(local, &format!("{path}.local_jwks"), Purpose::Verify)?,
            None,
        ),
        (None, Some(remote), None) => (
            Vec::new(),
            Some(fetch::remote_jwks(remote, &format!("{path}.remote_jwks"))?),
        ),
        (None, None, Some(d)) => (
            Vec::new(),
            Some(fetch::discovery(
                d,
                &provider.issuer,
                &format!("{path}.issuer"),
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
        Some((r, uri)) => Some(fetch::revocation(r, uri, &format!("{path}.revocation"))?),
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
    let certificate_bound = match &provider.certificate_bound {
        None => None,
        Some(c) => {
            let header = match &c.trusted_header {
                None => None,
                Some(h) => {
                    let at = format!("{path}.certificate_bound.trusted_header");
                    let name = request::header_name(&h.name, &format!("{at}.name"))?;
                    if sources
                        .iter()
                        .any(|s| matches!(s, Source::Header { name: n, .. } if *n == name))
                    {
                        return Err(ConfigError::new(
                            format!("{at}.name"),
                            "expected a header other than the token's",
                        ));
                    }
                    let format = match h.format.as_str() {
                        "xfcc" => CertificateHeader::Xfcc,
                        "pem" => CertificateHeader::Pem,
                        _ => {
                            return Err(ConfigError::new(
                                format!("{at}.format"),
                                "expected `xfcc` or `pem`",
                            ))
                        }
                    };
                    Some((name, format))
                }
            };
            Some(CertificateBinding {
                required: c.required,
                header,
            })
        }
    };
    let nesting = nesting(&provider.nesting, &format!("{path}.nesting"))?;
    let dpop = match &provider.dpop {
        None => None,
        Some(d) => {
            let at = format!("{path}.dpop");
            let algorithms = value::allow_list(
                &d.algorithms,
                crate::jose::alg::SignatureAlg::ALL,
                crate::jose::alg::SignatureAlg::from_name,
                &format!("{at}.algorithms"),
            )?;
            if let Some(i) = d.algorithms.iter().flatten().position(|name| {
                crate::jose::alg::SignatureAlg::from_name(name).is_some_and(|a| a.is_hmac())
            }) {
                return Err(ConfigError::new(
                    format!("{at}.algorithms[{i}]"),
                    "expected an asymmetric algorithm: a shared secret proves no possession",
                ));
            }
            let algorithms = algorithms.into_iter().filter(|a| !a.is_hmac()).collect();
            if !(1..=3600).contains(&d.max_age_seconds) {
                return Err(ConfigError::new(
                    format!("{at}.max_age_seconds"),
                    "expected 1 to 3600",
                ));
            }
            Some(DpopBinding {
                required: d.required,
                policy: crate::dpop::ProofPolicy {
                    algorithms,
                    max_age_seconds: d.max_age_seconds,
                    ..crate::dpop::ProofPolicy::default()
                },
            })
        }
    };
    let revoked = match &provider.revocation {
        None => RevokedIds::default(),
        Some(r) => {
            if r.jti.len() + r.sub.len() > MAX_REVOKED {
                return Err(ConfigError::new(
                    format!("{path}.revocation"),
                    format!("at most {MAX_REVOKED} entries"),
                ));
            }
            RevokedIds {
                jti: r.jti.iter().cloned().collect(),
                sub: r.sub.iter().cloned().collect(),
            }
        }
    };
    Ok(Provider {
        name,
        index: 0,
        issuer: provider.issuer,
        audiences: provider.audiences,
        keys,
        typ: provider.typ.map(|t| value::normalise_typ(&t)),
        certificate_bound,
        dpop,
        forward: provider.forward,
        forward_jws_header,
        forward_payload_header,
        claim_to_headers,
        discovery: provider.discovery.is_some(),
        remote,
        revocation_source,
        revocation_fail_open,
        revoked,
        nesting,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    fn provider(extra: Value) -> Result<Provider, ConfigError> {
        let mut p = json!({"issuer": "https://idp.test"});
        if let (Value::Object(p), Value::Object(more)) = (&mut p, extra) {
            p.extend(more);
        }
        let config: ProviderConfig = serde_json::from_value(p).unwrap();
        compile("idp".into(), config, "providers.idp", true, &[])
    }

    #[test]
    fn providers_are_found_by_index_and_only_under_their_own_name() {
        let k = json!({"keys": [{"kty": "oct", "k": K}]});
        let config = super::super::CompiledConfig::from_json(
            &json!({
                "decryption_keys": {"keys": [{"kty": "oct", "k": K, "kid": "e"}]},
                "providers": {
                    "a": {"issuer": "https://a", "local_jwks": k},
                    "b": {"issuer": "https://b", "local_jwks": k}
                }
            })
            .to_string(),
        )
        .unwrap();
        for (i, p) in config.providers.iter().enumerate() {
            assert_eq!(p.index, i);
        }
        let accepted = |provider: &str, provider_index| crate::pipeline::Accepted {
            provider: provider.into(),
            provider_index,
            claims: Default::default(),
            jws: None,
            expires_at: None,
        };
        let b = config.providers.iter().position(|p| p.name == "b").unwrap();
        assert_eq!(config.provider(&accepted("b", b)).map(|p| p.index), Some(b));
        assert!(
            config.provider(&accepted("a", b)).is_none(),
            "name disagrees"
        );
        assert!(
            config.provider(&accepted("b", 7)).is_none(),
            "no such index"
        );
    }

    #[test]
    fn exactly_one_key_source() {
        let local = json!({"keys": [{"kty": "oct", "k": K}]});
        let remote = json!({"http_uri": {"uri": "https://idp.test/k", "cluster": "idp"}});
        let discovery = json!({"cluster": "idp"});
        assert!(provider(json!({"local_jwks": local})).is_ok());
        assert!(provider(json!({"remote_jwks": remote})).is_ok_and(|p| !p.discovery));
        assert!(provider(json!({"discovery": discovery})).is_ok_and(|p| p.discovery));
        for extra in [
            json!({}),
            json!({"local_jwks": local, "remote_jwks": remote}),
            json!({"remote_jwks": remote, "discovery": discovery}),
        ] {
            let e = provider(extra).unwrap_err();
            assert_eq!(e.path, "providers.idp");
            assert!(e.message.contains("`discovery`"), "{e}");
        }
        let e = provider(json!({"local_jwks": {}})).unwrap_err();
        assert_eq!(e.path, "providers.idp.local_jwks");
    }

    #[test]
    fn nesting_orders_are_known_values_each_once() {
        let local = json!({"keys": [{"kty": "oct", "k": K}]});
        let p = provider(json!({"local_jwks": local})).unwrap();
        assert_eq!(p.nesting, Nesting::default(), "default: sign_then_encrypt");
        let p = provider(json!({"local_jwks": local, "nesting": ["encrypt_then_sign"]})).unwrap();
        assert!(p.nesting.encrypt_then_sign && !p.nesting.sign_then_encrypt);
        let p = provider(
            json!({"local_jwks": local, "nesting": ["encrypt_then_sign", "sign_then_encrypt"]}),
        )
        .unwrap();
        assert!(p.nesting.encrypt_then_sign && p.nesting.sign_then_encrypt);
        for (list, at) in [
            (json!([]), "providers.idp.nesting"),
            (
                json!(["sign_then_encrypt", "nested"]),
                "providers.idp.nesting[1]",
            ),
            (
                json!(["encrypt_then_sign", "encrypt_then_sign"]),
                "providers.idp.nesting[1]",
            ),
            (json!(["Encrypt_Then_Sign"]), "providers.idp.nesting[0]"),
        ] {
            let e = provider(json!({"local_jwks": local, "nesting": list})).unwrap_err();
            assert_eq!(e.path, at, "{list}: {e}");
        }
    }

    #[test]
    fn revocation_lists_are_sets_bounded_and_fail_open_needs_a_fetch() {
        let local = json!({"keys": [{"kty": "oct", "k": K}]});
        let p = provider(json!({"local_jwks": local, "revocation": {"jti": ["a"], "sub": ["s"]}}))
            .unwrap();
        let claims = |c: Value| c.as_object().unwrap().clone();
        assert!(p.is_revoked(&claims(json!({"jti": "a"}))));
        assert!(p.is_revoked(&claims(json!({"sub": "s", "jti": "b"}))));
        assert!(!p.is_revoked(&claims(json!({"jti": "b", "sub": "t"}))));
        assert!(
            !p.is_revoked(&claims(json!({"jti": ["a"]}))),
            "not a string"
        );
        let many: Vec<String> = (0..=MAX_REVOKED).map(|i| i.to_string()).collect();
        let e = provider(json!({"local_jwks": local, "revocation": {"jti": many}})).unwrap_err();
        assert_eq!(e.path, "providers.idp.revocation");
        let e =
            provider(json!({"local_jwks": local, "revocation": {"fail_open": true}})).unwrap_err();
        assert_eq!(e.path, "providers.idp.revocation.fail_open");
    }
}
