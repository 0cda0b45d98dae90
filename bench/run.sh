#!/usr/bin/env bash
# make bench: the filter against the floor, against Envoy's jwt_authn, and
# per algorithm, on loopback with one Envoy worker, runs interleaved
# (A B C … A B C …) and medians reported. Writes bench/results.json and
# prints a Markdown table (copied into BENCHMARKS.md).
#
#   ROUNDS=3 DURATION=10 CONNECTIONS=16 bench/run.sh
#   ONLY='passthrough|hot' bench/run.sh     # a subset of the variants (regex)
#   PARTS='rows hot workers memory bare' bench/run.sh   # which sections to run
#   EXTRA='name|config.yaml|hot' bench/run.sh      # one more variant in the rows
#
# Sections: rows (variants 1–5 of issue 6, interleaved), hot (the one-token
# variants again, each on its own listener of one Envoy, with bench/duel
# switching the load between them every 100 ms: the hot-path ratios on a
# machine whose speed drifts; HOT_SECONDS=120 HOT_PHASE_MS=100), workers (two
# workers: decryptions per distinct token with and without the shared
# cache), memory (the VM's memory before/after MEMORY_TOKENS distinct
# tokens), bare (the same pipeline as plain Wasm under Node's WASI, and the
# Envoy cold cost per token against it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
ONLY=${ONLY:-.}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
POOL=${POOL:-3000}
PARTS=${PARTS:-rows hot workers memory bare}
MEMORY_TOKENS=${MEMORY_TOKENS:-100000}
part() { [[ " $PARTS " == *" $1 "* ]]; }
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
  mint --count "$POOL" "$@" > "$work/$name.tokens"
}
echo "bench: minting token pools of $POOL…" >&2
mint --sign-key $keys/sig-es256.jwk --sign-only true > "$work/jws.tokens"
mint --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-x25519.pub.jwk --alg ECDH-ES+A256KW --enc A256GCM > "$work/hot.tokens"
pool rsa-oaep-256 --sign-key $keys/sig-rs256.jwk --sig-alg RS256 --encrypt-key $keys/enc-rsa.pub.jwk --alg RSA-OAEP-256 --enc A256GCM
pool ecdh-es-p256 --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-p256.pub.jwk --alg ECDH-ES --enc A256GCM
pool ecdh-es-a256kw-x25519 --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-x25519.pub.jwk --alg ECDH-ES+A256KW --enc A256GCM
pool a256kw --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-oct256.jwk --alg A256KW --enc A256GCM
pool dir --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-oct256.jwk --alg dir --enc A256GCM

# Cold: a cache a third of the pool, and no shared layer (its slots would
# still hold some of the pool's tokens and turn misses into shared hits).
cold_config() {
  sed -e "s/\"max_entries\": 10000/\"max_entries\": $(( POOL / 3 ))/" \
      -e "s/\"ttl_seconds\": 300/\"ttl_seconds\": 300, \"shared\": false/" \
      envoy/bench/jwe-authn.yaml > "$work/jwe-authn-cold.yaml"
  grep -q '"shared": false' "$work/jwe-authn-cold.yaml"
}
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

# EXTRA='name|config|tokens' adds a variant, e.g. the filter built from
# another commit, to compare a change within one interleaved run.
if [ -n "${EXTRA:-}" ]; then variants+=("$EXTRA"); fi

start_envoy() { # config workers [admin-port] → sets $pid, waits until ready
  local admin=${3:-9901}
  cp "$1" "$work/run-$admin.yaml"
  $envoy -c "$work/run-$admin.yaml" --concurrency "$2" --use-dynamic-base-id -l error > "$work/envoy-$admin.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "localhost:$admin/ready" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "bench: Envoy did not start" >&2; cat "$work/envoy-$admin.log" >&2; exit 1
}
stop_envoy() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
# The filter adds its counts to Envoy's every 100 ms: wait a few flushes.
stat() { sleep 0.3; curl -s localhost:9901/stats | awk -v n="$1:" '$1 == n {print $2; found=1} END {if (!found) print 0}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() { # pid port tokens seconds → "rps p50_ms p99_ms non2xx cpu_us_per_request"
  local pid=$1 port=$2 tokens=$3 seconds=$4 out t0 t1
  t0=$(cpu_ticks "$pid")
  out=$(TOKENS="$work/$tokens.tokens" wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" --latency -s bench/rotate.lua "http://127.0.0.1:$port/")
  t1=$(cpu_ticks "$pid")
  python3 - "$out" "$t0" "$t1" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out, t0, t1, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
def ms(label):
    m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if not m: return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
n = int(re.search(r"(\d+) requests in", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
print(rps, ms("50%"), ms("99%"), int(bad.group(1)) if bad else 0, (t1 - t0) / hz * 1e6 / max(n, 1))
PY
}

warm() { # port tokens: 2 s of load, not measured (V8 compiles, caches fill)
  TOKENS="$work/$2.tokens" wrk -t1 -c"$CONNECTIONS" -d2s -s bench/rotate.lua "http://127.0.0.1:$1/" >/dev/null 2>&1 || true
}

run_one() { # config tokens → "rps p50_ms p99_ms non2xx cpu_us_per_request"
  local config=$1 tokens=$2
  start_envoy "$config" 1
  warm 10000 "$tokens"
  measure "$pid" 10000 "$tokens" "$DURATION"
  stop_envoy
}

: > "$work/raw"
if part rows; then
for round in $(seq 1 "$ROUNDS"); do
  for v in "${variants[@]}"; do
    IFS='|' read -r name config tokens <<< "$v"
    [[ "$name" =~ $ONLY ]] || [[ "$name" =~ ^(no-filter|passthrough|jwt_authn) ]] || continue
    result=$(run_one "$config" "$tokens")
    echo "round $round: $name: $result" >&2
    printf '%s|%s\n' "$name" "$result" >> "$work/raw"
  done
done
fi

# Hot path, finely interleaved: every variant that sends one token (no
# filter, pass-through, jwt_authn, jwe_authn hot, EXTRA), plus the
# pass-through a second time as a control, on its own listener of one
# Envoy with one worker (bench/one_envoy.py), so that all of them share the
# process, the thread and the moments of a machine whose speed drifts.
# bench/duel loads them in turn, HOT_PHASE_MS each, in a random order each
# cycle, HOT_SECONDS in all, and gives each variant's requests/s and CPU
# per request against the pass-through's of the same cycle (median over
# cycles, with a 95 % interval); the control shows the method's own error.
: > "$work/hot.json"
if part hot; then
  cargo build -q --release --manifest-path bench/duel/Cargo.toml
  specs=(); hot_names=(); hot_tokens=()
  add_hot() { specs+=("v${#specs[@]}=$2"); hot_names+=("$1"); hot_tokens+=("$3"); }
  add_hot passthrough envoy/bench/passthrough.yaml hot
  add_hot "passthrough (control)" envoy/bench/passthrough.yaml hot
  for v in "${variants[@]}"; do
    IFS='|' read -r name config tokens <<< "$v"
    [[ $tokens == hot || $tokens == jws ]] && [[ $name != passthrough ]] || continue
    [[ "$name" =~ $ONLY ]] || [[ "$name" =~ ^(no-filter|jwt_authn) ]] || continue
    add_hot "$name" "$config" "$tokens"
  done
  .venv/bin/python bench/one_envoy.py "$work/hot.yaml" 9901 "${specs[@]}"
  start_envoy "$work/hot.yaml" 1
  targets=()
  for i in "${!hot_names[@]}"; do
    targets+=(--target "${hot_names[$i]}=127.0.0.1:$((9911 + i))=$pid=$work/${hot_tokens[$i]}.tokens")
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $(head -1 "$work/${hot_tokens[$i]}.tokens")" "localhost:$((9911 + i))/orders")
    [ "$code" = 200 ] || { echo "bench: hot variant ${hot_names[$i]} answered $code" >&2; exit 1; }
  done
  bench/duel/target/release/jwe-authn-duel --connections "$CONNECTIONS" --phase-ms "${HOT_PHASE_MS:-100}" \
    --seconds "${HOT_SECONDS:-120}" --token-file "$work/hot.tokens" "${targets[@]}" > "$work/hot.json"
  echo "hot: $(grep -c '"name"' "$work/hot.json") variants measured" >&2
  stop_envoy
fi

# Row 6: two workers; the pool of distinct tokens sent four times over
# (a token's copies a whole pool apart, as a client repeats its token over
# time) on CONNECTIONS connections, which the kernel spreads over both
# workers. (Copies sent at the same instant race: both workers may miss
# before either has shared its result.)
: > "$work/workers"
if part workers; then
  cat "$work/dir.tokens" "$work/dir.tokens" "$work/dir.tokens" "$work/dir.tokens" > "$work/dir4.tokens"
  distinct=$(wc -l < "$work/dir.tokens")
  sed "s/\"ttl_seconds\": 300/\"ttl_seconds\": 300, \"shared\": false/" envoy/bench/jwe-authn.yaml > "$work/unshared.yaml"
  for v in "shared|envoy/bench/jwe-authn.yaml" "per worker|$work/unshared.yaml"; do
    IFS='|' read -r name config <<< "$v"
    start_envoy "$config" 2
    LIMIT=$(( distinct * 4 )) TOKENS="$work/dir4.tokens" wrk -t1 -c"$CONNECTIONS" -d120s -s bench/rotate.lua http://127.0.0.1:10000/ > "$work/wrk.out"
    printf '%s|%s|%s|%s|%s\n' "$name" "$distinct" "$(stat wasmcustom.jwe_authn.cache.miss)" \
      "$(stat wasmcustom.jwe_authn.cache.shared_hit)" "$(stat wasmcustom.jwe_authn.cache.hit)" >> "$work/workers"
    echo "workers: $(tail -1 "$work/workers")" >&2
    stop_envoy
  done
fi

# Memory: one worker, the default cache (10,000 entries); the VM's linear
# memory after the first request and after MEMORY_TOKENS distinct tokens
# (each sent once), then after the same number again.
: > "$work/memory"
if part memory; then
  echo "bench: minting $MEMORY_TOKENS distinct tokens…" >&2
  mint --count "$MEMORY_TOKENS" --sign-key $keys/sig-es256.jwk --encrypt-key $keys/enc-oct256.jwk --alg dir --enc A256GCM > "$work/many.tokens"
  start_envoy envoy/bench/jwe-authn.yaml 1
  TOKENS="$work/hot.tokens" LIMIT=1 wrk -t1 -c1 -d10s -s bench/rotate.lua http://127.0.0.1:10000/ >/dev/null
  before=$(stat wasmcustom.jwe_authn.vm_memory_bytes)
  for pass in 1 2; do
    LIMIT=$MEMORY_TOKENS TOKENS="$work/many.tokens" wrk -t1 -c"$CONNECTIONS" -d600s -s bench/rotate.lua http://127.0.0.1:10000/ >/dev/null
    eval "after$pass=\$(stat wasmcustom.jwe_authn.vm_memory_bytes)"
  done
  echo "$before|$after1|$after2|$(stat wasmcustom.jwe_authn.cache.miss)|$(stat wasm.envoy.wasm.runtime.v8.created)" > "$work/memory"
  echo "memory: $(cat "$work/memory")" >&2
  stop_envoy
fi

# The bare pipeline: inside Envoy's own V8 as a Wasm service without the
# filter's glue (bench/pipeline-vm.yaml), and as plain Wasm under Node's WASI
# (an older V8).
: > "$work/bare"; : > "$work/bare-node"
if part bare; then
  cargo build -q --release --target wasm32-wasip1 --manifest-path bench/pipeline/Cargo.toml --lib --features envoy-vm
  $envoy -c bench/pipeline-vm.yaml --use-dynamic-base-id -l warning > "$work/vm.log" 2>&1 &
  vm=$!
  # Every case twice (the module's checks, then the host's verify_signature),
  # in a VM Envoy starts twice: minutes on a 2-core machine.
  for _ in $(seq 1 4500); do grep -q "pipeline-bench: \(done\|failed\)" "$work/vm.log" && break; sleep 0.2; done
  kill "$vm"; wait "$vm" 2>/dev/null || true
  grep -q "pipeline-bench: done" "$work/vm.log" || { echo "bench: the in-Envoy pipeline run failed" >&2; cat "$work/vm.log" >&2; exit 1; }
  sed -n 's/.*pipeline-bench: //p' "$work/vm.log" | grep -v '^done$' > "$work/bare"
  echo "bare (Envoy V8): $(cat "$work/bare")" >&2
  cargo build -q --release --target wasm32-wasip1 --manifest-path bench/pipeline/Cargo.toml --bin jwe-authn-pipeline-bench
  node --no-warnings bench/wasm-pipeline.mjs bench/pipeline/target/wasm32-wasip1/release/jwe-authn-pipeline-bench.wasm > "$work/bare-node"
  echo "bare (Node): $(cat "$work/bare-node")" >&2
fi

python3 - "$work" <<'PY'
import json, statistics, sys, os
work = sys.argv[1]
rows, order = {}, []
for line in open(f"{work}/raw"):
    name, vals = line.rstrip("\n").split("|")
    rps, p50, p99, bad, cpu = vals.split()
    if name not in rows: order.append(name); rows[name] = []
    rows[name].append((float(rps), float(p50), float(p99), int(bad), float(cpu)))
med = {n: tuple(statistics.median(x[i] for x in rows[n]) for i in (0, 1, 2)) + (sum(x[3] for x in rows[n]), statistics.median(x[4] for x in rows[n])) for n in order}
workers = [l.rstrip("\n").split("|") for l in open(f"{work}/workers") if l.strip()]
memory = open(f"{work}/memory").read().strip()
def read_bare(path):
    out = {}
    for l in open(path).read().splitlines()[1:]:
        name, cold, hot = l.split("\t"); out[name] = (float(cold), float(hot))
    return out
bare, bare_node = read_bare(f"{work}/bare"), read_bare(f"{work}/bare-node")
def paired(pairs, i):
    """Median over rounds of a result's field i divided by the pass-through's."""
    return statistics.median(a[i] / b[i] for a, b in pairs)
hot_text = open(f"{work}/hot.json").read().strip()
hot = json.loads(hot_text) if hot_text else None
json.dump({"median": med, "runs": rows, "hot": hot, "workers": workers, "memory": memory, "bare_wasm_us_envoy_v8": bare, "bare_wasm_us_node": bare_node}, open("bench/results.json", "w"), indent=1)
if med:
    base = {k: med[k][0] for k in ["no-filter", "passthrough", "jwt_authn ES256 (native)"] if k in med}
    print("| variant | req/s | p50 ms | p99 ms | × no filter | × pass-through | × jwt_authn | Envoy CPU µs/req | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in order:
        rps, p50, p99, bad, cpu = med[n]
        r = lambda k: f"{rps / base[k]:.2f}" if k in base else "—"
        print(f"| {n} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {r('no-filter')} | {r('passthrough')} | {r('jwt_authn ES256 (native)')} | {cpu:.0f} | {bad} |")
if "passthrough" in rows and len(order) > 1:
    # Paired: each round's ratio to that round's pass-through run, then the
    # median over rounds. On a machine whose speed drifts between rounds this
    # is steadier than the ratio of the medians above.
    floor = rows["passthrough"]
    print("\n| variant, paired with the pass-through run of the same round | req/s ÷ pass-through | p99 ÷ pass-through | CPU/req ÷ pass-through | rounds |")
    print("|---|---:|---:|---:|---:|")
    for n in order:
        if n == "passthrough": continue
        pairs = list(zip(rows[n], floor))
        print(f"| {n} | {paired(pairs, 0):.3f} | {paired(pairs, 2):.3f} | {paired(pairs, 4):.3f} | {len(pairs)} |")
if hot:
    print(f"\n| hot path, one Envoy, variants alternating every {hot['phase_ms']} ms ({hot['cycles']} cycles) | req/s | Envoy CPU µs/req | p50 ms | p99 ms | req/s ÷ pass-through [95 %] | CPU/req ÷ pass-through [95 %] | p99 ÷ pass-through |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    floor_p99 = hot["targets"][0]["p99_ms"]
    for t in hot["targets"]:
        r, c = t["rps_ratio"], t["cpu_ratio"]
        print(f"| {t['name']} | {t['rps']:,.0f} | {t['cpu_us_per_request']:.1f} | {t['p50_ms']:.2f} | {t['p99_ms']:.2f} | {r[0]:.3f} [{r[1]:.3f}, {r[2]:.3f}] | {c[0]:.3f} [{c[1]:.3f}, {c[2]:.3f}] | {t['p99_ms'] / floor_p99:.3f} |")
    if hot["non_2xx"] or hot.get("reconnects"):
        print(f"\n(hot section: {hot['non_2xx']} non-2xx responses, {hot.get('reconnects', 0)} reconnections)")
if workers:
    print("\n| two workers, cache | distinct tokens | requests | decryptions (misses) | per token | shared hits | local hits |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, distinct, miss, shared, hit in workers:
        print(f"| {name} | {distinct} | {int(distinct) * 4} | {miss} | {int(miss) / int(distinct):.2f} | {shared} | {hit} |")
if memory:
    before, a1, a2, misses, created = memory.split("|")
    mib = lambda b: f"{int(b) / 1048576:.1f} MiB"
    print(f"\nVM memory (one worker, cache.max_entries 10000): {mib(before)} after the first request, {mib(a1)} after the distinct tokens, {mib(a2)} after as many again; {misses} decryptions; Wasm VMs created: {created}")
if bare:
    print("\n| cold case | bare pipeline, Envoy's V8 µs/token | bare, Node WASI µs/token | filter in Envoy µs/token (1 / req/s) | Envoy CPU µs/req | filter ÷ bare (Envoy V8) | hot: bare µs/req (Envoy V8) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (cold, hot) in bare.items():
        node = bare_node.get(name, (float("nan"), 0))[0]
        row = next((n for n in order if n.endswith(" " + name) and "cold" in n), None)
        if row:
            rps, cpu = med[row][0], med[row][4]
            print(f"| {name} | {cold:,.0f} | {node:,.0f} | {1e6 / rps:,.0f} | {cpu:,.0f} | {1e6 / rps / cold:.2f} | {hot:.2f} |")
        else:
            print(f"| {name} | {cold:,.0f} | {node:,.0f} | — | — | — | {hot:.2f} |")
PY
