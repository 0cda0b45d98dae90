//! `cargo bench` (criterion), natively: the bare pipeline per algorithm,
//! cold (every call decrypts and verifies) and hot (cached).

use criterion::{criterion_group, criterion_main, Criterion};
use jwe_authn_pipeline_bench::cases;

fn pipeline(c: &mut Criterion) {
    let cases = match cases() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench setup failed: {e}");
            return;
        }
    };
    let mut cold = c.benchmark_group("cold");
    for case in &cases {
        let mut keys = case.keys();
        cold.bench_function(case.name, |b| {
            b.iter(|| assert!(case.run(&mut case.cache(false), &mut keys)))
        });
    }
    cold.finish();
    let mut hot = c.benchmark_group("hot");
    for case in &cases {
        let mut keys = case.keys();
        let mut cache = case.cache(true);
        hot.bench_function(case.name, |b| {
            b.iter(|| assert!(case.run(&mut cache, &mut keys)))
        });
    }
    hot.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
