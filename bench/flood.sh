#!/usr/bin/env bash
# make flood: what a flood of forged tokens does to legitimate traffic, on
# one Envoy worker (--concurrency 1), loopback only. Writes
# bench/flood-results.json and prints a Markdown table.
#
#   FLOOD_SECONDS=20 ROUNDS=1 bench/flood.sh
#   FLOOD_SECONDS=3 bench/flood.sh                      # quick test of everything
#   JWE_AUTHN_WASM=/tmp/x.wasm bench/flood.sh           # another build; no `make`
#   PHASES='alone rsa' bench/flood.sh                   # a subset (names below)
#
# Overrides: JWE_AUTHN_WASM (the filter; when set, nothing is built),
# ENVOY (default .venv/bin/envoy), JWE_AUTHN_CLI (default
# target/release/jwe-authn), PYTHON (with PyYAML; default .venv/bin/python),
# FRESH_POOL (valid tokens minted per round for rsa-two-sources; default
# 250 per second of phase: a fresh RSA-OAEP-256 token costs ~6 ms; flagged
# `exhausted` if the client runs out), OUT (default bench/flood-results.json).
#
# Phases, each on a freshly started Envoy, in this order every round:
#   alone            cached legitimate traffic (one valid token, wrk -t1 -c4)
#   cheap            + a flood of malformed tokens of the RSA forgery's shape
#                      (header not JSON: refused before any cryptography)
#   rsa              + forged RSA-OAEP-256 tokens (RSA private-key operation)
#   ecdh             + forged ECDH-ES P-256 tokens (valid epk: key agreement)
#   rsa-two-sources  the rsa phase while 127.0.0.2 sends fresh valid tokens
#                      (RSA-OAEP-256 + RS256, each once) one after another
#   jwt_authn-alone  Envoy's jwt_authn (envoy/bench/jwt-authn.yaml), a cached JWS
#   jwt_authn-es256  + forged ES256 JWS (ECDSA verification)
# Floods: wrk -t1 -c16, unbounded rate, a new token per request (Lua,
# bench/flood/*.lua). In every phase a probe sends GET /public/x (a route
# that needs no token) every 50 ms on a new connection. Each phase: Envoy
# starts, 1 s of legitimate warm-up (the token is cached), counters read,
# the flood starts, 0.5 s later the legitimate load, the probe and the
# fresh client run FLOOD_SECONDS, the flood stops 0.5 s after them,
# counters read again (deltas kept), Envoy stops.
set -euo pipefail
cd "$(dirname "$0")/.."
FLOOD_SECONDS=${FLOOD_SECONDS:-20}
ROUNDS=${ROUNDS:-1}
PHASES=${PHASES:-alone cheap rsa ecdh rsa-two-sources jwt_authn-alone jwt_authn-es256}
FRESH_POOL=${FRESH_POOL:-$(( FLOOD_SECONDS * 250 ))}
OUT=${OUT:-bench/flood-results.json}
[[ $FLOOD_SECONDS =~ ^[1-9][0-9]*$ ]] || { echo "flood: FLOOD_SECONDS must be a whole number of seconds" >&2; exit 2; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ -z "${JWE_AUTHN_WASM:-}" ]; then make -s wasm cli python-env >/dev/null; fi
wasm=${JWE_AUTHN_WASM:-target/wasm32-wasip1/release/jwe_authn.wasm}
envoy=${ENVOY:-.venv/bin/envoy}
cli=${JWE_AUTHN_CLI:-target/release/jwe-authn}
py=${PYTHON:-.venv/bin/python}
for f in "$wasm" "$envoy" "$cli" "$py"; do [ -x "$f" ] || [ -f "$f" ] || { echo "flood: $f is missing" >&2; exit 1; }; done
helper="$py bench/flood/flood.py"
export FLOOD_LUA_DIR=bench/flood
admin=9901 port=10000

work=$(mktemp -d)
cleanup() { # what this shell started and has not reaped yet: its jobs
  local running; running=$(jobs -p)
  [ -z "$running" ] || { kill $running 2>/dev/null || true; wait $running 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Bash runs a trap only once the foreground command ends: long commands run
# as a job and are waited for, so that Ctrl-C stops everything at once.
job() { "$@" & wait $!; }

# Tokens: the cached legitimate ones as bench/run.sh mints them (a JWE,
# ECDH-ES+A256KW X25519 + ES256; a JWS for jwt_authn), epk points for the
# ECDH-ES forgeries, and per round a pool of fresh valid tokens.
keys=envoy/bench/keys
claims='{"iss":"https://idp.demo.example","sub":"bench-user","aud":"orders-api"}'
mint() { "$cli" mint --claims "$claims" --expires-in 2h "$@"; }
mint --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-x25519.pub.jwk --alg ECDH-ES+A256KW --enc A256GCM > "$work/hot.tokens"
mint --sign-key $keys/sig-es256.jwk --sign-only true > "$work/jws.tokens"
job mint --count 512 --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-p256.pub.jwk --alg ECDH-ES --enc A256GCM > "$work/ecdh.tokens"
$helper epk "$work/ecdh.tokens" "$work/epk.headers"
$helper configs "$work" "$wasm"
jws_kid=$($helper kid "$work/jwt-authn.yaml")

start_envoy() { # config → $envoy_pid, waits until ready
  "$envoy" -c "$1" --concurrency 1 --use-dynamic-base-id -l error > "$work/envoy.log" 2>&1 &
  envoy_pid=$!
  for _ in $(seq 1 150); do
    curl -sf "127.0.0.1:$admin/ready" >/dev/null 2>&1 && return
    kill -0 "$envoy_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "flood: Envoy did not start" >&2; cat "$work/envoy.log" >&2; exit 1
}
stop_envoy() { kill "$envoy_pid" 2>/dev/null || true; wait "$envoy_pid" 2>/dev/null || true; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
expect() { # what path token → fails unless the answer is `what`
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' ${3:+-H "authorization: Bearer $3"} "127.0.0.1:$port$2")
  [ "$code" = "$1" ] || { echo "flood: $2 answered $code, expected $1" >&2; cat "$work/envoy.log" >&2; exit 1; }
}

phase() { # round order name → one run in $work/run-…
  local round=$1 order=$2 name=$3 config tokens kind="" fresh=0
  case $name in
    alone) config=jwe-authn tokens=hot ;;
    cheap|rsa|ecdh) config=jwe-authn tokens=hot kind=$name ;;
    rsa-two-sources) config=jwe-authn tokens=hot kind=rsa fresh=1 ;;
    jwt_authn-alone) config=jwt-authn tokens=jws ;;
    jwt_authn-es256) config=jwt-authn tokens=jws kind=es256 ;;
    *) echo "flood: unknown phase $name" >&2; exit 2 ;;
  esac
  local d; d=$(printf '%s/run-%02d-%02d-%s' "$work" "$round" "$order" "$name")
  mkdir -p "$d"
  if [ $fresh = 1 ]; then
    job mint --count "$FRESH_POOL" --sign-key $keys/sig-rs256.jwk --sig-alg RS256 \
      --encrypt-key $keys/enc-rsa.pub.jwk --alg RSA-OAEP-256 --enc A256GCM > "$d/fresh.tokens"
  fi
  start_envoy "$work/$config.yaml"
  expect 200 /orders "$(head -1 "$work/$tokens.tokens")"
  expect 200 /public/x
  expect 401 /orders not-a-token
  TOKEN_FILE="$work/$tokens.tokens" job wrk -t1 -c4 -d1s -s bench/flood/legit.lua "http://127.0.0.1:$port/" > /dev/null
  sleep 0.3 # the filter adds its counts to Envoy's every 100 ms
  $helper stats $admin "$d/stats-before.txt"
  local t0 t1 flood_pid="" probe_pid fresh_pid=""
  t0=$(cpu_ticks "$envoy_pid")
  if [ -n "$kind" ]; then
    FLOOD_SEED=$RANDOM$RANDOM EPK_HEADERS="$work/epk.headers" JWS_KID="$jws_kid" \
      wrk -t1 -c16 -d"$((FLOOD_SECONDS + 1))s" --timeout 10s -s "bench/flood/$kind.lua" "http://127.0.0.1:$port/" > "$d/flood.out" 2>&1 &
    flood_pid=$!
    sleep 0.5
  fi
  $helper probe $port "$FLOOD_SECONDS" 0.05 "$d/probe.json" &
  probe_pid=$!
  if [ $fresh = 1 ]; then
    $helper fresh $port "$FLOOD_SECONDS" 127.0.0.2 "$d/fresh.tokens" "$d/fresh.json" &
    fresh_pid=$!
  fi
  TOKEN_FILE="$work/$tokens.tokens" job wrk -t1 -c4 -d"${FLOOD_SECONDS}s" --latency --timeout 10s \
    -s bench/flood/legit.lua "http://127.0.0.1:$port/" > "$d/legit.out" 2>&1
  wait "$probe_pid"
  [ -z "$fresh_pid" ] || wait "$fresh_pid"
  [ -z "$flood_pid" ] || wait "$flood_pid"
  t1=$(cpu_ticks "$envoy_pid")
  sleep 0.3
  $helper stats $admin "$d/stats-after.txt"
  stop_envoy
  rm -f "$d/fresh.tokens"
  cat > "$d/meta.json" <<JSON
{"round": $round, "order": $order, "phase": "$name", "config": "$config", "flood_kind": $([ -n "$kind" ] && echo "\"$kind\"" || echo null), "legit_token": "$tokens", "envoy_cpu_s": $(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN {print (b - a) / hz}')}
JSON
  echo "flood: round $round $name: legit $(sed -n 's/^Requests\/sec: *//p' "$d/legit.out") req/s${kind:+, flood $(sed -n 's/^Requests\/sec: *//p' "$d/flood.out") req/s}" >&2
}

cat > "$work/meta.json" <<JSON
{"flood_seconds": $FLOOD_SECONDS, "rounds": $ROUNDS, "phases": "$PHASES", "wasm": "$wasm",
 "wasm_sha256": "$(sha256sum "$wasm" | cut -d' ' -f1)", "envoy": "$("$envoy" --version 2>/dev/null | sed -n 's/.*version: *//p' | head -1)",
 "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)", "started": "$(date -u +%FT%TZ)",
 "nproc": $(nproc), "loadavg_at_start": "$(cut -d' ' -f1-3 /proc/loadavg)",
 "legit": "wrk -t1 -c4, one cached token", "flood": "wrk -t1 -c16, unbounded, a new token per request",
 "public_probe": "GET /public/x every 50 ms, a new connection each", "fresh_pool_per_round": $FRESH_POOL}
JSON
echo "flood: $ROUNDS round(s) of: $PHASES ($FLOOD_SECONDS s each)" >&2
for round in $(seq 1 "$ROUNDS"); do
  i=0
  for name in $PHASES; do
    i=$((i + 1))
    phase "$round" "$i" "$name"
  done
done
$helper report "$work" "$OUT"
