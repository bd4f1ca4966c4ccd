-- POST /api/v1/bookings with distinct 30-minute slots (all rules apply; none may clash).
-- Env: API_TOKEN, BASE_TS (a grid-aligned UTC epoch), FIRST_INSTRUMENT, N_INSTRUMENTS, WRK_THREADS.
local token = os.getenv("API_TOKEN")
local base = tonumber(os.getenv("BASE_TS"))
local first, n = tonumber(os.getenv("FIRST_INSTRUMENT")), tonumber(os.getenv("N_INSTRUMENTS"))
local nthreads = tonumber(os.getenv("WRK_THREADS") or "2")
local threads, next_id = {}, 0
counter, created, clash, other = 0, 0, 0, 0
local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function request()
   local i = counter * nthreads + tid
   counter = counter + 1
   local instrument = first + (i % n)
   local start = base + math.floor(i / n) * 1800
   local body = string.format(
      '{"instrument_id":%d,"start":"%s","end":"%s","purpose":"bench","mode":"self_operated"}',
      instrument, os.date("!%Y-%m-%dT%H:%M:%SZ", start), os.date("!%Y-%m-%dT%H:%M:%SZ", start + 1800))
   return wrk.format("POST", "/api/v1/bookings", headers, body)
end

function response(status, headers, body)
   if status == 201 then created = created + 1
   elseif status == 409 then clash = clash + 1
   else
      other = other + 1
      if other == 1 then io.write("FIRST ERROR " .. status .. " " .. string.sub(body, 1, 300) .. "\n") end
   end
end

function done(summary, latency, requests)
   local totals = {created = 0, clash = 0, other = 0}
   for _, t in ipairs(threads) do
      for k, _ in pairs(totals) do totals[k] = totals[k] + (t:get(k) or 0) end
   end
   io.write(string.format("COUNTERS created=%d clash=%d other=%d\n", totals.created, totals.clash,
                          totals.other))
end
