#!/usr/bin/env python3
"""Golden fixtures for `hyscale forecast prophet` from the real `prophet` package.

Run from anywhere with the system Python 3:

    python3 tests/gen/prophet_fixtures.py            # writes tests/fixtures/prophet/
    python3 tests/gen/prophet_fixtures.py --out DIR  # elsewhere (e.g. to check determinism)

It creates tests/gen/.venv (gitignored) when missing, installs the pinned versions below into
it when they are not there, and re-executes itself with that interpreter. The data are read
from $HYSCALE_SHARED_DATA (default: ../shared/data beside the repository); nothing from there
is copied into the repository except the subsampled forecast values written here.

Every case is fitted with Prophet's defaults (`Prophet()`: linear growth, automatic
seasonalities, additive, 25 changepoints in the first 80% of the history, MAP fit by Stan's
L-BFGS from the linear_growth_init start, uncertainty_samples=1000) and predicted after
`np.random.seed(0)`, so the output is the same on every run apart from the timings
(`fit_seconds`, `predict_seconds`, and the versions block when the pins change).

Outputs, per case (see tests/gen/README.md for every field):
  <case>.json   scales, changepoints, seasonalities, fitted params, init, timings, row counts
  <case>.csv    a deterministic subsample of the forecast frame (history + future)
  design_peyton.json  seasonal feature rows and changepoint-indicator rows of the design matrix

exit codes: 0 success, 1 failure (missing data, install failure, a check below failing).
"""
import argparse
import json
import os
import subprocess
import sys
import time

# Pinned so that reruns give the same numbers. prophet 1.5.0 ships its compiled Stan model
# (and the cmdstan it was built with) in the wheel, so fitting needs no compiler or network.
PINS = {"prophet": "1.5.0", "cmdstanpy": "1.3.2", "numpy": "2.4.6", "pandas": "3.1.1"}

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VENV = os.path.join(HERE, ".venv")
VENV_PY = os.path.join(VENV, "bin", "python")
ENV_MARK = "HS_PROPHET_FIXTURES_IN_VENV"

# name, input (relative to the shared data folder), periods, freq, history stride,
# future stride. Rows kept in <case>.csv: every `hist_stride`-th row of the forecast frame
# (row % hist_stride == 0, over history and future alike), the first and the last history row,
# every `fut_stride`-th future row counted from the first future row, and the last row.
# The history strides keep all three CSVs within SIZE_BUDGET (every row of peyton, every 10th
# of yosemite and every 20th of nasa came to 1.55 MB; with the Newton columns the strides
# grew to 7, 59 and 113) and are prime to the samples per day
# (288 at 5 minutes, 1440 at 1 minute) so the kept rows cover every time of day.
CASES = [
    ("peyton", "prophet/example_wp_log_peyton_manning.csv", 365, "D", 7, 1),
    ("yosemite", "prophet/example_yosemite_temps.csv", 288, "5min", 59, 1),
    ("nasa", "web/nasa_http_1995_jul_per_minute.csv", 1440, "min", 113, 5),
    # monthly, multiplicative seasonality (Prophet's multiplicative example)
    ("air_passengers", "prophet/example_air_passengers.csv", 12, "MS", 1, 1),
]
DESIGN_CASE = "peyton"
DESIGN_ROWS = [0, 1, 2, 1000, 2904]
SIZE_BUDGET = 640 * 1024


def die(msg):
    print(f"prophet_fixtures: error: {msg}", file=sys.stderr)
    sys.exit(1)


def say(msg):
    print(f"prophet_fixtures: {msg}", file=sys.stderr)


# --- bootstrap: venv, pinned install, re-exec ---------------------------------------------
def installed_versions(py):
    code = ("import importlib.metadata as md, json\n"
            "out = {}\n"
            f"for n in {sorted(PINS)!r}:\n"
            "    try: out[n] = md.version(n)\n"
            "    except md.PackageNotFoundError: out[n] = None\n"
            "print(json.dumps(out))\n")
    r = subprocess.run([py, "-c", code], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else {}


def bootstrap():
    if os.environ.get(ENV_MARK) == "1":
        return
    if not os.path.exists(VENV_PY):
        say(f"creating {VENV}")
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    have = installed_versions(VENV_PY)
    if any(have.get(n) != v for n, v in PINS.items()):
        want = [f"{n}=={v}" for n, v in PINS.items()]
        say(f"installing {' '.join(want)} into {VENV} (found {have})")
        r = subprocess.run([VENV_PY, "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check"] + want)
        if r.returncode != 0:
            die("pip install failed")
        have = installed_versions(VENV_PY)
        if any(have.get(n) != v for n, v in PINS.items()):
            die(f"pinned versions not installed: {have}")
    env = dict(os.environ, **{ENV_MARK: "1"})
    os.execve(VENV_PY, [VENV_PY, os.path.abspath(__file__)] + sys.argv[1:], env)


# --- fixture generation (inside the venv) ---------------------------------------------------
def shared_data_dir():
    d = os.environ.get("HYSCALE_SHARED_DATA") or os.path.join(REPO, "..", "shared", "data")
    d = os.path.normpath(d)
    if not os.path.isdir(d):
        die(f"shared data folder not found: {d} (set HYSCALE_SHARED_DATA)")
    return d


def fl(x):
    """A Python float (json and repr then give the shortest exact round-trip text)."""
    return float(x)


def ts(x):
    import pandas as pd
    return pd.Timestamp(x).strftime("%Y-%m-%d %H:%M:%S")


def kept_rows(n_hist, n_total, hist_stride, fut_stride):
    keep = set(range(0, n_total, hist_stride))
    keep |= {0, n_hist - 1, n_total - 1}
    keep |= set(range(n_hist, n_total, fut_stride))
    return sorted(keep)


MULTIPLICATIVE = {"air_passengers"}


def run_case(name, rel, periods, freq, hist_stride, fut_stride, data_dir, out_dir):
    import numpy as np
    import pandas as pd
    import prophet
    from prophet import Prophet

    path = os.path.join(data_dir, rel)
    if not os.path.isfile(path):
        die(f"{name}: input not found: {path}")
    df = pd.read_csv(path)
    if list(df.columns) != ["ds", "y"]:
        die(f"{name}: expected columns ds,y in {path}, got {list(df.columns)}")
    df["ds"] = pd.to_datetime(df["ds"])
    n_file = len(df)
    n_missing = int(df["y"].isna().sum())

    mode = "multiplicative" if name in MULTIPLICATIVE else "additive"
    m = Prophet(seasonality_mode=mode)
    t0 = time.perf_counter()
    m.fit(df)
    fit_s = time.perf_counter() - t0

    future = m.make_future_dataframe(periods=periods, freq=freq)
    np.random.seed(0)
    t0 = time.perf_counter()
    fc = m.predict(future)
    predict_s = time.perf_counter() - t0

    n_hist = len(m.history_dates)            # history dates, NaN-y rows included
    n_fit = len(m.history)                   # rows the model was fitted on (y not NaN)
    if n_fit != n_file - n_missing or n_hist != n_file:
        die(f"{name}: row counts: file {n_file}, missing y {n_missing}, "
            f"history dates {n_hist}, fitted {n_fit}")
    if len(fc) != n_hist + periods:
        die(f"{name}: forecast has {len(fc)} rows, expected {n_hist + periods}")
    t_all = m.setup_dataframe(future.copy())["t"].to_numpy()
    y_by_ds = dict(zip(df["ds"], df["y"]))
    seas = list(m.seasonalities.keys())
    for s in seas:
        if s not in fc.columns:
            die(f"{name}: seasonality {s} missing from the forecast frame")

    k0, m0 = Prophet.linear_growth_init(m.history)
    p = {k: np.asarray(v).squeeze() for k, v in m.params.items()}
    y_fit = m.history["y"].to_numpy()
    meta = {
        "prophet_version": prophet.__version__,
        "case": name,
        "input": rel,
        "n_history": n_hist,
        "n_fit_rows": n_fit,
        "n_missing_y": n_missing,
        "n_future": periods,
        "freq": freq,
        "start": ts(m.start),
        "end": ts(m.history["ds"].max()),
        "t_scale_seconds": fl(m.t_scale.total_seconds()),
        "y_scale": fl(m.y_scale),
        "scaling": m.scaling,
        "prophet_y_min": fl(m.y_min),
        "changepoints_t": [fl(x) for x in m.changepoints_t],
        "changepoints": [ts(x) for x in m.changepoints],
        "seasonalities": [
            {"name": s, "period": fl(v["period"]), "fourier_order": int(v["fourier_order"]),
             "prior_scale": fl(v["prior_scale"]), "mode": v["mode"]}
            for s, v in m.seasonalities.items()],
        "settings": {
            "growth": m.growth, "n_changepoints": m.n_changepoints,
            "changepoint_range": fl(m.changepoint_range),
            "changepoint_prior_scale": fl(m.changepoint_prior_scale),
            "seasonality_mode": m.seasonality_mode,
            "uncertainty_samples": int(m.uncertainty_samples),
            "interval_width": fl(m.interval_width), "mcmc_samples": int(m.mcmc_samples),
            "numpy_seed_before_predict": 0,
        },
        "params": {
            "k": fl(p["k"]), "m": fl(p["m"]), "sigma_obs": fl(p["sigma_obs"]),
            "delta": [fl(x) for x in np.atleast_1d(p["delta"])],
            "beta": [fl(x) for x in np.atleast_1d(p["beta"])],
            "lp__": fl(p["lp__"]),
        },
        "init": {"k": fl(k0), "m": fl(m0)},
        "fit_seconds": fit_s,
        "predict_seconds": predict_s,
        "y_min": fl(np.min(y_fit)),
        "y_max": fl(np.max(y_fit)),
        "csv": {"hist_stride": hist_stride, "future_stride": fut_stride,
                "rows": None, "columns": None},
        "versions": installed_versions(sys.executable),
        "python_version": sys.version.split()[0],
    }

    # The same model fitted with Stan's Newton optimizer: the exact MAP point. Stan's L-BFGS
    # (Prophet's default) can stop short of it on long series (on nasa its log posterior is
    # 17 lower); the *_newton columns are the reference for the exact optimum.
    mn = Prophet(seasonality_mode=mode)
    t0 = time.perf_counter()
    mn.fit(df, algorithm="Newton", iter=100000)
    newton_s = time.perf_counter() - t0
    np.random.seed(0)
    mn.uncertainty_samples = 0
    fcn = mn.predict(future)
    pn = {k: np.asarray(v).squeeze() for k, v in mn.params.items()}
    meta["params_newton"] = {
        "k": fl(pn["k"]), "m": fl(pn["m"]), "sigma_obs": fl(pn["sigma_obs"]),
        "delta": [fl(x) for x in np.atleast_1d(pn["delta"])],
        "beta": [fl(x) for x in np.atleast_1d(pn["beta"])],
        "lp__": fl(pn["lp__"]),
    }
    meta["fit_seconds_newton"] = newton_s

    cols = ["yhat", "yhat_lower", "yhat_upper", "trend", "trend_lower", "trend_upper"] + seas
    ncols = ["yhat", "trend"] + seas
    header = ["row", "ds", "t", "y"] + cols + [c + "_newton" for c in ncols]
    rows = kept_rows(n_hist, len(fc), hist_stride, fut_stride)
    data = {c: fc[c].to_numpy(dtype=float) for c in cols}
    data.update({c + "_newton": fcn[c].to_numpy(dtype=float) for c in ncols})
    cols = cols + [c + "_newton" for c in ncols]
    ds_all = fc["ds"].to_numpy()
    lines = [",".join(header)]
    for i in rows:
        d = pd.Timestamp(ds_all[i])
        y = y_by_ds.get(d) if i < n_hist else None
        ytxt = "" if y is None or pd.isna(y) else repr(fl(y))
        lines.append(",".join([str(i), ts(d), repr(fl(t_all[i])), ytxt]
                              + [repr(fl(data[c][i])) for c in cols]))
    meta["csv"]["rows"] = len(rows)
    meta["csv"]["columns"] = header

    csv_path = os.path.join(out_dir, f"{name}.csv")
    with open(csv_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    if name == DESIGN_CASE:
        write_design(m, df, name, out_dir)

    say(f"{name}: {n_fit} fitted rows ({n_missing} missing y), {periods} future, "
        f"seasonalities {seas}, fit {fit_s:.2f} s, predict {predict_s:.2f} s, "
        f"k={p['k']:.6g} m={p['m']:.6g} sigma_obs={p['sigma_obs']:.6g}")
    return meta


def write_design(m, df, name, out_dir):
    import numpy as np
    hist = m.setup_dataframe(df[df["y"].notnull()].copy())
    if not np.array_equal(hist["t"].to_numpy(), m.history["t"].to_numpy()):
        die(f"{name}: setup_dataframe(history) t differs from the fitted history")
    feats, prior_scales, component_cols, modes = m.make_all_seasonality_features(hist)
    X = feats.to_numpy(dtype=float)
    t = hist["t"].to_numpy()
    cp = np.asarray(m.changepoints_t)
    rows = [r for r in DESIGN_ROWS if r < len(hist)]
    design = {
        "case": name,
        "rows": rows,
        "ds": [ts(hist["ds"].iloc[r]) for r in rows],
        "t": [fl(t[r]) for r in rows],
        "y": [fl(hist["y"].iloc[r]) for r in rows],
        "y_scaled": [fl(hist["y_scaled"].iloc[r]) for r in rows],
        "n_rows": int(X.shape[0]),
        "columns": [str(c) for c in feats.columns],
        "prior_scales": [fl(x) for x in prior_scales],
        "features": [[fl(v) for v in X[r]] for r in rows],
        "changepoints_t": [fl(x) for x in cp],
        "A": [[int(t[r] >= c) for c in cp] for r in rows],
        "note": "features = m.make_all_seasonality_features(m.setup_dataframe(history))[0], "
                "history = input rows with y not NaN; A[i][j] = 1 if t >= changepoints_t[j]",
    }
    with open(os.path.join(out_dir, f"design_{name}.json"), "w") as f:
        json.dump(design, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "prophet"),
                    help="output folder (default tests/fixtures/prophet)")
    ap.add_argument("--case", action="append", choices=[c[0] for c in CASES],
                    help="only this case (repeatable; default all)")
    a = ap.parse_args()
    bootstrap()

    import logging
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)   # "plotly failed": unused
    import prophet
    # cmdstanpy adds its own INFO handler on first use unless the logger has one already
    h = logging.StreamHandler()
    h.setLevel(logging.WARNING)
    logging.getLogger("cmdstanpy").addHandler(h)
    logging.getLogger("prophet").setLevel(logging.WARNING)
    if prophet.__version__ != PINS["prophet"]:
        die(f"prophet {prophet.__version__} imported, pinned {PINS['prophet']}")

    data_dir = shared_data_dir()
    os.makedirs(a.out, exist_ok=True)
    for c in CASES:
        if a.case and c[0] not in a.case:
            continue
        run_case(*c, data_dir, a.out)

    total = 0
    for n in sorted(os.listdir(a.out)):
        p = os.path.join(a.out, n)
        if os.path.isfile(p):
            sz = os.path.getsize(p)
            total += sz
            print(f"{sz:>9}  {os.path.relpath(p)}")
    print(f"{total:>9}  total ({total / 1024:.0f} KiB)")
    if total > SIZE_BUDGET:
        say(f"warning: fixtures take {total / 1024:.0f} KiB, over the {SIZE_BUDGET // 1024} KiB "
            f"budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
