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
# a small Python environment for the tests that check files with their reference readers
# (the safetensors package); made once per build folder from PyPI
PYENV="$BUILD/.pyenv"
if [ ! -x "$PYENV/bin/python" ] || ! "$PYENV/bin/python" -c 'import safetensors, numpy' 2>/dev/null; then
  python3 -m venv "$PYENV" && "$PYENV/bin/pip" install -q safetensors numpy \
    || echo "test.sh: could not install safetensors from PyPI; those checks will skip" >&2
fi
if "$PYENV/bin/python" -c 'import safetensors, numpy' 2>/dev/null; then
  export HS_TEST_PYTHON="$PWD/$PYENV/bin/python"
fi
ctest --test-dir "$BUILD" --output-on-failure "$@"
