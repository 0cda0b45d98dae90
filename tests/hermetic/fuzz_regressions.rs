//! Every input the fuzzers ever crashed on (`fuzz/regressions/<target>/`),
//! plus the committed seeds, replayed through the fuzz targets' own code
//! (`fuzz/harness.rs`): a fixed finding stays fixed. Run the fuzzers with
//! `scripts/fuzz.sh` (README, Security).

#[path = "../../fuzz/harness.rs"]
mod harness;

use std::path::PathBuf;

/// Every file under `fuzz/<dir>/<target>/` (`.keep` aside), sorted.
fn files(dir: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir)
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != ".keep"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

/// The saved findings, then the committed seeds.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = files("regressions", target);
    all.extend(files("seeds", target));
    all
}

#[test]
fn token_findings_stay_fixed() {
    for (path, bytes) in inputs("token") {
        eprintln!("replaying {}", path.display());
        harness::token(&bytes);
    }
    // The configuration the fuzzer runs with compiles.
    assert!(!harness::config().decryption_keys.is_empty());
}

#[test]
fn jwk_findings_stay_fixed() {
    for (path, bytes) in inputs("jwk") {
        eprintln!("replaying {}", path.display());
        harness::jwk(&bytes);
    }
}

#[test]
fn config_findings_stay_fixed() {
    for (path, bytes) in inputs("config") {
        eprintln!("replaying {}", path.display());
        harness::config_text(&bytes);
    }
}
