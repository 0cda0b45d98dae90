//! `verify`: run a token through exactly the filter's pipeline
//! ([`jwe_authn::pipeline::verify_token`]).

use crate::args::{read_file, Args};
use crate::Failure;
use jwe_authn::config::CompiledConfig;
use jwe_authn::pipeline::verify_token;
use serde_json::Value;
use std::io::Read;

/// Run `verify`.
pub fn run(argv: &[String]) -> Result<(), Failure> {
    let args = Args::parse(argv, &["config", "token", "token-file", "now"])?;
    args.no_positional()?;
    let config_path = args.require("config")?;
    let env = |name: &str| std::env::var(name).ok();
    let config = CompiledConfig::from_json_with_env(&read_file(config_path)?, &env)
        .map_err(|e| Failure::usage(format!("{config_path}: {e}")))?;
    let token = match (args.get("token"), args.get("token-file")) {
        (Some(_), Some(_)) => return Err(Failure::usage("give --token or --token-file, not both")),
        (Some(t), None) => t.to_string(),
        (None, Some(path)) => read_file(path)?,
        (None, None) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Failure::usage(format!("stdin: {e}")))?;
            text
        }
    };
    let now = args.now()?;
    match verify_token(token.trim(), now, &config) {
        Ok(accepted) => {
            let text = serde_json::to_string_pretty(&Value::Object(accepted.claims))
                .map_err(|e| Failure::usage(e.to_string()))?;
            println!("{text}");
            Ok(())
        }
        Err(rejected) => Err(Failure::rejected(format!(
            "rejected: {} (kid={}, alg={})",
            rejected.reason,
            rejected.kid.as_deref().unwrap_or("-"),
            rejected.alg.unwrap_or("-"),
        ))),
    }
}
