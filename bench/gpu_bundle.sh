#!/usr/bin/env bash
# gpu_bundle.sh: builds, on this machine (no GPU needed), what bench/gpu_check.sh runs on a GPU
# machine that has CUDA 13, cuDNN 9 and python3 with torch but none of our Debian build
# dependencies: the GPU tests, bench_lstm_gpu and bench_lstm (Release, HS_CUDA=ON, sm_90) into
# bench/.gpu/bin, and every shared library they load into bench/.gpu/libs.tar.xz, except the
# glibc family (libc, libm, libmvec, libpthread, libdl, librt, libresolv, ld-linux, ...), the
# NVIDIA driver (libcuda, libnvidia-*), cuBLAS and cuDNN: the GPU machine has those (torch's
# wheels carry cuBLAS and cuDNN), and they are too large to carry. See bench/README.md.
#
# A binary whose source does not exist yet, or that fails to build, is named and left out; the
# rest are bundled. bench/.gpu/manifest.txt records the git revision, the CUDA and cuDNN versions
# built against, the newest glibc symbol version the binaries need (the GPU machine's glibc must
# be at least that), each bundled library's (gpu_check.sh drops a bundled library that needs a
# newer glibc than the machine's, e.g. libstdc++, so that the machine's own copy loads), and this
# source folder (the tests read fixtures there: gpu_check.sh links it to the copy it runs in).
#
# env: BUNDLE_JOBS   build jobs (default: getconf _NPROCESSORS_ONLN)
#      BUNDLE_MAX_MB the largest libs.tar.xz accepted, in MB of 10^6 bytes (default 40)
# exit codes: 0 the bundle is made (some binaries may be missing: listed), 1 configure failed, no
#             binary built, or the bundle is too large.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_BEGIN=$(date +%s)
say() { printf '[gpu_bundle %3ds] %s\n' $(($(date +%s) - T_BEGIN)) "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }

JOBS=${BUNDLE_JOBS:-$(getconf _NPROCESSORS_ONLN)}
MAX_MB=${BUNDLE_MAX_MB:-40}
BUILD="$REPO/build-gpu-bundle"
DEST="$REPO/bench/.gpu"
BINS=(test_env_cuda test_mlp_row test_lstm_cuda test_lstm_recursive_cuda test_kernels bench_lstm_gpu bench_lstm)
WORK=$(mktemp -d /tmp/hyscale-gpubundle.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# --- 1. configure and build, one target at a time ---------------------------------------------
say "configuring $BUILD (Release, HS_CUDA=ON, HS_CUDA_ARCHITECTURES=90)"
cmake -S "$REPO" -B "$BUILD" -DHS_CUDA=ON -DHS_CUDA_ARCHITECTURES=90 -DCMAKE_BUILD_TYPE=Release \
  >"$WORK/cmake.log" 2>&1 || { tail -20 "$WORK/cmake.log" >&2; die "cmake configure failed"; }
BUILT=()
MISSING=()
for t in "${BINS[@]}"; do
  if [[ ! -f $REPO/tests/$t.c && ! -f $REPO/bench/$t.c ]]; then
    say "$t: MISSING (no tests/$t.c or bench/$t.c yet), left out"
    MISSING+=("$t (no source)")
    continue
  fi
  say "building $t"
  if cmake --build "$BUILD" -j"$JOBS" --target "$t" >"$WORK/build_$t.log" 2>&1 && [[ -x $BUILD/$t ]]; then
    BUILT+=("$t")
  else
    grep -E 'error|undefined reference' "$WORK/build_$t.log" | head -8 >&2 || tail -8 "$WORK/build_$t.log" >&2
    say "$t: MISSING (the build failed; log above), left out"
    MISSING+=("$t (build failed)")
  fi
done
((${#BUILT[@]})) || die "no binary was built"

# --- 2. the binaries and the libraries they load ----------------------------------------------
rm -rf "$DEST"
mkdir -p "$DEST/bin" "$WORK/libs"
for t in "${BUILT[@]}"; do cp "$BUILD/$t" "$DEST/bin/"; done
# keep: what is not the glibc family, the driver, cuBLAS or cuDNN
skip_re='^(linux-vdso|ld-linux|libc\.so|libm\.so|libmvec\.so|libpthread\.so|libdl\.so|librt\.so|libresolv\.so|libutil\.so|libanl\.so|libnsl\.so|libnss_|libthread_db|libcuda\.so|libnvidia-|libcublas|libcudnn)'
declare -A SEEN=()
for t in "${BUILT[@]}"; do
  while read -r name _ path _; do
    [[ $name =~ $skip_re ]] && continue
    [[ $path == /* && -f $path ]] || { [[ $path == "not" ]] && say "WARNING: $t needs $name, not found here"; continue; }
    [[ -n ${SEEN[$name]:-} ]] && continue
    SEEN[$name]=1
    cp -L "$path" "$WORK/libs/$name"
  done < <(ldd "$DEST/bin/$t" | sed 's/^[[:space:]]*//')
done
say "packing ${#SEEN[@]} libraries into $DEST/libs.tar.xz"
tar -C "$WORK/libs" -cf - . | xz -9e -T"$JOBS" >"$DEST/libs.tar.xz"
SIZE=$(stat -c %s "$DEST/libs.tar.xz")
BIN_SIZE=$(du -cb "$DEST/bin"/* | tail -1 | cut -f1)

# --- 3. the manifest: versions and the glibc the binaries need --------------------------------
glibc_of() { { objdump -T "$@" 2>/dev/null || true; } | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1; }
GLIBC_NEED=$(glibc_of "$DEST/bin"/*)
LIB_GLIBC=$(for f in "$WORK/libs"/*; do echo "$(basename "$f"):$(glibc_of "$f")"; done | tr '\n' ' ')
CUDA_VER=$( { nvcc --version 2>/dev/null || /usr/local/cuda/bin/nvcc --version 2>/dev/null || true; } \
  | sed -n 's/.*release \([0-9.]*\).*/\1/p')
CUDNN_H=$(ls /usr/local/cuda/include/cudnn_version.h /usr/include/cudnn_version.h /usr/include/x86_64-linux-gnu/cudnn_version*.h 2>/dev/null | head -1 || true)
CUDNN_VER=unknown
if [[ -n $CUDNN_H ]]; then
  CUDNN_VER=$(awk '/#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) /{v = v (v == "" ? "" : ".") $3} END{print v}' "$CUDNN_H")
fi
{
  echo "git_revision=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  echo "git_dirty=$([[ -n "$(git -C "$REPO" status --porcelain 2>/dev/null)" ]] && echo true || echo false)"
  echo "date_utc=$(date -u +%Y%m%dT%H%M%SZ)"
  echo "source_dir=$REPO"
  echo "glibc_built=$(ldd --version | head -1 | grep -o '[0-9][0-9.]*$')"
  echo "glibc_needed=${GLIBC_NEED:-unknown}"
  echo "lib_glibc=$LIB_GLIBC"
  echo "cuda=${CUDA_VER:-unknown}"
  echo "cudnn=$CUDNN_VER"
  echo "binaries=${BUILT[*]}"
  echo "missing=$(IFS=';'; echo "${MISSING[*]}")"
  echo "libraries=$(cd "$WORK/libs" && ls | tr '\n' ' ')"
  echo "libs_tar_xz_bytes=$SIZE"
} >"$DEST/manifest.txt"

say "bundle: $DEST (binaries $((BIN_SIZE / 1000000)) MB, libs.tar.xz $((SIZE / 1000000)).$(((SIZE % 1000000) / 100000)) MB;" \
  "needs glibc >= ${GLIBC_NEED:-?}, CUDA ${CUDA_VER:-?} runtime, cuDNN $CUDNN_VER)"
say "built: ${BUILT[*]}"
((${#MISSING[@]})) && say "MISSING: $(IFS=';'; echo "${MISSING[*]}")"
((SIZE < MAX_MB * 1000000)) || die "libs.tar.xz is $SIZE bytes, over $MAX_MB MB"
say "done; on the GPU machine: bash bench/gpu_check.sh"
