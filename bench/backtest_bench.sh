#!/usr/bin/env bash
# backtest_bench.sh: `hyscale backtest` beside Prophet's own cross_validation and
# performance_metrics (prophet.diagnostics, Prophet 1.5.0) on the same series, and the ratio
# (issue 14's goal: hyscale at least 50x faster).
#
# Cases: peyton (Prophet's documentation example: daily Peyton Manning page views, initial 730
# days, period 180 days, horizon 365 days: 11 cutoffs) and nasa10 (the first 10 days of NASA-HTTP
# July 1995 per minute with hyscale's defaults: horizon 1 day, period 12 h, initial 3 days: 12
# cutoffs). Prophet: Prophet() fitted on the series, then cross_validation + performance_metrics
# timed with perf_counter (serial, its default), BENCH_PROPHET_REPS times. hyscale: the whole
# `hyscale backtest --no-plot` process (reading, every refit and forecast, the metrics, writing
# the files), BENCH_REPS times. Both with Prophet's interval (1,000 simulated futures), then both
# again without it (uncertainty_samples 0 / --uncertainty-samples 0). Validated before it is
# timed: the same cutoffs, and hyscale's mse within 6% of Prophet's at every horizon (Prophet's
# optimizer stops short of the MAP point on some cutoffs; tests/test_backtest.c says why).
# Everything runs on BENCH_CORES (taskset; hyscale's OpenMP threads set to their count, one
# OpenBLAS thread under them, and OMP_WAIT_POLICY=PASSIVE: GNU OpenMP's idle threads otherwise
# spin some 300,000 rounds before they sleep, which billed 10-15 ms of CPU to a 60 ms peyton run
# while one thread wrote the files; Prophet's cross_validation runs serially, its default).
# Medians of wall time and of CPU time (user + system, Prophet's cmdstan children included: the
# ratio a busy machine does not move); results in bench/results/backtest_<UTC time>.json.
#
# env: BENCH_REPS (5), BENCH_PROPHET_REPS (1), BENCH_CORES (0,1), BENCH_CASES (peyton,nasa10),
#      BENCH_WORK (/tmp/hyscale-btbench), BENCH_PYTHON (a Python with prophet 1.5.0; default
#      bench/.venv, made and filled when missing), HYSCALE_BIN (skip the build),
#      HYSCALE_SHARED_DATA (../shared/data).
# exit codes: 0 success, 1 any failure (build, data, a failed run, a validation mismatch).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPS=${BENCH_REPS:-5}
PREPS=${BENCH_PROPHET_REPS:-1}
CORES=${BENCH_CORES:-0,1}
CASES=${BENCH_CASES:-peyton,nasa10}
WORK=${BENCH_WORK:-/tmp/hyscale-btbench}
DATA=${HYSCALE_SHARED_DATA:-$REPO/../shared/data}
PROPHET_PIN=1.5.0

die() { echo "backtest_bench: error: $*" >&2; exit 1; }
say() { echo "backtest_bench: $*" >&2; }
trap 'echo "backtest_bench: error: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

for v in REPS PREPS; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"; done
case "$WORK" in "$REPO"|"$REPO"/*) die "BENCH_WORK must be outside the repository" ;; esac
command -v taskset >/dev/null || die "taskset not found (util-linux)"
taskset -c "$CORES" true || die "cannot pin to cores $CORES"
NCORES=$(awk -F, '{print NF}' <<<"$CORES")
DATA=$(cd "$DATA" 2>/dev/null && pwd) || die "shared data not found (set HYSCALE_SHARED_DATA)"
mkdir -p "$WORK"

if [[ -n ${BENCH_PYTHON:-} ]]; then
  PY=$BENCH_PYTHON
else
  VENV="$REPO/bench/.venv"
  PY="$VENV/bin/python"
  if ! { [[ -x "$PY" ]] && "$PY" -c "import prophet, sys; sys.exit(prophet.__version__ != '$PROPHET_PIN')" 2>/dev/null; }; then
    say "installing prophet==$PROPHET_PIN into $VENV"
    [[ -x "$PY" ]] || python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check "prophet==$PROPHET_PIN"
  fi
fi
"$PY" -c "import prophet, sys; sys.exit(prophet.__version__ != '$PROPHET_PIN')" 2>/dev/null ||
  die "$PY does not import prophet $PROPHET_PIN"

# shellcheck source=lib.sh
source "$REPO/bench/lib.sh"
hs_bench_hyscale build-btbench

declare -A INPUT ARGS PARGS
IFS=, read -r -a CASE_LIST <<<"$CASES"
for c in "${CASE_LIST[@]}"; do
  case "$c" in
    peyton)
      INPUT[$c]="$DATA/prophet/example_wp_log_peyton_manning.csv"
      ARGS[$c]="--horizon 365d --period 180d --initial 730d"
      PARGS[$c]="365 days|180 days|730 days" ;;
    nasa10)
      [[ -f "$DATA/web/nasa_http_1995_jul_per_minute.csv" ]] || die "nasa10: NASA-HTTP series not found"
      head -n 14401 "$DATA/web/nasa_http_1995_jul_per_minute.csv" >"$WORK/nasa10.csv"
      INPUT[$c]="$WORK/nasa10.csv"; ARGS[$c]=""; PARGS[$c]="1 days||" ;;
    *) die "unknown case '$c' in BENCH_CASES" ;;
  esac
  [[ -f "${INPUT[$c]}" ]] || die "$c: input not found: ${INPUT[$c]}"
done

PEER="$WORK/backtest_peer.py"
cat >"$PEER" <<'PYEOF'
"""Prophet's cross_validation and performance_metrics on a ds,y file, timed."""
import json, logging, resource, sys, time
import numpy as np, pandas as pd
logging.getLogger("cmdstanpy").setLevel(logging.ERROR)
logging.getLogger("prophet").setLevel(logging.ERROR)
from prophet import Prophet
from prophet.diagnostics import cross_validation, performance_metrics
path, horizon, period, initial, samples, out = sys.argv[1:7]
df = pd.read_csv(path); df["ds"] = pd.to_datetime(df["ds"])
m = Prophet(uncertainty_samples=int(samples)).fit(df)
def cpu():  # this process and its finished children (cmdstan runs each fit as one)
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
np.random.seed(0)
t0, c0 = time.perf_counter(), cpu()
cv = cross_validation(m, horizon=horizon, period=period or None, initial=initial or None, disable_tqdm=True)
pm = performance_metrics(cv)
s, c = time.perf_counter() - t0, cpu() - c0
pm.to_csv(out, index=False, float_format="%.10g")
print(json.dumps({"seconds": s, "cpu_seconds": c, "cutoffs": sorted(str(c) for c in cv["cutoff"].unique()), "rows": len(cv)}))
PYEOF

TIMER="$WORK/timed.py"
cat >"$TIMER" <<'PYEOF'
"""Runs a command; prints its wall and CPU (user + system, children included) seconds to the
millisecond (/usr/bin/time rounds both to 10 ms, a sixth of a 60 ms run)."""
import resource, subprocess, sys, time
r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
rc = subprocess.run(sys.argv[1:]).returncode
t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{t1 - t0:.4f}:{r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime:.4f}")
sys.exit(rc)
PYEOF

run_hs() { # run_hs CASE SAMPLES OUT: one hyscale backtest, prints its wall and CPU seconds
  # the cutoffs run in parallel (OpenMP); each fit's own GEMMs stay on one thread
  OMP_NUM_THREADS=$NCORES OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python3 "$TIMER" \
    taskset -c "$CORES" "$HS" backtest --input "${INPUT[$1]}" --out "$3" ${ARGS[$1]} --uncertainty-samples "$2" \
    --no-plot --quiet
}

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
for c in "${CASE_LIST[@]}"; do
  IFS='|' read -r ph pp pi <<<"${PARGS[$c]}"
  for samples in 1000 0; do
    say "$c, $samples uncertainty samples: Prophet ($PREPS x)"
    pt=()
    for r in $(seq 1 "$PREPS"); do
      taskset -c "$CORES" "$PY" "$PEER" "${INPUT[$c]}" "$ph" "$pp" "$pi" "$samples" "$WORK/prophet_$c.csv" \
        >"$WORK/prophet_$c.json" 2>"$WORK/prophet_$c.log" || { tail -5 "$WORK/prophet_$c.log" >&2; die "Prophet failed"; }
      pt+=("$(python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(f\"{j['seconds']}:{j['cpu_seconds']}\")" \
        "$WORK/prophet_$c.json")")
    done
    say "$c, $samples uncertainty samples: hyscale (validate, then $REPS x)"
    run_hs "$c" "$samples" "$WORK/hs_$c" >/dev/null
    python3 - "$WORK/hs_$c" "$WORK/prophet_$c.csv" "$WORK/prophet_$c.json" <<'PYEOF' || die "$c: validation failed"
import csv, json, sys
out, ref_csv, ref_json = sys.argv[1:4]
got = json.load(open(f"{out}/backtest.manifest.json"))["backtest"]["cutoffs"]
want = json.load(open(ref_json))["cutoffs"]
assert got == want, f"cutoffs differ: {got} vs {want}"
a = list(csv.DictReader(open(f"{out}/backtest_metrics.csv")))
b = list(csv.DictReader(open(ref_csv)))
assert [r["horizon"] for r in a] == [r["horizon"] for r in b], "horizons differ"
worst = max(abs(float(x["mse"]) - float(y["mse"])) / abs(float(y["mse"])) for x, y in zip(a, b))
assert worst <= 0.06, f"mse {100 * worst:.2f}% from Prophet's"
print(f"backtest_bench: valid: {len(got)} cutoffs, {len(a)} horizons, mse within {100 * worst:.2f}%", file=sys.stderr)
PYEOF
    ht=()
    for r in $(seq 1 "$REPS"); do ht+=("$(run_hs "$c" "$samples" "$WORK/hs_$c")"); done
    python3 - "$c" "$samples" "${pt[*]}" "${ht[*]}" >>"$RESULTS" <<'PYEOF'
import json, statistics, sys
c, samples, pt, ht = sys.argv[1:5]
med = lambda runs, k: statistics.median(float(x.split(":")[k]) for x in runs.split())
p, h, pc, hc = med(pt, 0), med(ht, 0), med(pt, 1), med(ht, 1)
print(json.dumps({"case": c, "uncertainty_samples": int(samples), "prophet_seconds": p, "hyscale_seconds": h,
                  "ratio": p / h, "prophet_cpu_seconds": pc, "hyscale_cpu_seconds": hc, "cpu_ratio": pc / hc,
                  "prophet_runs": pt.split(), "hyscale_runs": ht.split()}))
PYEOF
  done
done

mkdir -p "$REPO/bench/results"
OUT="$REPO/bench/results/backtest_$(date -u +%Y%m%dT%H%M%SZ).json"
python3 - "$RESULTS" "$OUT" "$HS_VERSION" "$CORES" "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'PYEOF'
import json, sys
res, out, version, cores, rev = sys.argv[1:6]
rows = [json.loads(l) for l in open(res)]
cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(" :\t")
json.dump({"bench": "backtest vs Prophet cross_validation", "hyscale": version, "git": rev, "cores": cores,
           "cpu": cpu, "hyscale_env": "OMP_NUM_THREADS=<cores> OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE",
           "results": rows}, open(out, "w"), indent=1)
print(f"{'case':8} {'interval':>9} {'Prophet s':>10} {'hyscale s':>10} {'ratio':>7}   "
      f"{'Prophet CPU s':>13} {'hyscale CPU s':>13} {'CPU ratio':>9}")
for r in rows:
    print(f"{r['case']:8} {r['uncertainty_samples']:>9} {r['prophet_seconds']:>10.2f} {r['hyscale_seconds']:>10.3f} "
          f"{r['ratio']:>6.0f}x   {r['prophet_cpu_seconds']:>13.2f} {r['hyscale_cpu_seconds']:>13.3f} "
          f"{r['cpu_ratio']:>8.0f}x")
met = lambda k: "met" if all(r[k] >= 50 for r in rows) else "not met everywhere"
print(f"goal: at least 50x: wall {met('ratio')}, CPU {met('cpu_ratio')}; written to {out}")
PYEOF
