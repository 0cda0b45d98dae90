//! The measurement loop shared by the plain-Wasm runner (`main.rs`) and the
//! in-Envoy runner (`envoy_vm.rs`): median µs per call over batches.

use crate::{cases, Case};
use jwe_authn::jose::jws::HostVerify;
use std::time::Instant;

/// Median µs per call of `f` over `batches` batches of `per_batch` calls;
/// `None` if a call was not decided as its case expects (a valid token
/// refused, a forged one allowed: the benchmark would be meaningless).
fn measure(batches: usize, per_batch: usize, mut f: impl FnMut() -> bool) -> Option<f64> {
    let mut samples = Vec::with_capacity(batches);
    for _ in 0..batches {
        let start = Instant::now();
        for _ in 0..per_batch {
            if !f() {
                return None;
            }
        }
        samples.push(start.elapsed().as_secs_f64() * 1e6 / per_batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied()
}

fn cold(case: &Case, host: Option<HostVerify>) -> Option<f64> {
    let mut keys = case.keys();
    // Calls per batch so that a batch lasts tens of milliseconds.
    let per_batch = if case.name.contains("RSA") || case.proofs.is_some() {
        5
    } else {
        20
    };
    measure(11, per_batch, || {
        case.run_with(&mut case.cache(false), &mut keys, host)
    })
}

fn hot(case: &Case, host: Option<HostVerify>) -> Option<f64> {
    let mut keys = case.keys();
    let mut cache = case.cache(true);
    case.run_with(&mut cache, &mut keys, host);
    // A DPoP case spends one minted proof per call (DPOP_PROOFS in all).
    let per_batch = if case.proofs.is_some() { 40 } else { 2000 };
    measure(11, per_batch, || case.run_with(&mut cache, &mut keys, host))
}

/// The report: a header line, then `name<TAB>cold µs<TAB>hot µs` per case.
pub fn report() -> Result<Vec<String>, String> {
    let mut lines = vec!["case\tcold_us\thot_us".to_string()];
    lines.extend(rows(None, "")?);
    Ok(lines)
}

/// One `name<TAB>cold µs<TAB>hot µs` row per case, the name followed by
/// `suffix`; with `host`, RS* and ES* signatures are checked by it.
pub fn rows(host: Option<HostVerify>, suffix: &str) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for case in cases()? {
        let (Some(c), Some(h)) = (cold(&case, host), hot(&case, host)) else {
            return Err(format!(
                "{}: a benchmark token was not decided as expected",
                case.name
            ));
        };
        lines.push(format!("{}{suffix}\t{c:.1}\t{h:.2}", case.name));
    }
    Ok(lines)
}
