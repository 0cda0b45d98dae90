-- wrk: send a different token on each request, cycling through TOKENS
-- (a file with one bearer token per line). With LIMIT=n, stop after n
-- responses and exit (use with one wrk thread), e.g. to send each token
-- exactly once.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  tokens[#tokens + 1] = line
end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/orders", { ["Authorization"] = "Bearer " .. tokens[i] })
end

local limit = tonumber(os.getenv("LIMIT") or "0")
if limit > 0 then
  local done = 0
  response = function()
    done = done + 1
    if done >= limit then
      os.exit(0) -- wrk.thread:stop() would still wait out -d
    end
  end
end
