#!/usr/bin/env bash
# ppo_bench.sh: the autoscaling environment and PPO on the CPU, hyscale (bench/bench_ppo.c) beside
# a CleanRL-style PyTorch implementation of the same environment and PPO (bench/ppo_peer.py), in
# one run, on the same machine and series, with the same threads. See bench/README.md.
#
# For E in {64, 256, 1024}: environment steps per second of the environment alone (random
# actions), of rollouts with the policy (forward, sample, step), and of PPO training (rollout of
# T = 128, GAE, 4 epochs x 8 minibatches). Each side validates first (finite observations,
# rewards and losses); hyscale and PyTorch run back to back per row, so a load change hits both.
#
# env: TORCH_PYTHON   a Python that already imports torch (skips the venv)
#      BENCH_THREADS  threads for both sides (default: online cores)
#      BENCH_ENVS     space-separated E values (default "64 256 1024")
#      BENCH_TRAIN_UPDATES  PPO updates timed per E (default 3), BENCH_ENV_STEPS (default 2000000)
#      HYSCALE_BENCH_PPO    use this bench_ppo binary instead of building build-pbench/
# exit codes: 0 success, 1 any failure (the table is still printed with the failed side empty).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_BEGIN=$(date +%s)
say() { printf '[ppo_bench %3ds] %s\n' $(($(date +%s) - T_BEGIN)) "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }
THREADS=${BENCH_THREADS:-$(getconf _NPROCESSORS_ONLN)}
ENVS=${BENCH_ENVS:-"64 256 1024"}
UPDATES=${BENCH_TRAIN_UPDATES:-3}
ENV_STEPS=${BENCH_ENV_STEPS:-2000000}
BUILD="$REPO/build-pbench"
WORK=$(mktemp -d /tmp/hyscale-pbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
source "$REPO/bench/lib.sh"

# --- 1. PyTorch (the same venv as the LSTM benchmark) -----------------------------------------
hs_bench_torch

# --- 2. hyscale: bench_ppo and the program (for the series) -----------------------------------
if [[ -n ${HYSCALE_BENCH_PPO:-} ]]; then
  BP=$HYSCALE_BENCH_PPO
  HS=$(dirname "$BP")/hyscale
else
  say "building bench_ppo and hyscale in $BUILD (Release, HS_CUDA=OFF)"
  { cmake -S "$REPO" -B "$BUILD" -DHS_CUDA=OFF -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF &&
    cmake --build "$BUILD" -j"$THREADS" --target bench_ppo hyscale; } >"$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log" >&2; die "build failed"; }
  BP="$BUILD/bench_ppo"
  HS="$BUILD/hyscale"
fi

# --- 3. the series: the built-in synthetic trace, 6 days, preprocessed ------------------------
"$HS" generate --out "$WORK/trace" --days 6 --functions 300 --quiet || die "generate failed"
"$HS" preprocess --input "$WORK/trace" --out "$WORK/pre" --quiet || die "preprocess failed"
SERIES="$WORK/pre/series.csv"
GIT_REV=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
CPU=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
unset OPENBLAS_CORETYPE
say "series: 6 synthetic days (holdout 1440); threads $THREADS on both sides; CPU: $CPU"

# --- 4. the runs ------------------------------------------------------------------------------
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$REPO/bench/results"
CSV="$REPO/bench/results/ppo_$STAMP.csv"
echo "mode,envs,hyscale_steps_per_s,pytorch_steps_per_s,ratio,cpu,threads,git_rev" >"$CSV"
FAIL=0
run_side() { # impl mode E total -> steps/s or empty
  local out
  if [[ $1 == hyscale ]]; then
    out=$("$BP" --series "$SERIES" --mode "$2" --envs "$3" --steps 128 --total-steps "$4" 2>"$WORK/err") || { cat "$WORK/err" >&2; return 1; }
  else
    out=$("$PY" "$REPO/bench/ppo_peer.py" --series "$SERIES" --mode "$2" --envs "$3" --steps 128 --total-steps "$4" \
      --threads "$THREADS" 2>"$WORK/err") || { cat "$WORK/err" >&2; return 1; }
  fi
  "$PY" -c 'import json,sys; print(round(json.loads(sys.stdin.read().strip().splitlines()[-1])["steps_per_second"]))' <<<"$out"
}
printf '\n%-8s %6s %16s %16s %8s\n' mode E hyscale/s pytorch/s ratio
for E in $ENVS; do
  for MODE in env rollout train; do
    case $MODE in
      env) TOTAL=$ENV_STEPS; PT_TOTAL=$((E * 128 * 4)) ;;
      rollout) TOTAL=$((E * 128 * 20)); PT_TOTAL=$((E * 128 * 4)) ;;
      train) TOTAL=$((E * 128 * UPDATES)); PT_TOTAL=$((E * 128 * UPDATES)) ;;
    esac
    H=$(run_side hyscale $MODE "$E" $TOTAL) || { FAIL=1; H=""; }
    P=$(run_side pytorch $MODE "$E" $PT_TOTAL) || { FAIL=1; P=""; }
    R=""
    [[ -n $H && -n $P ]] && R=$(awk -v h="$H" -v p="$P" 'BEGIN { printf "%.1f", h / p }')
    printf '%-8s %6s %16s %16s %8s\n' "$MODE" "$E" "$H" "$P" "${R:+${R}x}"
    echo "$MODE,$E,$H,$P,$R,\"$CPU\",$THREADS,$GIT_REV" >>"$CSV"
  done
done
say "results: $CSV"
exit $FAIL
