-- GET the URL given on the command line; count 2xx against other statuses.
local threads = {}
ok2xx, other = 0, 0
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
   if status >= 200 and status < 300 then ok2xx = ok2xx + 1 else other = other + 1 end
end
function done(summary, latency, requests)
   local ok, bad = 0, 0
   for _, t in ipairs(threads) do ok = ok + t:get("ok2xx"); bad = bad + t:get("other") end
   io.write(string.format("COUNTERS ok2xx=%d other=%d\n", ok, bad))
end
