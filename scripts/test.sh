#!/usr/bin/env bash
# Quick start 2: install what is missing, build every target (the CUDA targets too when nvcc
# is found, even without a GPU: their tests then skip with a message) and run the whole test
# suite with ctest. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD=${HS_BUILD_DIR:-build}
WERROR=OFF
if [ "${CI:-}" = "true" ]; then WERROR=ON; fi
cmake -S . -B "$BUILD" -DHS_CUDA="${HS_CUDA:-AUTO}" -DHS_WERROR="$WERROR" >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure "$@"
