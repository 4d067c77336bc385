#!/usr/bin/env python3
"""Prophet peer for bench/prophet_bench.sh: fit and predict time of the real `prophet` package.

Input: a `ds,y` CSV (modelled as given; rows with an empty y are dropped, as Prophet does) or a
hyscale series.csv (columns minute,timestamp,invocations,clipped,log1p: Prophet gets
ds = timestamp, y = log1p, the column hyscale models).

What it does, in one process:
 1. reads the input (not timed);
 2. reference: `Prophet(uncertainty_samples=0)`, fit, predict on
    `make_future_dataframe(periods=H, freq=F)` (history + horizon), untimed; writes the horizon
    rows to PREFIX_ref.csv (ds,yhat,trend + the seasonal components). This is the yhat hyscale
    is validated against, and it warms up the process (imports, the Stan binary in the cache);
 3. timed: for each repetition, for each S in --samples, a NEW `Prophet(uncertainty_samples=S)`
    (defaults otherwise): `fit(df)` timed, `make_future_dataframe` (not timed),
    `np.random.seed(0)`, `predict(future)` timed (history + horizon rows, the standard call).
    The first repetition's forecast for each S > 0 goes to PREFIX_s<S>.csv (with intervals).
    Timing is time.perf_counter (monotonic) around each call; fit includes what Prophet does on
    every fit: preprocessing, writing the Stan data, running the CmdStan optimizer (L-BFGS) as a
    child process and reading its result.
    With --objective-npz, what Prophet's MAP objective needs is saved too, so that the bench
    can score hyscale's fitted parameters with Prophet's own objective (prophet_bench.sh).
 4. --max-seconds: after a repetition, no further one starts when it would end past this many
    seconds since the first timed repetition began (at least one always runs); the JSON says
    how many ran (`reps_done`) and whether that is fewer than asked (`reps_reduced`).

usage: prophet_peer.py --input FILE --horizon H [--freq F] [--samples 0,1000] [--reps 3]
                       [--max-seconds 0] --json OUT.json [--future-prefix PREFIX]
                       [--objective-npz OUT.npz]
exit codes: 0 success, 1 bad input or a failed fit.
"""
import argparse
import csv
import json
import logging
import os
import resource
import statistics
import sys
import time

import numpy as np
import pandas as pd

logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # "plotly failed": not used
import prophet  # noqa: E402
from prophet import Prophet  # noqa: E402

# cmdstanpy adds its own INFO handler on first use unless the logger has one: give it one
# that passes warnings only ("Chain [1] start processing" twice a fit otherwise).
_h = logging.StreamHandler()
_h.setLevel(logging.WARNING)
logging.getLogger("cmdstanpy").addHandler(_h)
logging.getLogger("prophet").setLevel(logging.WARNING)


def die(msg):
    print(f"prophet_peer: error: {msg}", file=sys.stderr)
    sys.exit(1)


def read_input(path):
    """Returns (frame ds,y with y possibly NaN, kind 'series'|'ds_y')."""
    with open(path, newline="") as f:
        header = next(csv.reader(f), None)
    if header is None:
        die(f"{path}: empty file")
    header = [h.strip() for h in header]
    if "timestamp" in header and "log1p" in header:
        raw = pd.read_csv(path, usecols=["timestamp", "log1p"])
        df = pd.DataFrame({"ds": pd.to_datetime(raw["timestamp"]), "y": raw["log1p"]})
        kind = "series"
    elif "ds" in header and "y" in header:
        raw = pd.read_csv(path, usecols=["ds", "y"])
        df = pd.DataFrame({"ds": pd.to_datetime(raw["ds"]), "y": raw["y"].astype(float)})
        kind = "ds_y"
    else:
        die(f"{path}: need columns ds,y or a series.csv (timestamp,log1p); got {header}")
    if len(df) < 2:
        die(f"{path}: fewer than 2 rows")
    return df, kind


def infer_freq(ds):
    """Pandas frequency of the most common spacing (what make_future_dataframe steps by)."""
    d = ds.sort_values().diff().dropna().dt.total_seconds()
    step = int(d.mode().iloc[0])
    if step <= 0:
        die("non-increasing timestamps")
    if step % 86400 == 0:
        return f"{step // 86400}D" if step != 86400 else "D", step
    if step % 3600 == 0:
        return f"{step // 3600}h" if step != 3600 else "h", step
    if step % 60 == 0:
        return f"{step // 60}min" if step != 60 else "min", step
    return f"{step}s", step


def write_future(path, fc, n_hist):
    cols = ["ds", "yhat", "yhat_lower", "yhat_upper", "trend", "trend_lower", "trend_upper"]
    extra = [c for c in ("daily", "weekly", "yearly") if c in fc.columns]
    cols = [c for c in cols if c in fc.columns] + extra
    out = fc.iloc[n_hist:][cols].copy()
    out["ds"] = out["ds"].dt.strftime("%Y-%m-%d %H:%M:%S")
    with open(path, "w") as f:
        f.write(",".join(cols) + "\n")
        for row in out.itertuples(index=False):
            f.write(",".join([row[0]] + [repr(float(v)) for v in row[1:]]) + "\n")


def med(v):
    return statistics.median(v) if v else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--freq", help="pandas frequency of the horizon (default: the data's)")
    ap.add_argument("--samples", default="0,1000", help="uncertainty_samples values, comma list")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--weekly", action="store_true",
                    help="weekly_seasonality=True (a 14-day series falls just short of the auto rule)")
    ap.add_argument("--max-seconds", type=float, default=0.0,
                    help="stop starting repetitions past this (0: no limit)")
    ap.add_argument("--json", required=True)
    ap.add_argument("--future-prefix", help="write PREFIX_ref.csv and PREFIX_s<S>.csv")
    ap.add_argument("--objective-npz", help="write what Prophet's MAP objective needs (design "
                    "matrix, t, scaled y, changepoints, priors, the fitted params) here")
    a = ap.parse_args()
    kw = {"weekly_seasonality": True} if a.weekly else {}
    samples = [int(s) for s in a.samples.split(",") if s.strip() != ""]
    if a.horizon < 1 or a.reps < 1 or not samples or min(samples) < 0:
        die("--horizon and --reps must be >= 1, --samples non-negative integers")

    df, kind = read_input(a.input)
    fit_df = df[df["y"].notnull()]
    freq, step = infer_freq(df["ds"])
    if a.freq:
        freq = a.freq

    # 2. reference fit (untimed; also the warm-up)
    t0 = time.perf_counter()
    ref = Prophet(uncertainty_samples=0, **kw)
    ref.fit(df)
    ref_fit = time.perf_counter() - t0
    future = ref.make_future_dataframe(periods=a.horizon, freq=freq)
    n_hist = len(ref.history_dates)
    t0 = time.perf_counter()
    fc = ref.predict(future)
    ref_pred = time.perf_counter() - t0
    if a.future_prefix:
        write_future(a.future_prefix + "_ref.csv", fc, n_hist)
    p = {k: np.asarray(v).squeeze() for k, v in ref.params.items()}
    if a.objective_npz:
        feats, prior_scales, _, _ = ref.make_all_seasonality_features(ref.history)
        np.savez(a.objective_npz, X=feats.to_numpy(float), t=ref.history["t"].to_numpy(float),
                 y_scaled=ref.history["y_scaled"].to_numpy(float),
                 changepoints_t=np.asarray(ref.changepoints_t, float),
                 tau=float(ref.changepoint_prior_scale),
                 prior_scales=np.asarray(prior_scales, float), y_scale=float(ref.y_scale),
                 seasonalities=np.array([f"{n}:{v['fourier_order']}"
                                         for n, v in ref.seasonalities.items()]),
                 k=p["k"], m=p["m"], delta=np.atleast_1d(p["delta"]), sigma_obs=p["sigma_obs"],
                 beta=np.atleast_1d(p["beta"]), lp__=p["lp__"])

    # 3. timed repetitions
    runs = []
    t_start = time.perf_counter()
    reps_done = 0
    for r in range(a.reps):
        rep_t0 = time.perf_counter()
        for s in samples:
            m = Prophet(uncertainty_samples=s, **kw)
            t0 = time.perf_counter()
            m.fit(df)
            fit_s = time.perf_counter() - t0
            fut = m.make_future_dataframe(periods=a.horizon, freq=freq)
            np.random.seed(0)
            t0 = time.perf_counter()
            f = m.predict(fut)
            pred_s = time.perf_counter() - t0
            runs.append({"rep": r, "samples": s, "fit_seconds": fit_s,
                         "predict_seconds": pred_s, "predict_rows": len(fut)})
            print(f"  prophet rep {r + 1} samples={s}: fit {fit_s:.3f} s, "
                  f"predict {pred_s:.3f} s", file=sys.stderr)
            if r == 0 and s > 0 and a.future_prefix:
                write_future(f"{a.future_prefix}_s{s}.csv", f, n_hist)
            del m, f
        reps_done += 1
        rep_s = time.perf_counter() - rep_t0
        elapsed = time.perf_counter() - t_start
        if a.max_seconds > 0 and r + 1 < a.reps and elapsed + rep_s > a.max_seconds:
            print(f"  prophet: stopping after {reps_done} of {a.reps} repetitions "
                  f"(--max-seconds {a.max_seconds:g})", file=sys.stderr)
            break

    by_s = {}
    for s in samples:
        rs = [x for x in runs if x["samples"] == s]
        by_s[str(s)] = {"fit_seconds_median": med([x["fit_seconds"] for x in rs]),
                        "predict_seconds_median": med([x["predict_seconds"] for x in rs]),
                        "fit_seconds": [x["fit_seconds"] for x in rs],
                        "predict_seconds": [x["predict_seconds"] for x in rs]}
    y = fit_df["y"].to_numpy(dtype=float)
    versions = {}
    for n in ("cmdstanpy", "numpy", "pandas"):
        try:
            versions[n] = __import__(n).__version__
        except Exception:  # noqa: BLE001
            versions[n] = None
    result = {
        "tool": "prophet",
        "prophet_version": prophet.__version__,
        "versions": versions,
        "python_version": sys.version.split()[0],
        "input": os.path.abspath(a.input),
        "input_kind": kind,
        "modelled": "log1p column" if kind == "series" else "y as given",
        "n_rows": len(df),
        "n_fit_rows": len(fit_df),
        "step_seconds": step,
        "freq": freq,
        "horizon": a.horizon,
        "predict_rows": n_hist + a.horizon,
        "y_min": float(y.min()),
        "y_max": float(y.max()),
        "seasonalities": list(ref.seasonalities.keys()),
        "reference": {"uncertainty_samples": 0, "fit_seconds": ref_fit,
                      "predict_seconds": ref_pred, "k": float(p["k"]), "m": float(p["m"]),
                      "sigma_obs": float(p["sigma_obs"])},
        "reps_requested": a.reps,
        "reps_done": reps_done,
        "reps_reduced": reps_done < a.reps,
        "max_seconds": a.max_seconds,
        "fit_seconds_median": med([x["fit_seconds"] for x in runs]),
        "by_samples": by_s,
        "runs": runs,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "children_peak_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }
    with open(a.json, "w") as out:
        json.dump(result, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
