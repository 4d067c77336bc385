"""serve_peer.py: the autoscaling service written the way the seed's was (Python, FastAPI under
uvicorn, PyTorch on the CPU), from the same run folder as `hyscale serve` and with the same routes
and JSON (docs/SERVE.md), so that bench/serve_bench.sh can drive both with the same requests.

    bench/.venv-torch/bin/python bench/serve_peer.py --run RUN_DIR --state DIR --port 8090 --workers 2

What it loads from RUN_DIR (as `hyscale serve` does):
- series.csv: the clipped per-minute invocations, the default history (the training tail), and
  the series' first minute (the observation's time origin);
- lstm.safetensors: torch.nn.LSTM + nn.Linear built from the tensor names and the metadata's
  config; normalisation (norm_mean, norm_std, scale log1p, calendar_features) from __metadata__;
- prophet_model.json: Prophet's yhat (piecewise-linear trend with changepoints + Fourier
  seasonalities, additive or multiplicative), numpy;
- ppo_<forecaster>/ppo_policy.safetensors: the actor, nn.Sequential(Linear, Tanh, Linear, Tanh,
  Linear) with the file's actor.0/2/4 tensors, c and S from the metadata.

The semantics follow src/serve/answer.c: the history is `recent` (its last entry minute `now`),
else the function's observations in SQLite, else the training tail; shifted to `now` with the
minutes in between counted 0; the LSTM's recursive forecast re-runs the window of the last W
normalised values from a zero state for each step, appending the head's output (values before the
history read as zero invocations); Prophet's yhat for the minutes after `now`; the Hybrid their
plain average; ENV.md's observation (float32 like hs_env_observe); the actor's most likely action;
the margin (or delta) target. Like ours, forecasts of an unchanged history are memoised (key:
function, source, history version, last minute, points; at least 60 minutes kept); `recent`
is never memoised.

Serving: uvicorn with --workers N (default 2: one process per core; each loads the model and
keeps its own memo), uvloop and httptools (uvicorn[standard]), access log off. Handlers are
`async def` and compute inline (one request at a time per worker, no thread pool hop), PyTorch
at one thread per worker. Observations: SQLite in WAL mode (synchronous=NORMAL), one connection
per worker; a worker notices another's commits through PRAGMA data_version.
"""

import argparse
import hashlib
import json
import math
import os
import sqlite3
import sys
import time
from datetime import datetime, timezone

# The supervisor (python serve_peer.py, and its copy as __mp_main__ in each spawned worker) only
# starts uvicorn: torch, numpy and the model are the workers' (imported as serve_peer), so the
# supervisor holds no model memory of its own.
if __name__ not in ("__main__", "__mp_main__"):
    import numpy as np
    import torch
    from safetensors import safe_open

MAX_BODY = 65536
MAX_PERIODS = 1440
DEFAULT_PERIODS = 60
MAX_INSTANCES = 1_000_000
MAX_RECENT = 10080
MAX_FUNCTION = 255
MAX_OBSERVATIONS = 4096
Y_MAX = 1e15
SERIES = "total"
ENV_HIST = 8
ENV_FC = 8
ENV_VERSION = 1
KEEP = 1440          # minutes of observations a history reads (HS_STORE_KEEP)
MEMO_SIZE = 64       # HS_SERVE_CACHE
MEMO_MIN_STEPS = 60  # HS_SERVE_MIN_STEPS
MARGIN_TENTHS = [-3, -2, -1, 0, 1, 2, 3, 5, 10]
FALLBACK_ACTION = 4  # forecast+margin at 10% headroom
WEEK = 1440 * 7
TWO_PI = 6.283185307179586476925286766559


class Refused(Exception):
    """A request the service answers with an error status (the contract's error JSON)."""

    def __init__(self, status, field, message):
        super().__init__(message)
        self.status, self.field, self.message = status, field, message

    def body(self):
        b = {"error": self.message, "status": self.status}
        if self.field:
            b["field"] = self.field
        return b


# ---- time -----------------------------------------------------------------------------------


def hybrid_weights(run, leads, key="prophet_weight", none=0.5):
    """The per-lead Hybrid's Prophet weight (or, key "residual_weight" and none 0, the share of
    Prophet's error at the last minute it adds) for leads 1..leads minutes, as hyscale makes it
    (hs_hybrid_lead_interp): hybrid_metrics.json's per_lead[key] at 1, 5, 15, 60, 240 and 1440
    minutes, linear in log(lead) between scored anchors, flat outside; `none` (0.5: the plain
    average) for a folder without per_lead or without a scored lead."""
    anchors = [1, 5, 15, 60, 240, 1440]
    try:
        with open(os.path.join(run, "hybrid_metrics.json")) as f:
            w6 = json.load(f).get("per_lead", {}).get(key)
    except FileNotFoundError:
        w6 = None
    pts = [(math.log(a), w) for a, w in zip(anchors, w6 or []) if w is not None]
    out = np.full(leads, float(none))
    if pts:
        xs = np.array([p[0] for p in pts]); ys = np.array([p[1] for p in pts])
        out = np.interp(np.log(np.arange(1, leads + 1)), xs, ys)
    return out

def parse_minute(s):
    """ISO minute ('2019-07-02T00:00:00Z', '2019-07-02 00:00', '+00:00') -> unix seconds, or None."""
    if not isinstance(s, str) or len(s) < 16 or len(s) > 40 or s[10] not in "T ":
        return None
    try:
        d = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        return None
    if d.tzinfo is not None and d.utcoffset().total_seconds() != 0:
        return None
    t = int(d.replace(tzinfo=timezone.utc).timestamp())
    return t if t % 60 == 0 and d.microsecond == 0 else None


def format_minute(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


# ---- the model --------------------------------------------------------------------------------

def read_safetensors(path):
    with safe_open(path, framework="pt", device="cpu") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, (f.metadata() or {})


class Lstm:
    """lstm.safetensors as nn.LSTM + nn.Linear; the recursive forecast of hyscale (lstm_predict.c)."""

    def __init__(self, path):
        t, meta = read_safetensors(path)
        cfg = json.loads(meta["config"])
        self.H, self.L, self.F = cfg["hidden"], cfg["layers"], cfg["features"]
        self.W, self.K = cfg["window"], cfg["horizon"]
        self.mean, self.std = float(meta["norm_mean"]), float(meta["norm_std"])
        self.log_scale = meta.get("scale") == "log1p"
        self.calendar = meta.get("calendar_features") == "true"
        assert self.calendar == (self.F == 5), "calendar_features contradicts the features"
        self.lstm = torch.nn.LSTM(self.F, self.H, num_layers=self.L)
        self.head = torch.nn.Linear(self.H, self.K)
        self.lstm.load_state_dict({k[5:]: v for k, v in t.items() if k.startswith("lstm.")})
        self.head.load_state_dict({k[5:]: v for k, v in t.items() if k.startswith("head.")})
        self.lstm.eval()
        self.head.eval()
        # before the history: zero invocations (HS_LSTM_PAD_ZERO)
        self.pad = np.float32((0.0 - self.mean) / self.std)

    def calendar_at(self, ts):
        """sin/cos of the time of day and the day of week (Monday = 0) of unix seconds ts (array)."""
        day = ts // 86400
        mod = (ts - day * 86400) / 86400.0
        dow = ((day + 3) % 7) / 7.0
        two_pi = 2.0 * math.pi
        return np.stack([np.sin(two_pi * mod), np.cos(two_pi * mod), np.sin(two_pi * dow),
                         np.cos(two_pi * dow)], axis=1).astype(np.float32)

    def forecast(self, hv, last, steps):
        """hv: the last K >= W counts of the history (minute `last` the last one); steps minutes on."""
        with torch.inference_mode():
            W, K = self.W, self.K
            y = np.log1p(np.asarray(hv[-W:], dtype=np.float64)) if self.log_scale else np.asarray(hv[-W:])
            buf = np.empty(W + steps + K, dtype=np.float32)
            buf[:W] = ((y - self.mean) / self.std).astype(np.float32)
            x = torch.zeros(W, 1, self.F)
            start = last - (W - 1) * 60
            cal = self.calendar_at(start + 60 * np.arange(W + steps + K, dtype=np.int64)) if self.calendar else None
            for s in range(0, steps, K):
                x[:, 0, 0] = torch.from_numpy(buf[s:s + W])
                if cal is not None:
                    x[:, 0, 1:] = torch.from_numpy(cal[s:s + W])
                out, _ = self.lstm(x)  # zero initial state, every step
                buf[W + s:W + s + K] = self.head(out[-1, 0]).numpy()
            m = buf[W:W + steps].astype(np.float64) * self.std + self.mean
            return np.expm1(m) if self.log_scale else m


class Prophet:
    """prophet_model.json: yhat = trend * (1 + multiplicative) + additive, on the model's scale."""

    def __init__(self, path):
        with open(path) as f:
            j = json.load(f)
        assert j["format"] == "hyscale-prophet-v1"
        self.start = float(j["start_unix"])
        self.t_scale, self.y_scale = float(j["t_scale_seconds"]), float(j["y_scale"])
        self.log_scale = bool(j["log_scale"])
        p = j["params"]
        self.k, self.m = float(p["k"]), float(p["m"])
        self.cp = np.asarray(j["changepoints_t"], dtype=np.float64)
        self.delta = np.asarray(p["delta"], dtype=np.float64)
        self.beta = np.asarray(p["beta"], dtype=np.float64)
        self.seas = [(float(s["period"]), int(s["fourier_order"]), s["mode"] == "multiplicative")
                     for s in j["seasonalities"]]

    def yhat(self, ds):
        ds = np.asarray(ds, dtype=np.float64)
        t = (ds - self.start) / self.t_scale
        trend = self.k * t + self.m
        if len(self.cp):
            trend = trend + ((t[:, None] - self.cp[None, :]) * (t[:, None] >= self.cp[None, :])) @ self.delta
        d = ds / 86400.0
        add = np.zeros_like(t)
        mul = np.zeros_like(t)
        c = 0
        for period, order, multiplicative in self.seas:
            i = np.arange(1, order + 1)
            ang = 2.0 * math.pi * d[:, None] * i[None, :] / period
            x = np.empty((len(t), 2 * order))
            x[:, 0::2], x[:, 1::2] = np.sin(ang), np.cos(ang)
            v = x @ self.beta[c:c + 2 * order]
            c += 2 * order
            if multiplicative:
                mul += v
            else:
                add += v
        y = trend * self.y_scale * (1.0 + mul) + add * self.y_scale
        return np.expm1(y) if self.log_scale else y


class Agent:
    """ppo_policy.safetensors' actor: nn.Sequential(Linear, Tanh, Linear, Tanh, Linear)."""

    def __init__(self, name, path):
        t, meta = read_safetensors(path)
        self.name, self.forecaster = name, meta.get("forecaster", "none")
        self.mode = meta.get("action_mode", "margin")
        self.c, self.S = float(meta["c"]), float(meta["S"])
        self.holdout = int(json.loads(meta["config"])["holdout"])
        w = [t[f"actor.{i}.weight"] for i in (0, 2, 4)]
        self.actor = torch.nn.Sequential(
            torch.nn.Linear(w[0].shape[1], w[0].shape[0]), torch.nn.Tanh(),
            torch.nn.Linear(w[1].shape[1], w[1].shape[0]), torch.nn.Tanh(),
            torch.nn.Linear(w[2].shape[1], w[2].shape[0]))
        self.actor.load_state_dict({k[6:]: v for k, v in t.items() if k.startswith("actor.")})
        self.actor.eval()

    def act(self, obs):
        with torch.inference_mode():
            return int(torch.argmax(self.actor(torch.from_numpy(obs))).item())


def quantile(x, p):
    """ENV.md's qP: linear between order statistics (hs_quantile_inplace)."""
    w = np.sort(np.asarray(x, dtype=np.float64))
    h = p / 100.0 * (len(w) - 1)
    j = int(math.floor(h))
    return float(w[j]) if j >= len(w) - 1 else float(w[j] + (h - j) * (w[j + 1] - w[j]))


def env_scale(counts, holdout):
    """ENV.md's c = max(1, q99(d_train) / 100) and S = max(1, q99(need_train)), S a float32."""
    d = np.asarray(counts, dtype=np.float32)[:len(counts) - holdout]
    c = max(1.0, quantile(d, 99.0) / 100.0)
    need = np.ceil(d.astype(np.float64) / c)
    return c, float(np.float32(max(1.0, quantile(need, 99.0))))


def env_need(d, c):
    return int(math.ceil(float(np.float32(d)) / c))


def env_fneed(F, c):
    f = np.float32(F)
    return int(math.ceil(float(f if f > 0 else np.float32(0)) / c))


def time_features(t):
    """ENV.md entries 17..20 in float32 as hs_env_time_features (t >= 0, minutes from the series' start)."""
    day, within = divmod(t, 1440)
    a = np.float32(TWO_PI) * np.float32(within) / np.float32(1440)
    b = np.float32(TWO_PI) * np.float32(day % 7) / np.float32(7)
    return [np.sin(a), np.cos(a), np.sin(b), np.cos(b)]


class Model:
    def __init__(self, run):
        self.dir = run
        digest = hashlib.blake2b(digest_size=8)
        ts, tail = [], []
        with open(os.path.join(run, "series.csv")) as f:
            head = f.readline().strip().split(",")
            it, ic = head.index("timestamp"), head.index("clipped")
            for line in f:
                r = line.rstrip("\n").split(",")
                ts.append(r[it])
                tail.append(float(r[ic]))
        self.tail = np.asarray(tail, dtype=np.float64)
        self.start = parse_minute(ts[0])
        self.last = parse_minute(ts[-1])
        self.lstm = Lstm(os.path.join(run, "lstm.safetensors"))
        self.prophet = Prophet(os.path.join(run, "prophet_model.json"))
        self.agents = {}
        for f in ("hybrid", "lstm", "prophet", "none"):
            p = os.path.join(run, f"ppo_{f}", "ppo_policy.safetensors")
            if os.path.exists(p):
                self.agents[f] = Agent(f"ppo_{f}", p)
        for name in ("series.csv", "lstm.safetensors", "prophet_model.json"):
            with open(os.path.join(run, name), "rb") as f:
                digest.update(f.read())
        self.revision = digest.hexdigest()
        # c and S as hyscale serve takes them: ENV.md's, from series.csv's training span (the
        # agents' holdout); the metadata's values (9 digits) must agree within 1e-6
        if self.agents:
            holdout = {a.holdout for a in self.agents.values()}
            assert len(holdout) == 1, f"agents held out different spans: {holdout}"
            holdout = holdout.pop()
        else:
            with open(os.path.join(run, "lstm_metrics.json")) as f:
                holdout = int(json.load(f)["holdout"])
        self.c, self.S = env_scale(self.tail, holdout)
        self.hybrid_w = hybrid_weights(run, 1440)
        self.hybrid_a = hybrid_weights(run, 1440, "residual_weight", 0.0)
        for a in self.agents.values():
            assert abs(a.c - self.c) <= 1e-6 * self.c and abs(a.S - self.S) <= 1e-6 * self.S, \
                f"{a.name}: trained with c={a.c} S={a.S}, series.csv gives c={self.c} S={self.S}"
        self.pmax = int(math.ceil(4.0 * self.S))
        self.step = max(1, int(math.floor(self.S / 20.0 + 0.5)))
        self.memo = {}

    def agent_for(self, forecaster):
        return self.agents.get(forecaster) or self.agents.get("none")

    def forecasts(self, key, hv, last, steps):
        """(lstm, prophet) invocations for steps minutes after `last`, memoised by key (None: never).
        PEER_MEMO=0 turns the memo off: every answer forecasts, as a service written without one would."""
        if os.environ.get("PEER_MEMO", "1") == "0":
            key = None
        if key is not None:
            hit = self.memo.get(key)
            if hit is not None and len(hit[0]) >= steps:
                return hit[0][:steps], hit[1][:steps]
        want = max(steps, MEMO_MIN_STEPS) if key is not None else steps
        lf = self.lstm.forecast(hv, last, want)
        pf = self.prophet.yhat(last + 60 * np.arange(1, want + 1, dtype=np.int64))
        if key is not None:
            if len(self.memo) >= MEMO_SIZE and key not in self.memo:
                self.memo.pop(next(iter(self.memo)))
            self.memo[key] = (lf, pf)
        return lf[:steps], pf[:steps]

    def observation(self, hv, last, p, fneed):
        inv = np.float32(1.0) / np.float32(self.S)
        obs = np.zeros(23, dtype=np.float32)
        obs[0] = np.float32(p) * inv
        for i in range(ENV_HIST):
            obs[1 + i] = np.float32(env_need(hv[len(hv) - ENV_HIST + i], self.c)) * inv
        if fneed is not None:
            for k in range(ENV_FC):
                obs[1 + ENV_HIST + k] = np.float32(fneed[k]) * inv
        t = ((last - self.start) // 60) % WEEK
        obs[17:21] = time_features(t)
        return obs  # cold and idle 0, as after a reset

    def decide(self, forecaster, hv, last, F, p):
        fneed = [env_fneed(F[k], self.c) for k in range(ENV_FC)]
        a = self.agent_for(forecaster)
        if a is None:
            act = FALLBACK_ACTION
            return a, act, self.margin_target(fneed[0], act)
        none = a.forecaster == "none"
        act = a.act(self.observation(hv, last, p, None if none else fneed))
        if a.mode == "delta":
            return a, act, min(max(p + (act - 2) * self.step, 0), self.pmax)
        f1 = env_need(hv[-1], self.c) if none else fneed[0]
        return a, act, self.margin_target(f1, act)

    def margin_target(self, fneed1, a):
        return min(max((fneed1 * (10 + MARGIN_TENTHS[a]) + 9) // 10, 0), self.pmax)


# ---- requests ---------------------------------------------------------------------------------

def whole(v, lo, hi, name):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v != math.floor(v) or not lo <= v <= hi:
        raise Refused(400, name, f"'{name}' must be a whole number in [{lo}, {hi}]")
    return int(v)


def parse_body(body):
    if not body:
        raise Refused(400, "", "empty body: a JSON object is expected")
    if len(body) > MAX_BODY:
        raise Refused(413, "", f"body of {len(body)} bytes: at most {MAX_BODY}")
    try:
        o = json.loads(body, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (ValueError, UnicodeDecodeError) as e:
        raise Refused(400, "", f"body is not JSON: {e}")
    if not isinstance(o, dict):
        raise Refused(400, "", "the body must be a JSON object")
    return o


def function_name(v):
    if not isinstance(v, str) or not 1 <= len(v.encode()) <= MAX_FUNCTION or any(ord(ch) < 32 for ch in v):
        raise Refused(400, "function", "'function' must be 1-255 bytes without control bytes")
    return v


def parse_autoscale(body):
    o = parse_body(body)
    known = {"current_instances", "forecast_periods", "function", "forecaster", "recent", "now"}
    for k in o:
        if k not in known:
            raise Refused(400, k, f"unknown key '{k}'")
    if "current_instances" not in o:
        raise Refused(400, "current_instances", "'current_instances' is required")
    rq = {"p": whole(o["current_instances"], 0, MAX_INSTANCES, "current_instances"),
          "periods": whole(o.get("forecast_periods", DEFAULT_PERIODS), 1, MAX_PERIODS, "forecast_periods"),
          "function": function_name(o.get("function", SERIES)),
          "forecaster": o.get("forecaster", "hybrid"), "recent": None, "now": None}
    if rq["forecaster"] not in ("hybrid", "lstm", "prophet"):
        raise Refused(400, "forecaster", "'forecaster' must be hybrid, lstm or prophet")
    if "recent" in o:
        r = o["recent"]
        if not isinstance(r, list) or not 1 <= len(r) <= MAX_RECENT:
            raise Refused(400, "recent", f"'recent' must hold 1 to {MAX_RECENT} counts")
        for i, x in enumerate(r):
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 <= x <= Y_MAX:
                raise Refused(400, "recent", f"'recent[{i}]' must be a finite count in [0, 1e15]")
        rq["recent"] = r
    if "now" in o:
        rq["now"] = parse_minute(o["now"])
        if rq["now"] is None:
            raise Refused(400, "now", "'now' must be an ISO minute like 2019-07-02T00:00:00Z")
    return rq


def parse_observe(body):
    o = parse_body(body)
    if "observations" in o:
        if set(o) != {"observations"}:
            raise Refused(400, "observations", "'observations' stands alone")
        items, prefix = o["observations"], "observations"
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_OBSERVATIONS:
            raise Refused(400, "observations", f"'observations' must hold 1 to {MAX_OBSERVATIONS} entries")
    else:
        items, prefix = [o], None
    out = []
    for i, it in enumerate(items):
        at = f"{prefix}[{i}]." if prefix else ""
        if not isinstance(it, dict):
            raise Refused(400, f"{prefix}[{i}]", "each observation must be an object")
        for k in it:
            if k not in ("function", "ds", "invocations"):
                raise Refused(400, at + k, f"unknown key '{k}'")
        fn = function_name(it.get("function", SERIES))
        m = parse_minute(it.get("ds"))
        if m is None:
            raise Refused(400, at + "ds", "'ds' must be an ISO minute like 2019-07-02T00:00:00Z")
        v = it.get("invocations")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= Y_MAX:
            raise Refused(400, at + "invocations", "'invocations' must be a finite count in [0, 1e15]")
        out.append((fn, m, float(v)))
    return out


# ---- the observation store --------------------------------------------------------------------

class Store:
    def __init__(self, folder):
        os.makedirs(folder, exist_ok=True)
        self.db = sqlite3.connect(os.path.join(folder, "observations.sqlite"), isolation_level=None,
                                  check_same_thread=False)
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS observations (function TEXT NOT NULL, minute INTEGER NOT NULL, "
                        "invocations REAL NOT NULL, PRIMARY KEY (function, minute)) WITHOUT ROWID")
        self.writes = 0   # own commits (data_version counts only the other connections')
        self.loaded = {}  # function -> (version, values, last)

    def put(self, obs):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT OR REPLACE INTO observations VALUES (?, ?, ?)", obs)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.writes += 1

    def recent(self, function):
        """(values, last minute, version) of the function's last KEEP minutes, or None when unobserved."""
        version = (self.db.execute("PRAGMA data_version").fetchone()[0], self.writes)
        hit = self.loaded.get(function)
        if hit is not None and hit[0] == version:
            return hit[1], hit[2], version
        rows = self.db.execute("SELECT minute, invocations FROM observations WHERE function = ? AND minute > "
                               "(SELECT max(minute) FROM observations WHERE function = ?) - ? ORDER BY minute",
                               (function, function, KEEP * 60)).fetchall()
        if not rows:
            self.loaded[function] = (version, None, None)
            return None, None, version
        last = rows[-1][0]
        n = (last - rows[0][0]) // 60 + 1
        v = np.zeros(n)
        for m, x in rows:
            v[n - 1 - (last - m) // 60] = x
        self.loaded[function] = (version, v, last)
        return v, last, version


# ---- the answer -------------------------------------------------------------------------------

def answer(model, store, rq):
    t0 = time.perf_counter()
    if rq["function"] != SERIES:
        raise Refused(404, "function", f"unknown function '{rq['function'][:64]}': this model forecasts '{SERIES}'")
    if rq["recent"] is not None:
        src = rq["recent"]
        last = rq["now"] if rq["now"] is not None else int(time.time()) // 60 * 60 - 60
        version, source = None, "recent"
    else:
        v, vlast, version = store.recent(rq["function"]) if store else (None, None, None)
        if v is not None:
            src, last, source = v, vlast, "observed"
        else:
            src, last, version, source = model.tail, model.last, "tail", "training_tail"
    n = len(src)
    at = rq["now"] if rq["now"] is not None else last
    if at < last:
        raise Refused(400, "now", "'now' is before the history's last minute")
    K = max(model.lstm.W, ENV_HIST)
    gap = (at - last) // 60
    hv = np.zeros(K)
    for i in range(K):
        back = K - 1 - i - gap
        if 0 <= back < n:
            hv[i] = src[n - 1 - back]
    key = (rq["function"], source, version, at, n) if version is not None else None
    steps = max(rq["periods"], ENV_FC)
    lf, pf = model.forecasts(key, hv, at, steps)
    f = rq["forecaster"]
    w = model.hybrid_w[:len(pf)] if len(pf) <= len(model.hybrid_w) else \
        np.concatenate([model.hybrid_w, np.full(len(pf) - len(model.hybrid_w), model.hybrid_w[-1])])
    a = model.hybrid_a[:len(pf)] if len(pf) <= len(model.hybrid_a) else \
        np.concatenate([model.hybrid_a, np.full(len(pf) - len(model.hybrid_a), model.hybrid_a[-1])])
    if f == "hybrid" and np.any(a != 0):  # Prophet's error at the last minute, carried forward
        e = hv[-1] - model.prophet.yhat(np.array([at], dtype=np.int64))[0]
        F = w * pf + (1 - w) * lf + a * (e if np.isfinite(e) else 0.0)
    else:
        F = lf if f == "lstm" else pf if f == "prophet" else w * pf + (1 - w) * lf
    agent, act, target = model.decide(f, hv, at, F, rq["p"])
    c, p = model.c, rq["p"]
    decision = {"target_instances": target, "scale_by": target - p,
                "policy": "ppo" if agent else "forecast+margin"}
    if agent:
        decision["agent"] = agent.name
    if agent and agent.mode == "delta":
        decision["action"] = {"index": act, "step": (act - 2) * model.step}
    else:
        decision["action"] = {"index": act, "headroom": MARGIN_TENTHS[act] / 10.0}
    decision["current_instances"] = p
    Fl = F[:rq["periods"]].tolist()
    return {
        "function": rq["function"],
        "forecast": [{"ds": format_minute(at + 60 * (i + 1)), "invocations": x, "instances_needed": env_fneed(x, c)}
                     for i, x in enumerate(Fl)],
        "decision": decision,
        "history": {"source": source, "points": n, "last": format_minute(at)},
        "model": {"revision": model.revision, "forecaster": f, "env_version": ENV_VERSION, "run": model.dir,
                  "c": c, "S": model.S},
        "elapsed_ms": 1e3 * (time.perf_counter() - t0),
    }


# ---- the app ----------------------------------------------------------------------------------

def make_app():
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    torch.set_num_threads(int(os.environ.get("HS_PEER_TORCH_THREADS", "1")))
    model = Model(os.environ["HS_PEER_RUN"])
    state = os.environ.get("HS_PEER_STATE")
    store = Store(state) if state else None
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def refused(e):
        return JSONResponse(e.body(), status_code=e.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc):
        return JSONResponse({"error": str(exc.detail), "status": exc.status_code}, status_code=exc.status_code)

    @app.post("/api/autoscale")
    async def autoscale(request: Request):
        try:
            return JSONResponse(answer(model, store, parse_autoscale(await request.body())))
        except Refused as e:
            return refused(e)

    @app.post("/api/observe")
    async def observe(request: Request):
        try:
            if store is None:
                raise Refused(503, "", "no --state folder: observations are not kept")
            obs = parse_observe(await request.body())
            store.put(obs)
        except Refused as e:
            return refused(e)
        fns = sorted({o[0] for o in obs})
        out = {"accepted": len(obs), "functions": len(fns)}
        unknown = [f for f in fns if f != SERIES]
        if unknown:
            out["unknown_functions"] = unknown
        return JSONResponse(out)

    @app.get("/healthz")
    async def healthz():
        return JSONResponse({"status": "ok"})

    @app.get("/readyz")
    async def readyz():
        return JSONResponse({"status": "ready", "revision": model.revision})

    return app


if os.environ.get("HS_PEER_RUN") and __name__ == "serve_peer":
    app = make_app()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--state", default=None)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    os.environ["HS_PEER_RUN"] = os.path.abspath(a.run)
    if a.state:
        os.environ["HS_PEER_STATE"] = os.path.abspath(a.state)
    for name in ("series.csv", "lstm.safetensors", "prophet_model.json"):
        if not os.path.isfile(os.path.join(a.run, name)):
            sys.exit(f"serve_peer: {a.run}: no {name}")
    import uvicorn  # a worker whose model fails to load stops the supervisor (uvicorn exits 1)
    # a worker imports torch and loads the model before it answers the supervisor's first ping: on
    # two busy cores that takes tens of seconds, past uvicorn's default 5 s health check
    uvicorn.run("serve_peer:app", app_dir=os.path.dirname(os.path.abspath(__file__)), host=a.host, port=a.port,
                workers=a.workers, timeout_worker_healthcheck=300, access_log=False, log_level="warning",
                loop="uvloop", http="httptools")


if __name__ == "__main__":
    sys.exit(main())
