//! The bare pipeline as plain Wasm: build for wasm32-wasip1 and run under
//! Node's WASI (`bench/wasm-pipeline.mjs`), or natively. Prints one line
//! per case: name, cold µs per token, hot µs per request (medians of
//! batches).

use jwe_authn_pipeline_bench::{cases, Case};
use std::time::Instant;

/// Median µs per call of `f` over `batches` batches of `per_batch` calls.
fn measure(batches: usize, per_batch: usize, mut f: impl FnMut() -> bool) -> f64 {
    let mut samples: Vec<f64> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                if !f() {
                    eprintln!("a benchmark token was refused");
                    std::process::exit(1);
                }
            }
            start.elapsed().as_secs_f64() * 1e6 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

fn cold(case: &Case) -> f64 {
    let mut keys = case.keys();
    // Calls per batch so that a batch lasts tens of milliseconds.
    let per_batch = if case.name.starts_with("RSA") { 5 } else { 20 };
    measure(11, per_batch, || {
        case.run(&mut case.cache(false), &mut keys)
    })
}

fn hot(case: &Case) -> f64 {
    let mut keys = case.keys();
    let mut cache = case.cache(true);
    case.run(&mut cache, &mut keys);
    measure(11, 2000, || case.run(&mut cache, &mut keys))
}

fn main() {
    let cases = match cases() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench setup failed: {e}");
            std::process::exit(1);
        }
    };
    println!("case\tcold_us\thot_us");
    for case in &cases {
        println!("{}\t{:.1}\t{:.2}", case.name, cold(case), hot(case));
    }
}
