#!/usr/bin/env bash
# Quick start 2: install what is missing, build every target (the CUDA targets too when nvcc
# is found, even without a GPU: their tests then skip with a message) and run the whole test
# suite with ctest. Then the same suite again under AddressSanitizer and UBSan (build-san/,
# -DHS_SANITIZE=ON, CUDA off: leaks and undefined behaviour fail a test), and, where clang with
# libFuzzer is installed (scripts/install-deps.sh with HS_WITH_FUZZ=1), each fuzz target over its
# seed corpus once (build-fuzz/, -DHS_FUZZ=ON). CI (.ci/run) calls exactly this.
# HS_TEST_SANITIZE=0 or HS_TEST_FUZZ=0 leaves a pass out (a quicker local run); ctest's
# arguments (-R NAME ...) apply to the first two passes.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD=${HS_BUILD_DIR:-build}
WERROR=OFF
if [ "${CI:-}" = "true" ]; then WERROR=ON; fi
cmake -S . -B "$BUILD" -DHS_CUDA="${HS_CUDA:-AUTO}" -DHS_WERROR="$WERROR" >/dev/null
JOBS=$(nproc)
[ "$JOBS" -le 2 ] || JOBS=2 # the machines have 2 cores; more jobs only cost memory
cmake --build "$BUILD" -j"$JOBS"
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

# ---- the suite under ASan+UBSan -------------------------------------------------------------
if [ "${HS_TEST_SANITIZE:-1}" != "0" ]; then
  SAN=${HS_SAN_BUILD_DIR:-build-san}
  echo "test.sh: the suite under AddressSanitizer and UBSan ($SAN/)"
  cmake -S . -B "$SAN" -DHS_SANITIZE=ON -DHS_CUDA=OFF -DHS_WERROR="$WERROR" >/dev/null
  cmake --build "$SAN" -j"$JOBS"
  # halt_on_error: UBSan's first report fails the process; abort_on_error: so does a leak (a
  # Criterion worker that leaks is reported as crashed); tests/lsan.supp holds only third-party
  # caches (fontconfig, pango, cairo, glib)
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
    ctest --test-dir "$SAN" --output-on-failure "$@"
fi

# ---- the fuzz targets over their seed corpora -------------------------------------------------
if [ "${HS_TEST_FUZZ:-1}" != "0" ]; then
  probe=$(mktemp -d)
  echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$probe/p.c"
  if command -v clang >/dev/null && clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>/dev/null; then
    FUZZ=${HS_FUZZ_BUILD_DIR:-build-fuzz}
    echo "test.sh: fuzz corpus replay ($FUZZ/)"
    CC=clang cmake -S . -B "$FUZZ" -DHS_FUZZ=ON >/dev/null
    cmake --build "$FUZZ" -j"$JOBS"
    ctest --test-dir "$FUZZ" --output-on-failure
  else
    echo "test.sh: fuzz corpus replay skipped: no clang with libFuzzer (HS_WITH_FUZZ=1 scripts/install-deps.sh installs it)"
  fi
  rm -rf "$probe"
fi
