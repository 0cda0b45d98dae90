-- wrk: the ECDH-ES flood. Forged tokens for the benchmark's P-256 key: a
-- protected header {"alg":"ECDH-ES","enc":"A256GCM","kid":"enc-p256",
-- "epk":{...}} with a valid public point picked at random per request from
-- EPK_HEADERS (base64url headers, one a line, made by flood.py from tokens
-- the CLI minted), so the filter must run the key agreement; empty
-- encrypted key (direct agreement), random IV, ciphertext and tag.
dofile((os.getenv("FLOOD_LUA_DIR") or "bench/flood") .. "/common.lua")
local headers = {}
for line in io.lines(os.getenv("EPK_HEADERS")) do headers[#headers + 1] = line end
assert(#headers > 0, "EPK_HEADERS is empty")
local ct = tonumber(os.getenv("FLOOD_CT_BYTES") or "300")
request = function()
  return bearer_request(headers[math.random(1, #headers)] .. ".." ..
    rand_b64(12) .. "." .. rand_b64(ct) .. "." .. rand_b64(16))
end
