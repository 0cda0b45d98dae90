-- wrk: the RSA-OAEP-256 flood. Forged tokens for the benchmark's RSA key:
-- the real protected header, a random 256-byte encrypted key whose first
-- byte is 0 (so it is below the modulus and the filter must run the RSA
-- private-key operation), random IV, ciphertext and tag. A new token per
-- request.
dofile((os.getenv("FLOOD_LUA_DIR") or "bench/flood") .. "/common.lua")
local header = b64('{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"enc-rsa","cty":"JWT"}')
local ct = tonumber(os.getenv("FLOOD_CT_BYTES") or "300")
request = function()
  return bearer_request(header .. "." .. rand_b64(256, true) .. "." ..
    rand_b64(12) .. "." .. rand_b64(ct) .. "." .. rand_b64(16))
end
