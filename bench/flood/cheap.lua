-- wrk: the cheap flood. Tokens of the RSA forgery's shape (5 segments of
-- the same lengths as rsa.lua's) whose protected header is valid base64url
-- but not JSON (random bytes, the first one 0): refused at parsing, before
-- any cryptography. A new token per request.
dofile((os.getenv("FLOOD_LUA_DIR") or "bench/flood") .. "/common.lua")
local header_bytes = #'{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"enc-rsa","cty":"JWT"}'
local ct = tonumber(os.getenv("FLOOD_CT_BYTES") or "300")
request = function()
  return bearer_request(rand_b64(header_bytes, true) .. "." .. rand_b64(256, true) .. "." ..
    rand_b64(12) .. "." .. rand_b64(ct) .. "." .. rand_b64(16))
end
