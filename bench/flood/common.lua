-- Shared by the wrk scripts of bench/flood.sh: random base64url segments,
-- a status count per answer, and a summary line for flood.py to read.
--
-- Every script that loads this one (dofile) gets:
--   b64(s)                  base64url (no padding) of a fixed string
--   rand_b64(n, zero_first) base64url of n random bytes, canonical (the
--                           unused low bits of the last character are 0);
--                           zero_first makes the first byte 0
--   response()              counts answers per status in `statuses`
--   done()                  prints "FLOOD_STATUS {\"401\": n, ...}"
-- Seeded per thread from FLOOD_SEED (default: the time) and the thread's
-- address, so two wrk runs never send the same tokens.

local A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local chars = {}
for i = 1, 64 do chars[i - 1] = A:sub(i, i) end
-- Two characters (12 random bits) per math.random call: a token of ~1 KB
-- costs ~500 calls and one table.concat, far below a request's cost.
local pairs2 = {}
for i = 0, 4095 do pairs2[i] = chars[math.floor(i / 64)] .. chars[i % 64] end

function b64(s)
  local out, k = {}, 0
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1, c2 = math.floor(n / 262144) % 64, math.floor(n / 4096) % 64
    local c3, c4 = math.floor(n / 64) % 64, n % 64
    k = k + 1
    out[k] = chars[c1] .. chars[c2] .. (b and chars[c3] or "") .. (c and chars[c4] or "")
  end
  return table.concat(out)
end

local random = math.random
function rand_b64(n, zero_first)
  local t, k = {}, 0
  for _ = 1, math.floor(n / 3) * 2 do k = k + 1; t[k] = pairs2[random(0, 4095)] end
  local rem = n % 3
  if rem == 1 then -- one byte: 6 bits, then 2 bits and four zero bits
    k = k + 1; t[k] = chars[random(0, 63)] .. chars[random(0, 3) * 16]
  elseif rem == 2 then -- two bytes: 12 bits, then 4 bits and two zero bits
    k = k + 1; t[k] = pairs2[random(0, 4095)] .. chars[random(0, 15) * 4]
  end
  if zero_first then -- first byte = c0 << 2 | c1 >> 4: c0 = 0, c1 < 16
    t[1] = "A" .. chars[random(0, 15)]
  end
  return table.concat(t)
end

-- One seed per thread: the top level of the script runs once in each
-- thread's Lua state.
local seed = tonumber(os.getenv("FLOOD_SEED") or "") or os.time()
math.randomseed(seed + (tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0) % 1000003)
for _ = 1, 100 do random() end

statuses = {}
function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function done()
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses") or {}) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do parts[#parts + 1] = string.format('"%d": %d', status, n) end
  io.write("FLOOD_STATUS {" .. table.concat(parts, ", ") .. "}\n")
end

-- request() for scripts whose token is made per request.
function bearer_request(token)
  return wrk.format("GET", "/orders", { ["Authorization"] = "Bearer " .. token })
end
