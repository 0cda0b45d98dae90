// The bare pipeline as plain Wasm under Node's WASI (V8, the same engine
// as Envoy's Wasm runtime): no Envoy, no host calls.
//   node bench/wasm-pipeline.mjs bench/pipeline/target/wasm32-wasip1/release/jwe-authn-pipeline-bench.wasm
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";

const wasi = new WASI({ version: "preview1", args: ["pipeline"], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(process.argv[2]));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
