-- wrk: send a different token on each request, cycling through TOKENS
-- (a file with one bearer token per line).
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  tokens[#tokens + 1] = line
end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/orders", { ["Authorization"] = "Bearer " .. tokens[i] })
end
