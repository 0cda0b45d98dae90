#!/usr/bin/env bash
# Fuzz the core with cargo fuzz (libFuzzer, nightly): three targets,
#   token   the whole decision path (decide) on an arbitrary bearer value,
#           with a fixed key set covering every algorithm family;
#   jwk     JWK and JWKS parsing (also what a fetched remote_jwks goes through);
#   config  configuration parsing, validation and compilation.
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]     default: 600 s each, every target
#   PARALLEL=1 scripts/fuzz.sh 30           all targets at once (the CI smoke run)
#
# Limits: 2 GiB RSS (-rss_limit_mb), 10 s per input (-timeout), 20 KB inputs
# (-max_len: above the filter's 16 KiB token limit). Seeds are minted fresh
# (tokens valid at the target's fixed now) plus the committed keys and
# configurations; the corpus grows under fuzz/corpus (not committed). A crash,
# timeout or out-of-memory stops the run with a non-zero exit and leaves the
# input in fuzz/artifacts/<target>/: copy it to fuzz/regressions/<target>/,
# where tests/fuzz_regressions.rs replays it on every `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}
shift || true
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(token jwk config)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
make -s cli >/dev/null

# Seeds.
cli=target/release/jwe-authn
now=1800000000
for t in token jwk config; do mkdir -p "fuzz/corpus/$t" "fuzz/artifacts"; done
claims='{"iss":"https://idp.demo.example","sub":"alice","aud":"orders-api","scope":"orders:read"}'
seed_token() { # name, mint args…
  local name=$1; shift
  $cli mint --claims "$claims" --now $((now - 60)) --expires-in 2h "$@" | tr -d '\n' > "fuzz/corpus/token/seed-$name"
}
seed_token x25519-eddsa --sign-key envoy/demo/sign.jwk --encrypt-key envoy/demo/encrypt.pub.jwk --alg ECDH-ES+A256KW --enc A256GCM
seed_token rsa-rs256 --sign-key envoy/bench/keys/sig-rs256.jwk --sig-alg RS256 --encrypt-key envoy/bench/keys/enc-rsa.pub.jwk --alg RSA-OAEP-256 --enc A256GCM
seed_token p256-es256 --sign-key envoy/bench/keys/sig-es256.jwk --encrypt-key envoy/bench/keys/enc-p256.pub.jwk --alg ECDH-ES --enc A128CBC-HS256
seed_token a256kw-es256 --sign-key envoy/bench/keys/sig-es256.jwk --encrypt-key envoy/bench/keys/enc-oct256.jwk --alg A256KW --enc A256CBC-HS512
seed_token gcmkw-es256 --sign-key envoy/bench/keys/sig-es256.jwk --encrypt-key envoy/bench/keys/enc-oct256.jwk --alg A256GCMKW --enc A256GCM
seed_token dir-es256 --sign-key envoy/bench/keys/sig-es256.jwk --encrypt-key envoy/bench/keys/enc-oct256.jwk --alg dir --enc A256GCM
for f in envoy/demo/*.jwk envoy/bench/keys/*.jwk; do cp "$f" "fuzz/corpus/jwk/seed-$(basename "$f")"; done
python3 -c 'import json,sys; print(json.dumps({"keys":[json.load(open(f)) for f in sys.argv[1:]]}))' envoy/bench/keys/*.pub.jwk > fuzz/corpus/jwk/seed-jwks.json
cp fuzz/seeds/config.json fuzz/corpus/config/seed-fuzz.json
for y in envoy/envoy.yaml envoy/production.yaml envoy/bench/jwe-authn.yaml; do
  sed -n '/value: |/,/^ *- name: envoy.filters.http.router/p' "$y" | sed '1d;$d' > "fuzz/corpus/config/seed-$(basename "$y" .yaml).json"
done

run() { # target
  local t=$1
  echo "fuzz: $t for ${SECONDS_EACH}s" >&2
  cargo +nightly fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" "fuzz/regressions/$t" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -max_len=20000 -print_final_stats=1
}
# Build once, then run.
cargo +nightly fuzz build --fuzz-dir fuzz
if [[ ${PARALLEL:-0} == 1 ]]; then
  pids=()
  for t in "${TARGETS[@]}"; do run "$t" > "fuzz/artifacts/$t.log" 2>&1 & pids+=($!); done
  status=0
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      status=1
      echo "fuzz: ${TARGETS[$i]} FAILED; its log:" >&2
      tail -40 "fuzz/artifacts/${TARGETS[$i]}.log" >&2
    fi
  done
  for t in "${TARGETS[@]}"; do grep -h "stat::number_of_executed_units" "fuzz/artifacts/$t.log" | sed "s/^/fuzz: $t: /" >&2; done
  exit $status
fi
for t in "${TARGETS[@]}"; do run "$t"; done
