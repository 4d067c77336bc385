# bench/lib.sh: pieces the benchmark scripts share. Source it after defining say, die, REPO
# and WORK.

# hs_bench_hyscale BUILD_FOLDER: sets HS (the hyscale binary: $HYSCALE_BIN, else a Release,
# CPU-only build in $REPO/BUILD_FOLDER), BUILD_TYPE and HS_VERSION.
hs_bench_hyscale() {
  local dir=$1
  if [[ -n "${HYSCALE_BIN:-}" ]]; then
    HS=$HYSCALE_BIN
    BUILD_TYPE="external (HYSCALE_BIN)"
  else
    say "building hyscale (Release, CPU only) in $dir/"
    if ! { cmake -S "$REPO" -B "$REPO/$dir" -DCMAKE_BUILD_TYPE=Release -DHS_CUDA=OFF &&
           cmake --build "$REPO/$dir" -j"$(nproc)" --target hyscale; } >"$WORK/build.log" 2>&1; then
      tail -n 30 "$WORK/build.log" >&2
      die "build failed (log: $WORK/build.log)"
    fi
    HS="$REPO/$dir/hyscale"
    BUILD_TYPE=Release
  fi
  [[ -x "$HS" ]] || die "hyscale binary not executable: $HS"
  HS_VERSION=$("$HS" --version 2>&1 | head -n 1 || true)
}

# hs_bench_torch: sets PY to a Python that imports torch and numpy: $TORCH_PYTHON when set (it
# must import both), else bench/.venv-torch, made and filled from PyPI when torch is missing
# there ($BENCH_TORCH_INDEX_URL adds a pip index). Sets TORCH_VERSION.
hs_bench_torch() {
  local imports='import torch, numpy'
  if [[ -n ${TORCH_PYTHON:-} ]]; then
    "$TORCH_PYTHON" -c "$imports" >/dev/null 2>&1 || die "TORCH_PYTHON=$TORCH_PYTHON does not import torch and numpy"
    PY=$TORCH_PYTHON
  else
    local venv="$REPO/bench/.venv-torch"
    PY="$venv/bin/python"
    if ! [[ -x $PY ]] || ! "$PY" -c "$imports" >/dev/null 2>&1; then
      say "installing torch and numpy into $venv (about 540 MB of torch plus its CUDA wheels)"
      [[ -x $PY ]] || python3 -m venv "$venv" || die "python3 -m venv $venv failed"
      local pip_args=()
      [[ -n ${BENCH_TORCH_INDEX_URL:-} ]] && pip_args=(--extra-index-url "$BENCH_TORCH_INDEX_URL")
      "$PY" -m pip install --quiet ${pip_args[@]+"${pip_args[@]}"} torch numpy || die "pip install torch numpy failed"
      "$PY" -c "$imports" >/dev/null 2>&1 || die "torch still does not import in $venv"
    fi
  fi
  TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__)')
  say "PyTorch $TORCH_VERSION ($PY)"
}

# hs_bench_serve_peer: sets PY (through hs_bench_torch) to a Python that also imports what the
# service peer bench/serve_peer.py needs: fastapi, uvicorn with uvloop and httptools
# (uvicorn[standard]) and safetensors, installed from PyPI into bench/.venv-torch when missing
# ($TORCH_PYTHON must already have them). Sets PEER_VERSIONS.
hs_bench_serve_peer() {
  hs_bench_torch
  local imports='import fastapi, uvicorn, uvloop, httptools, safetensors'
  if ! "$PY" -c "$imports" >/dev/null 2>&1; then
    [[ -n ${TORCH_PYTHON:-} ]] && die "TORCH_PYTHON=$TORCH_PYTHON does not import fastapi, uvicorn[standard] and safetensors"
    say "installing fastapi, uvicorn[standard] and safetensors into $REPO/bench/.venv-torch"
    "$PY" -m pip install --quiet fastapi 'uvicorn[standard]' safetensors || die "pip install fastapi uvicorn safetensors failed"
    "$PY" -c "$imports" >/dev/null 2>&1 || die "fastapi, uvicorn[standard] or safetensors still does not import"
  fi
  PEER_VERSIONS=$("$PY" -c 'import fastapi, uvicorn, torch, sys
print(f"FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__}, PyTorch {torch.__version__}, Python {sys.version.split()[0]}")')
}
