#!/usr/bin/env bash
# Quick start 1: install what is missing, build (CPU path; the CUDA path too when nvcc is
# found), and run the whole pipeline (`hyscale run`) on the built-in synthetic trace.
# Extra arguments go to `hyscale run` (e.g. --input DIR --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD=${HS_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHS_CUDA="${HS_CUDA:-AUTO}" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target hyscale
OUT=${HS_RUN_OUT:-outputs/run-$(date -u +%Y%m%d-%H%M%S)}
"$BUILD/hyscale" run --out "$OUT" "$@"
echo "outputs: $(pwd)/$OUT"
