#!/usr/bin/env bash
# lstm_bench.sh: LSTM training throughput, hyscale's CPU backend (bench/bench_lstm.c) beside
# PyTorch's nn.LSTM on the CPU (bench/lstm_peer.py), in one run, on the same machine, with the
# same thread count (all online cores) on both sides. See bench/README.md.
#
# Grid: single models H in {64, 128} x L in {1, 2} x B in {256, 1024, 4096}, and the
# per-function case N = 128 models, H = 32, L = 1, B = 64 per model; window 60, one feature,
# horizon 1. One training step = forward + MSE + backward + clip_grad_norm(1.0) + Adam(1e-3).
# Each program validates before it times (finite losses, mean loss decreasing over the warm-up
# on a fixed batch), then reports the median of R repetitions of S steps on a monotonic clock.
# Per configuration hyscale and PyTorch run back to back, so a load change hits both.
#
# OpenBLAS (hyscale's GEMMs) picks its kernels from the CPU at load time; a release older than
# the CPU falls back to its generic Prescott (SSE3) kernels. When that happens on a CPU with
# AVX-512 (AVX2), hyscale is timed a second time with OPENBLAS_CORETYPE=SkylakeX (Haswell), an
# extra column: the first column is what a user of this machine gets.
#
# env: TORCH_PYTHON   a Python that already imports torch (skips the venv)
#      BENCH_THREADS  threads for both sides (default: getconf _NPROCESSORS_ONLN)
#      BENCH_CONFIGS  comma-separated H:L:B:N to run a subset (default: the grid above)
#      BENCH_STEPS, BENCH_REPS, BENCH_WARMUP  override the per-batch plan printed at the start
#      BENCH_CORETYPE_FIX  auto (default) | 0 (never) | a core name (always, that core)
#      BENCH_TORCH_INDEX_URL  another pip index for torch (default: the standard one)
#      HYSCALE_BENCH_LSTM  use this bench_lstm binary instead of building build-lbench/
# exit codes: 0 success, 1 any failure (install, build, a failed run or validation: the table is
#             still printed and written first, with the failed side empty).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_BEGIN=$(date +%s)
say() { printf '[lstm_bench %3ds] %s\n' $(($(date +%s) - T_BEGIN)) "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }

THREADS=${BENCH_THREADS:-$(getconf _NPROCESSORS_ONLN)}
CORETYPE_FIX=${BENCH_CORETYPE_FIX:-auto}
BUILD="$REPO/build-lbench"
WORK=$(mktemp -d /tmp/hyscale-lbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# --- 1. PyTorch ------------------------------------------------------------------------------
source "$REPO/bench/lib.sh"
hs_bench_torch

# --- 2. hyscale's bench_lstm -----------------------------------------------------------------
if [[ -n ${HYSCALE_BENCH_LSTM:-} ]]; then
  HS=$HYSCALE_BENCH_LSTM
else
  say "building bench_lstm in $BUILD (Release, HS_CUDA=OFF)"
  cmake -S "$REPO" -B "$BUILD" -DHS_CUDA=OFF -DCMAKE_BUILD_TYPE=Release >"$WORK/cmake.log" 2>&1 \
    || { tail -20 "$WORK/cmake.log" >&2; die "cmake configure failed"; }
  cmake --build "$BUILD" -j"$THREADS" --target bench_lstm >"$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log" >&2; die "building bench_lstm failed"; }
  HS="$BUILD/bench_lstm"
fi
[[ -x $HS ]] || die "no bench_lstm at $HS"

GIT_REV=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$([[ -n "$(git -C "$REPO" status --porcelain 2>/dev/null)" ]] && echo true || echo false)
export HS_GIT_REV=$GIT_REV
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
unset OPENBLAS_CORETYPE

# --- 3. which OpenBLAS kernels, and the fix when they are the generic ones -------------------
"$HS" --hidden 8 --layers 1 --batch 4 --models 1 --window 4 --steps 1 --reps 1 --json "$WORK/probe.json" \
  || die "bench_lstm failed on a tiny probe configuration"
OB_CONFIG=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["threads"]["openblas_config"])' \
  "$WORK/probe.json")
OB_CORE=$(sed -n 's/.* \([A-Za-z0-9_]*\) MAX_THREADS.*/\1/p' <<<"$OB_CONFIG")
FIX=""
case $CORETYPE_FIX in
  0) ;;
  auto)
    if [[ $OB_CORE =~ ^(Prescott|Core2|Katmai|Coppermine|Northwood|Penryn|Dunnington|Nehalem|Sandybridge)$ ]]; then
      if grep -qw avx512f /proc/cpuinfo; then FIX=SkylakeX
      elif grep -qw avx2 /proc/cpuinfo; then FIX=Haswell; fi
    fi ;;
  *) FIX=$CORETYPE_FIX ;;
esac
say "OpenBLAS: $OB_CONFIG"
[[ -n $FIX ]] && say "OpenBLAS chose $OB_CORE kernels on this CPU; hyscale is also timed with OPENBLAS_CORETYPE=$FIX"

# --- 4. the plan -----------------------------------------------------------------------------
# per batch size: warm-up, steps per repetition, repetitions (about 7 min in all on 2 cores)
plan() { # B -> "warmup steps reps"
  local w s r
  case $1 in
    256) w=3 s=10 r=5 ;;
    1024) w=3 s=3 r=5 ;;
    4096) w=2 s=1 r=5 ;;
    *) w=3 s=5 r=5 ;;
  esac
  echo "${BENCH_WARMUP:-$w} ${BENCH_STEPS:-$s} ${BENCH_REPS:-$r}"
}
if [[ -n ${BENCH_CONFIGS:-} ]]; then
  IFS=, read -r -a CONFIGS <<<"$BENCH_CONFIGS"
else
  CONFIGS=()
  for H in 64 128; do for L in 1 2; do for B in 256 1024 4096; do CONFIGS+=("$H:$L:$B:1"); done; done; done
  CONFIGS+=("32:1:64:128")
fi
say "threads: $THREADS on both sides (OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=$THREADS; torch.set_num_threads($THREADS))"
say "plan (window 60, features 1, horizon 1):"
for c in "${CONFIGS[@]}"; do
  IFS=: read -r H L B N <<<"$c"
  read -r w s r <<<"$(plan "$B")"
  say "  H=$H L=$L B=$B N=$N: warm-up $w, median of $r reps x $s steps"
done

# --- 5. run: per configuration hyscale, hyscale with the fix, PyTorch -------------------------
FAILED=()
SPECS=()
for c in "${CONFIGS[@]}"; do
  IFS=: read -r H L B N <<<"$c"
  read -r w s r <<<"$(plan "$B")"
  ARGS=(--hidden "$H" --layers "$L" --batch "$B" --models "$N" --window 60 --features 1 --horizon 1
        --steps "$s" --warmup "$w" --reps "$r" --seed 1)
  tag="h${H}_l${L}_b${B}_n${N}"
  cat /proc/loadavg >"$WORK/${tag}_load_before"
  say "H=$H L=$L B=$B N=$N: hyscale"
  "$HS" "${ARGS[@]}" --json "$WORK/${tag}_hs.json" || { FAILED+=("$tag hyscale"); rm -f "$WORK/${tag}_hs.json"; }
  if [[ -n $FIX ]]; then
    say "H=$H L=$L B=$B N=$N: hyscale, OPENBLAS_CORETYPE=$FIX"
    OPENBLAS_CORETYPE=$FIX "$HS" "${ARGS[@]}" --json "$WORK/${tag}_hsfix.json" \
      || { FAILED+=("$tag hyscale OPENBLAS_CORETYPE=$FIX"); rm -f "$WORK/${tag}_hsfix.json"; }
  fi
  say "H=$H L=$L B=$B N=$N: PyTorch"
  "$PY" "$REPO/bench/lstm_peer.py" "${ARGS[@]}" --threads "$THREADS" --json "$WORK/${tag}_pt.json" \
    || { FAILED+=("$tag pytorch"); rm -f "$WORK/${tag}_pt.json"; }
  cat /proc/loadavg >"$WORK/${tag}_load_after"
  SPECS+=("$tag")
done

# --- 6. report -------------------------------------------------------------------------------
mkdir -p "$REPO/bench/results"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
rc=0
B_WORK=$WORK B_DATE=$STAMP B_CPU=$CPU B_NCPU=$(getconf _NPROCESSORS_ONLN) B_THREADS=$THREADS \
B_KERNEL=$(uname -r) B_GIT=$GIT_REV B_DIRTY=$GIT_DIRTY B_TORCH=$TORCH_VERSION B_PY=$PY B_HS=$HS \
B_OB="$OB_CONFIG" B_OBCORE="$OB_CORE" B_FIX="$FIX" B_FAILED="$(printf '%s;' ${FAILED[@]+"${FAILED[@]}"})" \
B_ELAPSED=$(($(date +%s) - T_BEGIN)) \
python3 - "$REPO/bench/results/lstm_$STAMP.json" "$REPO/bench/results/lstm_$STAMP.csv" "${SPECS[@]}" <<'PYEOF' || rc=$?
import csv, json, os, sys

e = os.environ
work = e["B_WORK"]
out_json, out_csv, tags = sys.argv[1], sys.argv[2], sys.argv[3:]
fix = e["B_FIX"]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ratio(a, b):
    return None if a is None or b is None or b <= 0 else a / b


rows, raw = [], {}
for tag in tags:
    hs, hsfix, pt = (load(f"{work}/{tag}_{s}.json") for s in ("hs", "hsfix", "pt"))
    la = [open(f"{work}/{tag}_load_{w}").read().split()[0] for w in ("before", "after")]
    cfg = (hs or hsfix or pt or {}).get("config")
    h, l, b, n = tag.split("_")
    cfg = cfg or {"hidden": int(h[1:]), "layers": int(l[1:]), "batch": int(b[1:]), "models": int(n[1:]),
                  "steps": None, "reps": None, "warmup": None}
    g = lambda d, k: None if d is None else d.get(k)  # noqa: E731
    row = {
        "config": f"H={cfg['hidden']} L={cfg['layers']} B={cfg['batch']}"
                  + (f" N={cfg['models']}" if cfg["models"] > 1 else ""),
        "hidden": cfg["hidden"], "layers": cfg["layers"], "batch": cfg["batch"],
        "models": cfg["models"], "window": cfg.get("window", 60),
        "steps": cfg["steps"], "reps": cfg["reps"], "warmup": cfg["warmup"],
        "hyscale_windows_per_s": g(hs, "windows_per_second"),
        "pytorch_windows_per_s": g(pt, "windows_per_second"),
        "ratio": ratio(g(hs, "windows_per_second"), g(pt, "windows_per_second")),
        "hyscale_epoch_s": g(hs, "epoch_seconds"), "pytorch_epoch_s": g(pt, "epoch_seconds"),
        "hyscale_s_per_step": g(hs, "seconds_per_step"), "pytorch_s_per_step": g(pt, "seconds_per_step"),
        "hyscale_fix_windows_per_s": g(hsfix, "windows_per_second"),
        "ratio_fix": ratio(g(hsfix, "windows_per_second"), g(pt, "windows_per_second")),
        "hyscale_fix_epoch_s": g(hsfix, "epoch_seconds"),
        "openblas_coretype_fix": fix or None,
        "load1_before": float(la[0]), "load1_after": float(la[1]),
        "cpu": e["B_CPU"], "threads": int(e["B_THREADS"]), "git_revision": e["B_GIT"],
        "git_dirty": e["B_DIRTY"] == "true", "torch_version": e["B_TORCH"],
    }
    row["goal"] = 5.0 if cfg["models"] > 1 else 1.5
    rows.append(row)
    raw[tag] = {"hyscale": hs, "hyscale_coretype_fix": hsfix, "pytorch": pt}


def goal(key, single):
    rs = [r for r in rows if (r["models"] == 1) == single]
    if not rs:
        return None
    if any(r[key] is None for r in rs):
        return None
    return all(r[key] >= r["goal"] for r in rs)


goals = {"single_models_ratio_at_least_1.5": goal("ratio", True),
         "128_models_ratio_at_least_5": goal("ratio", False)}
if fix:
    goals[f"with_OPENBLAS_CORETYPE={fix}"] = {
        "single_models_ratio_at_least_1.5": goal("ratio_fix", True),
        "128_models_ratio_at_least_5": goal("ratio_fix", False)}
failed = [f for f in e["B_FAILED"].split(";") if f]
meta = {
    "benchmark": "lstm", "date_utc": e["B_DATE"], "cpu": e["B_CPU"],
    "cpus_online": int(e["B_NCPU"]), "threads": int(e["B_THREADS"]), "kernel": e["B_KERNEL"],
    "git_revision": e["B_GIT"], "git_dirty": e["B_DIRTY"] == "true",
    "torch_version": e["B_TORCH"], "torch_python": e["B_PY"], "bench_lstm": e["B_HS"],
    "openblas_config": e["B_OB"], "openblas_core": e["B_OBCORE"],
    "openblas_coretype_fix": fix or None,
    "thread_env": f"OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS={e['B_THREADS']}; "
                  f"torch.set_num_threads({e['B_THREADS']})",
    "step": "forward + MSE + backward + clip_grad_norm(1.0) per model + Adam(lr 1e-3); window 60, "
            "features 1, horizon 1; one fixed batch",
    "pytorch_n_models": "N separate nn.LSTM + nn.Linear modules and N Adam optimizers stepped in "
                        "a Python loop",
    "definitions": {"windows_per_second": "N * B * steps / median repetition seconds",
                    "epoch_seconds": "seconds per step * ceil(18000 / B) (18,000 windows per model)",
                    "ratio": "hyscale windows/s / PyTorch windows/s"},
    "seconds_before_report": int(e["B_ELAPSED"]),
    "goals": goals, "failed": failed, "results": rows, "raw": raw,
}
with open(out_json, "w") as f:
    json.dump(meta, f, indent=1)
with open(out_csv, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    w.writeheader()
    w.writerows(rows)


def fmt(v, nd=0):
    return "-" if v is None else f"{v:,.{nd}f}"


def fr(v):
    return "-" if v is None else f"{v:.2f}x"


print(f"\nLSTM training throughput: {e['B_CPU']}, {e['B_THREADS']} threads on both sides, "
      f"git {e['B_GIT']}{' (dirty)' if meta['git_dirty'] else ''}, PyTorch {e['B_TORCH']}, "
      f"OpenBLAS core {e['B_OBCORE']}")
hdr = (f"{'config':<20}{'hyscale w/s':>13}{'PyTorch w/s':>13}{'ratio':>8}{'hyscale s/ep':>14}"
       f"{'PyTorch s/ep':>14}")
if fix:
    hdr += f"{'hs ' + fix + ' w/s':>18}{'ratio':>8}{'s/ep':>9}"
hdr += f"{'goal':>7}{'load':>11}"
print(hdr)
print("-" * len(hdr))
for r in rows:
    line = (f"{r['config']:<20}{fmt(r['hyscale_windows_per_s']):>13}{fmt(r['pytorch_windows_per_s']):>13}"
            f"{fr(r['ratio']):>8}{fmt(r['hyscale_epoch_s'], 2):>14}{fmt(r['pytorch_epoch_s'], 2):>14}")
    if fix:
        line += (f"{fmt(r['hyscale_fix_windows_per_s']):>18}{fr(r['ratio_fix']):>8}"
                 f"{fmt(r['hyscale_fix_epoch_s'], 2):>9}")
    line += f"{r['goal']:>6.1f}x{r['load1_before']:>5.2f}/{r['load1_after']:<5.2f}"
    print(line)
print("w/s: training windows per second, all models counted (N * B * steps / s); s/ep: seconds for "
      "18,000 windows per model; ratio: hyscale / PyTorch; load: 1-min load average before/after "
      f"the configuration (well above {e['B_THREADS']} means another process shared the CPUs).")
print("PyTorch with N models: N separate nn.LSTM + nn.Linear modules and N Adams stepped in a loop.")
mn = lambda v: "n/a" if v is None else ("met" if v else "NOT met")  # noqa: E731
print(f"goals: single models ratio >= 1.5: {mn(goals['single_models_ratio_at_least_1.5'])}; "
      f"128 models ratio >= 5: {mn(goals['128_models_ratio_at_least_5'])}")
if fix:
    gf = goals[f"with_OPENBLAS_CORETYPE={fix}"]
    print(f"       with OPENBLAS_CORETYPE={fix}: single >= 1.5: "
          f"{mn(gf['single_models_ratio_at_least_1.5'])}; 128 models >= 5: "
          f"{mn(gf['128_models_ratio_at_least_5'])}")
print(f"written: {out_json}\n         {out_csv}")
if failed:
    print("lstm_bench: FAILED runs: " + "; ".join(failed), file=sys.stderr)
    sys.exit(1)
PYEOF
say "done in $(($(date +%s) - T_BEGIN)) s$( ((rc)) && echo ', FAILED (exit 1)')"
exit $((rc ? 1 : 0))
