# The plugin image Istio pulls (WasmPlugin url: oci://…): nothing but the
# filter, as plugin.wasm. Build the filter first (`make wasm`), or use
# `make oci`, which also writes the same image as an OCI layout without Docker.
FROM scratch
COPY target/wasm32-wasip1/release/jwe_authn.wasm ./plugin.wasm
