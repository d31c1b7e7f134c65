-- Used by eng/bench.sh for the cardinality run: ITEMS requests to distinct /api/items/{id} URLs, then UNMATCHED
-- requests to random paths no route matches, then exits (bounded by count here and by wrk's -d in the script).
-- Run with one thread: wrk -t1 -c4 -d120s -s cardinality.lua URL -- ITEMS UNMATCHED
-- wrk.thread:stop() would stop the thread but wrk still sleeps out the whole -d, so the script prints its result and
-- exits the process itself once every response is in.
local items, unmatched = 20000, 5000
local sent, received, non2xx = 0, 0, 0

init = function(args)
  items = tonumber(args[1]) or items
  unmatched = tonumber(args[2]) or unmatched
  math.randomseed(os.time())
end

request = function()
  sent = sent + 1
  local path
  if sent <= items then
    path = "/api/items/" .. (1000000 + sent)
  elseif sent <= items + unmatched then
    path = string.format("/no-such-route/%d/%08x", sent, math.random(0, 0x7fffffff))
  else
    -- Past the total (requests still in flight on other connections): harmless, already-seen URL.
    path = "/ping"
  end
  return wrk.format("GET", path)
end

response = function(status, headers, body)
  received = received + 1
  if status < 200 or status > 399 then
    non2xx = non2xx + 1
  end
  if received == items + unmatched then
    io.write(string.format("WRK_RESULT requests=%d non2xx=%d\n", received, non2xx))
    io.flush()
    os.exit(0)
  end
end

done = function(summary, latency, requests)
  -- Only reached when -d ran out first.
  io.write(string.format("WRK_INCOMPLETE requests=%d\n", received))
end
