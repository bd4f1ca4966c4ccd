-- GET the URL given on the command line with If-None-Match: ETAG; count 304 against others.
local threads = {}
not_modified, other = 0, 0
wrk.headers["If-None-Match"] = os.getenv("ETAG")
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
   if status == 304 then not_modified = not_modified + 1 else other = other + 1 end
end
function done(summary, latency, requests)
   local ok, bad = 0, 0
   for _, t in ipairs(threads) do ok = ok + t:get("not_modified"); bad = bad + t:get("other") end
   io.write(string.format("COUNTERS not_modified=%d other=%d\n", ok, bad))
end
