-- wrk script for bench/failover.sh: counts non-2xx responses (wrk prints its own "Non-2xx" line
-- only when there were some, and never the time they happened), remembers when the first and
-- the last one arrived, and prints one machine-readable summary line at the end:
--
--   FAILOVER requests=N non2xx=N s502=N s503=N s504=N sother=N connect=N read=N write=N timeout=N first_err_ms=MS last_err_ms=MS
--
-- first_err_ms/last_err_ms are wall-clock epoch milliseconds (0 = no non-2xx response), so the
-- script can relate them to the moment it killed the backend.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } failover_timeval;
  int gettimeofday(failover_timeval *tv, void *tz);
]]
local tv = ffi.new("failover_timeval")

local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + math.floor(tonumber(tv.tv_usec) / 1000)
end

-- Per-thread counters. Globals, because done() reads them with thread:get().
non2xx, s502, s503, s504, sother, first_err, last_err = 0, 0, 0, 0, 0, 0, 0

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then return end
  non2xx = non2xx + 1
  if status == 502 then s502 = s502 + 1
  elseif status == 503 then s503 = s503 + 1
  elseif status == 504 then s504 = s504 + 1
  else sother = sother + 1 end
  local t = now_ms()
  if first_err == 0 then first_err = t end
  last_err = t
end

function done(summary, latency, requests)
  local n, c502, c503, c504, cother, first, last = 0, 0, 0, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    n = n + thread:get("non2xx")
    c502 = c502 + thread:get("s502")
    c503 = c503 + thread:get("s503")
    c504 = c504 + thread:get("s504")
    cother = cother + thread:get("sother")
    local f, l = thread:get("first_err"), thread:get("last_err")
    if f > 0 and (first == 0 or f < first) then first = f end
    if l > last then last = l end
  end
  local e = summary.errors
  io.write(string.format(
    "FAILOVER requests=%d non2xx=%d s502=%d s503=%d s504=%d sother=%d connect=%d read=%d write=%d timeout=%d first_err_ms=%d last_err_ms=%d\n",
    summary.requests, n, c502, c503, c504, cother, e.connect, e.read, e.write, e.timeout, first, last))
end
