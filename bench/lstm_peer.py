#!/usr/bin/env python3
"""lstm_peer.py: the PyTorch side of bench/lstm_bench.sh (see bench/README.md).

    lstm_peer.py --hidden 64 --layers 1 --batch 256 --models 1 [--window 60] [--features 1]
                 [--horizon 1] [--steps 20] [--warmup 3] [--reps 5] [--seed 1] [--threads T]
                 [--json FILE]

Per model: nn.LSTM(F, H, num_layers=L, batch_first=False) + nn.Linear(H, K), PyTorch's default
init, one torch.optim.Adam(lr=1e-3) over both. One training step = zero_grad + forward (the
head on the last step's output) + nn.functional.mse_loss + backward + clip_grad_norm_(1.0) +
Adam step, as bench_lstm.c does. Inputs: one fixed batch x (W, B, F) ~ N(0, 1) per model and
targets 0.8 * last input + 0.6 * N(0, 1), drawn with torch's generator (not bench_lstm's Philox:
the values differ, their distribution and shapes do not).

N models = N separate module pairs and N optimizers, stepped one after the other in a Python
loop: how N independent models are trained with stock PyTorch, and the fairest equivalent of
hyscale's N models in one set of buffers. (No grouped alternative: torch.func.vmap over
stack_module_state + functional_call fails on nn.LSTM in torch 2.15.0 with "Batching rule not
implemented for aten::lstm.input. We could not generate a fallback."; anything else would be a
hand-written LSTM, not nn.LSTM.)

Validates before it times: every warm-up loss finite, the mean loss over the models lower at
the last warm-up step than at the first (exit 1 otherwise). Then R repetitions of S steps on
time.perf_counter (monotonic), median reported. Output: one JSON object with the same fields as
bench_lstm (windows_per_second = N * B * S / seconds, seconds_per_step, epoch_seconds =
seconds_per_step * ceil(18000 / B)).
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import torch
from torch import nn

EPOCH_WINDOWS = 18000


def make_data(a, gen):
    """x: (N, W, B, F) ~ N(0, 1), never exactly zero; target: (N, B, K)."""
    x = torch.randn(a.models, a.window, a.batch, a.features, generator=gen)
    x = torch.where(x.abs() < 1e-3, torch.copysign(torch.full_like(x, 1e-3), x), x)
    noise = torch.randn(a.models, a.batch, a.horizon, generator=gen)
    target = 0.8 * x[:, -1, :, :1].expand(-1, -1, a.horizon) + 0.6 * noise
    return x.contiguous(), target.contiguous()


def make_models(a):
    torch.manual_seed(a.seed)
    mods = []
    for _ in range(a.models):
        lstm = nn.LSTM(a.features, a.hidden, num_layers=a.layers, batch_first=False)
        head = nn.Linear(a.hidden, a.horizon)
        mods.append((lstm, head))
    return mods


class LoopTrainer:
    """N independent (nn.LSTM, nn.Linear) pairs, each with its own Adam, stepped in a loop."""

    def __init__(self, a, mods):
        self.mods = mods
        self.params = [list(l.parameters()) + list(h.parameters()) for l, h in mods]
        self.opts = [torch.optim.Adam(p, lr=1e-3) for p in self.params]

    def step(self, x, target):
        losses = []
        for n, (lstm, head) in enumerate(self.mods):
            opt = self.opts[n]
            opt.zero_grad(set_to_none=True)
            out, _ = lstm(x[n])
            y = head(out[-1])
            loss = nn.functional.mse_loss(y, target[n])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.params[n], 1.0)
            opt.step()
            losses.append(loss.detach())
        return torch.stack(losses)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--models", type=int, required=True)
    ap.add_argument("--window", type=int, default=60)
    ap.add_argument("--features", type=int, default=1)
    ap.add_argument("--horizon", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads (0: OMP_NUM_THREADS, else torch's default)")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.warmup < 2 or a.steps < 1 or a.reps < 1:
        ap.error("--warmup >= 2, --steps >= 1, --reps >= 1")

    threads = a.threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    if threads:
        torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(a.seed)
    x, target = make_data(a, gen)
    mods = make_models(a)

    tr = LoopTrainer(a, mods)

    # --- validate (these are the warm-up steps) ---
    warm = []
    first_losses = None
    for s in range(a.warmup):
        losses = tr.step(x, target)
        if s == 0:
            first_losses = losses.clone()
        warm.append(losses)
    finite = all(bool(torch.isfinite(w).all()) for w in warm)
    means = [w.double().mean().item() for w in warm]
    decreased = int((warm[-1] < first_losses).sum())
    if not (finite and means[-1] < means[0]):
        print(f"lstm_peer: VALIDATION FAILED (H={a.hidden} L={a.layers} B={a.batch} N={a.models} "
              f"): mean loss {means[0]:.6g} at warm-up step 1, {means[-1]:.6g} at step "
              f"{a.warmup} ({'all finite' if finite else 'NOT finite'}; {decreased} of {a.models} "
              f"models decreased)", file=sys.stderr)
        sys.exit(1)

    # --- time ---
    reps = []
    losses = warm[-1]
    for _ in range(a.reps):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            losses = tr.step(x, target)
        reps.append(time.perf_counter() - t0)
    med = statistics.median(reps)
    sps = med / a.steps
    steps_per_epoch = math.ceil(EPOCH_WINDOWS / a.batch)
    P = sum(p.numel() for p in mods[0][0].parameters()) + sum(p.numel() for p in mods[0][1].parameters())

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    res = {
        "tool": "pytorch",
        "backend": f"torch {torch.__version__} cpu, N separate modules in a loop",
        "config": {"models": a.models, "layers": a.layers, "hidden": a.hidden,
                   "features": a.features, "window": a.window, "horizon": a.horizon,
                   "batch": a.batch, "steps": a.steps, "warmup": a.warmup, "reps": a.reps,
                   "seed": a.seed, "params_per_model": P},
        "step": ("zero_grad + forward + mse_loss + backward + clip_grad_norm_(1.0) per model "
                 "+ Adam(lr 1e-3)"),
        "windows_per_second": a.models * a.batch * a.steps / med,
        "seconds_per_step": sps,
        "epoch_windows_per_model": EPOCH_WINDOWS,
        "steps_per_epoch": steps_per_epoch,
        "epoch_seconds": sps * steps_per_epoch,
        "rep_seconds": reps,
        "rep_seconds_median": med, "rep_seconds_min": min(reps), "rep_seconds_max": max(reps),
        "validation": {"ok": True, "warmup_mean_loss": means, "models_decreased": decreased,
                       "models": a.models, "final_mean_loss": losses.double().mean().item()},
        "git_revision": os.environ.get("HS_GIT_REV") or "unknown",
        "cpu": cpu,
        "threads": {"OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
                    "torch_num_threads": torch.get_num_threads(),
                    "torch_num_interop_threads": torch.get_num_interop_threads(),
                    "mkldnn_enabled": torch.backends.mkldnn.is_available()
                    and torch.backends.mkldnn.enabled},
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
    }
    out = json.dumps(res, indent=1)
    if a.json:
        with open(a.json, "w") as f:
            f.write(out + "\n")
    else:
        print(out)


if __name__ == "__main__":
    main()
