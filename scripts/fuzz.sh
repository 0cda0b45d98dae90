#!/usr/bin/env bash
# Fuzz the core with cargo fuzz (libFuzzer, nightly Rust). Three targets
# (fuzz/fuzz_targets/, all sharing fuzz/harness.rs):
#   token   the whole decision path (decide) on an arbitrary bearer value with
#           a fixed key set covering every algorithm family, the JWE/JWS header
#           parsers on the raw bytes, and (past the unforgeable layers) inputs
#           shaped like an inner JWS or like claims, encrypted/signed by the
#           harness itself;
#   jwk     JWK and JWKS parsing (also what a fetched remote_jwks goes
#           through), the JWE `epk` parser, and PEM (PKCS#8, SPKI);
#   config  configuration parsing, validation and compilation, as
#           on_configure does (no environment variables).
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]   default: 600 s each, every target,
#                                         one after the other
#   PARALLEL=1 scripts/fuzz.sh 30         all targets at once (the smoke run)
#   nice -n 19 scripts/fuzz.sh 600 token  politely, on a shared machine
#
# Each target is one libFuzzer process (one worker: no -jobs/-workers), with
#   -rss_limit_mb=2048  2 GiB resident (also the largest single allocation,
#                       libFuzzer's -malloc_limit_mb default): anything above
#                       is reported as out-of-memory;
#   -timeout=10         10 s for one input: anything slower is a hang (the
#                       slowest legitimate input, an 8192-bit RSA key, takes
#                       well under a second);
#   -max_len=20000      inputs up to 20,000 bytes: above the filter's 16 KiB
#                       token limit (max_token_bytes), so the limit itself is
#                       exercised, and room for configurations with RSA keys.
# FUZZ_ARGS adds libFuzzer flags (e.g. FUZZ_ARGS=-seed=1).
#
# Seeds: fuzz/seeds/<target>/ (committed), tokens minted here for the
# harness's fixed now (every key-management family), the committed keys
# (envoy/demo, envoy/bench/keys) and the configurations embedded in
# envoy/*.yaml. The corpus grows under fuzz/corpus/<target>/ (not
# committed); logs go to fuzz/artifacts/<target>.log.
#
# Exit status: non-zero when any target found a crash (panic), a timeout or
# an out-of-memory. The input is left in fuzz/artifacts/<target>/; reproduce
# with `cargo +nightly fuzz run --fuzz-dir fuzz <target> <file>` (the pinned
# nightly, below), fix it, and copy it to fuzz/regressions/<target>/, where
# tests/hermetic/fuzz_regressions.rs replays it on every `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}
shift || true
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(token jwk config)
[[ $SECONDS_EACH =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS] [TARGET…]" >&2; exit 2; }

# Tools, pinned: the nightly Rust the targets are built with and cargo-fuzz
# (its version is in scripts/cargo-tool.sh), each installed only when
# missing or another version. rustup's nightly-2026-05-20 is rustc
# 1.97.0-nightly (e50aa6fba 2026-05-19); a plain `nightly` toolchain that is
# that very build is used as it is.
nightly=nightly-2026-05-20
nightly_commit=e50aa6fba4e63ab34c72bf9acfd2c307c1155d1a
host=$(rustc -vV | sed -n 's/^host: //p')
# The commit of an installed toolchain (asking only about installed ones:
# rustup may otherwise try to download the toolchain).
commit_of() {
  rustup toolchain list | sed 's/ .*//' | grep -x "$1-$host" >/dev/null || return 0
  rustup run "$1" rustc -vV | sed -n 's/^commit-hash: //p'
}
if [[ $(commit_of "$nightly") != "$nightly_commit" ]]; then
  if [[ $(commit_of nightly) == "$nightly_commit" ]]; then
    nightly=nightly
  else
    rustup toolchain install "$nightly" --profile minimal
  fi
fi
scripts/cargo-tool.sh fuzz

# Seeds, minted with the debug CLI: `cargo test` has built it already, so
# this build does nothing then (and the dependencies that do the
# cryptography are optimised in debug builds too, see Cargo.toml).
cargo build --quiet --bin jwe-authn
cli=${CARGO_TARGET_DIR:-target}/debug/jwe-authn
now=1800000000 # fuzz/harness.rs NOW
for t in token jwk config; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/regressions/$t"
  cp fuzz/seeds/"$t"/* "fuzz/corpus/$t/"
done
claims='{"iss":"https://idp.demo.example","sub":"alice","aud":"orders-api","scope":"orders:read"}'
seed_token() { # name, mint args…
  local name=$1
  shift
  $cli mint --claims "$claims" --now $((now - 60)) --expires-in 2h "$@" | tr -d '\n' >"fuzz/corpus/token/seed-$name"
}
demo="--sign-key envoy/demo/sign.jwk"
es256="--sign-key envoy/bench/keys/sig-es256.jwk"
k=envoy/bench/keys
seed_token x25519-kw-eddsa $demo --encrypt-key envoy/demo/encrypt.pub.jwk --alg ECDH-ES+A256KW --enc A256GCM
seed_token x25519-es-eddsa $demo --encrypt-key $k/enc-x25519.pub.jwk --alg ECDH-ES --enc A256GCM
seed_token rsa-rs256 --sign-key $k/sig-rs256.jwk --sig-alg RS256 --encrypt-key $k/enc-rsa.pub.jwk --alg RSA-OAEP-256 --enc A256GCM
seed_token rsa-oaep-ps256 --sign-key $k/sig-rs256.jwk --sig-alg PS256 --encrypt-key $k/enc-rsa.pub.jwk --alg RSA-OAEP --enc A128GCM
seed_token p256-es256 $es256 --encrypt-key $k/enc-p256.pub.jwk --alg ECDH-ES --enc A128CBC-HS256
seed_token a256kw-es256 $es256 --encrypt-key $k/enc-oct256.jwk --alg A256KW --enc A256CBC-HS512
seed_token gcmkw-es256 $es256 --encrypt-key $k/enc-oct256.jwk --alg A256GCMKW --enc A256GCM
seed_token dir-es256 $es256 --encrypt-key $k/enc-oct256.jwk --alg dir --enc A256GCM
# An inner JWS (the harness encrypts inputs of this shape itself).
$cli mint --claims "$claims" --now $((now - 60)) --expires-in 2h $demo --sign-only true | tr -d '\n' >fuzz/corpus/token/seed-inner-eddsa.jws
$cli mint --claims "$claims" --now $((now - 60)) --expires-in 2h $es256 --sign-only true | tr -d '\n' >fuzz/corpus/token/seed-inner-es256.jws
for f in envoy/demo/*.jwk $k/*.jwk; do cp "$f" "fuzz/corpus/jwk/seed-$(basename "$f")"; done
{ printf '{"keys":['; sep=; for f in $k/*.pub.jwk; do printf '%s' "$sep"; cat "$f"; sep=,; done; printf ']}'; } >fuzz/corpus/jwk/seed-jwks.json
for y in envoy/envoy.yaml envoy/production.yaml envoy/bench/jwe-authn.yaml; do
  [[ -f $y ]] || continue
  sed -n '/value: |/,/^ *- name: envoy.filters.http.router/p' "$y" | sed '1d;$d' >"fuzz/corpus/config/seed-$(basename "$y" .yaml).json"
done

# Build once (release, debug assertions on: cargo fuzz's default), then run.
cargo "+$nightly" fuzz build --fuzz-dir fuzz
run() { # target: the run's output goes to fuzz/artifacts/<target>.log
  local t=$1
  # shellcheck disable=SC2086
  cargo "+$nightly" fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" "fuzz/regressions/$t" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -max_len=20000 \
    -dict=fuzz/jose.dict -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 \
    ${FUZZ_ARGS:-} >"fuzz/artifacts/$t.log" 2>&1
}
summary() { # target
  local t=$1 log="fuzz/artifacts/$1.log"
  printf 'fuzz: %-6s %s execs, %s exec/s, %s, peak RSS %s MB\n' "$t" \
    "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)" \
    "$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)" \
    "$(grep -a -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -1)" \
    "$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)" >&2
}
failed() { # target
  echo "fuzz: $1 FAILED (crash, timeout or out-of-memory); the end of fuzz/artifacts/$1.log:" >&2
  tail -40 "fuzz/artifacts/$1.log" >&2
  ls -l "fuzz/artifacts/$1/" >&2
}

status=0
if [[ ${PARALLEL:-0} == 1 ]]; then
  echo "fuzz: ${TARGETS[*]} at once, ${SECONDS_EACH}s" >&2
  pids=()
  for t in "${TARGETS[@]}"; do
    run "$t" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { status=1; failed "${TARGETS[$i]}"; }
  done
else
  for t in "${TARGETS[@]}"; do
    echo "fuzz: $t for ${SECONDS_EACH}s" >&2
    run "$t" || { status=1; failed "$t"; }
  done
fi
for t in "${TARGETS[@]}"; do summary "$t"; done
exit $status
