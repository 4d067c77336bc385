#!/usr/bin/env bash
# replay.sh BINARY CORPUS_DIR: runs a libFuzzer target once over every file of its seed corpus
# (libFuzzer's file mode: each argument executed once, no mutation), the regression check that
# ctest and CI run. Fails on any crash, sanitizer report or leak.
set -euo pipefail
bin=$1 dir=$2
shopt -s nullglob
files=("$dir"/*)
if [ ${#files[@]} -eq 0 ]; then
  echo "replay: no seeds in $dir" >&2
  exit 1
fi
here=$(cd "$(dirname "$0")/../.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/tests/lsan.supp:print_suppressions=0}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
out=$("$bin" -rss_limit_mb=4096 "${files[@]}" 2>&1) || {
  echo "$out" >&2
  echo "replay: $(basename "$bin") failed on its corpus $dir" >&2
  exit 1
}
echo "replay: $(basename "$bin"): ${#files[@]} seeds, no finding"
