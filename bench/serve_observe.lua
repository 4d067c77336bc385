-- serve_observe.lua: the wrk script of bench/serve_bench.sh for POST /api/observe: every
-- request carries a new minute (per wrk thread a counter from its own base, 2030-01-01 plus
-- 19 years per thread), so every observation writes a new row instead of replacing one.
-- $HS_FUNCTION names the function ("total" unless set). done() prints the "HSJSON {...}" line
-- as serve_post.lua does.
local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end

function init(args)
  counter = 0
  base = 1893456000 + tid * 10000000 * 60
  fn = os.getenv("HS_FUNCTION") or "total"
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  counter = counter + 1
  local body = string.format('{"function":"%s","ds":"%s","invocations":%d}', fn,
    os.date("!%Y-%m-%dT%H:%M:00Z", base + counter * 60), counter % 1000)
  return wrk.format("POST", "/api/observe", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('HSJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
