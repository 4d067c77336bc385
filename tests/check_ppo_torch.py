"""check_ppo_torch.py: the scaling agents of a run folder, loaded in PyTorch, choose the action that
`hyscale serve` answers (issue 13: "a Python check loads ppo_policy.safetensors in PyTorch and gets
the same action").

    bench/.venv-torch/bin/python tests/check_ppo_torch.py --run RUN --hyscale build/hyscale
    bench/.venv-torch/bin/python tests/check_ppo_torch.py --run RUN --url http://127.0.0.1:8080

Needs torch, numpy and safetensors (bench/serve_bench.sh makes bench/.venv-torch with them). With
--hyscale it starts `hyscale serve --model RUN` on a free loopback port itself and stops it after;
with --url it asks a service already running on that run folder.

For each case (a window of the run's series.csv, some of them scaled, ending at a minute `now`;
a current instance count; a forecaster in turn hybrid, lstm, prophet) it sends
{"current_instances", "forecast_periods": 8, "forecaster", "recent" (the last 60 minutes),
"now"} to POST /api/autoscale, then builds ENV.md's observation itself, in float32 as
hs_env_observe does: p / S; need[t-7..t] = ceil(d / c) of `recent`; fneed[1..8] =
the answer's forecast[0..7].instances_needed (zeros for the forecaster-free agent ppo_none); sin
and cos of the minute of the day and of the day of the week, t counted from the series' first
minute; cold and idle 0. The actor (nn.Sequential(Linear, Tanh, Linear, Tanh, Linear) from the
file's actor.0/2/4 tensors, on the CPU) gives the logits; the most likely action must be the
answer's decision.action.index, and the margin (or delta) target its target_instances. c and S
are ENV.md's, computed here from series.csv's training span (the agent's holdout), checked
against the file's metadata (9 digits) and equal to the answer's model.c and model.S. The
forecasts themselves are the service's: this checks the policy and the observation, not the
forecasters (bench/serve_bench.sh compares those against its PyTorch peer).

Tolerance: an action counts as equal when it is PyTorch's argmax, or when the service's action is
within 1e-5 (relative to max(1, |logit|)) of PyTorch's top logit: float32 sums in another order
(hyscale's GEMM against PyTorch's) move a logit by about 1e-6 of its size, so only a near tie can
flip, and such cases are listed. Prints "ppo parity: N/N actions equal"; exit 1 on any difference.
"""

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import numpy as np
import torch
from safetensors import safe_open

MARGIN_TENTHS = [-3, -2, -1, 0, 1, 2, 3, 5, 10]
TIE_RTOL = 1e-5  # see the module's text
RECENT = 60


def load_agent(path):
    with safe_open(path, framework="pt", device="cpu") as f:
        t = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata() or {}
    w = [t[f"actor.{i}.weight"] for i in (0, 2, 4)]
    actor = torch.nn.Sequential(
        torch.nn.Linear(w[0].shape[1], w[0].shape[0]), torch.nn.Tanh(),
        torch.nn.Linear(w[1].shape[1], w[1].shape[0]), torch.nn.Tanh(),
        torch.nn.Linear(w[2].shape[1], w[2].shape[0]))
    actor.load_state_dict({k[len("actor."):]: v for k, v in t.items() if k.startswith("actor.")})
    actor.eval()
    return {"actor": actor, "forecaster": meta.get("forecaster", "none"), "mode": meta.get("action_mode", "margin"),
            "c": float(meta["c"]), "S": float(meta["S"]), "holdout": int(json.loads(meta["config"])["holdout"])}


def quantile(x, p):
    """ENV.md's qP: linear between order statistics."""
    w = np.sort(np.asarray(x, dtype=np.float64))
    h = p / 100.0 * (len(w) - 1)
    j = int(math.floor(h))
    return float(w[j]) if j >= len(w) - 1 else float(w[j] + (h - j) * (w[j + 1] - w[j]))


def env_scale(counts, holdout):
    """ENV.md's c = max(1, q99(d_train) / 100) and S = max(1, q99(need_train)) (S a float32), from
    series.csv's training span: the file's metadata holds them to 9 digits only."""
    d = np.asarray(counts, dtype=np.float32)[:len(counts) - holdout]
    c = max(1.0, quantile(d, 99.0) / 100.0)
    need = np.ceil(d.astype(np.float64) / c)
    return c, float(np.float32(max(1.0, quantile(need, 99.0))))


def read_series(run):
    ts, clipped = [], []
    with open(os.path.join(run, "series.csv")) as f:
        head = f.readline().strip().split(",")
        it, ic = head.index("timestamp"), head.index("clipped")
        for line in f:
            r = line.rstrip("\n").split(",")
            ts.append(int(datetime.strptime(r[it], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()))
            clipped.append(float(r[ic]))
    return ts, clipped


def need(d, c):
    return int(math.ceil(float(np.float32(d)) / c))


def observation(agent, recent, now, start, p, fneed):
    """ENV.md's 23 floats, float32 as hs_env_observe."""
    S, c = np.float32(agent["S"]), agent["c"]
    inv = np.float32(1.0) / S
    obs = np.zeros(23, dtype=np.float32)
    obs[0] = np.float32(p) * inv
    for i in range(8):
        j = len(recent) - 8 + i
        obs[1 + i] = np.float32(need(recent[j], c) if j >= 0 else 0) * inv
    if agent["forecaster"] != "none":
        for k in range(8):
            obs[9 + k] = np.float32(fneed[k]) * inv
    t = ((now - start) // 60) % (1440 * 7)
    day, within = divmod(t, 1440)
    two_pi = np.float32(6.283185307179586476925286766559)
    a = two_pi * np.float32(within) / np.float32(1440)
    b = two_pi * np.float32(day % 7) / np.float32(7)
    obs[17:21] = [np.sin(a), np.cos(a), np.sin(b), np.cos(b)]
    return obs


def target_of(agent, act, p, fneed1, need_t):
    S = agent["S"]
    pmax = int(math.ceil(4.0 * S))
    if agent["mode"] == "delta":
        step = max(1, int(math.floor(S / 20.0 + 0.5)))
        return min(max(p + (act - 2) * step, 0), pmax)
    f1 = need_t if agent["forecaster"] == "none" else fneed1
    return min(max((f1 * (10 + MARGIN_TENTHS[act]) + 9) // 10, 0), pmax)


def post(url, body):
    req = urllib.request.Request(url + "/api/autoscale", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def start_hyscale(binary, run):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen([binary, "serve", "--model", run, "--host", "127.0.0.1", "--port", str(port), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit(f"check_ppo_torch: hyscale serve exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(url + "/readyz", timeout=1).read()
            return proc, url
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    proc.kill()
    sys.exit("check_ppo_torch: hyscale serve did not get ready in 60 s")


def cases(ts, clipped, n_cases):
    """(recent, now, current_instances, forecaster) spread over the series, some scaled x3 or x0.2."""
    n = len(ts)
    out = []
    fcs = ["hybrid", "lstm", "prophet"]
    for i in range(n_cases):
        e = 8 + (i * 7919) % (n - 8)          # the last minute of the history
        scale = (1.0, 1.0, 3.0, 0.2)[i % 4]
        recent = [round(v * scale, 3) for v in clipped[max(0, e - RECENT + 1):e + 1]]
        level = recent[-1]
        p = int((0, 1, 0.5, 1.5, 4)[i % 5] * level) if i % 5 else 0
        out.append((recent, ts[e], p, fcs[i % 3]))
    return out


def main():
    ap = argparse.ArgumentParser(description="PyTorch's actions against hyscale serve's")
    ap.add_argument("--run", required=True, help="the run folder the service serves")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--url", help="a running service, e.g. http://127.0.0.1:8080")
    g.add_argument("--hyscale", help="a hyscale binary: start `hyscale serve --model RUN` here")
    ap.add_argument("--cases", type=int, default=90)
    a = ap.parse_args()
    torch.set_num_threads(1)

    agents = {}
    for name in sorted(os.listdir(a.run)):
        p = os.path.join(a.run, name, "ppo_policy.safetensors")
        if name.startswith("ppo_") and os.path.exists(p):
            agents[name] = load_agent(p)
    if not agents:
        sys.exit(f"check_ppo_torch: no ppo_*/ppo_policy.safetensors in {a.run}")
    ts, clipped = read_series(a.run)
    for name, ag in agents.items():
        c, S = env_scale(clipped, ag["holdout"])
        if abs(c - ag["c"]) > 1e-6 * c or abs(S - ag["S"]) > 1e-6 * S:
            sys.exit(f"check_ppo_torch: {name}: trained with c={ag['c']} S={ag['S']}, series.csv gives c={c} S={S}")
        ag["c"], ag["S"] = c, S
    proc, url = start_hyscale(a.hyscale, a.run) if a.hyscale else (None, a.url.rstrip("/"))
    equal = targets = ties = 0
    bad = []
    used, seen = {}, {}
    try:
        for recent, now, p, fc in cases(ts, clipped, a.cases):
            body = {"current_instances": p, "forecast_periods": 8, "forecaster": fc, "recent": recent,
                    "now": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
            ans = post(url, body)
            d = ans["decision"]
            if d.get("policy") != "ppo":
                bad.append(f"{fc}: policy {d.get('policy')}, but the run has agents {sorted(agents)}")
                continue
            ag = agents[d["agent"]]
            used[d["agent"]] = used.get(d["agent"], 0) + 1
            if ans["model"]["c"] != ag["c"] or ans["model"]["S"] != ag["S"]:
                bad.append(f"{d['agent']}: model c={ans['model']['c']} S={ans['model']['S']}, the file's "
                           f"c={ag['c']} S={ag['S']}")
            fneed = [f["instances_needed"] for f in ans["forecast"][:8]]
            obs = observation(ag, recent, now, ts[0], p, fneed)
            with torch.inference_mode():
                logits = ag["actor"](torch.from_numpy(obs)).numpy().astype(np.float64)
            mine, theirs = int(np.argmax(logits)), int(d["action"]["index"])
            seen[theirs] = seen.get(theirs, 0) + 1
            top = logits[mine]
            if mine == theirs:
                equal += 1
            elif abs(logits[theirs] - top) <= TIE_RTOL * max(1.0, abs(top)):
                equal += 1
                ties += 1
                print(f"  near tie: {fc} p={p} now={body['now']}: torch {mine}, hyscale {theirs} "
                      f"(logits {top:.7g} vs {logits[theirs]:.7g})")
            else:
                bad.append(f"{fc} p={p} now={body['now']}: torch action {mine} (logit {top:.6g}), hyscale "
                           f"{theirs} (logit {logits[theirs]:.6g})")
            want = target_of(ag, theirs, p, fneed[0], need(recent[-1], ag["c"]))
            if want == d["target_instances"]:
                targets += 1
            else:
                bad.append(f"{fc} p={p} now={body['now']}: action {theirs} maps to {want} instances, hyscale "
                           f"answered {d['target_instances']}")
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
    n = a.cases
    print(f"ppo parity: {equal}/{n} actions equal, {targets}/{n} targets equal "
          f"({', '.join(f'{k} {v}' for k, v in sorted(used.items()))}; actions seen "
          f"{' '.join(f'{k}:{v}' for k, v in sorted(seen.items()))}; {ties} near ties)")
    for b in bad[:20]:
        print("  MISMATCH " + b)
    return 0 if equal == n and targets == n and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
