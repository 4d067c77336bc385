-- serve_post.lua: the wrk script of bench/serve_bench.sh for a fixed request: every request
-- POSTs the JSON body in $HS_BODY to $HS_PATH (default /api/autoscale) on a keep-alive
-- connection. done() prints one line, "HSJSON {...}", with the counts and the latency
-- percentiles (microseconds) that the benchmark reads instead of parsing wrk's text.
wrk.method = "POST"
wrk.path = os.getenv("HS_PATH") or "/api/autoscale"
wrk.body = os.getenv("HS_BODY") or error("serve_post.lua: HS_BODY is not set")
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('HSJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
