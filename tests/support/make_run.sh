#!/usr/bin/env bash
# make_run.sh HYSCALE OUT: a small run folder for the service's tests (2 synthetic days of 30
# functions, one LSTM epoch, 20,000 PPO steps per agent: about 3 s on two cores). Reuses OUT
# when it already holds a finished run made by the same binary.
set -euo pipefail
bin=$1 out=$2
stamp="$out/.made-by"
want="$(stat -c '%s %Y' "$bin")"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$out/manifest.json" ]; then
  exit 0
fi
rm -rf "$out"
"$bin" run --out "$out" --days 2 --functions 30 --top-functions 10 --holdout 240 --lstm-epochs 1 \
  --ppo-steps 20000 --seed 1 --quiet
echo "$want" > "$stamp"
