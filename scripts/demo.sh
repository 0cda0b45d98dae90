#!/usr/bin/env bash
# The quick-start demo, on loopback: fresh keys, Envoy with the filter in
# front of an echo upstream, then three requests — a valid token (200 with
# the forwarded claims), an expired one (401) and a tampered one (401).
# Stops everything it started and removes its temporary directory on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# Where `make demo` built the CLI and the filter (CARGO_TARGET_DIR, as cargo).
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
cli=$target/release/jwe-authn
envoy=.venv/bin/envoy
work=$(mktemp -d)
envoy_pid=
cleanup() {
  [ -n "$envoy_pid" ] && kill "$envoy_pid" 2>/dev/null && wait "$envoy_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "1. Fresh demo keys: X25519 to decrypt tokens, Ed25519 for the IdP's signatures"
$cli keygen --kty OKP --crv X25519 --kid demo-enc-1 > "$work/decrypt.jwk"
$cli keygen --kty OKP --crv Ed25519 --kid demo-sig-1 > "$work/sign.jwk"
$cli keygen --public "$work/decrypt.jwk" > "$work/encrypt.pub.jwk"
$cli keygen --public "$work/sign.jwk" > "$work/verify.pub.jwk"

# envoy/envoy.yaml with these keys and free ports.
read -r api echo admin < <(python3 -c 'import socket
ports=[]
for _ in range(3):
    s=socket.socket(); s.bind(("127.0.0.1",0)); ports.append(s.getsockname()[1]); s.close()
print(*ports)')
python3 - "$work" "$api" "$echo" "$admin" "$target" <<'PY'
import json, sys, re, os
work, api, echo, admin, target = sys.argv[1:]
text = open("envoy/envoy.yaml").read()
# The filter configuration is the JSON block under `value: |`.
lines = text.split("\n")
start = next(i for i, l in enumerate(lines) if l.strip() == "value: |") + 1
indent = len(lines[start]) - len(lines[start].lstrip())
end = start
while end < len(lines) and (lines[end].startswith(" " * indent) or not lines[end].strip()):
    end += 1
config = json.loads("\n".join(lines[start:end]))
config["decryption_keys"]["keys"] = [json.load(open(f"{work}/decrypt.jwk"))]
config["providers"]["demo-idp"]["local_jwks"]["keys"] = [json.load(open(f"{work}/verify.pub.jwk"))]
block = [" " * indent + l for l in json.dumps(config, indent=2).split("\n")]
text = "\n".join(lines[:start] + block + lines[end:])
text = (text.replace("port_value: 10000", f"port_value: {api}")
            .replace("port_value: 10001", f"port_value: {echo}")
            .replace("port_value: 9901", f"port_value: {admin}")
            .replace("filename: target/", f"filename: {target}/"))
open(f"{work}/envoy.yaml", "w").write(text)
PY

say "2. Envoy ${api} (API) -> jwe_authn -> echo upstream; admin on ${admin}"
$envoy -c "$work/envoy.yaml" --concurrency 1 --use-dynamic-base-id -l warn > "$work/envoy.out" 2>&1 &
envoy_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:${admin}/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:${admin}/ready" >/dev/null || { cat "$work/envoy.out"; exit 1; }

claims='{"iss":"https://idp.demo.example","sub":"alice","aud":"orders-api","scope":"orders:read"}'
mint() { $cli mint --claims "$claims" --sign-key "$work/sign.jwk" --encrypt-key "$work/encrypt.pub.jwk" \
  --alg ECDH-ES+A256KW --enc A256GCM "$@"; }
valid=$(mint --expires-in 1h)
expired=$(mint --expires-in 1h --now $(( $(date +%s) - 7200 )))
tampered=$(python3 -c 'import sys; p=sys.argv[1].split("."); c=p[3]; p[3]=("A" if c[0]!="A" else "B")+c[1:]; print(".".join(p))' "$valid")
say "3. Tokens: nested JWEs (EdDSA JWT inside ECDH-ES+A256KW/A256GCM), e.g."
echo "${valid:0:72}… (${#valid} bytes)"

request() {
  say "$1"
  echo "\$ curl -i http://127.0.0.1:${api}/orders -H 'Authorization: Bearer …'"
  curl -s -i "http://127.0.0.1:${api}/orders" -H "Authorization: Bearer $2" | grep -v -i '^date:\|^x-request-id\|^x-envoy\|^server:\|^content-length'
}
request "4. A valid token: 200, the upstream sees the verified claims (x-jwt-*), not the JWE" "$valid"
request "5. An expired token: 401 invalid_token" "$expired"
echo
request "6. A tampered token: 401 invalid_token (the same answer: no oracle)" "$tampered"
echo
say "7. Filter stats (curl http://127.0.0.1:${admin}/stats | grep jwe_authn)"
sleep 0.3 # the filter adds its counts to Envoy's every 100 ms
curl -s "http://127.0.0.1:${admin}/stats" | grep 'wasmcustom.jwe_authn' | grep -v ': 0$'
