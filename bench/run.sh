#!/usr/bin/env bash
# make bench: the filter against the floor, against Envoy's jwt_authn, and
# per algorithm, on loopback with one Envoy worker, runs interleaved
# (A B C … A B C …) and medians reported. Writes bench/results.json and
# prints a Markdown table (copied into BENCHMARKS.md).
#
#   ROUNDS=3 DURATION=10 CONNECTIONS=16 bench/run.sh
#   ONLY='passthrough|hot' bench/run.sh     # a subset of the variants (regex)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
ONLY=${ONLY:-.}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
POOL=${POOL:-3000}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
make -s wasm cli python-env >/dev/null
cli=target/release/jwe-authn
envoy=.venv/bin/envoy
work=$(mktemp -d)
trap 'pkill -f "envoy -c $work" 2>/dev/null || true; rm -rf "$work"' EXIT
keys=envoy/bench/keys

# Tokens: one hot token per case, and pools of distinct tokens (more than
# the cache holds: the cold variants run with cache.max_entries = POOL/3).
claims='{"iss":"https://idp.demo.example","sub":"bench-user","aud":"orders-api"}'
mint() { $cli mint --claims "$claims" --expires-in 2h "$@"; }
pool() { # name, mint args…
  local name=$1; shift
  for _ in $(seq 1 "$POOL"); do mint "$@"; done > "$work/$name.tokens"
}
echo "bench: minting token pools of $POOL…" >&2
mint --sign-key $keys/sig-es256.jwk --sign-only true > "$work/jws.tokens"
mint --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-x25519.pub.jwk --alg ECDH-ES+A256KW --enc A256GCM > "$work/hot.tokens"
pool rsa-oaep-256 --sign-key $keys/sig-rs256.jwk --sig-alg RS256 --encrypt-key $keys/enc-rsa.pub.jwk --alg RSA-OAEP-256 --enc A256GCM
pool ecdh-es-p256 --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-p256.pub.jwk --alg ECDH-ES --enc A256GCM
pool ecdh-es-a256kw-x25519 --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-x25519.pub.jwk --alg ECDH-ES+A256KW --enc A256GCM
pool a256kw --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-oct256.jwk --alg A256KW --enc A256GCM
pool dir --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-oct256.jwk --alg dir --enc A256GCM

cold_config() { sed "s/\"max_entries\": 10000/\"max_entries\": $(( POOL / 3 ))/" envoy/bench/jwe-authn.yaml > "$work/jwe-authn-cold.yaml"; }
cold_config
# variant name | config | token file
variants=(
  "no-filter|envoy/bench/no-filter.yaml|hot"
  "passthrough|envoy/bench/passthrough.yaml|hot"
  "jwt_authn ES256 (native)|envoy/bench/jwt-authn.yaml|jws"
  "jwe_authn hot (cached)|envoy/bench/jwe-authn.yaml|hot"
  "jwe_authn cold RSA-OAEP-256 + RS256|$work/jwe-authn-cold.yaml|rsa-oaep-256"
  "jwe_authn cold ECDH-ES P-256 + ES256|$work/jwe-authn-cold.yaml|ecdh-es-p256"
  "jwe_authn cold ECDH-ES+A256KW X25519 + ES256|$work/jwe-authn-cold.yaml|ecdh-es-a256kw-x25519"
  "jwe_authn cold A256KW + ES256|$work/jwe-authn-cold.yaml|a256kw"
  "jwe_authn cold dir + ES256|$work/jwe-authn-cold.yaml|dir"
)

run_one() { # config tokens → "rps p50_ms p99_ms non2xx"
  local config=$1 tokens=$2
  cp "$config" "$work/run.yaml"
  $envoy -c "$work/run.yaml" --concurrency 1 --use-dynamic-base-id -l error > "$work/envoy.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf localhost:9901/ready >/dev/null 2>&1 && break; sleep 0.1; done
  TOKENS="$work/$tokens.tokens" wrk -t1 -c"$CONNECTIONS" -d2s -s bench/rotate.lua http://127.0.0.1:10000/ >/dev/null 2>&1 || true
  local out
  out=$(TOKENS="$work/$tokens.tokens" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/rotate.lua http://127.0.0.1:10000/)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ms(label):
    m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if not m: return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
print(rps, ms("50%"), ms("99%"), int(bad.group(1)) if bad else 0)
PY
}

: > "$work/raw"
for round in $(seq 1 "$ROUNDS"); do
  for v in "${variants[@]}"; do
    IFS='|' read -r name config tokens <<< "$v"
    [[ "$name" =~ $ONLY ]] || [[ "$name" =~ ^(no-filter|passthrough|jwt_authn) ]] || continue
    result=$(run_one "$config" "$tokens")
    echo "round $round: $name: $result" >&2
    printf '%s|%s\n' "$name" "$result" >> "$work/raw"
  done
done

python3 - "$work/raw" "$(nproc)" <<'PY'
import json, statistics, sys
rows = {}
order = []
for line in open(sys.argv[1]):
    name, vals = line.rstrip("\n").split("|")
    rps, p50, p99, bad = vals.split()
    if name not in rows: order.append(name); rows[name] = []
    rows[name].append((float(rps), float(p50), float(p99), int(bad)))
med = {n: tuple(statistics.median(x[i] for x in rows[n]) for i in range(3)) + (sum(x[3] for x in rows[n]),) for n in order}
json.dump({"median": med, "runs": rows}, open("bench/results.json", "w"), indent=1)
base = {k: med[k][0] for k in ["no-filter", "passthrough", "jwt_authn ES256 (native)"]}
print("| variant | req/s | p50 ms | p99 ms | × no filter | × pass-through | × jwt_authn | non-2xx |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for n in order:
    rps, p50, p99, bad = med[n]
    r = lambda k: f"{rps / base[k]:.2f}"
    print(f"| {n} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {r('no-filter')} | {r('passthrough')} | {r('jwt_authn ES256 (native)')} | {bad} |")
PY
