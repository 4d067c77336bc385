#!/usr/bin/env python3
"""Golden fixture for the LSTM from the real PyTorch (nn.LSTM + nn.Linear, torch.optim.Adam).

    python3 tests/gen/lstm_fixtures.py             # writes tests/fixtures/lstm/tiny.json

Creates tests/gen/.venv-torch (gitignored) when missing, installs the pinned torch from PyPI
into it and re-executes itself there (HS_TORCH_PYTHON=/path/to/python uses another
interpreter that has torch). Deterministic: torch.manual_seed(0), float32, one thread.

The case: H = 8, L = 2, W = 5, batch 3, F = 5 input features, K = 1 output. The JSON holds the
parameters in PyTorch's order (lstm.weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, the same
for l1, head.weight, head.bias), the input in hyscale's time-major layout (W, B, F), the target,
the outputs, the MSE loss and every gradient (same order), then 10 steps of Adam (lr 1e-2,
betas 0.9/0.999, eps 1e-8) with gradient-norm clipping at 1.0: the loss before each step and
the parameters after the last.
"""
import json
import os
import subprocess
import sys

PINS = {"torch": "2.15.0"}
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VENV = os.path.join(HERE, ".venv-torch")
MARK = "HS_LSTM_FIXTURES_IN_VENV"


def bootstrap():
    if os.environ.get(MARK):
        return
    py = os.environ.get("HS_TORCH_PYTHON")
    if not py:
        py = os.path.join(VENV, "bin", "python")
        if not os.path.exists(py):
            subprocess.check_call([sys.executable, "-m", "venv", VENV])
        ok = subprocess.call([py, "-c", f"import torch; assert torch.__version__.startswith('{PINS['torch']}')"],
                             stderr=subprocess.DEVNULL) == 0
        if not ok:
            subprocess.check_call([py, "-m", "pip", "install", "-q", f"torch=={PINS['torch']}", "numpy"])
    env = dict(os.environ, **{MARK: "1"})
    os.execve(py, [py] + sys.argv, env)


def main():
    bootstrap()
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    H, L, W, B, F, K = 8, 2, 5, 3, 5, 1
    lstm = torch.nn.LSTM(F, H, num_layers=L, batch_first=True)
    head = torch.nn.Linear(H, K)
    params = list(lstm.parameters()) + list(head.parameters())
    names = [n for n, _ in lstm.named_parameters()] + ["head." + n for n, _ in head.named_parameters()]
    x = torch.randn(B, W, F)
    target = torch.randn(B, K)

    def forward():
        out, _ = lstm(x)
        return head(out[:, -1, :])

    def flat(ts):
        return [float(v) for t in ts for v in t.detach().reshape(-1).tolist()]

    y = forward()
    loss = torch.nn.functional.mse_loss(y, target)
    loss.backward()
    case = {
        "torch_version": torch.__version__,
        "config": {"hidden": H, "layers": L, "window": W, "batch": B, "features": F, "horizon": K},
        "names": names,
        "shapes": [list(p.shape) for p in params],
        "params": flat(params),
        "x_time_major": [float(v) for v in x.transpose(0, 1).reshape(-1).tolist()],
        "target": [float(v) for v in target.reshape(-1).tolist()],
        "y": [float(v) for v in y.detach().reshape(-1).tolist()],
        "loss": float(loss.detach()),
        "grads": flat([p.grad for p in params]),
    }
    opt = torch.optim.Adam(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(forward(), target)
        losses.append(float(loss.detach()))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    case["adam"] = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "clip": 1.0, "steps": 10,
                    "losses": losses, "params_after": flat(params)}
    out = os.path.join(REPO, "tests", "fixtures", "lstm", "tiny.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    print(f"lstm_fixtures: wrote {out} ({os.path.getsize(out)} bytes), loss {case['loss']:.6g}, "
          f"10 Adam steps {losses[0]:.6g} -> {losses[-1]:.6g}")


if __name__ == "__main__":
    main()
