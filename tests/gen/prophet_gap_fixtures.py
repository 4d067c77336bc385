#!/usr/bin/env python3
"""Golden fixtures for Prophet on series with systematic gaps, from the real `prophet` package.

Run from anywhere with the system Python 3:

    python3 tests/gen/prophet_gap_fixtures.py            # writes tests/fixtures/prophet/gap_*
    python3 tests/gen/prophet_gap_fixtures.py --out DIR  # elsewhere (e.g. to check determinism)

Same venv and pins as prophet_fixtures.py (tests/gen/.venv; prophet 1.5.0, cmdstanpy 1.3.2,
numpy 2.4.6, pandas 3.1.1), created and filled when missing; the script re-executes itself
there. Data from $HYSCALE_SHARED_DATA (default ../shared/data beside the repository); nothing
from there is copied into the repository except the forecast values written here and a few
rows of the input needed to check that the test rebuilt it the same way.

Why: a series that never shows some days of the week (business days only) leaves the model
free in some directions: the intercept and the weekly Fourier columns take 5 values on 5
weekdays, so 2 combinations of (m, weekly betas) vanish on every observed day and only the
priors pin them. The exact MAP point (Stan's Newton, and hyscale's exact solver before it held
those directions) moves the intercept into the weekly seasonality and forecasts the unseen
weekend far off; Prophet's default L-BFGS leaves them near its initial point and forecasts the
weekend near the weekday level. Users expect Prophet's answer; these fixtures hold it.

Each case is Prophet's defaults (`Prophet()`, as prophet_fixtures.py), `np.random.seed(0)`
before `predict(make_future_dataframe(periods, freq))`, and the same model fitted with Stan's
Newton (`algorithm="Newton"`): the exact MAP point, the *_newton columns.

Cases (the input is rebuilt by tests/test_prophet_gaps.c from the same shared file):
  gap_peyton_weekdays     prophet/example_wp_log_peyton_manning.csv without its Saturdays and
                          Sundays; 30 days ahead (weekends included). 2 free directions.
  gap_nasa_hourly_weekdays  web/nasa_http_1995_jul_per_minute.csv summed per hour (complete
                          hours only), Saturdays and Sundays left out; 168 hours ahead (a
                          weekend included). Weekly and daily seasonality; the hours of the
                          week cover 120 distinct phases, so the design has full rank: the
                          gapped series the data determine, where the MAP point is the answer.
  gap_nasa_business_hours the same hourly sums, only the hours starting 09:00..16:00 of
                          Monday..Friday; 168 hours ahead (nights and a weekend). One direction
                          exactly free (9 daily functions on 8 hours), others weakly determined
                          (the night): Prophet's answer is where its L-BFGS stops.
  gap_nasa_minute_business_hours  web/nasa_http_1995_jul_per_minute.csv as given, the minutes of
                          09:00..16:59 on Monday..Friday; 672 x 15 minutes ahead (a week of
                          nights and a weekend). No exactly free direction, several weakly
                          determined ones: L-BFGS and Newton 10 ranges apart at night.

Outputs, per case (tests/gen/README.md says every field):
  <case>.json   filter, row counts, y sum/min/max of the rebuilt input, scales, params of both
                fits, init, the free directions (eigenvalues of the design's Gram matrix below
                1e-12 of its trace, and how far each fit moved theta along them), versions
  <case>.csv    row,ds,t,y,yhat,trend,<seasonalities>,yhat_newton: every future row and every
                hist_stride-th history row (with the first and last)

exit codes: 0 success, 1 failure (missing data, install failure, a check below failing).
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

ENV_MARK = "HS_PROPHET_GAP_FIXTURES_IN_VENV"
# hyscale's tolerance for a free direction (src/forecast/prophet_fit.c, HS_FREE_TOL)
FREE_TOL = 1e-12

# name, input (under the shared data folder), how the input is rebuilt, periods, freq,
# history stride. 7 is prime to the 5 weekdays and to the 24 hours, so the kept history rows
# cover every weekday and hour; 97 to the 480 minutes of a business day (a 200 KB budget).
CASES = [
    ("gap_peyton_weekdays", "prophet/example_wp_log_peyton_manning.csv", "weekdays", 30, "D", 7),
    ("gap_nasa_hourly_weekdays", "web/nasa_http_1995_jul_per_minute.csv", "hourly_sum_weekdays", 168, "h", 7),
    ("gap_nasa_business_hours", "web/nasa_http_1995_jul_per_minute.csv", "hourly_sum_business_hours", 168, "h", 7),
    ("gap_nasa_minute_business_hours", "web/nasa_http_1995_jul_per_minute.csv", "business_hours", 672, "15min", 97),
]
FILTERS = {
    "weekdays": "rows whose ds falls on Monday..Friday",
    "hourly_sum_weekdays": "y summed per clock hour, hours with all 60 minutes present only, then "
                           "the hours of Monday..Friday; ds = the hour's start",
    "hourly_sum_business_hours": "y summed per clock hour, hours with all 60 minutes present only, then "
                                 "the hours 09:00..16:00 (their start) of Monday..Friday; ds = the hour's start",
    "business_hours": "rows whose ds falls on Monday..Friday between 09:00 and 16:59",
}


def die(msg):
    print(f"prophet_gap_fixtures: error: {msg}", file=sys.stderr)
    sys.exit(1)


def say(msg):
    print(f"prophet_gap_fixtures: {msg}", file=sys.stderr)


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


def fl(x):
    return float(x)


def ts(x):
    import pandas as pd
    return pd.Timestamp(x).strftime("%Y-%m-%d %H:%M:%S")


def rebuild(path, how):
    import pandas as pd
    df = pd.read_csv(path)
    if list(df.columns) != ["ds", "y"]:
        die(f"expected columns ds,y in {path}, got {list(df.columns)}")
    df["ds"] = pd.to_datetime(df["ds"])
    df = df[df["y"].notna()]
    if how == "weekdays":
        out = df[df["ds"].dt.day_of_week < 5]
    elif how == "hourly_sum_weekdays":
        g = df.groupby(df["ds"].dt.floor("h"))["y"].agg(["sum", "count"])
        g = g[g["count"] == 60]
        out = pd.DataFrame({"ds": g.index, "y": g["sum"].to_numpy(dtype=float)})
        out = out[out["ds"].dt.day_of_week < 5]
    elif how == "business_hours":
        hr = df["ds"].dt.hour
        out = df[(df["ds"].dt.day_of_week < 5) & (hr >= 9) & (hr < 17)]
    elif how == "hourly_sum_business_hours":
        g = df.groupby(df["ds"].dt.floor("h"))["y"].agg(["sum", "count"])
        g = g[g["count"] == 60]
        out = pd.DataFrame({"ds": g.index, "y": g["sum"].to_numpy(dtype=float)})
        hr = out["ds"].dt.hour
        out = out[(out["ds"].dt.day_of_week < 5) & (hr >= 9) & (hr < 17)]
    else:
        die(f"unknown filter {how}")
    return out.reset_index(drop=True)


def params_of(m):
    import numpy as np
    p = {k: np.asarray(v).squeeze() for k, v in m.params.items()}
    return {"k": fl(p["k"]), "m": fl(p["m"]), "sigma_obs": fl(p["sigma_obs"]),
            "delta": [fl(x) for x in np.atleast_1d(p["delta"])],
            "beta": [fl(x) for x in np.atleast_1d(p["beta"])], "lp__": fl(p["lp__"])}


def theta_of(p):
    import numpy as np
    return np.concatenate([[p["k"], p["m"]], p["delta"], p["beta"]])


def free_directions(m, pl, pn, k0, m0):
    """The design's free directions (hyscale's rule) and how far each fit moved theta along them."""
    import numpy as np
    h = m.history
    X = m.make_all_seasonality_features(h)[0].to_numpy(dtype=float)
    t = h["t"].to_numpy()
    cp = np.asarray(m.changepoints_t)
    D = np.column_stack([t, np.ones_like(t), np.maximum(0.0, t[:, None] - cp[None, :]), X])
    G = D.T @ D
    w, V = np.linalg.eigh(G)
    tr = np.trace(G)
    N = V[:, w <= FREE_TOL * tr]
    th0 = np.zeros(D.shape[1])
    th0[0], th0[1] = k0, m0
    move_l = float(np.linalg.norm(N.T @ (theta_of(pl) - th0))) if N.shape[1] else 0.0
    move_n = float(np.linalg.norm(N.T @ (theta_of(pn) - th0))) if N.shape[1] else 0.0
    return {
        "count": int(N.shape[1]),
        "tolerance_of_trace": FREE_TOL,
        "smallest_eigenvalues_of_trace": [fl(x) for x in (w[:4] / tr)],
        "first_kept_eigenvalue_of_trace": fl(w[N.shape[1]] / tr),
        "lbfgs_move_along_them": move_l,
        "newton_move_along_them": move_n,
        "note": "eigenvalues of G = D'D (D the (n, 2 + S + K) design t, 1, (t - cp)_+, features) "
                "over its trace; a move is |N'(theta_fit - theta_init)|, N the free directions",
    }


def run_case(name, rel, how, periods, freq, hist_stride, data_dir, out_dir):
    import numpy as np
    import pandas as pd
    import prophet
    from prophet import Prophet

    path = os.path.join(data_dir, rel)
    if not os.path.isfile(path):
        die(f"{name}: input not found: {path}")
    df = rebuild(path, how)
    m = Prophet()
    t0 = time.perf_counter()
    m.fit(df)
    fit_s = time.perf_counter() - t0
    future = m.make_future_dataframe(periods=periods, freq=freq)
    np.random.seed(0)
    fc = m.predict(future)
    mn = Prophet(uncertainty_samples=0)
    mn.fit(df, algorithm="Newton", iter=100000)
    fcn = mn.predict(future)
    n_hist = len(m.history)
    if n_hist != len(df) or len(fc) != n_hist + periods:
        die(f"{name}: rows: input {len(df)}, history {n_hist}, forecast {len(fc)}")
    k0, m0 = Prophet.linear_growth_init(m.history)
    pl, pn = params_of(m), params_of(mn)
    seas = list(m.seasonalities.keys())
    y = df["y"].to_numpy(dtype=float)
    rng = float(y.max() - y.min())
    fut = slice(n_hist, None)
    d_ln = float(np.max(np.abs(fc["yhat"].to_numpy()[fut] - fcn["yhat"].to_numpy()[fut])))
    meta = {
        "prophet_version": prophet.__version__,
        "case": name,
        "input": rel,
        "filter": how,
        "filter_text": FILTERS[how],
        "n_fit_rows": n_hist,
        "y_sum": fl(y.sum()),
        "y_min": fl(y.min()),
        "y_max": fl(y.max()),
        "first_rows": [[ts(d), fl(v)] for d, v in zip(df["ds"][:3], y[:3])],
        "n_future": periods,
        "freq": freq,
        "start": ts(m.start),
        "end": ts(m.history["ds"].max()),
        "t_scale_seconds": fl(m.t_scale.total_seconds()),
        "y_scale": fl(m.y_scale),
        "changepoints_t": [fl(x) for x in m.changepoints_t],
        "seasonalities": [
            {"name": s, "period": fl(v["period"]), "fourier_order": int(v["fourier_order"]),
             "prior_scale": fl(v["prior_scale"]), "mode": v["mode"]}
            for s, v in m.seasonalities.items()],
        "params": pl,
        "params_newton": pn,
        "init": {"k": fl(k0), "m": fl(m0)},
        "free_directions": free_directions(m, pl, pn, k0, m0),
        "future_max_abs_lbfgs_minus_newton_over_range": d_ln / rng,
        "fit_seconds": fit_s,
        "settings": {"numpy_seed_before_predict": 0, "uncertainty_samples": int(m.uncertainty_samples)},
        "csv": {"hist_stride": hist_stride, "rows": None, "columns": None},
        "versions": installed_versions(sys.executable),
        "python_version": sys.version.split()[0],
    }
    cols = ["yhat", "trend"] + seas
    header = ["row", "ds", "t", "y"] + cols + ["yhat_newton"]
    data = {c: fc[c].to_numpy(dtype=float) for c in cols}
    data["yhat_newton"] = fcn["yhat"].to_numpy(dtype=float)
    t_all = m.setup_dataframe(future.copy())["t"].to_numpy()
    rows = sorted(set(range(0, n_hist, hist_stride)) | {0, n_hist - 1} | set(range(n_hist, len(fc))))
    lines = [",".join(header)]
    for i in rows:
        ytxt = repr(fl(y[i])) if i < n_hist else ""
        lines.append(",".join([str(i), ts(fc["ds"].iloc[i]), repr(fl(t_all[i])), ytxt]
                              + [repr(fl(data[c][i])) for c in cols + ["yhat_newton"]]))
    meta["csv"]["rows"] = len(rows)
    meta["csv"]["columns"] = header
    with open(os.path.join(out_dir, f"{name}.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    fd = meta["free_directions"]
    say(f"{name}: {n_hist} rows, {periods} x {freq} ahead, seasonalities {seas}, "
        f"{fd['count']} free directions (L-BFGS moved {fd['lbfgs_move_along_them']:.2g} along them, "
        f"Newton {fd['newton_move_along_them']:.2g}); future |L-BFGS - Newton| up to "
        f"{100 * d_ln / rng:.3g}% of the range")


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
    import prophet
    h = logging.StreamHandler()
    h.setLevel(logging.WARNING)
    logging.getLogger("cmdstanpy").addHandler(h)
    logging.getLogger("prophet").setLevel(logging.WARNING)
    if prophet.__version__ != PINS["prophet"]:
        die(f"prophet {prophet.__version__} imported, pinned {PINS['prophet']}")

    d = os.environ.get("HYSCALE_SHARED_DATA") or os.path.join(REPO, "..", "shared", "data")
    d = os.path.normpath(d)
    if not os.path.isdir(d):
        die(f"shared data folder not found: {d} (set HYSCALE_SHARED_DATA)")
    os.makedirs(a.out, exist_ok=True)
    for c in CASES:
        if a.case and c[0] not in a.case:
            continue
        run_case(*c, d, a.out)
    for c in CASES:
        for ext in ("json", "csv"):
            p = os.path.join(a.out, f"{c[0]}.{ext}")
            if os.path.isfile(p):
                print(f"{os.path.getsize(p):>9}  {os.path.relpath(p)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
