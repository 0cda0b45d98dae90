#!/usr/bin/env bash
# The quick-start demo: generate keys, mint a valid, an expired and a tampered
# nested JWE with the CLI, and run each through `jwe-authn verify` — the exact
# pipeline the Envoy filter runs. Everything lives in a temporary directory
# that is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
cli=target/release/jwe-authn
[ -x "$cli" ] || cargo build --release --bin jwe-authn
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "1. Keys: an X25519 key to decrypt tokens, an Ed25519 key the IdP signs with"
$cli keygen --kty OKP --crv X25519 --kid demo-enc > "$work/enc.jwk"
$cli keygen --kty OKP --crv Ed25519 --kid demo-sig > "$work/sig.jwk"
$cli keygen --public "$work/sig.jwk" > "$work/sig.pub.jwk"
$cli keygen --public "$work/enc.jwk" > "$work/enc.pub.jwk"
cat > "$work/config.json" <<JSON
{
  "decryption_keys": {"keys": [$(cat "$work/enc.jwk")]},
  "providers": {
    "demo-idp": {
      "issuer": "https://idp.demo.example",
      "audiences": ["orders-api"],
      "local_jwks": {"keys": [$(cat "$work/sig.pub.jwk")]}
    }
  }
}
JSON
echo "config: $work/config.json"

claims='{"iss":"https://idp.demo.example","sub":"alice","aud":"orders-api","scope":"orders:read"}'
say "2. Mint: EdDSA-signed JWT inside ECDH-ES+A256KW / A256GCM"
valid=$($cli mint --claims "$claims" --sign-key "$work/sig.jwk" --encrypt-key "$work/enc.pub.jwk" \
  --alg ECDH-ES+A256KW --enc A256GCM --expires-in 1h)
expired=$($cli mint --claims "$claims" --sign-key "$work/sig.jwk" --encrypt-key "$work/enc.pub.jwk" \
  --expires-in 1h --now $(( $(date +%s) - 7200 )))
# Flip one character in the ciphertext (the fourth segment).
tampered=$(python3 -c 'import sys; p=sys.argv[1].split("."); c=p[3]; p[3]=("A" if c[0]!="A" else "B")+c[1:]; print(".".join(p))' "$valid")
echo "${valid:0:60}… (${#valid} bytes)"
$cli inspect "$valid"

run() {
  local name=$1 token=$2
  say "3. verify: $name"
  set +e
  $cli verify --config "$work/config.json" --token "$token"
  echo "exit code: $?"
  set -e
}
run "valid token (expect exit 0 and the claims)" "$valid"
run "expired token (expect exit 1)" "$expired"
run "tampered token (expect exit 1)" "$tampered"
