-- wrk: the ES256 flood against Envoy's jwt_authn. Forged JWS: header
-- {"alg":"ES256","kid":JWS_KID,"typ":"JWT"}, claims that pass every check
-- but the signature (issuer, audience, unexpired), and a random 64-byte
-- signature, so jwt_authn must verify ECDSA. A new token per request.
dofile((os.getenv("FLOOD_LUA_DIR") or "bench/flood") .. "/common.lua")
local kid = os.getenv("JWS_KID") or "sig-es256"
local now = os.time()
local header = b64('{"alg":"ES256","kid":"' .. kid .. '","typ":"JWT"}')
local claims = b64(string.format(
  '{"aud":"orders-api","exp":%d,"iat":%d,"iss":"https://idp.demo.example","sub":"bench-user"}',
  now + 7200, now))
request = function()
  return bearer_request(header .. "." .. claims .. "." .. rand_b64(64))
end
