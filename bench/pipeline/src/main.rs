//! The bare pipeline as plain Wasm: build for wasm32-wasip1 and run under
//! Node's WASI (`bench/wasm-pipeline.mjs`), or natively. Prints one line
//! per case: name, cold µs per token, hot µs per request (medians of
//! batches).

fn main() {
    match jwe_authn_pipeline_bench::measure::report() {
        Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::exit(1);
        }
    }
}
