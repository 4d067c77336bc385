#!/usr/bin/env bash
# prophet_functions_bench.sh: `hyscale forecast prophet --per-function N`: Prophet fits per
# second on the built-in trace (14 days per minute, N functions, one-day holdout), the goal of
# issue 14 being 1,000 fits in under 2 s on 2 cores.
#
# Validates first (one run: N functions in prophet_functions.csv, every score finite, a
# (N, minutes, 8) forecast8 tensor), then times BENCH_REPS runs on BENCH_CORES cores (taskset,
# OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set to their count). Times are measured inside the
# process (prophet_functions_metrics.json): fit_seconds (the shared design and Gram matrix, D'Y
# and every function's exact MAP), fit_cpu_seconds (the same over every thread: what the fit
# costs on a busy machine), clean_seconds (spike clipping and log1p, the cleaning every
# per-function stage shares) and predict_seconds (every forecast and the forecast8 tensor);
# medians printed and written to bench/results/prophet_functions_<UTC time>.json.
#
# env: BENCH_FUNCTIONS (1000), BENCH_REPS (5), BENCH_CORES (0,1), BENCH_WORK
#      (/tmp/hyscale-pfbench), HYSCALE_BIN (skip the build).
# exit codes: 0 success, 1 any failure (build, a failed run, a validation failure).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${BENCH_FUNCTIONS:-1000}
REPS=${BENCH_REPS:-5}
CORES=${BENCH_CORES:-0,1}
WORK=${BENCH_WORK:-/tmp/hyscale-pfbench}

die() { echo "prophet_functions_bench: error: $*" >&2; exit 1; }
say() { echo "prophet_functions_bench: $*" >&2; }
trap 'echo "prophet_functions_bench: error: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

[[ $N =~ ^[0-9]+$ && $N -ge 1 ]] || die "BENCH_FUNCTIONS must be a positive integer (got '$N')"
[[ $REPS =~ ^[0-9]+$ && $REPS -ge 1 ]] || die "BENCH_REPS must be a positive integer (got '$REPS')"
case "$WORK" in "$REPO"|"$REPO"/*) die "BENCH_WORK must be outside the repository" ;; esac
command -v taskset >/dev/null || die "taskset not found (util-linux)"
taskset -c "$CORES" true || die "cannot pin to cores $CORES"
NCORES=$(awk -F, '{print NF}' <<<"$CORES")
mkdir -p "$WORK"

# shellcheck source=lib.sh
source "$REPO/bench/lib.sh"
hs_bench_hyscale build-pfbench

SYN="$WORK/synth-d14-f$N"
STAMP="days=14 functions=$N seed=1 hyscale=$HS_VERSION"
if [[ -f "$SYN/.bench-stamp" && "$(cat "$SYN/.bench-stamp")" == "$STAMP" ]]; then
  say "reusing $SYN/pre"
else
  say "generating the built-in trace (14 days x $N functions) and preprocessing it"
  rm -rf "$SYN"
  "$HS" generate --days 14 --functions "$N" --seed 1 --out "$SYN/trace" --quiet
  "$HS" preprocess --input "$SYN/trace" --out "$SYN/pre" --functions "$N" --no-plot --quiet
  echo "$STAMP" >"$SYN/.bench-stamp"
fi

run() { # run OUT: one timed run into OUT
  OMP_NUM_THREADS=$NCORES OPENBLAS_NUM_THREADS=$NCORES taskset -c "$CORES" \
    "$HS" forecast prophet --input "$SYN/pre/series.csv" --out "$1" --holdout 1440 --per-function "$N" --quiet
}

say "validating"
run "$WORK/out"
python3 - "$WORK/out" "$N" <<'PYEOF' || die "validation failed"
import json, math, struct, sys
out, n = sys.argv[1], int(sys.argv[2])
rows = open(f"{out}/prophet_functions.csv").read().split("\n")[1:-1]
assert len(rows) == n, f"{len(rows)} functions in prophet_functions.csv, want {n}"
for r in rows:
    assert all(math.isfinite(float(v)) for v in r.split(",")[1:]), r
with open(f"{out}/prophet_functions_forecast8.safetensors", "rb") as f:
    hl = struct.unpack("<Q", f.read(8))[0]
    shape = json.loads(f.read(hl))["forecast8"]["shape"]
assert shape[0] == n and shape[2] == 8, shape
print(f"prophet_functions_bench: valid: {n} functions, forecast8 {shape}", file=sys.stderr)
PYEOF

for r in $(seq 1 "$REPS"); do
  run "$WORK/out"
  cp "$WORK/out/prophet_functions_metrics.json" "$WORK/metrics_$r.json"
done

mkdir -p "$REPO/bench/results"
RES="$REPO/bench/results/prophet_functions_$(date -u +%Y%m%dT%H%M%SZ).json"
python3 - "$WORK" "$REPS" "$N" "$CORES" "$HS_VERSION" "$RES" "$(nproc)" "$(uptime)" \
  "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'PYEOF'
import json, statistics, sys
work, reps, n, cores, version, res, nproc, up, rev = sys.argv[1:10]
ms = [json.load(open(f"{work}/metrics_{r}.json")) for r in range(1, int(reps) + 1)]
med = {k: statistics.median(m[k] for m in ms)
       for k in ("fit_seconds", "fit_cpu_seconds", "clean_seconds", "predict_seconds")}
cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(" :\t")
out = {"bench": "prophet per function", "functions": int(n), "points": ms[0]["points"],
       "train_points": ms[0]["train_points"], "cores": cores, "repetitions": int(reps),
       "median": med, "fits_per_second": int(n) / med["fit_seconds"],
       "fits_per_cpu_second": int(n) / med["fit_cpu_seconds"], "hyscale": version, "git": rev, "cpu": cpu,
       "machine_cpus": int(nproc), "load": up.strip()}
json.dump(out, open(res, "w"), indent=1)
print(f"{n} per-function Prophet fits of {ms[0]['train_points']} points on cores {cores} "
      f"(median of {reps}):\n"
      f"  fit      {med['fit_seconds']:.3f} s  ({out['fits_per_second']:.0f} fits/s; "
      f"{med['fit_cpu_seconds']:.3f} s of CPU, {out['fits_per_cpu_second']:.0f} fits per CPU second)\n"
      f"  clean    {med['clean_seconds']:.3f} s  (spike clipping and log1p)\n"
      f"  forecast {med['predict_seconds']:.3f} s  (every minute and the forecast8 tensor)\n"
      f"  goal: 1,000 fits in under 2 s on 2 cores: {'met' if med['fit_seconds'] * 1000 / int(n) < 2 else 'NOT met'}"
      f"\n  written to {res}")
PYEOF
