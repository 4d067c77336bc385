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
