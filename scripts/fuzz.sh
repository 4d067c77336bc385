#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...]: builds the libFuzzer targets (tests/fuzz/fuzz_*.c; CC=clang,
# -DHS_FUZZ=ON, in build-fuzz/) and runs each for SECONDS (default 600) on its seed corpus, then
# prints a table: target, runs, seconds, crashes (and slow units, inputs over 10 s: kept, not
# counted as crashes). TARGETs are names without fuzz_ (trace dsy series config lstm_weights
# ppo_policy prophet_model forecast_rows forecast8 serve_request); none: all of them.
# What a run finds is saved under tests/fuzz/crashes/<target>/ (crash-*, leak-*, timeout-*,
# oom-*) to become regression inputs (tests/fuzz/crashes/README.md); new coverage goes to
# build-fuzz/corpus/<target>/, never into the committed seeds. Exit 1 when anything was found.
#   scripts/fuzz.sh 20                 # a smoke run of every target
#   scripts/fuzz.sh 600 trace dsy      # the campaign for two readers
# Environment: HS_FUZZ_BUILD_DIR (build-fuzz), HS_FUZZ_JOBS (parallel targets, default 1: the
# machine has 2 cores and each target uses one), HS_FUZZ_ARGS (more libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}
shift || true
case "$SECONDS_EACH" in '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$SECONDS_EACH'" >&2; exit 2 ;; esac
HS_WITH_FUZZ=1 ./scripts/install-deps.sh
BUILD=${HS_FUZZ_BUILD_DIR:-build-fuzz}
CC=clang cmake -S . -B "$BUILD" -DHS_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j2 >/dev/null

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do n=$(basename "$f" .c); targets+=("${n#fuzz_}"); done
fi
for t in "${targets[@]}"; do
  [ -x "$BUILD/fuzz_$t" ] || { echo "fuzz.sh: no target fuzz_$t in $BUILD" >&2; exit 2; }
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
LOGS="$BUILD/fuzz-logs"
mkdir -p "$LOGS"

run_one() {
  local t=$1 crashes="tests/fuzz/crashes/$t" work="$BUILD/corpus/$t"
  mkdir -p "$crashes" "$work"
  local start end rc=0
  start=$(date +%s)
  # -fork style is not used: one process per target keeps the counts simple on two cores.
  # -close_fd_mask=3: the targets' own output is dropped; libFuzzer and the sanitizers write to a
  # copy of stderr, so their reports still reach the log.
  "$BUILD/fuzz_$t" "$work" "tests/fuzz/corpus/$t" -max_total_time="$SECONDS_EACH" -timeout=25 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -close_fd_mask=3 \
    -artifact_prefix="$crashes/" ${HS_FUZZ_ARGS:-} >"$LOGS/$t.log" 2>&1 || rc=$?
  end=$(date +%s)
  local runs found
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$t.log" | tail -1)
  [ -n "$runs" ] || runs=$(grep -o '^#[0-9]*' "$LOGS/$t.log" | tail -1 | tr -d '#')
  # a slow unit (libFuzzer's -report_slow_units, 10 s) is kept beside the crashes but is no crash
  found=$(grep 'Test unit written to' "$LOGS/$t.log" | grep -vc 'slow-unit-' || true)
  slow=$(grep 'Test unit written to' "$LOGS/$t.log" | grep -c 'slow-unit-' || true)
  if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi
  printf '%s %s %s %s %s\n' "$t" "${runs:-0}" "$((end - start))" "$found" "$slow" >"$LOGS/$t.row"
}

jobs=${HS_FUZZ_JOBS:-1}
for t in "${targets[@]}"; do
  rm -f "$LOGS/$t.row"
  run_one "$t" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
wait

total=0
printf '%-16s %12s %8s %8s %6s\n' target runs seconds crashes slow
for t in "${targets[@]}"; do
  read -r n runs secs found slow <"$LOGS/$t.row"
  printf '%-16s %12s %8s %8s %6s\n' "$n" "$runs" "$secs" "$found" "$slow"
  total=$((total + found))
done
if [ "$total" -gt 0 ]; then
  echo "fuzz.sh: $total finding(s); inputs under tests/fuzz/crashes/, logs under $LOGS/" >&2
  exit 1
fi
