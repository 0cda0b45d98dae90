//! The algorithms we support, as enums: an unsupported name cannot become a
//! value. Names that are refused on purpose (`none`, `RSA1_5`, `PBES2-*`) are
//! recognised so the rejection says why.

use crate::error::Reason;

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every supported value, in a stable order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The registered JOSE name.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value with this exact registered name, if we support it.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum! {
    /// JWE key management (`alg` of a JWE, RFC 7518 §4).
    KeyManagementAlg {
        /// Direct use of a shared symmetric key as the CEK.
        Dir => "dir",
        A128Kw => "A128KW",
        A192Kw => "A192KW",
        A256Kw => "A256KW",
        A128GcmKw => "A128GCMKW",
        A192GcmKw => "A192GCMKW",
        A256GcmKw => "A256GCMKW",
        RsaOaep => "RSA-OAEP",
        RsaOaep256 => "RSA-OAEP-256",
        RsaOaep384 => "RSA-OAEP-384",
        RsaOaep512 => "RSA-OAEP-512",
        EcdhEs => "ECDH-ES",
        EcdhEsA128Kw => "ECDH-ES+A128KW",
        EcdhEsA192Kw => "ECDH-ES+A192KW",
        EcdhEsA256Kw => "ECDH-ES+A256KW",
    }
}

named_enum! {
    /// JWE content encryption (`enc`, RFC 7518 §5).
    ContentEncryptionAlg {
        A128Gcm => "A128GCM",
        A192Gcm => "A192GCM",
        A256Gcm => "A256GCM",
        A128CbcHs256 => "A128CBC-HS256",
        A192CbcHs384 => "A192CBC-HS384",
        A256CbcHs512 => "A256CBC-HS512",
    }
}

named_enum! {
    /// JWS signature algorithms (`alg` of a JWS, RFC 7518 §3, RFC 8037,
    /// RFC 9864). `EdDSA` (polymorphic, deprecated by RFC 9864) and
    /// `Ed25519` (fully specified) are the same signature on an Ed25519
    /// key; `Ed448` is not supported ([`SignatureAlg::parse`] says so).
    SignatureAlg {
        Rs256 => "RS256",
        Rs384 => "RS384",
        Rs512 => "RS512",
        Ps256 => "PS256",
        Ps384 => "PS384",
        Ps512 => "PS512",
        Es256 => "ES256",
        Es384 => "ES384",
        Es512 => "ES512",
        EdDsa => "EdDSA",
        Ed25519 => "Ed25519",
        Hs256 => "HS256",
        Hs384 => "HS384",
        Hs512 => "HS512",
    }
}

/// Names that are refused on purpose, whatever the configuration says.
fn refusal(name: &str) -> Option<&'static str> {
    if name.eq_ignore_ascii_case("none") {
        Some("alg none is refused")
    } else if name == "RSA1_5" {
        Some("RSA1_5 is refused (padding oracle)")
    } else if name.starts_with("PBES2") {
        Some("PBES2 is refused (password-based, unbounded work)")
    } else {
        None
    }
}

impl KeyManagementAlg {
    /// Parse a JWE `alg`, naming refused algorithms in the error.
    pub fn parse(name: &str) -> Result<Self, Reason> {
        if let Some(why) = refusal(name) {
            return Err(Reason::Refused(why));
        }
        Self::from_name(name).ok_or(Reason::Refused("unsupported JWE alg"))
    }

    /// The key-wrapping key length in bytes for AES-KW and AES-GCMKW variants
    /// (including the ECDH-ES+AxxxKW ones), `None` for the others.
    pub fn wrap_key_len(self) -> Option<usize> {
        use KeyManagementAlg::*;
        match self {
            A128Kw | A128GcmKw | EcdhEsA128Kw => Some(16),
            A192Kw | A192GcmKw | EcdhEsA192Kw => Some(24),
            A256Kw | A256GcmKw | EcdhEsA256Kw => Some(32),
            _ => None,
        }
    }

    /// True when the algorithm uses only a shared secret key (`oct`).
    pub fn is_symmetric(self) -> bool {
        use KeyManagementAlg::*;
        matches!(
            self,
            Dir | A128Kw | A192Kw | A256Kw | A128GcmKw | A192GcmKw | A256GcmKw
        )
    }
}

impl ContentEncryptionAlg {
    /// Parse a JWE `enc`.
    pub fn parse(name: &str) -> Result<Self, Reason> {
        Self::from_name(name).ok_or(Reason::Refused("unsupported JWE enc"))
    }

    /// The CEK length in bytes.
    pub fn key_len(self) -> usize {
        use ContentEncryptionAlg::*;
        match self {
            A128Gcm => 16,
            A192Gcm => 24,
            A256Gcm => 32,
            A128CbcHs256 => 32,
            A192CbcHs384 => 48,
            A256CbcHs512 => 64,
        }
    }
}

/// Why a registered JWS name we do not implement is refused, for the
/// rejection and for configuration errors (`algorithms.signature`, a key's
/// `alg`).
pub fn unsupported_signature(name: &str) -> Option<&'static str> {
    (name == "Ed448").then_some("Ed448 is not supported (of the EdDSA curves only Ed25519 is)")
}

impl SignatureAlg {
    /// Parse a JWS `alg`, naming refused algorithms in the error.
    pub fn parse(name: &str) -> Result<Self, Reason> {
        if let Some(why) = refusal(name).or_else(|| unsupported_signature(name)) {
            return Err(Reason::Refused(why));
        }
        Self::from_name(name).ok_or(Reason::Refused("unsupported JWS alg"))
    }

    /// True for `EdDSA` and `Ed25519`: an Ed25519 signature.
    pub fn is_ed25519(self) -> bool {
        matches!(self, SignatureAlg::EdDsa | SignatureAlg::Ed25519)
    }

    /// True for the HMAC algorithms, which need a shared `oct` key.
    pub fn is_hmac(self) -> bool {
        matches!(
            self,
            SignatureAlg::Hs256 | SignatureAlg::Hs384 | SignatureAlg::Hs512
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in KeyManagementAlg::ALL {
            assert_eq!(KeyManagementAlg::parse(a.name()), Ok(*a));
        }
        for e in ContentEncryptionAlg::ALL {
            assert_eq!(ContentEncryptionAlg::parse(e.name()), Ok(*e));
        }
        for s in SignatureAlg::ALL {
            assert_eq!(SignatureAlg::parse(s.name()), Ok(*s));
        }
    }

    #[test]
    fn refused_names_say_why() {
        for name in [
            "none",
            "None",
            "RSA1_5",
            "PBES2-HS256+A128KW",
            "PBES2-HS512+A256KW",
        ] {
            assert!(
                matches!(KeyManagementAlg::parse(name), Err(Reason::Refused(_))),
                "{name}"
            );
        }
        assert!(matches!(
            SignatureAlg::parse("none"),
            Err(Reason::Refused(_))
        ));
        assert!(KeyManagementAlg::parse("rsa-oaep").is_err());
        assert!(SignatureAlg::parse("ES256K").is_err());
    }

    #[test]
    fn ed25519_is_a_jws_alg_beside_eddsa_and_ed448_is_refused_by_name() {
        assert_eq!(SignatureAlg::parse("Ed25519"), Ok(SignatureAlg::Ed25519));
        assert_eq!(SignatureAlg::parse("EdDSA"), Ok(SignatureAlg::EdDsa));
        assert!(SignatureAlg::Ed25519.is_ed25519() && SignatureAlg::EdDsa.is_ed25519());
        assert!(!SignatureAlg::Es256.is_ed25519());
        assert_eq!(
            SignatureAlg::parse("Ed448"),
            Err(Reason::Refused(
                "Ed448 is not supported (of the EdDSA curves only Ed25519 is)"
            ))
        );
        assert_eq!(SignatureAlg::from_name("Ed448"), None);
        // Names are exact, as every JOSE name is.
        assert!(SignatureAlg::parse("ed25519").is_err());
        assert!(SignatureAlg::parse("ED25519").is_err());
    }
}
