#!/usr/bin/env bash
# test_azure_handler.sh HYSCALE SOURCE_DIR: starts the service the way the Azure Functions host
# starts a custom handler, from docker/azure/host.json (its defaultExecutablePath, mapped from
# the image's /usr/local/bin/hyscale to the built binary, and its arguments, with the image's
# /model replaced by a run folder made here), on the port the host hands over in
# FUNCTIONS_CUSTOMHANDLER_PORT. Then sends what the host forwards for `POST api/autoscale`
# (docker/azure/autoscale/function.json; enableForwardingHttpRequest passes the path, query and
# body as they came): the seed's request, once plain and once carrying a function key in the
# query as a caller of an authLevel=function trigger does; checks 200 and the contract's answer
# (docs/SERVE.md), then SIGTERM and exit status 0. The Functions host itself is not run here (a
# .NET program from Microsoft's images, which no registry here serves).
set -euo pipefail

bin=$(realpath "$1")
src=$(realpath "$2")
host_json="$src/docker/azure/host.json"
func_json="$src/docker/azure/autoscale/function.json"
work="$(dirname "$bin")/test_azure_handler.d"
mkdir -p "$work"
log="$work/serve.log"

fail() { echo "test_azure_handler: FAIL: $*" >&2; exit 1; }
# running and not a zombie (kill -0 succeeds on a child that exited but was not waited for)
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [[ $s != Z* ]]; }

# ---- the handler's files, as the host reads them -------------------------------------------
mapfile -t cmd < <(python3 - "$host_json" "$func_json" <<'EOF'
import json, sys
host, func = (json.load(open(p)) for p in sys.argv[1:3])
ch = host["customHandler"]
assert host["version"] == "2.0", "host.json: version must be 2.0"
assert ch.get("enableForwardingHttpRequest") is True, "host.json: enableForwardingHttpRequest must be true"
d = ch["description"]
args = d.get("arguments", [])
assert all(isinstance(a, str) for a in args), "host.json: arguments must be strings"
assert "--port" not in args, "host.json: the port must come from FUNCTIONS_CUSTOMHANDLER_PORT, not --port"
b = func["bindings"]
trig = [x for x in b if x["type"] == "httpTrigger"]
outs = [x for x in b if x["type"] == "http" and x["direction"] == "out"]
assert len(trig) == 1 and trig[0]["direction"] == "in", "function.json: one httpTrigger in"
assert [m.lower() for m in trig[0]["methods"]] == ["post"], "function.json: POST only"
assert trig[0].get("route", "autoscale") == "autoscale", "function.json: route autoscale"
# forwarding the request as is needs an HTTP-only function: no other binding
assert len(outs) == 1 and len(b) == 2, "function.json: an httpTrigger and one http output only"
print(d["defaultExecutablePath"])
for a in args:
    print(a)
EOF
) || fail "docker/azure/host.json or autoscale/function.json does not describe the handler"
[ "${cmd[0]}" = /usr/local/bin/hyscale ] || fail "defaultExecutablePath '${cmd[0]}' is not the image's /usr/local/bin/hyscale"
cmd[0]="$bin"

# ---- a run folder for /model ----------------------------------------------------------------
"$src/tests/support/make_run.sh" "$bin" "$work/run"
found=0
for i in "${!cmd[@]}"; do
  if [ "${cmd[$i]}" = /model ]; then cmd[$i]="$work/run"; found=1; fi
done
[ "$found" = 1 ] || fail "host.json's arguments do not name the image's model folder /model"

# ---- start it as the host does: the port in the environment --------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "test_azure_handler: FUNCTIONS_CUSTOMHANDLER_PORT=$port ${cmd[*]}" >&2
FUNCTIONS_CUSTOMHANDLER_PORT=$port "${cmd[@]}" 2>"$log" &
pid=$!
stop() { kill -KILL "$pid" 2>/dev/null || true; }
trap stop EXIT
url="http://127.0.0.1:$port"
ok=0
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; then ok=1; break; fi
  alive "$pid" || { cat "$log" >&2; fail "the handler exited before it answered /healthz"; }
  sleep 0.1
done
[ "$ok" = 1 ] || { cat "$log" >&2; fail "no answer on /healthz at port $port within 30 s"; }

# ---- what the host forwards ----------------------------------------------------------------
check() { # check PATH_AND_QUERY: POST the seed's request, expect 200 and the contract's answer
  local out code
  out="$work/answer.json"
  code=$(curl -sS -o "$out" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "X-Forwarded-Host: example.azurewebsites.net" \
    -d '{"current_instances": 5, "forecast_periods": 60}' "$url$1") || fail "POST $1: no answer"
  [ "$code" = 200 ] || { cat "$out" >&2; echo >&2; fail "POST $1: status $code, not 200"; }
  python3 - "$out" <<'EOF' || { cat "$out" >&2; echo >&2; fail "POST $1: the answer is not the contract's"; }
import json, sys
a = json.load(open(sys.argv[1]))
f, d = a["forecast"], a["decision"]
assert len(f) == 60, "forecast has %d entries, not 60" % len(f)
assert all(isinstance(e["instances_needed"], int) and isinstance(e["ds"], str) for e in f)
assert isinstance(d["target_instances"], int) and d["current_instances"] == 5
assert d["scale_by"] == d["target_instances"] - 5
EOF
}
check /api/autoscale
check "/api/autoscale?code=dGVzdC1mdW5jdGlvbi1rZXk%3D"

# ---- the host stops a handler with SIGTERM --------------------------------------------------
kill -TERM "$pid"
# a watchdog that takes its sleep along when it is stopped, and holds no pipe of ctest's
( trap 'kill "$s" 2>/dev/null; exit 0' TERM; sleep 15 & s=$!; wait "$s"; kill -KILL "$pid" ) \
  >/dev/null 2>&1 &
watchdog=$!
set +e; wait "$pid"; rc=$?; set -e
kill "$watchdog" 2>/dev/null || true
[ "$rc" != 137 ] || { cat "$log" >&2; fail "still running 15 s after SIGTERM (killed)"; }
[ "$rc" = 0 ] || { cat "$log" >&2; fail "exit status $rc after SIGTERM, not 0"; }
trap - EXIT
echo "test_azure_handler: PASS (port $port from FUNCTIONS_CUSTOMHANDLER_PORT)"
