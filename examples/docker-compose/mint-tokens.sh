#!/bin/sh
# One-shot: mint demo tokens with the demo keys (mounted at /keys) and print
# them with the curl lines to try. Used by the `tokens` compose service; works
# the same outside Docker: KEYS=envoy/demo JWE_AUTHN=target/release/jwe-authn
set -eu
keys=${KEYS:-/keys}
cli=${JWE_AUTHN:-jwe-authn}
claims='{"iss":"https://idp.demo.example","sub":"alice","aud":"orders-api","scope":"orders:read"}'
mint() { "$cli" mint --claims "$claims" --sign-key "$keys/sign.jwk" --encrypt-key "$keys/encrypt.pub.jwk" --alg ECDH-ES+A256KW --enc A256GCM "$@"; }
valid=$(mint --expires-in 1h)
expired=$(mint --expires-in 1h --now $(( $(date +%s) - 7200 )))
echo "VALID=$valid"
echo "EXPIRED=$expired"
echo
echo "curl -i localhost:10000/orders -H \"Authorization: Bearer \$VALID\"     # 200, echoes x-jwt-sub: alice"
echo "curl -i localhost:10000/orders -H \"Authorization: Bearer \$EXPIRED\"   # 401 invalid_token"
echo "curl -i localhost:10000/orders                                         # 401, Bearer realm=\"orders-api\""
