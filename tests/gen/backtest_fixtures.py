#!/usr/bin/env python3
"""Golden fixtures for `hyscale backtest` from Prophet's own diagnostics.

Run from anywhere with the system Python 3:

    python3 tests/gen/backtest_fixtures.py            # writes tests/fixtures/prophet/backtest_*
    python3 tests/gen/backtest_fixtures.py --out DIR  # elsewhere (e.g. to check determinism)

Same venv and pins as prophet_fixtures.py (tests/gen/.venv; prophet 1.5.0, cmdstanpy 1.3.2,
numpy 2.4.6, pandas 3.1.1), created and filled when missing; the script re-executes itself
there. Data from $HYSCALE_SHARED_DATA (default ../shared/data beside the repository); nothing
from there is copied into the repository.

Each case runs `prophet.diagnostics.cross_validation(m, horizon, period, initial)` and
`performance_metrics(cv)` (rolling_window 0.1, every metric) twice: on `Prophet()` with its
defaults (as prophet_fixtures.py), and on `Prophet(n_changepoints=0)` ("_nocp"). Prophet's
optimizer (Stan's L-BFGS, and Newton too) can stop short of the MAP point when changepoint
deltas sit at the kink of their Laplace prior: on peyton's cutoff 2012-02-05 hyscale's exact
solver reaches a log posterior 0.9 above L-BFGS's and 0.5 above Newton's, and the forecasts
differ by up to 0.1 there. Without changepoints the problem is smooth, every optimizer reaches
the MAP, and the comparison checks the backtest itself: cutoffs, refits, forecasts, metrics.
np.random.seed(0) before cross_validation, so the intervals repeat.

Outputs, per case (tests/gen/README.md says every field):
  backtest_<case>_metrics.csv       performance_metrics of Prophet(), as pandas writes it, and a
                                    last column mdape_stable (mdape_stable() below)
  backtest_<case>_nocp_metrics.csv  the same of Prophet(n_changepoints=0)
  backtest_<case>.json              options, cutoffs, row counts, seconds, versions

exit codes: 0 success, 1 failure (missing data, install failure, a check failing).
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prophet_fixtures import PINS, REPO, VENV, VENV_PY, installed_versions  # noqa: E402  the one pin list

ENV_MARK = "HS_BACKTEST_FIXTURES_IN_VENV"

# name, input (under the shared data folder), first rows kept (None: all), horizon, period,
# initial (None: Prophet's default: period = horizon / 2, initial = max(3 horizon, the longest
# seasonality's period)), the hyscale options that say the same.
CASES = [
    # Prophet's documentation example (Diagnostics): daily data, 11 cutoffs a half-year apart
    ("peyton", "prophet/example_wp_log_peyton_manning.csv", None, "365 days", "180 days", "730 days",
     ["--horizon", "365d", "--period", "180d", "--initial", "730d"]),
    # minutes: the first 10 days of NASA-HTTP July 1995, hyscale backtest's defaults for
    # minute data (horizon 1 day; Prophet's rules for the rest: period 12 h, initial 3 days, as
    # 10 days give a daily seasonality and no weekly one)
    ("nasa10", "web/nasa_http_1995_jul_per_minute.csv", 14400, "1 days", None, None, []),
]


def die(msg):
    print(f"backtest_fixtures: error: {msg}", file=sys.stderr)
    sys.exit(1)


def say(msg):
    print(f"backtest_fixtures: {msg}", file=sys.stderr)


def bootstrap():
    if os.environ.get(ENV_MARK) == "1":
        return
    if not os.path.exists(VENV_PY):
        say(f"creating {VENV}")
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    have = installed_versions(VENV_PY)
    if any(have.get(n) != v for n, v in PINS.items()):
        want = [f"{n}=={v}" for n, v in PINS.items()]
        say(f"installing {' '.join(want)} into {VENV}")
        r = subprocess.run([VENV_PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + want)
        if r.returncode != 0:
            die("pip install failed")
    env = dict(os.environ, **{ENV_MARK: "1"})
    os.execve(VENV_PY, [VENV_PY, os.path.abspath(__file__)] + sys.argv[1:], env)


def ts(x):
    import pandas as pd
    return pd.Timestamp(x).strftime("%Y-%m-%d %H:%M:%S")


def mdape_stable(cv, rows, horizons):
    """Prophet's mdape with the rows ordered by a stable sort on the horizon. performance_metrics
    sorts with numpy's quicksort, which leaves the order of equal horizons to the CPU's sort
    kernel; rolling_median_by_h then takes the last points of the previous horizon in that
    order, and the median moves with it (by up to 4% on peyton). Here the frame is sorted
    stably (equal horizons in cutoff order), then Prophet's own rolling_median_by_h runs."""
    import numpy as np
    from prophet import diagnostics

    df = cv.copy()
    df["horizon"] = df["ds"] - df["cutoff"]
    df = df.sort_values("horizon", kind="stable")
    w = max(1, min(int(0.1 * len(df)), len(df)))
    ape = np.abs((df["y"] - df["yhat"]) / df["y"])
    r = diagnostics.rolling_median_by_h(x=ape.values, h=df["horizon"], w=w, name="mdape")
    if len(r) != rows or not np.array_equal(r["horizon"].values, horizons.values):
        die("the stable mdape's horizons differ from performance_metrics'")
    return r["mdape"].values


def run_cv(df, kwargs, horizon, period, initial):
    """cross_validation and performance_metrics of Prophet(**kwargs) fitted on df."""
    import numpy as np
    from prophet import Prophet
    from prophet.diagnostics import cross_validation, performance_metrics

    m = Prophet(**kwargs)
    t0 = time.perf_counter()
    m.fit(df)
    fit_s = time.perf_counter() - t0
    np.random.seed(0)
    t0 = time.perf_counter()
    cv = cross_validation(m, horizon=horizon, period=period, initial=initial, disable_tqdm=True)
    cv_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pm = performance_metrics(cv)
    pm_s = time.perf_counter() - t0
    pm["mdape_stable"] = mdape_stable(cv, len(pm), pm["horizon"])
    return m, cv, pm, fit_s, cv_s, pm_s


def run_case(name, rel, rows, horizon, period, initial, hs_args, data_dir, out_dir):
    import pandas as pd
    import prophet

    path = os.path.join(data_dir, rel)
    if not os.path.isfile(path):
        die(f"{name}: input not found: {path}")
    df = pd.read_csv(path)
    if list(df.columns) != ["ds", "y"]:
        die(f"{name}: expected columns ds,y in {path}, got {list(df.columns)}")
    df["ds"] = pd.to_datetime(df["ds"])
    if rows:
        df = df.iloc[:rows].copy()
    meta = {"prophet_version": prophet.__version__, "case": name, "input": rel, "rows": int(len(df)),
            "start": ts(df["ds"].min()), "end": ts(df["ds"].max()),
            "horizon": horizon, "period": period, "initial": initial, "rolling_window": 0.1}
    for kwargs, suffix, extra in (({}, "", []), ({"n_changepoints": 0}, "_nocp", ["--changepoints", "0"])):
        m, cv, pm, fit_s, cv_s, pm_s = run_cv(df, kwargs, horizon, period, initial)
        cutoffs = sorted(cv["cutoff"].unique())
        key = "default" if not suffix else suffix[1:]
        meta[key] = {
            "prophet_kwargs": kwargs,
            "hyscale_args": hs_args + extra,
            "cutoffs": [ts(c) for c in cutoffs],
            "cv_rows": int(len(cv)),
            "metrics_rows": int(len(pm)),
            "metrics_columns": list(pm.columns),
            "seasonalities": list(m.seasonalities.keys()),
            "fit_seconds": fit_s,
            "cross_validation_seconds": cv_s,
            "performance_metrics_seconds": pm_s,
        }
        pm.to_csv(os.path.join(out_dir, f"backtest_{name}{suffix}_metrics.csv"), index=False, float_format="%.10g")
        say(f"{name}{suffix}: {len(cutoffs)} cutoffs from {ts(cutoffs[0])}, {len(cv)} forecasts, "
            f"{len(pm)} horizons, cross_validation {cv_s:.1f} s")
    meta["versions"] = installed_versions(sys.executable)
    meta["python_version"] = sys.version.split()[0]
    with open(os.path.join(out_dir, f"backtest_{name}.json"), "w") as f:
        json.dump(meta, f, indent=1)
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
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    h = logging.StreamHandler()
    h.setLevel(logging.WARNING)
    logging.getLogger("cmdstanpy").addHandler(h)
    logging.getLogger("prophet").setLevel(logging.WARNING)
    import prophet
    if prophet.__version__ != PINS["prophet"]:
        die(f"prophet {prophet.__version__} imported, pinned {PINS['prophet']}")
    data_dir = os.path.normpath(os.environ.get("HYSCALE_SHARED_DATA") or os.path.join(REPO, "..", "shared", "data"))
    if not os.path.isdir(data_dir):
        die(f"shared data folder not found: {data_dir} (set HYSCALE_SHARED_DATA)")
    os.makedirs(a.out, exist_ok=True)
    for c in CASES:
        if a.case and c[0] not in a.case:
            continue
        run_case(*c, data_dir, a.out)


if __name__ == "__main__":
    main()
