-- wrk: legitimate cached traffic, one valid token (TOKEN_FILE, first line)
-- on every request; counts the answers per status (common.lua).
dofile((os.getenv("FLOOD_LUA_DIR") or "bench/flood") .. "/common.lua")
local f = assert(io.open(os.getenv("TOKEN_FILE")))
local token = f:read("*l")
f:close()
wrk.method = "GET"
wrk.path = os.getenv("FLOOD_PATH") or "/orders"
wrk.headers["Authorization"] = "Bearer " .. token
