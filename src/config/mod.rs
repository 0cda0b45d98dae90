//! Configuration: the JSON that is the filter's Envoy `configuration`, the
//! Istio `pluginConfig` and the CLI's `--config`.
//!
//! [`schema`] holds the serde structs (unknown fields are errors, each field's
//! doc comment gives its default); [`compile`] turns them into a
//! [`CompiledConfig`] once, at configuration time: keys are decoded into typed
//! keys ([`keys`]), providers and where their keys and lists are fetched from
//! are compiled ([`provider`], [`fetch`]), single values such as durations and
//! URIs are parsed ([`value`]), request sources and rules compiled
//! ([`request`]), and contradictions are refused with the path of the
//! offending field.

pub mod compile;
pub mod fetch;
#[cfg(not(target_arch = "wasm32"))]
pub mod json_schema;
pub mod keys;
pub mod provider;
pub mod request;
pub mod schema;
pub mod value;

pub use compile::{CompiledConfig, Provider};
