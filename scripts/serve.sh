#!/usr/bin/env bash
# Quick start 3: serve a run folder with `hyscale serve` (docs/SERVE.md) on 127.0.0.1:8080:
# the newest outputs/run-* (what scripts/run.sh just made) unless a folder is given. Extra
# arguments go to `hyscale serve` (e.g. --port 9000 --state outputs/state). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${HS_BUILD_DIR:-build}
run=${1:-}
if [ -n "$run" ] && [ "${run#--}" = "$run" ]; then
  shift
else
  run=$(ls -1dt outputs/run-* 2>/dev/null | head -n 1 || true)
  [ -n "$run" ] || { echo "serve.sh: no outputs/run-* folder: run ./scripts/run.sh first" >&2; exit 1; }
fi
if [ ! -x "$BUILD/hyscale" ]; then
  ./scripts/install-deps.sh
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHS_CUDA="${HS_CUDA:-AUTO}" >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target hyscale
fi
echo "serve.sh: serving $run; try: curl -s -d '{\"current_instances\": 5, \"forecast_periods\": 60}' http://127.0.0.1:8080/api/autoscale" >&2
exec "$BUILD/hyscale" serve --model "$run" "$@"
