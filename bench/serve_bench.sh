#!/usr/bin/env bash
# serve_bench.sh: `hyscale serve` under load (issue 13), beside a peer written the way the seed's
# service was (bench/serve_peer.py: FastAPI under uvicorn, the same LSTM, Prophet and PPO actor in
# PyTorch on the CPU), both serving the same run folder, driven by wrk over loopback with
# keep-alive connections, on the machine's cores. See bench/README.md ("serve").
#
# Rows (each hyscale then the peer, back to back, so a load change hits both):
#   periods 1, 60, 1440  POST /api/autoscale with the seed's body (no history: the training tail,
#                        whose forecast both sides memoise)
#   recent 60            periods 60 with `recent` (60 minutes) and `now`: nothing memoised
#   observe              POST /api/observe, a new minute every request (SQLite WAL on both)
# Before timing: the PyTorch action check (tests/check_ppo_torch.py) against hyscale, and each
# autoscale body sent to both services, the answers compared (forecast, action, target).
#
# env: DURATION            seconds per timed run (60 for the record; e.g. 5 for a quick try)
#      BENCH_WARMUP        seconds of wrk before each timed run, not counted (3)
#      BENCH_CONNECTIONS   wrk connections (64); BENCH_WRK_THREADS wrk threads (2)
#      BENCH_THREADS       hyscale serve --threads (2); BENCH_PEER_WORKERS uvicorn workers (2)
#      BENCH_ROWS          a subset, e.g. "p60 recent60" (p1 p60 p1440 recent60 observe)
#      BENCH_PORT          hyscale's port (18080); the peer gets BENCH_PORT + 10
#      HS_BENCH_RUN        serve this run folder (e.g. outputs/run-*) instead of making one
#      HS_BENCH_BUILD      build folder (build-bench-serve); HYSCALE_BIN: use this binary instead
#      BENCH_WORK          where the made run folder is kept (/tmp/hyscale-sbench)
#      TORCH_PYTHON        a Python with torch, fastapi, uvicorn[standard], safetensors (no venv)
#      PEER_MEMO           0: the peer memoises nothing (every answer forecasts); 1 (default): it
#                          memoises forecasts of an unchanged history as hyscale does
# exit codes: 0 every step ran and validated (the goals are printed PASS/FAIL, not the exit code),
#             1 a failure (build, start, validation, parity, a wrk run); the table is still written.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_BEGIN=$(date +%s)
say() { printf '[serve_bench %3ds] %s\n' $(($(date +%s) - T_BEGIN)) "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }
DURATION=${DURATION:-60}
WARMUP=${BENCH_WARMUP:-3}
CONNS=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
SERVER_THREADS=${BENCH_THREADS:-2}
PEER_WORKERS=${BENCH_PEER_WORKERS:-2}
ROWS=${BENCH_ROWS:-"p1 p60 p1440 recent60 observe"}
HS_PORT=${BENCH_PORT:-18080}
PEER_PORT=$((HS_PORT + 10))
BENCH_WORK=${BENCH_WORK:-/tmp/hyscale-sbench}
WORK=$(mktemp -d /tmp/hyscale-sbench-run.XXXXXX)
HS_PID="" PEER_PID="" SAMPLER_PID=""
cleanup() {
  local p
  for p in $SAMPLER_PID $HS_PID $PEER_PID; do kill "$p" 2>/dev/null || true; done
  for p in $SAMPLER_PID $HS_PID $PEER_PID; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
source "$REPO/bench/lib.sh"
command -v wrk >/dev/null || die "wrk is not installed (Debian: apt-get install wrk)"
command -v curl >/dev/null || die "curl is not installed"

# --- 1. the two programs ------------------------------------------------------------------------
hs_bench_hyscale "${HS_BENCH_BUILD:-build-bench-serve}"
hs_bench_serve_peer

# --- 2. the run folder ----------------------------------------------------------------------------
if [[ -n ${HS_BENCH_RUN:-} ]]; then
  RUN=$(cd "$HS_BENCH_RUN" && pwd) || die "HS_BENCH_RUN=$HS_BENCH_RUN is not a folder"
else
  RUN="$BENCH_WORK/run"
  mkdir -p "$BENCH_WORK"
  say "making a small run folder in $RUN (tests/support/make_run.sh)"
  bash "$REPO/tests/support/make_run.sh" "$HS" "$RUN" || die "make_run.sh failed"
fi
RUN_DESC=$("$PY" - "$RUN" <<'EOF'
import json, struct, sys
run = sys.argv[1]
b = open(f"{run}/lstm.safetensors", "rb").read(1 << 20)
meta = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])["__metadata__"]
cfg = json.loads(meta["config"])
n = sum(1 for _ in open(f"{run}/series.csv")) - 1
seas = [s["name"] for s in json.load(open(f"{run}/prophet_model.json"))["seasonalities"]]
print(f"{n} minutes; LSTM H={cfg['hidden']} L={cfg['layers']} W={cfg['window']}; "
      f"Prophet seasonalities: {', '.join(seas) or 'none'}")
EOF
)
say "run folder: $RUN ($RUN_DESC)"

# --- 3. the services --------------------------------------------------------------------------
wait_ready() { # PORT PID NAME LOG SECONDS
  local i
  for ((i = 0; i < $5 * 10; i++)); do
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { tail -n 20 "$4" >&2; die "$3 exited before it was ready"; }
    sleep 0.1
  done
  tail -n 20 "$4" >&2
  die "$3 was not ready on port $1 after $5 s"
}
for port in $HS_PORT $PEER_PORT; do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && die "port $port already answers: set BENCH_PORT"
done
say "starting hyscale serve (--threads $SERVER_THREADS) on 127.0.0.1:$HS_PORT"
"$HS" serve --model "$RUN" --host 127.0.0.1 --port "$HS_PORT" --threads "$SERVER_THREADS" --state "$WORK/hs-state" \
  --quiet 2>"$WORK/hyscale.log" &
HS_PID=$!
wait_ready "$HS_PORT" "$HS_PID" "hyscale serve" "$WORK/hyscale.log" 60
say "starting the peer (uvicorn, $PEER_WORKERS workers) on 127.0.0.1:$PEER_PORT"
"$PY" "$REPO/bench/serve_peer.py" --run "$RUN" --state "$WORK/peer-state" --port "$PEER_PORT" \
  --workers "$PEER_WORKERS" 2>"$WORK/peer.log" &
PEER_PID=$!

FAIL=0
FAILURES=()
fail() { FAIL=1; FAILURES+=("$*"); say "FAIL: $*"; }

# --- 4. the PyTorch action check against hyscale (while the peer loads) ------------------------
say "ppo parity: tests/check_ppo_torch.py against hyscale serve"
if PARITY=$("$PY" "$REPO/tests/check_ppo_torch.py" --run "$RUN" --url "http://127.0.0.1:$HS_PORT" 2>&1); then
  printf '%s\n' "$PARITY"
else
  printf '%s\n' "$PARITY"
  fail "ppo parity"
fi
PARITY_LINE=$(grep '^ppo parity:' <<<"$PARITY" || echo "ppo parity: did not run")
wait_ready "$PEER_PORT" "$PEER_PID" "the peer" "$WORK/peer.log" 300

# --- 5. the bodies, and both answers compared before anything is timed --------------------------
"$PY" - "$RUN" "$WORK" <<'EOF'
import json, sys
run, work = sys.argv[1], sys.argv[2]
rows = [r.rstrip("\n").split(",") for r in open(f"{run}/series.csv")][1:]
recent = [float(r[3]) for r in rows[-60:]]
now = rows[-1][1].replace(" ", "T") + "Z"
bodies = {f"p{n}": {"current_instances": 10, "forecast_periods": n, "forecaster": "hybrid"} for n in (1, 60, 1440)}
bodies["recent60"] = {"current_instances": 10, "forecast_periods": 60, "forecaster": "hybrid", "recent": recent,
                      "now": now}
for k, v in bodies.items():
    open(f"{work}/body_{k}.json", "w").write(json.dumps(v, separators=(",", ":")))
EOF
say "validating: each autoscale body to both services, answers compared"
for row in $ROWS; do
  [[ $row == observe ]] && continue
  [[ -f $WORK/body_$row.json ]] || die "unknown row '$row' (rows: p1 p60 p1440 recent60 observe)"
  for side in hs peer; do
    port=$HS_PORT; [[ $side == peer ]] && port=$PEER_PORT
    code=$(curl -s -o "$WORK/ans_${row}_$side.json" -w '%{http_code}' -H 'Content-Type: application/json' \
      --data-binary "@$WORK/body_$row.json" "http://127.0.0.1:$port/api/autoscale") || code=000
    [[ $code == 200 ]] ||
      fail "validation $row: $side answered HTTP $code: $(head -c 300 "$WORK/ans_${row}_$side.json" 2>/dev/null)"
  done
  # float32 LSTMs whose sums run in another order (hyscale's GEMMs, PyTorch's) agree to about
  # 1e-6 relative per step; over 1,440 recursive steps that stays well inside 1e-3
  "$PY" - "$WORK/ans_${row}_hs.json" "$WORK/ans_${row}_peer.json" "$row" <<'EOF' || fail "validation $row"
import json, sys
try:
    h, p = (json.load(open(f)) for f in sys.argv[1:3])
except (OSError, ValueError) as e:
    sys.exit(print(f"  {sys.argv[3]}: no answer to compare ({e})"))
bad = []
hf, pf = h["forecast"], p["forecast"]
if len(hf) != len(pf) or any(a["ds"] != b["ds"] for a, b in zip(hf, pf)):
    bad.append(f"forecast minutes differ ({len(hf)} vs {len(pf)})")
dev = max((abs(a["invocations"] - b["invocations"]) / (1e-3 + abs(a["invocations"])) for a, b in zip(hf, pf)),
          default=0.0)
if dev > 1e-3:
    bad.append(f"forecast deviates {dev:.3g} (relative)")
need = sum(a["instances_needed"] != b["instances_needed"] for a, b in zip(hf, pf))
hd, pd = h["decision"], p["decision"]
for k in ("target_instances", "agent", "policy"):
    if hd.get(k) != pd.get(k):
        bad.append(f"decision.{k}: hyscale {hd.get(k)}, peer {pd.get(k)}")
if hd["action"]["index"] != pd["action"]["index"]:
    bad.append(f"action: hyscale {hd['action']['index']}, peer {pd['action']['index']}")
for k in ("source", "points", "last"):
    if h["history"][k] != p["history"][k]:
        bad.append(f"history.{k}: hyscale {h['history'][k]}, peer {p['history'][k]}")
print(f"  {sys.argv[3]}: {len(hf)} minutes, max forecast deviation {dev:.2e} (relative), instances_needed "
      f"differing on {need}, action {hd['action']['index']}/{pd['action']['index']}, target "
      f"{hd['target_instances']}/{pd['target_instances']}, history {h['history']['source']}: "
      + ("ok" if not bad else "MISMATCH: " + "; ".join(bad)))
sys.exit(1 if bad else 0)
EOF
done
if [[ " $ROWS " == *" observe "* ]]; then
  for side in hs peer; do
    port=$HS_PORT; [[ $side == peer ]] && port=$PEER_PORT
    ans=$(curl -s -H 'Content-Type: application/json' \
      --data '{"function":"bench-check","ds":"2030-01-01T00:00:00Z","invocations":1}' \
      "http://127.0.0.1:$port/api/observe" || true)
    [[ $ans == *'"accepted":'*1* ]] || fail "validation observe: $side answered '$ans'"
  done
  say "  observe: both accept an observation"
fi

# --- 6. the timed runs ----------------------------------------------------------------------------
rss_kib() { # PID: VmRSS of the process and its children (the peer's workers), KiB
  local total=0 p v
  for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
cpu_ticks() { # PID: utime + stime of the process and its children, clock ticks
  local total=0 p v
  for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
wait_idle() { # PID: until the server tree uses under 10% of a core over half a second (at most 120 s):
  # wrk leaves requests in flight when it stops, and the peer finishes them (its compute is not
  # cancelled), which would load the next run
  local a b i hz
  hz=$(getconf CLK_TCK)
  for ((i = 0; i < 240; i++)); do
    a=$(cpu_ticks "$1")
    sleep 0.5
    b=$(cpu_ticks "$1")
    (((b - a) * 20 < hz)) && return 0
  done
  say "  (the server was still busy after 120 s)"
}
sample_rss() { # PID FILE: one sample a second until killed
  while :; do rss_kib "$1" >>"$2"; sleep 1; done
}
wrk_run() { # ROW PORT SECONDS OUT
  local script="$REPO/bench/serve_post.lua" body=""
  if [[ $1 == observe ]]; then
    script="$REPO/bench/serve_observe.lua"
  else
    body=$(cat "$WORK/body_$1.json")
  fi
  HS_BODY=$body HS_PATH=/api/autoscale wrk -t"$WRK_THREADS" -c"$CONNS" -d"$3"s --latency --timeout 10s \
    -s "$script" "http://127.0.0.1:$2" >"$4" 2>&1
}
wrk_summary() { # HSJSON -> one line
  "$PY" - "$1" <<'EOF'
import json, sys
j = json.loads(sys.argv[1] or "{}")
d = j.get("duration_us", 0) / 1e6 or 1
errs = sum(j.get(k, 0) for k in ("connect", "read", "write", "timeout"))
print(f"{j.get('requests', 0) / d:,.0f} req/s, p50 {j.get('p50_us', 0) / 1e3:.2f} ms, "
      f"p99 {j.get('p99_us', 0) / 1e3:.2f} ms, non-2xx {j.get('status', 0)}, socket errors {errs}")
EOF
}
RES="$WORK/results.tsv"
: >"$RES"
say "timing: wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s (after ${WARMUP} s of warm-up) per row and side"
for row in $ROWS; do
  for side in hyscale peer; do
    port=$HS_PORT pid=$HS_PID
    [[ $side == peer ]] && port=$PEER_PORT pid=$PEER_PID
    kill -0 "$pid" 2>/dev/null || { fail "$side is not running before row $row"; continue; }
    load0=$(cut -d' ' -f1 /proc/loadavg)
    wait_idle "$pid"
    wrk_run "$row" "$port" "$WARMUP" "$WORK/warm_${row}_$side.txt" || true
    wait_idle "$pid"
    : >"$WORK/rss_${row}_$side"
    sample_rss "$pid" "$WORK/rss_${row}_$side" &
    SAMPLER_PID=$!
    wrk_run "$row" "$port" "$DURATION" "$WORK/wrk_${row}_$side.txt" ||
      fail "wrk $row $side: $(tail -n 3 "$WORK/wrk_${row}_$side.txt")"
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
    kill -0 "$pid" 2>/dev/null || fail "$side died during row $row"
    rss_first=$(head -n 1 "$WORK/rss_${row}_$side")
    rss_last=$(tail -n 1 "$WORK/rss_${row}_$side")
    rss_all=$(paste -sd, "$WORK/rss_${row}_$side")
    json=$(sed -n 's/^HSJSON //p' "$WORK/wrk_${row}_$side.txt")
    [[ -n $json ]] || { fail "wrk $row $side printed no result"; json='{}'; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$side" "$json" "${rss_all:-0}" "$load0" \
      "$(cut -d' ' -f1 /proc/loadavg)" >>"$RES"
    say "  $row $side: $(wrk_summary "$json"), RSS ${rss_first:-?} -> ${rss_last:-?} KiB," \
      "load $load0 -> $(cut -d' ' -f1 /proc/loadavg)"
  done
done

# --- 7. the table, the goals, the files ------------------------------------------------------------
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$REPO/bench/results"
GIT_REV=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git -C "$REPO" diff --quiet HEAD 2>/dev/null || GIT_REV="$GIT_REV (dirty)"
export STAMP GIT_REV RUN RUN_DESC HS_VERSION BUILD_TYPE PEER_VERSIONS PARITY_LINE DURATION WARMUP CONNS WRK_THREADS \
  SERVER_THREADS PEER_WORKERS
export CPU="$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" NCPU="$(nproc)" KERNEL="$(uname -r)"
export WRK_VERSION="$(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
"$PY" - "$RES" "$REPO/bench/results/serve_$STAMP" <<'EOF' || FAIL=1
import json, os, sys
res, out = sys.argv[1], sys.argv[2]
E = os.environ
label = {"p1": "autoscale, periods 1", "p60": "autoscale, periods 60", "p1440": "autoscale, periods 1,440",
         "recent60": "autoscale, periods 60 + recent (60)", "observe": "observe (new minute each)"}
R = {}
for line in open(res):
    row, side, js, rss, l0, l1 = line.rstrip("\n").split("\t")
    j = json.loads(js)
    rss = [int(x) / 1024 for x in rss.split(",") if x] or [0.0]
    half = (len(rss) + 1) // 2
    d = j.get("duration_us", 0) / 1e6
    R.setdefault(row, {})[side] = {
        "rps": j.get("requests", 0) / d if d else 0.0, "requests": j.get("requests", 0),
        "p50": j.get("p50_us", 0) / 1e3, "p90": j.get("p90_us", 0) / 1e3, "p99": j.get("p99_us", 0) / 1e3,
        "max": j.get("max_us", 0) / 1e3, "non2xx": j.get("status", 0),
        "socket": sum(j.get(k, 0) for k in ("connect", "read", "write", "timeout")),
        "rss0": rss[0], "rss1": rss[-1], "peak1": max(rss[:half]), "peak2": max(rss[half:] or rss), "n_rss": len(rss),
        "load0": l0, "load1": l1, "ok": bool(j)}
def errs(s):
    return s["non2xx"] + s["socket"]
lines = ["| request | hyscale req/s | p50 ms | p99 ms | errors | peer req/s | p50 ms | p99 ms | errors | ratio |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
csv = ["row,request,side,requests_per_s,requests,p50_ms,p90_ms,p99_ms,max_ms,non_2xx,socket_errors,rss_first_mib,"
       "rss_last_mib,rss_peak_first_half_mib,rss_peak_second_half_mib,rss_samples,load_before,load_after,duration_s,"
       "connections,git_rev,cpu"]
for row, sides in R.items():
    h, p = sides.get("hyscale"), sides.get("peer")
    cell = lambda s: [f"{s['rps']:,.0f}", f"{s['p50']:.2f}", f"{s['p99']:.2f}", f"{errs(s)}"] if s else ["", "", "", ""]
    ratio = f"{h['rps'] / p['rps']:,.1f}x" if h and p and p["rps"] > 0 else ""
    lines.append("| " + " | ".join([label.get(row, row)] + cell(h) + cell(p) + [ratio]) + " |")
    for side, s in sides.items():
        csv.append(",".join(str(x) for x in [row, f'"{label.get(row, row)}"', side, f"{s['rps']:.1f}", s["requests"],
                   f"{s['p50']:.3f}", f"{s['p90']:.3f}", f"{s['p99']:.3f}", f"{s['max']:.3f}", s["non2xx"], s["socket"],
                   f"{s['rss0']:.1f}", f"{s['rss1']:.1f}", f"{s['peak1']:.1f}", f"{s['peak2']:.1f}", s["n_rss"],
                   s["load0"], s["load1"], E["DURATION"], E["CONNS"],
                   f'"{E["GIT_REV"]}"', f'"{E["CPU"]}"']))
mem = ["| request | hyscale RSS MiB first -> last (peak 1st half / 2nd half) | peer RSS MiB first -> last (peaks) "
       "| load before -> after (hyscale; peer) |", "|---|---:|---:|---:|"]
for row, sides in R.items():
    f = lambda s: f"{s['rss0']:.1f} -> {s['rss1']:.1f} ({s['peak1']:.1f} / {s['peak2']:.1f})" if s else ""
    ld = "; ".join(f"{s['load0']} -> {s['load1']}" for s in (sides.get("hyscale"), sides.get("peer")) if s)
    mem.append(f"| {label.get(row, row)} | {f(sides.get('hyscale'))} | {f(sides.get('peer'))} | {ld} |")
# goals (issue 13)
goals = []
h60, p60 = R.get("p60", {}).get("hyscale"), R.get("p60", {}).get("peer")
if h60:
    goals.append(("at least 20,000 requests/s at periods 60", h60["rps"] >= 20000, f"{h60['rps']:,.0f}/s"))
    goals.append(("p99 under 5 ms at periods 60", h60["p99"] < 5.0, f"{h60['p99']:.2f} ms"))
if h60 and p60 and p60["rps"] > 0:
    goals.append(("at least 20x the peer's throughput at periods 60", h60["rps"] >= 20 * p60["rps"],
                  f"{h60['rps'] / p60['rps']:,.1f}x"))
hs = {row: s["hyscale"] for row, s in R.items() if "hyscale" in s}
short = "" if int(E["DURATION"]) >= 60 else f"; over {E['DURATION']} s runs, not the 60 s record"
if hs:
    bad = [f"{row} {errs(s)}" for row, s in hs.items() if errs(s) or not s["ok"]]
    goals.append(("zero errors (non-2xx, socket) on every row", not bad, (", ".join(bad) or "0") + short))
    # flat: the peak of the run's second half within max(2 MiB, 5%) of its first half's peak. The
    # warm-up before the run fills the LSTM copies and the memo; single samples move by a few MiB
    # as answer buffers come and go (a 1,440-minute answer is ~110 KB), which a peak smooths, while
    # a leak raises the second half's peak
    grow = {row: s["peak2"] - s["peak1"] for row, s in hs.items()}
    bad = [f"{row} +{g:.1f} MiB" for row, g in grow.items() if g > max(2.0, 0.05 * hs[row]["peak1"])]
    worst = max(grow.items(), key=lambda kv: kv[1])
    goals.append(("memory flat over each run (RSS peak of the second half within max(2 MiB, 5%) of the first "
                  "half's)", not bad, (", ".join(bad) or f"largest change {worst[1]:+.1f} MiB ({worst[0]})") + short))
goal_lines = [f"- {'PASS' if ok else 'FAIL'}: {name} ({why})" for name, ok, why in goals]
info = [f"- date (UTC): {E['STAMP']}, git {E['GIT_REV']}",
        f"- machine: {E['CPU']}, {E['NCPU']} cores, Linux {E['KERNEL']}; wrk, both servers and the peer's "
        "workers share these cores",
        f"- hyscale: {E['HS_VERSION']} ({E['BUILD_TYPE']}), `serve --threads {E['SERVER_THREADS']} --state DIR --quiet`",
        f"- peer: bench/serve_peer.py, {E['PEER_VERSIONS']}; uvicorn --workers {E['PEER_WORKERS']} "
        "(uvloop, httptools, no access log), PyTorch 1 thread per worker; "
        + ("forecasts memoised like hyscale's" if os.environ.get("PEER_MEMO", "1") != "0"
           else "no memo (PEER_MEMO=0): every answer forecasts, as a service written without one"),
        f"- run folder: {E['RUN']} ({E['RUN_DESC']})",
        f"- load: {E['WRK_VERSION']} -t{E['WRK_THREADS']} -c{E['CONNS']} -d{E['DURATION']}s --timeout 10s over loopback, "
        f"keep-alive, after {E['WARMUP']} s of warm-up per run; one run per row and side",
        f"- {E['PARITY_LINE']}"]
md = ["# serve benchmark", "", *info, "", *lines, "", *mem, "", "Goals (issue 13):", *goal_lines, "",
      "errors = non-2xx answers + socket errors (connect, read, write, timeout); ratio = hyscale req/s / peer req/s; "
      "p50/p99 from wrk's latency histogram; RSS = VmRSS sampled every second during the timed run (the peer: "
      "its supervisor and workers summed); load = the 1-minute load average of the machine (2 cores: above 2, "
      "other work competed with the run)."]
print("\n".join(lines))
print()
print("\n".join(mem))
print()
print("\n".join(goal_lines))
open(out + ".md", "w").write("\n".join(md) + "\n")
open(out + ".csv", "w").write("\n".join(csv) + "\n")
print(f"\nresults: {out}.md, {out}.csv")
EOF
if ((FAIL)); then
  say "FAILURES: ${FAILURES[*]:-see above}"
  exit 1
fi
say "done"
