#!/usr/bin/env bash
# check_layers.sh: the include rule of ARCHITECTURE.md, checked: dependencies point one way,
# cli -> stages (forecast, scale, data, pipeline) -> backend seams -> backends -> math and core.
# A backend (src/backend/) never includes a stage's folder; a stage never includes a backend's
# own files (src/backend/cpu/, src/backend/cuda/) or kernels; public headers never include src/.
# Prints one line per breach and "N passed, N failed" at the end; exit 1 on any breach.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
pass=0
check() { # $1 description, $2 grep output (breaches)
  if [ -n "$2" ]; then echo "layering: $1:"; echo "$2" | sed 's/^/  /'; fail=$((fail + 1)); else pass=$((pass + 1)); fi
}
check "a backend includes a stage" \
  "$(grep -rnE '#include "(\.\./)*(forecast|scale|data|cli|pipeline|serve)/' src/backend kernels 2>/dev/null)"
check "a stage includes a backend's own files" \
  "$(grep -rnE '#include "(\.\./)*(backend/(cpu|cuda)/|kernels/)' src/forecast src/scale src/data src/cli src/io src/core $( [ -d src/pipeline ] && echo src/pipeline ) 2>/dev/null)"
check "a stage reaches another folder by a relative path" \
  "$(grep -rnE '#include "\.\./' src 2>/dev/null)"
check "a public header includes src/" \
  "$(grep -rnE '#include "(backend|forecast|scale|data|cli|io|core)/' include 2>/dev/null)"
check "a stage names a device by string" \
  "$(grep -rnE 'strcmp\([^)]*"(cpu|cuda)"' src/forecast src/scale src/pipeline 2>/dev/null)"
echo "layering: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
