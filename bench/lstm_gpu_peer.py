#!/usr/bin/env python3
"""lstm_gpu_peer.py: the PyTorch side of bench/gpu_check.sh, nn.LSTM with cuDNN on the GPU (see
bench/README.md). The same configurations, steps and JSON fields as bench/bench_lstm_gpu.c.

    lstm_gpu_peer.py --configs H:L:B:N[:S[:WU[:R]]],... [--mode train,infer,recursive]
                     [--window 60] [--features 1] [--horizon 1] [--steps 20] [--warmup 3]
                     [--reps 5] [--forecast 1440] [--seed 1] [--adam fused] [--json FILE]
    lstm_gpu_peer.py --hidden 64 --layers 1 --batch 256 --models 1 ...   (one configuration)

One process runs every configuration (torch's import and the CUDA context cost seconds, once) and
prints one JSON object per line per (configuration, mode), to --json FILE (appended) and stdout.

Models: per model nn.LSTM(F, H, num_layers=L) (time-major input (W, B, F)) + nn.Linear(H, K) on
the last step's output, PyTorch's default init, float32, cuDNN on, TF32 off everywhere
(torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False, matmul
precision "highest"): the same arithmetic as hyscale's float32 paths.

Data resident on the GPU, as hyscale keeps it: the N synthetic series (two sines and noise,
normalised; torch's generator, so other values than hyscale's of the same kind) in one (N, M)
tensor, M = W + K + S*B, and the S*B window ends shuffled once; each step gathers its B windows on
the GPU with index arithmetic (series[:, ends[:, None] + arange(-W, 0)]), and its targets.

  train: one step = zero_grad + gather + forward + mse_loss + backward + clip_grad_norm_(1.0) per
         model + Adam(lr 1e-3) step. One torch.optim.Adam over every model's parameters, fused=True
         by default (one kernel for the whole update, the fastest of torch's three Adams on
         CUDA; --adam foreach or single to compare; the JSON names the one used). With N models:
         a Python loop over N separate nn.LSTM + nn.Linear modules, forward, loss and backward
         per model, then one clip
         per model, then the one Adam step (a single optimizer over all the models' parameters:
         the fastest way stock PyTorch steps N independent models).
  infer: under torch.no_grad(), gather + forward + mse_loss on B windows per model.
  recursive: one series, one model, --forecast steps: for each step the window of the last W
         values through the model with batch 1, the prediction appended to the buffer, the loop
         as a user writes it (no graph capture).

Validated before timed: train warm-up steps all run on the first batch, every loss finite and the
mean loss over the models lower at the last warm-up step than at the first; infer and recursive
outputs finite. Timed with torch.cuda.Event around a repetition (S steps; recursive: one
forecast), median of R repetitions; also the wall time (time.perf_counter with a synchronize).
windows_per_second = N * B * S / seconds (recursive: N * ceil(steps / K) / seconds);
flops_per_window: forward sum over layers of W * 2 * 4H * (F_l + H), plus 2 * H * K; training 3x.
--device cpu runs the same code on the CPU (perf_counter), to check the script without a GPU.
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import traceback

import torch
from torch import nn


def forward_flops(H, L, F, W, K):
    return sum(W * 2 * 4 * H * ((F if l == 0 else H) + H) for l in range(L)) + 2 * H * K


def make_series(N, M, seed, device):
    """(N, M): sin(2 pi t / p1 + phase) + 0.5 sin(2 pi t / p2) + 0.3 N(0, 1), normalised per series."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(M, dtype=torch.float64)
    rows = []
    for n in range(N):
        p1, p2 = 24.0 + (n * 7) % 40, 200.0 + (n * 13) % 300
        ph = 2 * math.pi * torch.rand((), generator=gen, dtype=torch.float64)
        v = (torch.sin(2 * math.pi * t / p1 + ph) + 0.5 * torch.sin(2 * math.pi * t / p2)
             + 0.3 * torch.randn(M, generator=gen, dtype=torch.float64))
        rows.append((v - v.mean()) / v.std(unbiased=False))
    return torch.stack(rows).to(torch.float32).to(device)


class Models:
    """N independent (nn.LSTM, nn.Linear) pairs and one Adam over all of them."""

    def __init__(self, c, a, device, adam):
        torch.manual_seed(a.seed)
        self.mods = [(nn.LSTM(a.features, c["H"], num_layers=c["L"]).to(device),
                      nn.Linear(c["H"], a.horizon).to(device)) for _ in range(c["N"])]
        self.params = [list(l.parameters()) + list(h.parameters()) for l, h in self.mods]
        flat = [p for ps in self.params for p in ps]
        kw = {"fused": True} if adam == "fused" else {"foreach": adam == "foreach"}
        self.opt = torch.optim.Adam(flat, lr=1e-3, **kw)

    def train_step(self, x, target):
        """x (N, W, B, F), target (N, B, K) -> the per-model losses (N), on the device."""
        self.opt.zero_grad(set_to_none=True)
        losses = []
        for n, (lstm, head) in enumerate(self.mods):
            out, _ = lstm(x[n])
            loss = nn.functional.mse_loss(head(out[-1]), target[n])
            loss.backward()
            losses.append(loss.detach())
        for ps in self.params:
            torch.nn.utils.clip_grad_norm_(ps, 1.0)
        self.opt.step()
        return torch.stack(losses)

    @torch.no_grad()
    def eval_step(self, x, target):
        return torch.stack([nn.functional.mse_loss(head(lstm(x[n])[0][-1]), target[n])
                            for n, (lstm, head) in enumerate(self.mods)])


class Timer:
    """CUDA events on the GPU (and perf_counter for the wall time); perf_counter on the CPU."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def start(self):
        if self.cuda:
            torch.cuda.synchronize()
            self.ev0, self.ev1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            self.ev0.record()
        self.w0 = time.perf_counter()

    def stop(self):
        """-> (event seconds, wall seconds)"""
        if self.cuda:
            self.ev1.record()
            self.ev1.synchronize()
            wall = time.perf_counter() - self.w0
            return self.ev0.elapsed_time(self.ev1) / 1000.0, wall
        wall = time.perf_counter() - self.w0
        return wall, wall


def gather(series, ends, W, K):
    """windows ending at ends (B,) of every series: x (N, W, B, 1) and targets (N, B, K)."""
    dev = series.device
    xi = ends[:, None] + torch.arange(-W, 0, device=dev)  # (B, W)
    ti = ends[:, None] + torch.arange(0, K, device=dev)   # (B, K)
    x = series[:, xi].permute(0, 2, 1).unsqueeze(-1)      # (N, W, B, 1)
    return x.contiguous(), series[:, ti]


def run_resident_modes(c, a, modes, device, out):
    """train and/or infer for one configuration; one result dict per mode via out()."""
    H, L, B, N, S, WU, R = c["H"], c["L"], c["B"], c["N"], c["S"], c["WU"], c["R"]
    W, K = a.window, a.horizon
    nends = S * B
    M = W + K + nends
    series = make_series(N, M, a.seed, device)
    gen = torch.Generator().manual_seed(a.seed + 20)
    ends = (W + torch.randperm(nends, generator=gen)).to(device)
    m = Models(c, a, device, a.adam)
    timer = Timer(device)
    for mode in modes:
        res = base_result(c, a, mode, device)
        try:
            if mode == "train":
                x0, t0 = gather(series, ends[:B], W, K)
                warm = [m.train_step(x0, t0).double() for _ in range(WU)]
                means = [w.mean().item() for w in warm]
                finite = all(bool(torch.isfinite(w).all()) for w in warm)
                decreased = int((warm[-1] < warm[0]).sum())
                res["validation"] = {"ok": bool(finite and means[-1] < means[0]), "warmup_mean_loss": means,
                                     "models_decreased": decreased}
                if not res["validation"]["ok"]:
                    raise ValueError(f"VALIDATION FAILED: mean loss {means[0]:.6g} at warm-up step 1, "
                                     f"{means[-1]:.6g} at step {WU} ({'all finite' if finite else 'NOT finite'}"
                                     f"; {decreased} of {N} models decreased)")
                step = m.train_step
            else:
                x0, t0 = gather(series, W + torch.arange(B, device=device), W, K)
                warm = [m.eval_step(x0, t0) for _ in range(WU)]
                finite = all(bool(torch.isfinite(w).all()) for w in warm)
                res["validation"] = {"ok": finite}
                if not finite:
                    raise ValueError("VALIDATION FAILED: a non-finite loss in the warm-up")
                step = m.eval_step
            reps, walls, final = [], [], None
            for _ in range(R):
                acc = torch.zeros(N, device=device, dtype=torch.float64)
                timer.start()
                for s in range(S):
                    e = ends[s * B:(s + 1) * B] if mode == "train" else W + s * B + torch.arange(B, device=device)
                    x, t = gather(series, e, W, K)
                    acc += step(x, t)
                ev, wall = timer.stop()
                reps.append(ev)
                walls.append(wall)
                final = acc.mean().item() / S
                if not math.isfinite(final):
                    raise ValueError("VALIDATION FAILED: a non-finite loss while timed")
            res["validation"]["final_mean_loss"] = final
            finish(res, reps, walls, N * B * S, S)
        except Exception as ex:  # noqa: BLE001 - one configuration's failure is reported, not fatal
            fail(res, ex)
        out(res)
    del m, series


def run_recursive(c, a, device, out):
    H, L, N, WU, R = c["H"], c["L"], c["N"], c["WU"], c["R"]
    W, K, steps = a.window, a.horizon, a.forecast
    res = base_result(c, a, "recursive", device)
    try:
        if N != 1:
            raise ValueError("recursive: one model (--models 1)")
        series = make_series(1, 4 * W, a.seed, device)[0]
        m = Models(c, a, device, a.adam)
        lstm, head = m.mods[0]
        timer = Timer(device)

        @torch.no_grad()
        def forecast():
            buf = torch.empty(W + steps + K, device=device)
            buf[:W] = series[-W:]
            for s in range(0, steps, K):
                y = head(lstm(buf[s:s + W].view(W, 1, 1))[0][-1])  # (1, K)
                buf[W + s:W + s + K] = y[0]
            return buf[W:W + steps]

        for _ in range(WU):
            f = forecast()
        finite = bool(torch.isfinite(f).all())
        res["validation"] = {"ok": finite}
        if not finite:
            raise ValueError("VALIDATION FAILED: a non-finite forecast")
        reps, walls = [], []
        for _ in range(R):
            timer.start()
            forecast()
            ev, wall = timer.stop()
            reps.append(ev)
            walls.append(wall)
        per_call = math.ceil(steps / K)
        finish(res, reps, walls, per_call, per_call)
        res["seconds"] = res["rep_seconds_median"]
        res["wall_seconds"] = statistics.median(walls)
    except Exception as ex:  # noqa: BLE001
        fail(res, ex)
    out(res)


def base_result(c, a, mode, device):
    P = 4 * c["H"] * (a.features + c["H"] + 2) + (c["L"] - 1) * 4 * c["H"] * (2 * c["H"] + 2) \
        + a.horizon * (c["H"] + 1)
    rec = mode == "recursive"
    fpw = forward_flops(c["H"], c["L"], a.features, a.window, a.horizon) * (3 if mode == "train" else 1)
    return {
        "tool": "pytorch", "mode": mode, "impl": "torch",
        "impl_ran": (f"nn.LSTM cuDNN {torch.backends.cudnn.version()}" if device.type == "cuda"
                     else "nn.LSTM cpu"),
        "ok": False, "status": "error", "error": None,
        "config": {"models": c["N"], "layers": c["L"], "hidden": c["H"], "features": a.features,
                   "window": a.window, "horizon": a.horizon, "batch": 1 if rec else c["B"],
                   "steps": c["S"], "warmup": c["WU"], "reps": c["R"], "seed": a.seed,
                   "forecast_steps": a.forecast if rec else 0, "params_per_model": P},
        "windows_per_second": None, "seconds_per_step": None, "flops_per_window": fpw,
        "flops_per_second": None, "rep_seconds": [], "rep_seconds_median": None,
        "validation": {"ok": False},
        "step": {"train": "zero_grad + gather + forward + mse_loss + backward per model, clip_grad_norm_(1.0) "
                          "per model, one Adam(lr 1e-3) step over all models' parameters",
                 "infer": "no_grad: gather + forward + mse_loss per model",
                 "recursive": "no_grad: per step the last W values through the model, batch 1, "
                              "the prediction appended"}[mode],
        "adam": a.adam if mode == "train" else None,
        "n_models": "N separate nn.LSTM + nn.Linear modules in a Python loop" if c["N"] > 1 else None,
        "timing": ("torch.cuda.Event around a repetition, median" if device.type == "cuda"
                   else "time.perf_counter around a repetition, median"),
        "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
        "cudnn_enabled": torch.backends.cudnn.enabled,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch_version": torch.__version__, "python_version": platform.python_version(),
        "git_revision": os.environ.get("HS_GIT_REV") or "unknown",
    }


def finish(res, reps, walls, windows, per_call):
    med = statistics.median(reps)
    res.update({"ok": True, "status": "ok", "rep_seconds": reps, "rep_seconds_median": med,
                "wall_rep_seconds": walls, "wall_seconds_median": statistics.median(walls),
                "windows_per_second": windows / med, "seconds_per_step": med / per_call})
    res["flops_per_second"] = res["windows_per_second"] * res["flops_per_window"]


def fail(res, ex):
    res["ok"] = False
    res["status"] = "validation" if str(ex).startswith("VALIDATION") else "error"
    res["error"] = f"{type(ex).__name__}: {ex}"
    print(f"lstm_gpu_peer: {res['mode']} H={res['config']['hidden']} L={res['config']['layers']} "
          f"B={res['config']['batch']} N={res['config']['models']}: {res['error']}", file=sys.stderr)
    if res["status"] == "error":
        traceback.print_exc(limit=3)


def parse_configs(a, ap):
    if a.configs:
        specs = a.configs.split(",")
    elif a.hidden and a.layers:
        specs = [f"{a.hidden}:{a.layers}:{a.batch}:{a.models}"]
    else:
        ap.error("--configs, or --hidden and --layers")
    cs = []
    for sp in specs:
        f = sp.split(":")
        try:
            v = [int(x) for x in f]
        except ValueError:
            ap.error(f"--configs: '{sp}' is not H:L:B:N[:S[:WU[:R]]]")
        if not 4 <= len(v) <= 7 or min(v) < 1:
            ap.error(f"--configs: '{sp}' is not H:L:B:N[:S[:WU[:R]]] of positive integers")
        v += [a.steps, a.warmup, a.reps][len(v) - 4:]
        c = dict(zip(["H", "L", "B", "N", "S", "WU", "R"], v))
        if c["WU"] < 2:
            ap.error("warm-up steps >= 2 (a decrease needs two losses)")
        cs.append(c)
    return cs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", help="comma-separated H:L:B:N[:S[:WU[:R]]]")
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--models", type=int, default=1)
    ap.add_argument("--mode", default="train", help="comma-separated train, infer, recursive")
    ap.add_argument("--impl", help="ignored (bench_lstm_gpu's option; PyTorch has one path)")
    ap.add_argument("--window", type=int, default=60)
    ap.add_argument("--features", type=int, default=1)
    ap.add_argument("--horizon", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--forecast", type=int, default=1440)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--adam", choices=["fused", "foreach", "single"], default="fused")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--json", help="append the JSON lines to this file (they always go to stdout)")
    a = ap.parse_args()
    modes = a.mode.split(",")
    if not modes or any(m not in ("train", "infer", "recursive") for m in modes):
        ap.error("--mode: a comma-separated list of train, infer, recursive")
    if a.features != 1:
        ap.error("--features 1 only (the peer has no calendar inputs)")
    configs = parse_configs(a, ap)

    if a.device == "cuda" and not torch.cuda.is_available():
        print("lstm_gpu_peer: torch.cuda.is_available() is False (no GPU, or a CPU-only torch)", file=sys.stderr)
        sys.exit(1)
    device = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.enabled = True
    torch.set_float32_matmul_precision("highest")

    sink = open(a.json, "a") if a.json else None
    failed = 0

    def out(res):
        nonlocal failed
        failed += not res["ok"]
        line = json.dumps(res)
        print(line, flush=True)
        if sink:
            sink.write(line + "\n")
            sink.flush()

    for c in configs:
        rm = [m for m in modes if m != "recursive"]
        if rm:
            try:
                run_resident_modes(c, a, rm, device, out)
            except Exception as ex:  # noqa: BLE001 - e.g. out of memory while setting up
                for mode in rm:
                    res = base_result(c, a, mode, device)
                    fail(res, ex)
                    out(res)
        if "recursive" in modes:
            run_recursive(c, a, device, out)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if sink:
        sink.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
