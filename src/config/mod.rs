//! Configuration: the JSON that is the filter's Envoy `configuration`, the
//! Istio `pluginConfig` and the CLI's `--config`.
//!
//! [`schema`] holds the serde structs (unknown fields are errors, each field's
//! doc comment gives its default); [`compile`] turns them into a
//! [`CompiledConfig`] once, at configuration time: keys are decoded into typed
//! keys, algorithm names into enums, and contradictions are refused with the
//! path of the offending field.

pub mod compile;
pub mod request;
pub mod schema;

pub use compile::{CompiledConfig, Provider};
