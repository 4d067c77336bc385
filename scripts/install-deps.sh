#!/usr/bin/env bash
# Installs hyscale's build and test dependencies from Debian's packages.
# Idempotent: does nothing when every package is already installed. Needs root (apt-get).
# HS_WITH_FUZZ=1 adds clang and its runtimes with libFuzzer (Debian 12: clang-14 and
# libclang-rt-14-dev, about 230 MB with LLVM), for scripts/fuzz.sh and the HS_FUZZ build; they
# are left out otherwise, and test.sh replays the fuzz corpora only where clang is present.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libcsv-dev libcjson-dev libcriterion-dev libopenblas-dev liblbfgs-dev
  libplplot-dev plplot-driver-cairo libcurl4-openssl-dev libarchive-dev
  python3 python3-venv
  libmicrohttpd-dev libsqlite3-dev curl
)
# HS_WITH_BENCH=1 adds wrk (the service benchmark); HS_WITH_PODMAN=1 adds podman and what it
# needs here to build and run the images (scripts/docker-check.sh, ../shared/docs/CONTAINERS.md).
if [ "${HS_WITH_BENCH:-0}" = "1" ]; then
  PKGS+=(wrk)
fi
if [ "${HS_WITH_PODMAN:-0}" = "1" ]; then
  PKGS+=(podman runc mmdebstrap uidmap fuse-overlayfs slirp4netns)
fi
if [ "${HS_WITH_FUZZ:-0}" = "1" ]; then
  PKGS+=(clang libclang-rt-dev)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo for apt-get" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
