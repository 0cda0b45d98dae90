//! A small `--flag value` parser: the CLI has four commands and a dozen
//! flags, not enough to earn an argument-parsing dependency.

use crate::Failure;
use std::collections::BTreeMap;

/// Parsed `--name value` pairs and positional arguments.
pub struct Args {
    flags: BTreeMap<String, String>,
    /// Arguments that are not flags, in order.
    pub positional: Vec<String>,
}

impl Args {
    /// Parse `argv`, accepting only the flags in `known` (each takes a value).
    pub fn parse(argv: &[String], known: &[&str]) -> Result<Self, Failure> {
        let mut flags = BTreeMap::new();
        let mut positional = Vec::new();
        let mut it = argv.iter();
        while let Some(arg) = it.next() {
            if let Some(name) = arg.strip_prefix("--") {
                if !known.contains(&name) {
                    return Err(Failure::usage(format!("unknown flag --{name}")));
                }
                let value = it
                    .next()
                    .ok_or_else(|| Failure::usage(format!("--{name} needs a value")))?;
                if flags.insert(name.to_string(), value.clone()).is_some() {
                    return Err(Failure::usage(format!("--{name} given twice")));
                }
            } else {
                positional.push(arg.clone());
            }
        }
        Ok(Args { flags, positional })
    }

    /// The value of `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(String::as_str)
    }

    /// The value of `--name`, or a usage error.
    pub fn require(&self, name: &str) -> Result<&str, Failure> {
        self.get(name)
            .ok_or_else(|| Failure::usage(format!("--{name} is required")))
    }

    /// `--now SECONDS`, or the system clock.
    pub fn now(&self) -> Result<u64, Failure> {
        match self.get("now") {
            Some(v) => v
                .parse()
                .map_err(|_| Failure::usage("--now expects seconds since the epoch")),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .map_err(|_| Failure::usage("system clock is before 1970")),
        }
    }

    /// Refuse positional arguments for commands that take none.
    pub fn no_positional(&self) -> Result<(), Failure> {
        match self.positional.first() {
            Some(extra) => Err(Failure::usage(format!("unexpected argument `{extra}`"))),
            None => Ok(()),
        }
    }
}

/// Read a file, naming it in the error.
pub fn read_file(path: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::usage(format!("{path}: {e}")))
}
