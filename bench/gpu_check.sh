#!/usr/bin/env bash
# gpu_check.sh: the one script for the GPU machine (an H100 or H200): the GPU tests, then the LSTM
# throughput table of hyscale's CUDA paths beside PyTorch's nn.LSTM with cuDNN, the 128-model
# case, the 1,440-step recursive forecast, and hyscale's CPU path for the CPU-to-GPU ratio. About
# 6 minutes in all (GPU_CHECK_BUDGET), plus up to 2.5 for compute-sanitizer. See bench/README.md.
#
#     bash bench/gpu_check.sh                    # on the GPU machine, from anywhere
#     bash bench/gpu_check.sh --table-only DIR   # re-print the table of an earlier run's DIR
#
# Binaries: from bench/.gpu/ (made on a dev machine by bench/gpu_bundle.sh: prebuilt binaries and
# the libraries they need, unpacked into /tmp/hs-libs) when it is there and loads; otherwise built
# here with cmake (HS_CUDA=ON, sm_90, Release) in build-gpu/, which needs our Debian build
# dependencies. cuBLAS and cuDNN come from the machine: /usr/local/cuda*/lib64,
# /usr/lib/x86_64-linux-gnu, or the nvidia-* wheels beside python3's torch. LD_LIBRARY_PATH is set
# for our binaries only, never for python3.
#
# In order, each step printed with the seconds since the start:
#   1. nvidia-smi -L and the card's name, driver and memory.
#   2. the GPU tests test_env_cuda, test_mlp_row, test_lstm_cuda, test_lstm_recursive_cuda, test_kernels, each `--jobs 1`
#      under `timeout 120` (and all within the first GPU_CHECK_TESTS_S seconds); pass/fail counts;
#      then compute-sanitizer's memcheck, racecheck and initcheck over the two CUDA tests
#      (GPU_CHECK_SANITIZE_S, default 150 s; sanitize.txt).
#   3. hyscale, bench_lstm_gpu: H in {64, 128} x L in {1, 2} x B in {256, 1024, 4096, 16384} and
#      the 128 models (H = 32, B = 64 each), training and inference, with every implementation
#      (cublas, persistent, cudnn, auto) in one process per configuration; then the 1,440-step
#      recursive forecast (H = 64 L = 1, and H = 128 L = 2).
#   4. PyTorch, bench/lstm_gpu_peer.py: the same configurations in one process, then the forecast.
#   5. hyscale's CPU path, bench_lstm, OMP threads = nproc: H = 64 L = 1 B = 1024 and the 128 models.
#   6. the table (last), from the JSON lines, with the goals and a FAILURES line.
# Exit 0 even when cells fail (they read "fail"; usage-declined ones "n/a"; ones the time budget
# left out "skip"); exit 1 only when no benchmark binary could be had at all.
#
# Written under $OUT when set (the GPU tool's output folder), else bench/results/gpu_<UTC time>/:
# gpu_check.log (everything printed), logs/ (each program's output), runs/ (each program's JSON
# lines), tests.txt, plan.txt, table.md and summary.json (the table's rows, goals, failures).
#
# env: GPU_CHECK_BUDGET    seconds for the whole script (default 360)
#      GPU_CHECK_TESTS_S   seconds for all the tests (default 150)
#      GPU_CHECK_CONFIGS   comma-separated H:L:B:N instead of the grid (the 128 models included)
#      GPU_STEPS, GPU_WARMUP, GPU_REPS  override the per-batch plan for every configuration
#      GPU_PEAK_TFLOPS     the card's float32 peak (default from its name: H100/H200 SXM 67,
#                          H100 NVL and H200 NVL 60, H100 PCIe 51)
#      TORCH_PYTHON        the Python with torch (default python3)
#      GPU_CHECK_PEER_ARGS more arguments for lstm_gpu_peer.py (--adam foreach; --device cpu to
#                          try this script on a machine without a GPU)
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_BEGIN=$(date +%s)
say() { printf '[gpu_check %3ds] %s\n' $(($(date +%s) - T_BEGIN)) "$*"; }

# --- the table, from a run's folder (step 6; also --table-only DIR) ---------------------------
table() {
  python3 - "$1" <<'PYEOF'
import glob, json, math, os, re, sys

res = sys.argv[1]
plan = {}
for line in open(os.path.join(res, "plan.txt")):
    k, _, v = line.rstrip("\n").partition("=")
    plan[k] = v
configs = [tuple(int(x) for x in c.split(":")) for c in plan.get("configs", "").split()]
recs = [tuple(int(x) for x in c.split(":")) for c in plan.get("recursive", "").split()]
cpus = [tuple(int(x) for x in c.split(":")) for c in plan.get("cpu", "").split()]
IMPLS = ["cublas", "persistent", "cudnn", "auto"]
skipped = set()
if os.path.exists(os.path.join(res, "skipped.txt")):
    skipped = {l.strip() for l in open(os.path.join(res, "skipped.txt")) if l.strip()}

# every result, keyed (side, mode, impl, H, L, B, N); the last line for a key wins
R = {}
def key_of(side, d):
    c = d.get("config", {})
    return (side, d.get("mode"), d.get("impl"), c.get("hidden"), c.get("layers"), c.get("batch"), c.get("models"))
for f in sorted(glob.glob(os.path.join(res, "runs", "*.jsonl"))):
    side = "torch" if os.path.basename(f).startswith("torch") else "ours"
    for line in open(f):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            d = json.loads(line)
        except ValueError:
            continue
        R[key_of(side, d)] = d
for f in sorted(glob.glob(os.path.join(res, "runs", "cpu_*.json"))):
    try:
        d = json.load(open(f))
    except (OSError, ValueError):
        continue
    d["mode"], d["impl"], d["ok"] = "train", "cpu", d.get("windows_per_second") is not None
    R[key_of("cpu", d)] = d

failures, skips = [], []
def cell(side, mode, impl, H, L, B, N, tag):
    """(value or None, text): the windows/s, or n/a, fail, skip."""
    d = R.get((side, mode, impl, H, L, B, N))
    name = f"{side} {impl} {mode} H={H} L={L} B={B} N={N}"
    if d is None:
        if tag in skipped:
            skips.append(name)
            return None, "skip"
        failures.append(name + ": no result")
        return None, "fail"
    if d.get("ok"):
        return d["windows_per_second"], None
    if d.get("status") == "usage":
        return None, "n/a"
    failures.append(f"{name}: {d.get('status')}: {(d.get('error') or '')[:160]}")
    return None, "fail"

def fw(v, t=None):
    if v is None:
        return t or "-"
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:.3g}{suf}"
    return f"{v:.3g}"

def fr(a, b):
    return None if a is None or b is None or b <= 0 else a / b

def fx(r):
    return "-" if r is None else (f"{r:.2f}x" if r < 10 else f"{r:.1f}x" if r < 100 else f"{r:.0f}x")

gpu = plan.get("gpu_name", "unknown GPU")
peak = float(plan.get("peak_tflops") or 0) or None
rows, inf_rows, out = [], [], []
P = out.append
def cname(H, L, B, N):
    return f"H={H} L={L} B={B}" + (f" x{N} models" if N > 1 else "")

for (H, L, B, N) in configs:
    tag = f"h{H}_l{L}_b{B}_n{N}"
    tr = {i: cell("ours", "train", i, H, L, B, N, f"ours {tag}") for i in IMPLS}
    pt = cell("torch", "train", "torch", H, L, B, N, "torch")
    ran = (R.get(("ours", "train", "auto", H, L, B, N)) or {}).get("impl_ran")
    vals = {i: v for i, (v, _) in tr.items() if v is not None}
    best_i = max(vals, key=vals.get) if vals else None
    best = vals.get(best_i)
    own = max([vals[i] for i in ("cublas", "persistent") if i in vals], default=None)
    fpw = (R.get(("ours", "train", best_i, H, L, B, N)) or {}).get("flops_per_window") if best_i else None
    gf = best * fpw / 1e9 if best and fpw else None
    rows.append({"config": cname(H, L, B, N), "hidden": H, "layers": L, "batch": B, "models": N,
                 **{f"ours_{i}": tr[i][0] for i in IMPLS}, "auto_ran": ran, "torch": pt[0],
                 "best_impl": best_i, "best": best, "best_over_torch": fr(best, pt[0]),
                 "own_over_cudnn": fr(own, vals.get("cudnn")), "auto_over_cudnn": fr(vals.get("auto"), vals.get("cudnn")),
                 "gflops": gf, "peak_fraction": gf / (peak * 1e3) if gf and peak else None})
    # inference: every implementation ran; the best of ours against torch
    iv = {i: cell("ours", "infer", i, H, L, B, N, f"ours {tag}") for i in IMPLS}
    ipt = cell("torch", "infer", "torch", H, L, B, N, "torch")
    ivals = {i: v for i, (v, _) in iv.items() if v is not None}
    ib = max(ivals, key=ivals.get) if ivals else None
    ifpw = (R.get(("ours", "infer", ib, H, L, B, N)) or {}).get("flops_per_window") if ib else None
    igf = ivals[ib] * ifpw / 1e9 if ib and ifpw else None
    inf_rows.append({"config": cname(H, L, B, N), "hidden": H, "layers": L, "batch": B, "models": N,
                     **{f"ours_{i}": iv[i][0] for i in IMPLS}, "best_impl": ib, "best": ivals.get(ib),
                     "torch": ipt[0], "best_over_torch": fr(ivals.get(ib), ipt[0]),
                     "auto_over_cudnn": fr(ivals.get("auto"), ivals.get("cudnn")), "gflops": igf,
                     "peak_fraction": igf / (peak * 1e3) if igf and peak else None,
                     "_text": {i: iv[i][1] for i in IMPLS}, "_pt": ipt[1]})
    rows[-1]["_text"] = {i: tr[i][1] for i in IMPLS}
    rows[-1]["_pt"] = pt[1]

def pct(r):
    if r["gflops"] is None:
        return "-"
    return f"{r['gflops']:,.0f}" + (f" ({100 * r['peak_fraction']:.1f}%)" if r["peak_fraction"] else "")

P(f"\n## LSTM on {gpu}: training windows/s (window 60, 1 feature, horizon 1; float32, TF32 off)\n")
P("| config | ours cublas | ours persistent | ours cudnn | auto | torch | best/torch | best vs cudnn | GFLOP/s (% of peak) |")
P("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    t = r["_text"]
    auto = fw(r["ours_auto"], t["auto"]) + (f" ({r['auto_ran']})" if r["auto_ran"] and r["ours_auto"] else "")
    P(f"| {r['config']} | {fw(r['ours_cublas'], t['cublas'])} | {fw(r['ours_persistent'], t['persistent'])} | "
      f"{fw(r['ours_cudnn'], t['cudnn'])} | {auto} | {fw(r['torch'], r['_pt'])} | {fx(r['best_over_torch'])} | "
      f"{fx(r['own_over_cudnn'])} | {pct(r)} |")
P(f"\n## inference windows/s (forward + MSE)\n")
P("| config | ours best | auto | ours cudnn | torch | best/torch | auto vs cudnn | GFLOP/s (% of peak) |")
P("|---|---:|---:|---:|---:|---:|---:|---:|")
for r in inf_rows:
    t = r["_text"]
    best = f"{fw(r['best'])} ({r['best_impl']})" if r["best"] else "fail"
    P(f"| {r['config']} | {best} | {fw(r['ours_auto'], t['auto'])} | {fw(r['ours_cudnn'], t['cudnn'])} | "
      f"{fw(r['torch'], r['_pt'])} | {fx(r['best_over_torch'])} | {fx(r['auto_over_cudnn'])} | {pct(r)} |")

# recursive
rec_rows = []
for (H, L) in recs:
    o = R.get(("ours", "recursive", "recursive", H, L, 1, 1))
    t = R.get(("torch", "recursive", "torch", H, L, 1, 1))
    tag = f"h{H}_l{L}"
    word = {}
    for side, d in (("ours", o), ("torch", t)):
        word[side] = "fail"
        if d is None:
            if f"{side} rec {tag}" in skipped or (side == "torch" and "torch_rec" in skipped):
                skips.append(f"{side} recursive H={H} L={L}")
                word[side] = "skip"
            else:
                failures.append(f"{side} recursive H={H} L={L}: no result")
        elif not d.get("ok"):
            failures.append(f"{side} recursive H={H} L={L}: {d.get('status')}: {(d.get('error') or '')[:160]}")
    ms = lambda d, k: d[k] * 1e3 if d and d.get("ok") and d.get(k) is not None else None  # noqa: E731
    row = {"hidden": H, "layers": L, "ours_device_ms": ms(o, "seconds"), "ours_wall_ms": ms(o, "wall_seconds"),
           "torch_ms": ms(t, "seconds"), "torch_wall_ms": ms(t, "wall_seconds")}
    row["torch_over_ours"] = fr(row["torch_ms"], row["ours_device_ms"])
    rec_rows.append(row)
    f = lambda v, side: word[side] if v is None else f"{v:.2f} ms"  # noqa: E731
    P(("\n" if not rec_rows[:-1] else "") + f"recursive 1,440-step forecast H={H} L={L} (one series): ours "
      f"{f(row['ours_device_ms'], 'ours')} device, {f(row['ours_wall_ms'], 'ours')} wall; torch "
      f"{f(row['torch_ms'], 'torch')} (events), {f(row['torch_wall_ms'], 'torch')} wall; "
      f"torch/ours {fx(row['torch_over_ours'])}")

# CPU-to-GPU
cpu_rows = []
for (H, L, B, N) in cpus:
    v, txt = cell("cpu", "train", "cpu", H, L, B, N, f"cpu h{H}_l{L}_b{B}_n{N}")
    g = next((r for r in rows if (r["hidden"], r["layers"], r["batch"], r["models"]) == (H, L, B, N)), None)
    gb = g["best"] if g else None
    d = R.get(("cpu", "train", "cpu", H, L, B, N)) or {}
    th = (d.get("threads") or {}).get("omp_max_threads")
    cpu_rows.append({"config": cname(H, L, B, N), "cpu": v, "gpu_best": gb, "gpu_over_cpu": fr(gb, v),
                     "cpu_model": d.get("cpu"), "threads": th})
    P(f"CPU path {cname(H, L, B, N)} (bench_lstm, {th or '?'} threads, {d.get('cpu') or '?'}): "
      f"{fw(v, txt)} w/s; GPU best {fw(gb)} w/s; GPU/CPU {fx(fr(gb, v))}")

# goals
def goal(pairs, need):
    vals = [v for _, v in pairs]
    if not vals:
        return "n/a", None
    if any(v is None for v in vals):
        return "n/a (missing cells)", min((v for v in vals if v is not None), default=None)
    return ("met" if min(vals) >= need else "NOT met"), min(vals)
single64 = [(r["config"], r["best_over_torch"]) for r in rows if r["hidden"] == 64 and r["models"] == 1]
many = [(r["config"], r["best_over_torch"]) for r in rows if r["models"] > 1]
cud = [(r["config"], r["auto_over_cudnn"]) for r in rows + inf_rows]
g1, m1 = goal(single64, 3.0)
g2, m2 = goal(many, 30.0)
g4, m4 = goal(cud, 1.0)
rec64 = next((r for r in rec_rows if (r["hidden"], r["layers"]) == (64, 1)), None)
r_ms = rec64["ours_device_ms"] if rec64 else None
g3 = "n/a" if r_ms is None else ("met" if r_ms < 5.0 else "NOT met")
goals = {"h64_training_3x_torch": [g1, m1], "128_models_30x_torch": [g2, m2],
         "recursive_1440_under_5ms": [g3, r_ms], "auto_no_slower_than_cudnn": [g4, m4]}
P(f"\ngoals: H=64 training >= 3x torch at every batch: {g1} (min {fx(m1)}); 128 models >= 30x torch: {g2} "
  f"({fx(m2)}); 1,440-step forecast < 5 ms: {g3} ({'-' if r_ms is None else f'{r_ms:.2f} ms'} device); "
  f"auto no slower than cuDNN (training and inference): {g4} (min {fx(m4)})")
P("columns: windows/s (k = 10^3, M = 10^6) = models x batch x steps / median seconds; best = the fastest of "
  "ours; best/torch = best / PyTorch; best vs cudnn = max(cublas, persistent) / ours cudnn (our kernels "
  "against cuDNN inside hyscale); auto (ran): what auto picked; GFLOP/s of the best, training = 3 x forward "
  f"FLOPs, % of the {peak or '?'} TFLOP/s float32 peak; n/a: the implementation declines the shape; "
  "skip: left out by the time budget.")
P("FAILURES: " + ("; ".join(failures) if failures else "none"))
if skips:
    P("SKIPPED (time budget): " + "; ".join(skips))

clean = lambda rs: [{k: v for k, v in r.items() if not k.startswith("_")} for r in rs]  # noqa: E731
summary = {"gpu": gpu, "peak_tflops": peak, "plan": plan, "training": clean(rows), "inference": clean(inf_rows),
           "recursive": rec_rows, "cpu": cpu_rows, "goals": goals, "failures": failures, "skipped": skips}
tests = os.path.join(res, "tests.txt")
if os.path.exists(tests):
    summary["tests"] = [l.rstrip("\n") for l in open(tests)]
json.dump(summary, open(os.path.join(res, "summary.json"), "w"), indent=1)
text = "\n".join(out) + "\n"
open(os.path.join(res, "table.md"), "w").write(text)
print(text, end="")
PYEOF
}

if [[ ${1:-} == --table-only ]]; then
  [[ -f ${2:-}/plan.txt ]] || { echo "usage: gpu_check.sh --table-only DIR (DIR/plan.txt from a run)" >&2; exit 2; }
  table "$2"
  exit $?
fi

BUDGET=${GPU_CHECK_BUDGET:-360}
T_END=$((T_BEGIN + BUDGET))
T_TESTS_END=$((T_BEGIN + ${GPU_CHECK_TESTS_S:-150}))
left() { echo $((T_END - $(date +%s))); }
min() { echo $(($1 < $2 ? $1 : $2)); }
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RES=${OUT:-$REPO/bench/results/gpu_$STAMP}
mkdir -p "$RES/logs" "$RES/runs" || { echo "gpu_check: cannot write $RES" >&2; exit 1; }
exec 3>&1 4>&2
exec > >(tee -a "$RES/gpu_check.log") 2>&1
TEE_PID=$!
finish() { # the exit code: tee gets to write the last lines before the script ends
  exec 1>&3 2>&4 3>&- 4>&-
  wait "$TEE_PID" 2>/dev/null
  exit "$1"
}
SKIPPED="$RES/skipped.txt"
: >"$SKIPPED"
PYTHON=${TORCH_PYTHON:-python3}
read -r -a PEER_ARGS <<<"${GPU_CHECK_PEER_ARGS:-}"
NPROC=$(getconf _NPROCESSORS_ONLN)
say "hyscale GPU check: budget ${BUDGET} s, results in $RES"

# --- 1. the card ------------------------------------------------------------------------------
say "nvidia-smi -L"
nvidia-smi -L || say "nvidia-smi failed (no driver or no GPU?)"
nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit,clocks.max.sm --format=csv 2>/dev/null
GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
GPU_NAME=${GPU_NAME:-unknown GPU}
if [[ -n ${GPU_PEAK_TFLOPS:-} ]]; then PEAK=$GPU_PEAK_TFLOPS
elif [[ $GPU_NAME =~ (H100|H200).*NVL ]]; then PEAK=60
elif [[ $GPU_NAME =~ H100.*PCIe ]]; then PEAK=51
elif [[ $GPU_NAME =~ H100|H200 ]]; then PEAK=67
else PEAK=""; fi
say "GPU: $GPU_NAME; float32 peak ${PEAK:-unknown} TFLOP/s"

# --- 2. the binaries --------------------------------------------------------------------------
# where the machine keeps cuBLAS 13, cuDNN 9 (and NVRTC, which cuDNN may load)
CUDA_DIRS=()
add_dir() { local d; for d in ${CUDA_DIRS[@]+"${CUDA_DIRS[@]}"}; do [[ $d == "$1" ]] && return; done; CUDA_DIRS+=("$1"); }
SEARCH=(/usr/local/cuda/lib64 /usr/local/cuda*/lib64 /usr/local/cuda*/targets/x86_64-linux/lib
        /usr/lib/x86_64-linux-gnu /usr/local/lib)
NV=$("$PYTHON" -c 'import nvidia; print(list(nvidia.__path__)[0])' 2>/dev/null)
[[ -n $NV ]] && SEARCH+=("$NV")
TL=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)
[[ -n $TL ]] && SEARCH+=("$TL")
for pat in 'libcublas.so.13*' 'libcublasLt.so.13*' 'libcudnn.so.9*' 'libnvrtc.so.13*'; do
  found=""
  for d in "${SEARCH[@]}"; do
    [[ -d $d ]] || continue
    found=$(find -L "$d" -maxdepth 4 -name "$pat" -print -quit 2>/dev/null)
    [[ -n $found ]] && break
  done
  if [[ -n $found ]]; then add_dir "$(dirname "$found")"; say "  $pat: $found"
  else say "  $pat: NOT FOUND (searched ${SEARCH[*]})"; fi
done
CUDA_LD=$(IFS=:; echo "${CUDA_DIRS[*]-}")

glibc_here=$(ldd --version 2>/dev/null | head -1 | grep -o '[0-9][0-9.]*$')
vle() { [[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1) == "$1" ]]; } # $1 <= $2
BIN=""
HS_LD=""
BUNDLE="$REPO/bench/.gpu"
if [[ -f $BUNDLE/libs.tar.xz && -d $BUNDLE/bin ]]; then
  say "using the prebuilt bundle bench/.gpu ($(grep -E '^(git_revision|date_utc|cuda|cudnn)=' "$BUNDLE/manifest.txt" 2>/dev/null | tr '\n' ' '))"
  rm -rf /tmp/hs-libs && mkdir -p /tmp/hs-libs
  tar -C /tmp/hs-libs -xJf "$BUNDLE/libs.tar.xz" 2>/dev/null \
    || python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$BUNDLE/libs.tar.xz" /tmp/hs-libs \
    || say "cannot unpack $BUNDLE/libs.tar.xz"
  # a bundled library built for a newer glibc than this machine's gives way to the machine's copy
  for e in $(sed -n 's/^lib_glibc=//p' "$BUNDLE/manifest.txt" 2>/dev/null); do
    lib=${e%%:*} need=${e#*:}
    if [[ -n $need && -n $glibc_here ]] && ! vle "$need" "$glibc_here"; then
      rm -f "/tmp/hs-libs/$lib"
      say "  $lib needs glibc $need > $glibc_here here: the machine's own copy is used"
    fi
  done
  need=$(sed -n 's/^glibc_needed=//p' "$BUNDLE/manifest.txt" 2>/dev/null)
  if [[ -n $need && -n $glibc_here ]] && ! vle "$need" "$glibc_here"; then
    say "the bundle's binaries need glibc $need, this machine has $glibc_here: they will not load"
  fi
  HS_LD="/tmp/hs-libs${CUDA_LD:+:$CUDA_LD}"
  BIN="$BUNDLE/bin"
  chmod +x "$BIN"/* 2>/dev/null # in case a copy lost the bits
  ok=0
  for b in "$BIN"/*; do
    [[ -x $b ]] || continue
    miss=$(LD_LIBRARY_PATH="$HS_LD" ldd "$b" 2>&1 | grep -E 'not found' | sed 's/^[[:space:]]*//' | tr '\n' ';')
    if [[ -n $miss ]]; then say "  $(basename "$b"): does not load: $miss"; else ok=1; fi
  done
  # the tests read fixtures under the source folder they were built in: point it here
  src=$(sed -n 's/^source_dir=//p' "$BUNDLE/manifest.txt" 2>/dev/null)
  if [[ -n $src && $src != "$REPO" && ! -e $src ]]; then
    if mkdir -p "$(dirname "$src")" 2>/dev/null && ln -s "$REPO" "$src" 2>/dev/null; then
      say "  linked $src -> $REPO (the tests' source folder)"
    else
      say "  cannot link $src -> $REPO: tests that read fixtures may fail"
    fi
  fi
  if ((ok == 0)); then say "no bundled binary loads: building here instead"; BIN=""; fi
fi
if [[ -z $BIN ]]; then
  BUILD="$REPO/build-gpu"
  bt=$(min 300 $(($(left) - 120)))
  say "building in $BUILD (cmake, HS_CUDA=ON, sm_90, Release; at most $bt s)"
  if timeout "$bt" cmake -S "$REPO" -B "$BUILD" -DHS_CUDA=ON -DHS_CUDA_ARCHITECTURES=90 -DCMAKE_BUILD_TYPE=Release \
      >"$RES/logs/cmake.log" 2>&1; then
    for t in bench_lstm_gpu bench_lstm test_env_cuda test_mlp_row test_lstm_cuda test_lstm_recursive_cuda test_kernels; do
      bt=$(min 300 $(($(left) - 120)))
      ((bt > 10)) || break
      timeout "$bt" cmake --build "$BUILD" -j"$NPROC" --target "$t" >>"$RES/logs/build.log" 2>&1 \
        || say "  building $t failed (logs/build.log)"
    done
  else
    tail -5 "$RES/logs/cmake.log"
    say "cmake configure failed (logs/cmake.log): our Debian build dependencies are missing here; make the bundle on a dev machine with bench/gpu_bundle.sh"
  fi
  BIN=$BUILD
  HS_LD=$CUDA_LD
fi
export HS_GIT_REV
HS_GIT_REV=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || sed -n 's/^git_revision=//p' "$BUNDLE/manifest.txt" 2>/dev/null)
HS_GIT_REV=${HS_GIT_REV:-unknown}
hsrun() { # TIMEOUT BINARY ARGS...: our binary under timeout, with our libraries
  local to=$1
  shift
  timeout -k 5 "$to" env LD_LIBRARY_PATH="$HS_LD" "$@"
}
say "binaries: $BIN ($(cd "$BIN" 2>/dev/null && ls bench_lstm_gpu bench_lstm test_* 2>/dev/null | tr '\n' ' '))"

# --- 3. the GPU tests -------------------------------------------------------------------------
: >"$RES/tests.txt"
for t in test_env_cuda test_mlp_row test_lstm_cuda test_lstm_recursive_cuda test_kernels; do
  if [[ ! -x $BIN/$t ]]; then
    say "$t: MISSING (not built)"
    echo "$t missing" >>"$RES/tests.txt"
    continue
  fi
  to=$(min 120 $((T_TESTS_END - $(date +%s))))
  if ((to < 10)); then
    say "$t: SKIPPED (the tests' ${GPU_CHECK_TESTS_S:-150} s are spent)"
    echo "$t skipped" >>"$RES/tests.txt"
    continue
  fi
  t0=$(date +%s)
  (cd "$REPO" && hsrun "$to" "$BIN/$t" --jobs 1) >"$RES/logs/$t.log" 2>&1
  rc=$?
  syn=$(sed 's/\x1b\[[0-9;]*m//g' "$RES/logs/$t.log" | grep -a 'Synthesis' | tail -1)
  n() { sed -n "s/.*$1: \([0-9]*\).*/\1/p" <<<"$syn"; }
  line="$t: tested ${syn:+$(n Tested)}, passed $(n Passing), failed $(n Failing), crashed $(n Crashing); rc $rc"
  ((rc == 124 || rc == 137)) && line+=" (TIMEOUT after $to s)"
  [[ -z $syn ]] && line="$t: no Criterion summary; rc $rc$( ((rc == 124 || rc == 137)) && echo " (TIMEOUT after $to s)")"
  say "$line, $(($(date +%s) - t0)) s"
  echo "$line" >>"$RES/tests.txt"
  sed 's/\x1b\[[0-9;]*m//g' "$RES/logs/$t.log" | grep -a -E '\[FAIL\]|Assertion Failed|SKIP' | head -12 | sed 's/^/    /'
done

# --- 3b. compute-sanitizer over the GPU tests -----------------------------------------------
# memcheck, racecheck and initcheck over each GPU test, each run under `timeout`, all within
# GPU_CHECK_SANITIZE_S seconds (default 150; 0 leaves the step out); a tool's "ERROR SUMMARY"
# line goes to sanitize.txt and the log; a run the budget cuts says so.
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1 || true)
: >"$RES/sanitize.txt"
T_SAN_END=$(($(date +%s) + ${GPU_CHECK_SANITIZE_S:-150}))
if [[ -z $SAN || ${GPU_CHECK_SANITIZE_S:-150} -eq 0 ]]; then
  say "compute-sanitizer: SKIPPED (${SAN:-not found})"
  echo "compute-sanitizer skipped" >>"$RES/sanitize.txt"
else
  for tool in memcheck racecheck initcheck; do
    for t in test_env_cuda test_mlp_row test_lstm_recursive_cuda test_lstm_cuda; do
      [[ -x $BIN/$t ]] || continue
      to=$(min 90 $((T_SAN_END - $(date +%s))))
      if ((to < 10)); then
        say "$tool $t: SKIPPED (the sanitizer budget is spent)"
        echo "$tool $t skipped" >>"$RES/sanitize.txt"
        continue
      fi
      (cd "$REPO" && hsrun "$to" "$SAN" --tool "$tool" --error-exitcode 3 "$BIN/$t" --jobs 1) \
        >"$RES/logs/sanitize_${tool}_$t.log" 2>&1
      rc=$?
      sum=$(grep -a 'ERROR SUMMARY' "$RES/logs/sanitize_${tool}_$t.log" | tail -1)
      line="$tool $t: ${sum:-no summary}; rc $rc$( ((rc == 124 || rc == 137)) && echo " (TIMEOUT after $to s)")"
      say "$line"
      echo "$line" >>"$RES/sanitize.txt"
    done
  done
fi

# --- 4. the plan ------------------------------------------------------------------------------
plan() { # B N -> "warmup steps reps"
  local w s r
  if (($2 > 1)); then w=2 s=5 r=3
  else case $1 in
    256 | 1024) w=3 s=20 r=3 ;;
    4096) w=3 s=10 r=3 ;;
    *) w=2 s=5 r=3 ;;
  esac; fi
  echo "${GPU_WARMUP:-$w} ${GPU_STEPS:-$s} ${GPU_REPS:-$r}"
}
if [[ -n ${GPU_CHECK_CONFIGS:-} ]]; then
  IFS=, read -r -a CONFIGS <<<"$GPU_CHECK_CONFIGS"
else
  CONFIGS=()
  for H in 64 128; do for L in 1 2; do for B in 256 1024 4096 16384; do CONFIGS+=("$H:$L:$B:1"); done; done; done
  CONFIGS+=("32:1:64:128")
fi
RECS=("64:1" "128:2")
CPUS=("64:1:1024:1" "32:1:64:128")
{
  echo "configs=${CONFIGS[*]}"
  echo "recursive=${RECS[*]}"
  echo "cpu=${CPUS[*]}"
  echo "gpu_name=$GPU_NAME"
  echo "peak_tflops=$PEAK"
  echo "git_revision=$HS_GIT_REV"
  echo "budget_s=$BUDGET"
  echo "date_utc=$STAMP"
} >"$RES/plan.txt"
IMPLS=(cublas persistent cudnn auto)
say "plan: window 60, features 1, horizon 1; per configuration warm-up, steps per rep, reps:"
for c in "${CONFIGS[@]}"; do
  IFS=: read -r H L B N <<<"$c"
  read -r w s r <<<"$(plan "$B" "$N")"
  printf '    H=%s L=%s B=%s N=%s: %s %s %s\n' "$H" "$L" "$B" "$N" "$w" "$s" "$r"
done

brief() { # JSONL... -> one line per mode: impl windows/s
  python3 - "$@" <<'PYEOF'
import json, sys
by = {}
for f in sys.argv[1:]:
    try:
        lines = open(f).read().splitlines()
    except OSError:
        continue
    for l in lines:
        try:
            d = json.loads(l)
        except ValueError:
            continue
        v = d.get("windows_per_second")
        txt = (f"{v:,.0f}" if d.get("ok") else ("n/a" if d.get("status") == "usage" else f"FAIL ({d.get('status')})"))
        if d.get("mode") == "recursive" and d.get("ok"):
            txt = f"{d['seconds'] * 1e3:.3f} ms ({d['wall_seconds'] * 1e3:.3f} ms wall)"
        if d.get("impl") == "auto" and d.get("ok"):
            txt += f" ({d.get('impl_ran')})"
        c = d.get("config", {})
        label = f"H={c.get('hidden')} L={c.get('layers')} B={c.get('batch')} N={c.get('models')} " \
            if d.get("tool") == "pytorch" else ""
        by.setdefault(label + str(d.get("mode")), []).append(f"{d.get('impl')} {txt}")
for m, cells in by.items():
    print(f"    {m}: " + ", ".join(cells))
PYEOF
}

fail_json() { # MODE IMPL H L B N WHY: the JSON line of a pair that left none
  python3 -c 'import json, sys
m, i, H, L, B, N, why = sys.argv[1:]
print(json.dumps({"tool": "hyscale", "mode": m, "impl": i, "ok": False, "status": "no result", "error": why,
                  "config": {"hidden": int(H), "layers": int(L), "batch": int(B), "models": int(N)}}))' "$@"
}

# --- 5. hyscale on the GPU --------------------------------------------------------------------
RESERVE_OURS=100 # what torch, the CPU and the table need after
for c in "${CONFIGS[@]}"; do
  IFS=: read -r H L B N <<<"$c"
  read -r w s r <<<"$(plan "$B" "$N")"
  tag="h${H}_l${L}_b${B}_n${N}"
  out="$RES/runs/ours_$tag.jsonl"
  to=$(min 120 $(($(left) - RESERVE_OURS)))
  if [[ ! -x $BIN/bench_lstm_gpu ]] || ((to < 15)); then
    say "ours H=$H L=$L B=$B N=$N: SKIPPED ($([[ -x $BIN/bench_lstm_gpu ]] && echo "time budget" || echo "no bench_lstm_gpu"))"
    [[ -x $BIN/bench_lstm_gpu ]] && echo "ours $tag" >>"$SKIPPED"
    continue
  fi
  args=(--hidden "$H" --layers "$L" --batch "$B" --models "$N" --window 60 --features 1 --horizon 1
        --steps "$s" --warmup "$w" --reps "$r" --seed 1 --mode train,infer)
  say "ours H=$H L=$L B=$B N=$N (cublas, persistent, cudnn, auto)"
  hsrun "$to" "$BIN/bench_lstm_gpu" "${args[@]}" --impl "$(IFS=,; echo "${IMPLS[*]}")" --json "$out" \
    2>"$RES/logs/ours_$tag.err"
  rc=$?
  grep -v '^$' "$RES/logs/ours_$tag.err" | head -4 | sed 's/^/    /'
  # a crash or a timeout loses the pairs after it: the first missing implementation is the one
  # that died (recorded as failed), the others run again one by one; a clean exit before any pair
  # (no device, a bad library) is recorded for all of them, without retries
  first=1
  empty=0
  [[ -s $out ]] || ((rc != 1 && rc != 2)) || empty=1
  for impl in "${IMPLS[@]}"; do
    grep -q "\"impl\": \"$impl\"" "$out" 2>/dev/null && continue
    if ((first || empty)); then
      first=0
      why="exit $rc$( ((rc == 124 || rc == 137)) && echo " (timeout after $to s)")$( ((rc > 128 && rc != 137)) && echo " (signal $((rc - 128)))")"
      why+=": $(grep -v -e '^$' -e 'timeout -k' "$RES/logs/ours_$tag.err" | tail -1)"
      ((empty)) || say "    $impl: no result, $why"
      for m in train infer; do fail_json "$m" "$impl" "$H" "$L" "$B" "$N" "$why" >>"$out"; done
      continue
    fi
    to=$(min 60 $(($(left) - RESERVE_OURS)))
    ((to < 15)) && { echo "ours $tag" >>"$SKIPPED"; continue; }
    say "    $impl again, alone"
    hsrun "$to" "$BIN/bench_lstm_gpu" "${args[@]}" --impl "$impl" --json "$RES/runs/ours_${tag}_$impl.jsonl" \
      2>>"$RES/logs/ours_$tag.err"
  done
  brief "$out" "$RES"/runs/ours_"${tag}"_*.jsonl
done
for c in "${RECS[@]}"; do
  IFS=: read -r H L <<<"$c"
  to=$(min 60 $(($(left) - RESERVE_OURS + 20)))
  if [[ ! -x $BIN/bench_lstm_gpu ]] || ((to < 10)); then
    [[ -x $BIN/bench_lstm_gpu ]] && echo "ours rec h${H}_l${L}" >>"$SKIPPED"
    continue
  fi
  say "ours recursive 1440 steps H=$H L=$L"
  hsrun "$to" "$BIN/bench_lstm_gpu" --hidden "$H" --layers "$L" --models 1 --window 60 --mode recursive \
    --forecast 1440 --warmup 3 --reps 5 --seed 1 --json "$RES/runs/ours_rec_h${H}_l${L}.jsonl" \
    2>"$RES/logs/ours_rec_h${H}_l${L}.err"
  rc=$?
  grep -v '^$' "$RES/logs/ours_rec_h${H}_l${L}.err" | head -4 | sed 's/^/    /'
  if [[ ! -s $RES/runs/ours_rec_h${H}_l${L}.jsonl ]]; then
    fail_json recursive recursive "$H" "$L" 1 1 "exit $rc: $(grep -v '^$' "$RES/logs/ours_rec_h${H}_l${L}.err" | tail -1)" \
      >"$RES/runs/ours_rec_h${H}_l${L}.jsonl"
  fi
  brief "$RES/runs/ours_rec_h${H}_l${L}.jsonl"
done

# --- 6. PyTorch on the GPU --------------------------------------------------------------------
PT=()
for c in "${CONFIGS[@]}"; do
  IFS=: read -r H L B N <<<"$c"
  read -r w s r <<<"$(plan "$B" "$N")"
  PT+=("$H:$L:$B:$N:$s:$w:$r")
done
to=$(($(left) - 45))
if ((to < 20)); then
  say "PyTorch: SKIPPED (time budget)"
  echo "torch" >>"$SKIPPED"
else
  say "PyTorch $("$PYTHON" -c 'import torch; print(torch.__version__, "cuDNN", torch.backends.cudnn.version())' 2>/dev/null): every configuration, training and inference (at most $to s)"
  timeout -k 5 "$to" "$PYTHON" "$REPO/bench/lstm_gpu_peer.py" ${PEER_ARGS[@]+"${PEER_ARGS[@]}"} \
    --configs "$(IFS=,; echo "${PT[*]}")" --mode train,infer --window 60 --features 1 --horizon 1 --seed 1 --json "$RES/runs/torch.jsonl" \
    >"$RES/logs/torch.out" 2>"$RES/logs/torch.err"
  rc=$?
  if ((rc == 124 || rc == 137)); then
    say "    PyTorch stopped by the time budget: the configurations after its last line are left out"
    echo "torch" >>"$SKIPPED"
  fi
  grep -v '^$' "$RES/logs/torch.err" | grep -v Warning | head -6 | sed 's/^/    /'
  brief "$RES/runs/torch.jsonl"
fi
to=$(($(left) - 25))
if ((to < 10)); then
  echo "torch_rec" >>"$SKIPPED"
else
  RC=()
  for c in "${RECS[@]}"; do RC+=("$c:1:1:1:3:5"); done
  say "PyTorch recursive 1440 steps ($(IFS=,; echo "${RECS[*]}"))"
  timeout -k 5 "$to" "$PYTHON" "$REPO/bench/lstm_gpu_peer.py" ${PEER_ARGS[@]+"${PEER_ARGS[@]}"} \
    --configs "$(IFS=,; echo "${RC[*]}")" --mode recursive --forecast 1440 --window 60 --seed 1 --json "$RES/runs/torch_rec.jsonl" >"$RES/logs/torch_rec.out" 2>"$RES/logs/torch_rec.err"
  grep -v '^$' "$RES/logs/torch_rec.err" | grep -v Warning | head -4 | sed 's/^/    /'
fi

# --- 7. hyscale on the CPU (bench_lstm), for the CPU-to-GPU ratio -------------------------------
for c in "${CPUS[@]}"; do
  IFS=: read -r H L B N <<<"$c"
  tag="h${H}_l${L}_b${B}_n${N}"
  to=$(min 60 $(($(left) - 8)))
  if [[ ! -x $BIN/bench_lstm ]] || ((to < 8)); then
    [[ -x $BIN/bench_lstm ]] && echo "cpu $tag" >>"$SKIPPED"
    continue
  fi
  say "CPU bench_lstm H=$H L=$L B=$B N=$N, $NPROC threads"
  OMP_NUM_THREADS=$NPROC OPENBLAS_NUM_THREADS=$NPROC hsrun "$to" "$BIN/bench_lstm" --hidden "$H" --layers "$L" \
    --batch "$B" --models "$N" --window 60 --features 1 --horizon 1 --steps 3 --warmup 2 --reps 3 --seed 1 \
    --json "$RES/runs/cpu_$tag.json" 2>"$RES/logs/cpu_$tag.err" || head -3 "$RES/logs/cpu_$tag.err" | sed 's/^/    /'
done

# --- 8. the table, last -----------------------------------------------------------------------
cat "$RES"/runs/*.jsonl >"$RES/results.jsonl" 2>/dev/null
say "done in $(($(date +%s) - T_BEGIN)) s; logs and JSON in $RES"
table "$RES"
[[ -n $BIN && -x $BIN/bench_lstm_gpu ]] || finish 1
finish 0
