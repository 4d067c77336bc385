#!/usr/bin/env bash
# docker-check.sh [--clean] [--no-cache] [--head] [--azure]: builds docker/serve.Dockerfile with podman the way
# ../shared/docs/CONTAINERS.md describes (no image registry here: the Debian base is made from the
# package mirror), runs the image, asks it for the seed's forecast and checks the answer, that it
# runs as non-root, its healthcheck, its size and a clean exit on SIGTERM; prints timings.
#
#   --clean     start from nothing: remove the work folder (the base image and every layer;
#               the layers of earlier builds are kept as the build cache, so this is also how
#               to give their disk space back)
#   --no-cache  keep the base image but rebuild every layer of the Dockerfile
#   --head      build the committed tree (git archive HEAD) instead of the working tree, for a
#               tree that others are editing, or to check what CI would build
#   --azure     also build docker/azure.Dockerfile on a stand-in base (this Debian base in place of
#               Microsoft's Functions image, which cannot be pulled here; both are Debian 12),
#               check that it carries the serve image's binary (same sha256) and the handler's
#               files, and start the handler in it as host.json says, the port from
#               FUNCTIONS_CUSTOMHANDLER_PORT, and ask it for the seed's forecast
# HS_DOCKER_WORK: the work folder (default build-podman/ in the repository: ignored by git and by
# .dockerignore); its containers.conf and storage.conf are private to this script, so the host's
# podman setup is neither used nor changed. HS_DOCKER_IMAGE: the tag built (localhost/hyscale-serve:check).
#
# The image's model is the Dockerfile's default target's (serve-demo): a small run made inside the
# build stage by the binary the image serves with, so the check needs no host build, and the model files
# always come from the same revision (and the same Debian) as the program that reads them.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${HS_DOCKER_WORK:-$repo/build-podman}"
image="${HS_DOCKER_IMAGE:-localhost/hyscale-serve:check}"
clean=0 head=0 azure=0 nocache=()
for a in "$@"; do
  case "$a" in
    --clean) clean=1 ;;
    --no-cache) nocache=(--no-cache) ;;
    --head) head=1 ;;
    --azure) azure=1 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "docker-check: unknown argument '$a'" >&2; exit 2 ;;
  esac
done

now() { date +%s.%N; }
T0=$(now)
timings=()
mark() { # mark NAME START: records the seconds since START
  timings+=("$(awk -v n="$1" -v a="$(now)" -v b="$2" 'BEGIN { printf "%-22s %7.2f s", n, a - b }')")
}
fail() { echo "docker-check: FAIL: $*" >&2; exit 1; }
# podman run/rm of an image with a HEALTHCHECK try to set up systemd timers for it; there is no
# systemd here, so they log an error and go on (the check is run by hand below): not shown
nosd() { "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }
report() { [ ${#timings[@]} -eq 0 ] || printf 'docker-check: %s\n' "${timings[@]}"; }
trap report EXIT

# ---- tools ---------------------------------------------------------------------------------
t=$(now)
HS_WITH_PODMAN=1 "$repo/scripts/install-deps.sh"
for c in podman runc mmdebstrap curl python3; do
  command -v "$c" >/dev/null || fail "$c is missing (HS_WITH_PODMAN=1 scripts/install-deps.sh)"
done
mark "tools" "$t"

# ---- private podman configuration ----------------------------------------------------------
t=$(now)
if [ "$clean" = 1 ] && [ -d "$work" ]; then
  # this storage's containers and images first, then the mounts the overlay driver keeps under
  # it (its own folder is one), deepest first; only then can the folder go
  if [ -f "$work/storage.conf" ]; then
    CONTAINERS_CONF="$work/containers.conf" CONTAINERS_STORAGE_CONF="$work/storage.conf" \
      podman rm --all --force >/dev/null 2>&1 || true
    CONTAINERS_CONF="$work/containers.conf" CONTAINERS_STORAGE_CONF="$work/storage.conf" \
      podman rmi --all --force >/dev/null 2>&1 || true
  fi
  { findmnt -rn -o TARGET | grep -F "$work/" || true; } | sort -r | while read -r m; do umount "$m" || true; done
  rm -rf "$work"
  mark "clean" "$t"
fi
mkdir -p "$work/run" "$work/graph" "$work/tmp"
# root cannot raise its hard limits here: the container's must stay within them
hn=$(ulimit -Hn); hu=$(ulimit -Hu)
[ "$hn" = unlimited ] && hn=1048576
if [ "$hu" = unlimited ] || [ "$hu" -gt 32768 ]; then hu=32768; fi
cat > "$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$hn:$hn", "nproc=$hu:$hu"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
# the overlay driver from the first use on (otherwise every run waits 20 s in cleanup)
cat > "$work/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$work/run"
graphroot = "$work/graph"
EOF
export CONTAINERS_CONF="$work/containers.conf" CONTAINERS_STORAGE_CONF="$work/storage.conf"
export TMPDIR="$work/tmp"

# ---- the Debian base, made from the package mirror once ------------------------------------
t=$(now)
base=docker.io/library/debian:bookworm-slim
if podman image exists "$base"; then
  echo "docker-check: base image $base exists, reused" >&2
else
  src=/etc/apt/sources.list.d/debian.sources
  [ -r "$src" ] || fail "$src not found: the mirror URLs are read from it"
  # the URIs: of the stanza whose Suites hold bookworm-security, and of the other one
  read -r mirror security < <(awk '
    /^URIs:/   { uri = $2 }
    /^Suites:/ { sec = ($0 ~ /-security/) }
    /^$/       { if (uri != "") { if (sec) s = uri; else if (m == "") m = uri }; uri = ""; sec = 0 }
    END        { if (uri != "") { if (sec) s = uri; else if (m == "") m = uri }; print m, s }' "$src")
  [ -n "$mirror" ] && [ -n "${security:-}" ] || fail "no main and security URIs in $src"
  echo "docker-check: making $base from $mirror and $security" >&2
  # an image's apt keeps no downloaded .debs (as Debian's own images): each apt-get layer stays small
  cat > "$work/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  mmdebstrap --quiet --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="copy-in $work/docker-clean /etc/apt/apt.conf.d" \
    --customize-hook='rm -f "$1/etc/hostname" "$1/etc/resolv.conf" "$1"/var/cache/apt/*.bin; rm -rf "$1"/var/lib/apt/lists/*' \
    bookworm "$work/rootfs.tar" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb $security bookworm-security main"
  podman import --quiet --change 'CMD ["bash"]' "$work/rootfs.tar" "$base" >/dev/null
  rm -f "$work/rootfs.tar"
  for tag in bookworm debian:12-slim debian:12; do
    case "$tag" in debian:*) podman tag "$base" "docker.io/library/$tag" ;;
                   *) podman tag "$base" "docker.io/library/debian:$tag" ;; esac
  done
fi
mark "base image" "$t"

# ---- build -----------------------------------------------------------------------------------
t=$(now)
ctx="$repo"
if [ "$head" = 1 ]; then
  ctx="$work/context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  git -C "$repo" archive HEAD | tar -x -C "$ctx"
fi
# --format docker: OCI images drop HEALTHCHECK
# each line of the build stamped with the seconds since the script started: where the time goes
stamp() { while IFS= read -r l; do printf '[%4ds] %s\n' "$SECONDS" "$l"; done; }
podman build --pull=never --format docker "${nocache[@]}" -f "$ctx/docker/serve.Dockerfile" \
  -t "$image" "$ctx" 2>&1 | stamp
mark "image build" "$t"
size=$(podman image inspect --format '{{.Size}}' "$image")
size_mb=$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }')

# ---- run and ask -----------------------------------------------------------------------------
name="hyscale-check-$$"
cleanup() { podman rm --force --time 2 "$name" >/dev/null 2>&1 || true; report; }
trap cleanup EXIT
t=$(now)
nosd podman run -d --name "$name" -p 127.0.0.1::8080 "$image" >/dev/null
hostport=$(podman port "$name" 8080/tcp | head -n1)
[ -n "$hostport" ] || fail "no host port for 8080/tcp"
url="http://$hostport"
ok=0
for _ in $(seq 1 60); do
  if curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; then ok=1; break; fi
  [ "$(podman inspect --format '{{.State.Running}}' "$name")" = true ] || break
  sleep 0.5
done
if [ "$ok" != 1 ]; then
  podman logs "$name" >&2 || true
  fail "/healthz did not answer within 30 s at $url"
fi
mark "start to /healthz" "$t"

t=$(now)
body=$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"current_instances": 5, "forecast_periods": 60}' "$url/api/autoscale") \
  || { podman logs "$name" >&2; fail "POST /api/autoscale failed"; }
mark "POST /api/autoscale" "$t"
summary=$(printf '%s' "$body" | python3 -c '
import json, sys
a = json.load(sys.stdin)
f, d = a["forecast"], a["decision"]
assert isinstance(f, list) and len(f) == 60, "forecast has %d entries, not 60" % len(f)
for e in f:
    assert isinstance(e["ds"], str) and isinstance(e["instances_needed"], int), e
    assert isinstance(e["invocations"], (int, float)), e
assert isinstance(d["target_instances"], int) and d["target_instances"] >= 0, d
assert d["current_instances"] == 5, d
assert d["scale_by"] == d["target_instances"] - 5, d
print("forecast %d minutes from %s, decision: %d instances (%+d) by %s" % (
    len(f), f[0]["ds"], d["target_instances"], d["scale_by"], d["policy"]))
') || { echo "$body" >&2; fail "the answer is not the contract's (docs/SERVE.md)"; }

uid=$(podman exec "$name" id -u)
[ "$uid" != 0 ] || fail "the service runs as root"
podman healthcheck run "$name" >/dev/null || fail "the image's HEALTHCHECK failed"

t=$(now)
nosd podman stop --time 15 "$name" >/dev/null
code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
mark "stop (SIGTERM)" "$t"
[ "$code" = 0 ] || { podman logs "$name" >&2; fail "exit status $code after SIGTERM, not 0"; }

# ---- the Azure Functions image, on a stand-in base -------------------------------------------
azure_note=""
if [ "$azure" = 1 ]; then
  t=$(now)
  podman build --pull=never --format docker -f "$ctx/docker/azure.Dockerfile" \
    --build-arg SERVE_IMAGE="$image" --build-arg FUNCTIONS_IMAGE="$base" \
    -t "$image-azure" "$ctx" 2>&1 | stamp
  mark "azure image build" "$t"
  sum() { nosd podman run --rm --entrypoint sha256sum "$1" /usr/local/bin/hyscale | cut -d' ' -f1; }
  [ "$(sum "$image")" = "$(sum "$image-azure")" ] || fail "the azure image's binary is not the serve image's"
  # the handler as the host starts it: path and arguments from the image's own host.json
  mapfile -t hcmd < <(podman run --rm --entrypoint cat "$image-azure" /home/site/wwwroot/host.json |
    python3 -c 'import json, sys; d = json.load(sys.stdin)["customHandler"]["description"]
print(d["defaultExecutablePath"]); [print(a) for a in d.get("arguments", [])]')
  podman run --rm --entrypoint cat "$image-azure" /home/site/wwwroot/autoscale/function.json |
    python3 -c 'import json, sys; json.load(sys.stdin)' || fail "autoscale/function.json missing or not JSON"
  aport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  aname="$name-azure"
  cleanup() { for c in "$name" "$aname"; do podman rm --force --time 2 "$c" >/dev/null 2>&1 || true; done; report; }
  nosd podman run -d --name "$aname" --network=host -e FUNCTIONS_CUSTOMHANDLER_PORT="$aport" \
    --entrypoint "${hcmd[0]}" "$image-azure" "${hcmd[@]:1}" >/dev/null
  ok=0
  for _ in $(seq 1 60); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$aport/healthz" 2>/dev/null; then ok=1; break; fi
    sleep 0.5
  done
  [ "$ok" = 1 ] || { podman logs "$aname" >&2; fail "the handler in the azure image did not answer on port $aport"; }
  curl -fsS -d '{"current_instances": 5, "forecast_periods": 60}' "http://127.0.0.1:$aport/api/autoscale" |
    python3 -c 'import json, sys; a = json.load(sys.stdin); assert len(a["forecast"]) == 60 and "decision" in a' \
    || fail "the handler in the azure image did not answer the seed's request"
  nosd podman stop --time 15 "$aname" >/dev/null
  [ "$(podman inspect --format '{{.State.ExitCode}}' "$aname")" = 0 ] || fail "the azure handler's exit status after SIGTERM is not 0"
  asize=$(podman image inspect --format '{{.Size}}' "$image-azure")
  azure_note="$(awk -v s="$asize" 'BEGIN { printf "%.1f", s / 1e6 }') MB on the stand-in base, same binary, handler answered on FUNCTIONS_CUSTOMHANDLER_PORT=$aport"
  mark "azure check" "$t"
fi
mark "total" "$T0"

echo "docker-check: PASS: $image, $size_mb MB, runs as uid $uid, healthcheck ok, exit 0 on SIGTERM"
echo "docker-check: $summary"
[ -z "$azure_note" ] || echo "docker-check: azure image: $azure_note"
