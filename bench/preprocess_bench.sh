#!/usr/bin/env bash
# preprocess_bench.sh: throughput and peak memory of `hyscale preprocess` beside pandas.
#
# Generates a synthetic multi-day Azure 2019 trace under /tmp, checks that hyscale's per-minute
# aggregate equals pandas' exactly on the same files, then times on ONE core (taskset -c 0,
# one thread for every math library): hyscale aggregate only (--functions 0), hyscale with the
# top-100 matrix (--functions 100), and bench/pandas_peer.py (read_csv + per-minute sum).
# Warm-up run, then the median of BENCH_REPS runs on a monotonic clock. Results go to
# bench/results/preprocess_<UTC date>.{json,csv} with the CPU model and the git revision.
# See bench/README.md.
#
# env: BENCH_DAYS (14), BENCH_FUNCTIONS (12000), BENCH_REPS (3), BENCH_SEED (1),
#      BENCH_WORK (/tmp/hyscale-bench: trace and run outputs), HYSCALE_BIN (skip the build),
#      BENCH_CORE (0: the core every timed process is pinned to).
# exit codes: 0 success, 1 any failure (build, generation, validation mismatch, a failed run).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DAYS=${BENCH_DAYS:-14}
FUNCS=${BENCH_FUNCTIONS:-12000}
REPS=${BENCH_REPS:-3}
SEED=${BENCH_SEED:-1}
CORE=${BENCH_CORE:-0}
TOPN=100
WORK=${BENCH_WORK:-/tmp/hyscale-bench}
VENV="$REPO/bench/.venv"
PY="$VENV/bin/python"

die() { echo "preprocess_bench: error: $*" >&2; exit 1; }
say() { echo "preprocess_bench: $*" >&2; }
trap 'echo "preprocess_bench: error: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

for v in DAYS FUNCS REPS SEED CORE; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
((DAYS >= 2)) || die "BENCH_DAYS must be at least 2 (the memory check compares 2 days with all)"
((FUNCS >= 1)) || die "BENCH_FUNCTIONS must be at least 1"
((REPS >= 1)) || die "BENCH_REPS must be at least 1"
case "$WORK" in "$REPO"|"$REPO"/*) die "BENCH_WORK must be outside the repository" ;; esac
command -v taskset >/dev/null || die "taskset not found (util-linux)"
taskset -c "$CORE" true || die "cannot pin to core $CORE"
mkdir -p "$WORK"

# --- 1. Python with pandas ---------------------------------------------------------------
if ! { [[ -x "$PY" ]] && "$PY" -c 'import pandas' 2>/dev/null; }; then
  say "setting up $VENV with pandas"
  [[ -x "$PY" ]] || python3 -m venv "$VENV"
  "$PY" -m pip install --quiet --disable-pip-version-check pandas
  "$PY" -c 'import pandas' || die "pandas does not import in $VENV"
fi

# --- 2. hyscale -------------------------------------------------------------------------
# shellcheck source=lib.sh
source "$REPO/bench/lib.sh"
hs_bench_hyscale build-bench

# --- 3. the trace (reused when the parameters match) -------------------------------------
est_mb=$((DAYS * FUNCS * 3 / 1000))          # ~3 MB a day per 1000 functions
TRACE="$WORK/trace-d${DAYS}-f${FUNCS}-s${SEED}"
STAMP="days=$DAYS functions=$FUNCS seed=$SEED"
if [[ ! -f "$TRACE/.bench-stamp" || "$(cat "$TRACE/.bench-stamp")" != "$STAMP" ]]; then
  avail_mb=$(($(df -Pk "$WORK" | awk 'NR == 2 { print $4 }') / 1024))
  if ((avail_mb < 3072)); then
    new=$((avail_mb * 1000 / 3 / (DAYS * 3)))   # trace <= a third of the free space
    ((new >= 100)) || die "only ${avail_mb} MB free under $WORK"
    if ((new < FUNCS)); then
      say "warning: only ${avail_mb} MB free under $WORK: functions $FUNCS -> $new"
      FUNCS=$new
      est_mb=$((DAYS * FUNCS * 3 / 1000))
      TRACE="$WORK/trace-d${DAYS}-f${FUNCS}-s${SEED}"
      STAMP="days=$DAYS functions=$FUNCS seed=$SEED"
    fi
  fi
fi
if [[ -f "$TRACE/.bench-stamp" && "$(cat "$TRACE/.bench-stamp")" == "$STAMP" ]]; then
  say "reusing trace $TRACE"
else
  say "generating $DAYS days x $FUNCS functions (~${est_mb} MB) into $TRACE"
  rm -rf "$TRACE"
  "$HS" generate --days "$DAYS" --functions "$FUNCS" --seed "$SEED" --out "$TRACE" --quiet
  echo "$STAMP" >"$TRACE/.bench-stamp"
fi
mapfile -t DAYFILES < <(find "$TRACE" -maxdepth 1 -name 'invocations_per_function_md.anon.d*.csv' | sort)
((${#DAYFILES[@]} == DAYS)) || die "$TRACE holds ${#DAYFILES[@]} day files, expected $DAYS"

# --- helpers: timing harness, validation, report (Python, standard library only) ---------
HELP="$WORK/bench_helpers.py"
cat >"$HELP" <<'PYEOF'
"""Helpers for preprocess_bench.sh: timed (run a command N times), validate, report."""
import csv, json, os, shutil, statistics, subprocess, sys, time

def timed(argv):
    # timed NAME WARMUP REPS OUTJSON KIND(hyscale|pandas) INFO_JSON CLEAN_DIR TIME_V -- cmd...
    name, warmup, reps, out, kind, info, clean, time_v = argv[:8]
    assert argv[8] == "--"
    cmd = argv[9:]
    warmup, reps, time_v = int(warmup), int(reps), time_v == "1"
    runs = []
    for i in range(warmup + reps):
        if clean != "-":
            shutil.rmtree(clean, ignore_errors=True)
        if os.path.exists(info):
            os.remove(info)
        rss_file = out + ".timev"
        full = (["/usr/bin/time", "-v", "-o", rss_file] if time_v else []) + cmd
        t0 = time.perf_counter()                      # monotonic
        with open(out + ".log", "a") as log:
            rc = subprocess.run(full, stdout=log, stderr=subprocess.STDOUT).returncode
        wall = time.perf_counter() - t0
        if rc != 0:
            sys.exit(f"timed {name}: run {i} exited {rc}: {' '.join(full)} (log {out}.log)")
        with open(info) as f:
            j = json.load(f)
        r = {"wall_seconds": wall}
        if kind == "hyscale":
            r["inner_seconds"] = j["timings"]["total_seconds"]
            r["read_seconds"] = j["timings"]["read_seconds"]
            r["self_rss_kib"] = j["timings"]["peak_rss_kib"]
            m = j["metrics"]
            r.update(files=m["files"], bytes=m["bytes"], rows=m["rows"],
                     invocations=m["invocations"])
        else:
            r["inner_seconds"] = j["seconds"]
            r["self_rss_kib"] = j["peak_rss_kib"]
            r.update(files=j["files"], bytes=j["bytes"], rows=j["rows"],
                     invocations=j["invocations"], pandas_version=j["pandas_version"])
        r["rss_kib"] = r["self_rss_kib"]
        if time_v:
            for line in open(rss_file):
                if "Maximum resident set size" in line:
                    r["rss_kib"] = int(line.rsplit(":", 1)[1])
            r["rss_source"] = "/usr/bin/time -v"
        else:
            r["rss_source"] = "manifest peak_rss_kib" if kind == "hyscale" else "getrusage"
        r["warmup"] = i < warmup
        runs.append(r)
        print(f"  {name} {'warm-up' if r['warmup'] else 'run ' + str(i - warmup + 1)}: "
              f"{wall:.3f} s wall, {r['inner_seconds']:.3f} s inner, "
              f"{r['rss_kib'] / 1024:.1f} MiB", file=sys.stderr)
    timed_runs = [r for r in runs if not r["warmup"]]
    res = {"name": name, "kind": kind, "command": cmd, "reps": reps, "warmup": warmup,
           "runs": runs}
    for k in ("wall_seconds", "inner_seconds"):
        v = [r[k] for r in timed_runs]
        res[k] = {"median": statistics.median(v), "min": min(v), "max": max(v)}
    res["peak_rss_kib"] = max(r["rss_kib"] for r in timed_runs)
    res["rss_source"] = timed_runs[0]["rss_source"]
    for k in ("files", "bytes", "rows", "invocations", "pandas_version"):
        if k in timed_runs[0]:
            res[k] = timed_runs[0][k]
    with open(out, "w") as f:
        json.dump(res, f, indent=1)

def read_col(path, col):
    with open(path) as f:
        rd = csv.DictReader(f)
        return [int(row[col]) for row in rd]

def validate(argv):
    # validate PANDAS_CSV PANDAS_JSON DAYS HYSCALE_OUT...
    ref = read_col(argv[0], "invocations")
    pj = json.load(open(argv[1]))
    days = int(argv[2])
    bad = []
    if len(ref) != days * 1440:
        bad.append(f"pandas series has {len(ref)} minutes, expected {days * 1440}")
    for out in argv[3:]:
        got = read_col(os.path.join(out, "series.csv"), "invocations")
        man = json.load(open(os.path.join(out, "manifest.json")))["metrics"]
        if len(got) != len(ref):
            bad.append(f"{out}: {len(got)} minutes, pandas {len(ref)}")
        else:
            diff = [i for i in range(len(ref)) if got[i] != ref[i]]
            if diff:
                i = diff[0]
                bad.append(f"{out}: {len(diff)} minutes differ, first minute {i}: "
                           f"hyscale {got[i]}, pandas {ref[i]}")
        for k, want in (("invocations", sum(ref)), ("rows", pj["rows"]), ("bytes", pj["bytes"]),
                        ("files", pj["files"])):
            if man[k] != want:
                bad.append(f"{out}: manifest metrics.{k} = {man[k]}, pandas {want}")
        if sum(got) != sum(ref):
            bad.append(f"{out}: series.csv sums to {sum(got)}, pandas {sum(ref)}")
    if bad:
        print("validate: FAIL\n  " + "\n  ".join(bad), file=sys.stderr)
        sys.exit(1)
    print(f"validate: PASS: {len(argv) - 3} hyscale outputs equal pandas on all {len(ref)} "
          f"minutes ({sum(ref)} invocations, {pj['rows']} rows)", file=sys.stderr)

def report(argv):
    # report META_JSON OUT_JSON OUT_CSV AGG FULL PANDAS MEM2
    meta = json.load(open(argv[0]))
    out_json, out_csv = argv[1], argv[2]
    agg, full, pd_, mem2 = (json.load(open(p)) for p in argv[3:7])
    pd_s = pd_["inner_seconds"]["median"]
    labels = {agg["name"]: "hyscale --functions 0", full["name"]: "hyscale --functions 100",
              pd_["name"]: "pandas read_csv+sum", mem2["name"]: "hyscale --functions 0 (2 days)"}
    rows = []
    for r in (agg, full, pd_, mem2):
        # hyscale: wall time of the whole process (start to exit, outputs written);
        # pandas: read_csv + sum only (no interpreter start, no import), as the peer is defined.
        s = r["inner_seconds"]["median"] if r["kind"] == "pandas" else r["wall_seconds"]["median"]
        rows.append({
            "case": r["name"], "tool": labels[r["name"]], "files": r["files"], "bytes": r["bytes"],
            "mb": r["bytes"] / 1e6, "rows": r["rows"], "invocations": r["invocations"],
            "seconds_median": s,
            "seconds_basis": "read+sum in process" if r["kind"] == "pandas" else "process wall",
            "wall_seconds_median": r["wall_seconds"]["median"],
            "wall_seconds_min": r["wall_seconds"]["min"], "wall_seconds_max": r["wall_seconds"]["max"],
            "inner_seconds_median": r["inner_seconds"]["median"],
            "mb_per_s": r["bytes"] / 1e6 / s, "rows_per_s": r["rows"] / s,
            "peak_rss_mib": r["peak_rss_kib"] / 1024, "rss_source": r["rss_source"],
            "speedup_vs_pandas": (pd_s / s) if r is not mem2 else None,
            "cpu": meta["cpu"], "git_revision": meta["git_revision"], "reps": r["reps"],
        })
    mem = {"days_2_peak_rss_mib": mem2["peak_rss_kib"] / 1024,
           f"days_{meta['params']['days']}_peak_rss_mib": agg["peak_rss_kib"] / 1024,
           "ratio_all_over_2": agg["peak_rss_kib"] / mem2["peak_rss_kib"]}
    meta["results"] = rows
    meta["memory_vs_days"] = mem
    meta["raw"] = {r["name"]: r for r in (agg, full, pd_, mem2)}
    with open(out_json, "w") as f:
        json.dump(meta, f, indent=1)
    with open(out_csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    p = meta["params"]
    print(f"\npreprocess benchmark: {p['days']} days x {p['functions']} functions, one core "
          f"({meta['cpu']}), median of {p['reps']} after a warm-up, git {meta['git_revision']}")
    hdr = f"{'tool':<24}{'files':>6}{'MB':>9}{'rows':>9}{'seconds':>9}{'MB/s':>8}" \
          f"{'rows/s':>10}{'RSS MiB':>9}{'vs pandas':>10}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows[:3]:
        print(f"{r['tool']:<24}{r['files']:>6}{r['mb']:>9.1f}{r['rows']:>9}"
              f"{r['seconds_median']:>9.3f}{r['mb_per_s']:>8.1f}{r['rows_per_s']:>10.0f}"
              f"{r['peak_rss_mib']:>9.1f}{r['speedup_vs_pandas']:>9.2f}x")
    print(f"peak RSS, hyscale --functions 0: {mem2['files']} days {mem['days_2_peak_rss_mib']:.1f} "
          f"MiB, {agg['files']} days {agg['peak_rss_kib'] / 1024:.1f} MiB "
          f"(x{mem['ratio_all_over_2']:.2f})")
    print(f"seconds: hyscale = process wall time; pandas = read_csv + sum inside the process "
          f"(its process wall: {pd_['wall_seconds']['median']:.3f} s). RSS: {agg['rss_source']}.")
    print(f"written: {out_json}\n         {out_csv}")

if __name__ == "__main__":
    {"timed": timed, "validate": validate, "report": report}[sys.argv[1]](sys.argv[2:])
PYEOF

TIME_V=0
if [[ -x /usr/bin/time ]] && /usr/bin/time -v -o /dev/null true 2>/dev/null; then TIME_V=1; fi
say "peak RSS from $( ((TIME_V)) && echo '/usr/bin/time -v' || echo 'manifest peak_rss_kib / getrusage')"

# one core, one thread everywhere
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMEXPR_NUM_THREADS=1
PIN=(taskset -c "$CORE")
RUNS="$WORK/runs"
rm -rf "$RUNS"
mkdir -p "$RUNS"

# --- 4. validate before timing ------------------------------------------------------------
say "validating: hyscale aggregate == pandas per-minute sum on the same files"
"$PY" "$REPO/bench/pandas_peer.py" --series-csv "$RUNS/pandas_series.csv" \
  --json "$RUNS/pandas_check.json" "${DAYFILES[@]}"
for n in 0 "$TOPN"; do
  "$HS" preprocess --input "${DAYFILES[@]}" --out "$RUNS/check_f$n" --functions "$n" \
    --no-plot --quiet
done
"$PY" "$HELP" validate "$RUNS/pandas_series.csv" "$RUNS/pandas_check.json" "$DAYS" \
  "$RUNS/check_f0" "$RUNS/check_f$TOPN"

# --- 5./6. timing -------------------------------------------------------------------------
timed_hyscale() {  # NAME FUNCTIONS FILES...
  local name=$1 n=$2
  shift 2
  "$PY" "$HELP" timed "$name" 1 "$REPS" "$RUNS/$name.json" hyscale "$RUNS/$name/manifest.json" \
    "$RUNS/$name" "$TIME_V" -- "${PIN[@]}" "$HS" preprocess --input "$@" --out "$RUNS/$name" \
    --functions "$n" --no-plot --quiet
}
say "timing on core $CORE: warm-up + $REPS runs each"
timed_hyscale hyscale_f0 0 "${DAYFILES[@]}"
timed_hyscale hyscale_f$TOPN "$TOPN" "${DAYFILES[@]}"
"$PY" "$HELP" timed pandas 1 "$REPS" "$RUNS/pandas.json" pandas "$RUNS/pandas_run.json" - \
  "$TIME_V" -- "${PIN[@]}" "$PY" "$REPO/bench/pandas_peer.py" --json "$RUNS/pandas_run.json" \
  "${DAYFILES[@]}"
timed_hyscale hyscale_f0_2days 0 "${DAYFILES[@]:0:2}"

# --- 7. report ----------------------------------------------------------------------------
mkdir -p "$REPO/bench/results"
STAMP_UTC=$(date -u +%Y%m%dT%H%M%SZ)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
GIT_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$([[ -n "$(git -C "$REPO" status --porcelain 2>/dev/null)" ]] && echo true || echo false)
META="$RUNS/meta.json"
B_DATE=$STAMP_UTC B_CPU=$CPU B_NCPU=$(getconf _NPROCESSORS_ONLN) B_CORE=$CORE B_KERNEL=$(uname -r) B_GIT=$GIT_REV \
B_DIRTY=$GIT_DIRTY B_HSV=$HS_VERSION B_HS=$HS B_BUILD=$BUILD_TYPE B_DAYS=$DAYS B_FUNCS=$FUNCS \
B_SEED=$SEED B_REPS=$REPS B_TOPN=$TOPN B_TRACE=$TRACE "$PY" - "$META" <<'PYEOF'
import json, os, sys
import numpy, pandas
e = os.environ
json.dump({
    "benchmark": "preprocess", "date_utc": e["B_DATE"],
    "cpu": e["B_CPU"], "cpus_online": int(e["B_NCPU"]), "pinned_core": int(e["B_CORE"]),
    "kernel": e["B_KERNEL"], "git_revision": e["B_GIT"], "git_dirty": e["B_DIRTY"] == "true",
    "hyscale_version": e["B_HSV"], "hyscale_binary": e["B_HS"], "build_type": e["B_BUILD"],
    "pandas_version": pandas.__version__, "numpy_version": numpy.__version__,
    "python_version": sys.version.split()[0],
    "params": {"days": int(e["B_DAYS"]), "functions": int(e["B_FUNCS"]), "seed": int(e["B_SEED"]),
               "reps": int(e["B_REPS"]), "warmup": 1, "top_n": int(e["B_TOPN"]),
               "trace": e["B_TRACE"], "synthetic": True},
    "threads": "taskset -c CORE; OMP/OPENBLAS/MKL/NUMEXPR_NUM_THREADS=1",
    "validation": "PASS: hyscale series.csv invocations == pandas per-minute sum on every minute",
}, open(sys.argv[1], "w"), indent=1)
PYEOF
"$PY" "$HELP" report "$META" "$REPO/bench/results/preprocess_$STAMP_UTC.json" \
  "$REPO/bench/results/preprocess_$STAMP_UTC.csv" "$RUNS/hyscale_f0.json" \
  "$RUNS/hyscale_f$TOPN.json" "$RUNS/pandas.json" "$RUNS/hyscale_f0_2days.json"
