#!/usr/bin/env bash
# ppo_v2_front.sh [STEPS]: an ENV version 2 agent (docs/ENV-v2.md) trained longer than `hyscale
# run` does (STEPS environment steps, default 20,000,000: about 100 s each on two cores), on the
# three series issue 16 names, and evaluated against the swept classic front: the built-in run
# (the newest outputs/run-*, or HS_BUILTIN_RUN), the real Azure day (outputs/real-azure-day) and
# NASA-HTTP July (outputs/real-nasa), both made by scripts/forecast_real_data.sh (or HS_AZURE_RUN,
# HS_NASA_RUN: copies kept while outputs/ is regenerated). Each run folder
# is copied (its forecasts and series only) into a work folder; nothing in outputs/ changes.
# Writes bench/results/ppo_v2_front_<UTC>.md: each agent point against the hull.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
STEPS=${1:-20000000}
BIN=${HYSCALE_BIN:-$REPO/build/hyscale}
WORK=${BENCH_WORK:-/tmp/hyscale-ppo-v2}
builtin=${HS_BUILTIN_RUN:-$(ls -1dt "$REPO"/outputs/run-* 2>/dev/null | head -n 1 || true)}
azure=${HS_AZURE_RUN:-$REPO/outputs/real-azure-day}
nasa=${HS_NASA_RUN:-$REPO/outputs/real-nasa}
[ -x "$BIN" ] || { echo "ppo_v2_front: no hyscale binary at $BIN (build it, or set HYSCALE_BIN)" >&2; exit 1; }
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$REPO/bench/results/ppo_v2_front_$stamp.md"
{
  echo "# ENV v2 agents against the swept classic front ($STEPS steps)"
  echo
  echo "- date (UTC): $stamp, git $(git -C "$REPO" rev-parse --short=12 HEAD), $($BIN --version 2>&1 | head -n 1)"
  echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc --all) cores, OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}"
  echo "- per series: \`train-ppo --forecast hybrid --env-version 2 --total-steps $STEPS\`, then \`evaluate\`"
  echo "  (the classic policies swept; the agent replayed at nine idle weights); goal: 20% fewer cold"
  echo "  starts than the classic hull at the agent's over-provisioning; version 2 trains with reward"
  echo "  scaling (docs/ENV-v2.md, Training)"
} > "$out"
for spec in "built-in:$builtin:1440" "Azure day:$azure:240" "NASA-HTTP July:$nasa:1440"; do
  IFS=: read -r name run holdout <<<"$spec"
  if [ -z "$run" ] || [ ! -f "$run/series.csv" ]; then
    echo "ppo_v2_front: $name: no run folder ($run); skipped" >&2
    printf '\n## %s\n\nskipped: no run folder\n' "$name" >> "$out"
    continue
  fi
  d="$WORK/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_')"
  rm -rf "$d" && mkdir -p "$d"
  cp "$run"/*.csv "$run"/*.json "$run"/*.safetensors "$d"/ 2>/dev/null
  t0=$(date +%s)
  "$BIN" train-ppo --series "$d" --forecast hybrid --out "$d/ppo_v2_hybrid" --env-version 2 --holdout "$holdout" \
    --total-steps "$STEPS" --quiet
  t1=$(date +%s)
  "$BIN" evaluate --series "$d" --out "$d" --holdout "$holdout" --quiet
  printf '\n## %s (%s, training %d s)\n\n' "$name" "$run" $((t1 - t0)) >> "$out"
  sed -n '/^| agent |/,$p' "$d/scaling_report.md" | grep -E '^\| agent|^\|---|ppo_v2' >> "$out"
  echo "ppo_v2_front: $name done" >&2
done
echo "$out"
