#!/usr/bin/env python3
"""calibrate_synth.py: derives the figures that calibrate `hyscale generate` from a real day.

Why: the synthetic trace (src/data/synth.c) must look like the Azure Functions 2019 trace. This
script measures one real day (the vHive/In-Vitro sample of 1,350 functions in the shared data
folder) and writes
  - src/data/synth_calibration.h         the generator's inputs and the real figures (C defines)
  - tests/fixtures/synth_calibration.json the same figures, which tests/test_synth.c checks a
                                          generated trace against
Python 3 standard library only; deterministic (same input -> byte-identical outputs).

Usage:
  scripts/calibrate_synth.py                 # reads $HYSCALE_SHARED_DATA (default /work/shared/data)
  scripts/calibrate_synth.py --input FILE    # another real day in either layout
  scripts/calibrate_synth.py --check DIR     # prints the figures of each generated day file in DIR
                                             # beside the real ones (writes nothing)

Figures, per day (each computed the same way in tests/test_synth.c):
  total_q      quantiles 10,25,50,75,90,99 of per-function daily totals (rows of that day)
  active_q     the same quantiles of per-function active minutes (minutes with count > 0)
  always_active_share   share of rows active in all 1440 minutes
  strict_timer_share    share of rows whose active minutes are exactly every P minutes all day
                        (equal gaps, first < P, last >= 1440 - P, >= 3 firings) with one count
  timer_like_share      share of rows with >= 10 active minutes, >= 90% of the gaps between active
                        minutes equal to one P, and >= 90% of active minutes holding one count
  subminute_timer_share share of rows active in all 1440 minutes whose counts take exactly two
                        neighbouring values c, c+1, neither in >= 90% of minutes: a timer firing
                        every few seconds (40-ish), whose firings per minute alternate
  cv_median             median, over rows active in >= 100 minutes, of the coefficient of
                        variation (population sd / mean) of their 1440 per-minute counts
  fn_peak_to_mean_median  median over the same rows of max count / mean count
  agg_*                 the aggregate per-minute total: median and mean divided by the number of
                        rows, and its peak-to-mean
  diurnal_amp, diurnal_peak_hour  first harmonic (24 h) of the 24 hourly medians of the aggregate:
                        amplitude relative to their mean, and the hour of its peak
  fn_diurnal_amp_median median over rows active in >= 100 minutes of the same amplitude computed
                        on the row's own 24 hourly totals (less dominated by the heaviest rows)
  fn_rhythmic_share     share of those rows whose own amplitude exceeds 0.25 (a clear daily shape)
Quantiles interpolate linearly between order statistics (numpy's default, "type 7").
"""
import argparse
import csv
import json
import math
import os
import sys

MINUTES = 1440
QS = (0.10, 0.25, 0.50, 0.75, 0.90, 0.99)
# Probabilities at which the generator's volume table (inverse CDF of daily totals) is tabulated.
VOLUME_PS = tuple([0.0, 0.01, 0.02] + [k / 40 for k in range(2, 39)] + [0.96, 0.97, 0.98, 0.99, 0.995, 1.0])
# Timer periods (minutes) the generator draws from: every one seen in the real sample plus 30
# (a common cron period, absent from this sample); weights are Laplace-smoothed counts.
TIMER_PERIODS = (1, 2, 3, 4, 5, 10, 15, 30, 60)
# Shares of functions per trigger, approximately as in Shahrad et al., "Serverless in the Wild"
# (USENIX ATC 2020), the figure of functions per trigger type (read off the bars, rounded so
# they sum to 1). The real sample has no trigger column, so these are not measured here.
TRIGGERS = ("http", "queue", "timer", "orchestration", "storage", "event", "others")
TRIGGER_SHARES = (0.55, 0.15, 0.15, 0.07, 0.03, 0.02, 0.03)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL_INPUT = "azure2019/invitro_1350fn_1day.csv"


def quantile(sorted_vals, p):
    n = len(sorted_vals)
    if n == 0:
        return float("nan")
    pos = (n - 1) * p
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def median(vals):
    return quantile(sorted(vals), 0.5)


def read_day(path):
    """Rows of per-minute counts (lists of 1440 ints) and triggers (None in the In-Vitro layout)."""
    rows, triggers = [], []
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        if header[0] == "HashOwner" and header[3] == "Trigger":
            first, has_trigger = 4, True
        elif header[0] == "HashFunction":
            first, has_trigger = 3, False
        else:
            sys.exit(f"{path}: unknown header {header[:4]}")
        if len(header) - first != MINUTES:
            sys.exit(f"{path}: {len(header) - first} minute columns, expected {MINUTES}")
        for line, row in enumerate(r, start=2):
            if len(row) != len(header):
                sys.exit(f"{path}:{line}: {len(row)} fields, expected {len(header)}")
            rows.append([int(x) for x in row[first:]])
            triggers.append(row[3] if has_trigger else None)
    return rows, triggers


def active_minutes(x):
    return [i for i, v in enumerate(x) if v > 0]


def is_strict_timer(x, idx):
    if len(idx) < 3:
        return 0
    p = idx[1] - idx[0]
    if any(idx[i + 1] - idx[i] != p for i in range(len(idx) - 1)):
        return 0
    if idx[0] >= p or idx[-1] < MINUTES - p:
        return 0
    if any(x[i] != x[idx[0]] for i in idx):
        return 0
    return p


def timer_like_period(x, idx):
    """The modal gap P when the row is timer-like (see the module comment), else 0."""
    if len(idx) < 10:
        return 0
    gaps = {}
    for i in range(len(idx) - 1):
        g = idx[i + 1] - idx[i]
        gaps[g] = gaps.get(g, 0) + 1
    p, c = max(gaps.items(), key=lambda kv: (kv[1], -kv[0]))
    if 10 * c < 9 * (len(idx) - 1):
        return 0
    counts = {}
    for i in idx:
        counts[x[i]] = counts.get(x[i], 0) + 1
    if 10 * max(counts.values()) < 9 * len(idx):
        return 0
    return p


def is_subminute_timer(x):
    counts = {}
    for v in x:
        counts[v] = counts.get(v, 0) + 1
    if len(counts) != 2 or min(counts) == 0 or max(counts) - min(counts) != 1:
        return 0
    return 10 * max(counts.values()) < 9 * MINUTES


def harmonic(hourly):
    """Relative amplitude and peak hour of the first 24 h harmonic of 24 hourly values."""
    c0 = sum(hourly) / 24
    a = sum(hourly[h] * math.cos(2 * math.pi * (h + 0.5) / 24) for h in range(24)) * 2 / 24
    b = sum(hourly[h] * math.sin(2 * math.pi * (h + 0.5) / 24) for h in range(24)) * 2 / 24
    return math.hypot(a, b) / c0, (math.atan2(b, a) / (2 * math.pi) * 24) % 24


def figures(rows):
    n = len(rows)
    totals = sorted(sum(x) for x in rows)
    acts, strict, timer_like, subminute, cvs, p2m, famp = [], 0, 0, 0, [], [], []
    periods = {}
    for x in rows:
        idx = active_minutes(x)
        acts.append(len(idx))
        if is_strict_timer(x, idx):
            strict += 1
        p = timer_like_period(x, idx)
        if p:
            timer_like += 1
            periods[p] = periods.get(p, 0) + 1
        subminute += is_subminute_timer(x)
        if len(idx) >= 100:
            mean = sum(x) / MINUTES
            sd = math.sqrt(sum((v - mean) ** 2 for v in x) / MINUTES)
            cvs.append(sd / mean)
            p2m.append(max(x) / mean)
            famp.append(harmonic([sum(x[h * 60:(h + 1) * 60]) for h in range(24)])[0])
    acts.sort()
    agg = [0] * MINUTES
    for x in rows:
        for m, v in enumerate(x):
            agg[m] += v
    agg_mean = sum(agg) / MINUTES
    amp, peak = harmonic([median(agg[h * 60:(h + 1) * 60]) for h in range(24)])
    return {
        "rows": n,
        "invocations": sum(totals),
        "total_q": [quantile(totals, p) for p in QS],
        "active_q": [quantile(acts, p) for p in QS],
        "always_active_share": sum(1 for v in acts if v == MINUTES) / n,
        "strict_timer_share": strict / n,
        "timer_like_share": timer_like / n,
        "timer_like_periods": {str(k): periods[k] for k in sorted(periods)},
        "subminute_timer_share": subminute / n,
        "cv_rows": len(cvs),
        "cv_median": median(cvs),
        "fn_peak_to_mean_median": median(p2m),
        "agg_median_per_fn": median(agg) / n,
        "agg_mean_per_fn": agg_mean / n,
        "agg_peak_to_mean": max(agg) / agg_mean,
        "diurnal_amp": amp,
        "diurnal_peak_hour": peak,
        "fn_diurnal_amp_median": median(famp),
        "fn_rhythmic_share": sum(1 for v in famp if v > 0.25) / len(famp),
    }


def generator_inputs(rows):
    """What the generator draws from: the volume table of rows that are not timer-like, the timer
    period weights, and the share of timer-like rows that are strict."""
    plain, strict_timers, timer_like, subminute = [], 0, 0, 0
    periods = {p: 1 for p in TIMER_PERIODS}  # Laplace smoothing
    for x in rows:
        idx = active_minutes(x)
        p = timer_like_period(x, idx)
        if is_subminute_timer(x):
            subminute += 1
        elif p:
            timer_like += 1
            if is_strict_timer(x, idx):
                strict_timers += 1
            if p in periods:
                periods[p] += 1
        else:
            plain.append(sum(x))
    plain.sort()
    timer_share = TRIGGER_SHARES[TRIGGERS.index("timer")]
    return {
        # Shares of the timer functions: those firing every few seconds, and those firing too
        # rarely to look timer-like (once a day), the part of the timer trigger share that the
        # sample's timer-like and sub-minute rows do not account for.
        "timer_subminute_share": subminute / len(rows) / timer_share,
        "timer_daily_share": max(0.0, 1.0 - (timer_like + subminute) / len(rows) / timer_share),
        "volume_ps": list(VOLUME_PS),
        "volume_logq": [math.log(quantile(plain, p)) for p in VOLUME_PS],
        "timer_periods": list(TIMER_PERIODS),
        "timer_weights": [periods[p] for p in TIMER_PERIODS],
        "strict_given_timer": strict_timers / timer_like if timer_like else 0.0,
    }


def r6(v):
    """Rounds floats to 6 significant digits so the outputs are stable and readable."""
    if isinstance(v, float):
        return float(f"{v:.6g}")
    if isinstance(v, list):
        return [r6(u) for u in v]
    if isinstance(v, dict):
        return {k: r6(u) for k, u in v.items()}
    return v


def c_list(vals, fmt):
    out, line = [], "    "
    for i, v in enumerate(vals):
        item = fmt.format(v) + ("," if i + 1 < len(vals) else "")
        if len(line) + len(item) + 1 > 96:
            out.append(line.rstrip())
            line = "    "
        line += item + " "
    out.append(line.rstrip())
    return "{ \\\n" + " \\\n".join(out) + " \\\n}"


def write_header(path, src_name, fig, gen):
    q = lambda v: f"{v:.6g}"
    lines = [
        "/* synth_calibration.h: figures of a real Azure Functions 2019 day that calibrate the",
        " * synthetic trace generator (synth.c).",
        " *",
        " * GENERATED by scripts/calibrate_synth.py from the shared data file",
        f" * {src_name}. Do not edit: rerun the script instead.",
        " *",
        " * The same figures, for tests/test_synth.c, are in tests/fixtures/synth_calibration.json.",
        " * Tables are initialiser lists (no objects are defined here): `static const double t[] =",
        " * HS_SYNTH_CAL_VOLUME_LOGQ;` inside a function.",
        " */",
        "#ifndef HYSCALE_SYNTH_CALIBRATION_H",
        "#define HYSCALE_SYNTH_CALIBRATION_H",
        "",
        f'#define HS_SYNTH_CAL_SOURCE "{src_name}"',
        "",
        "/* ---- generator inputs ---- */",
        "",
        "/* Inverse CDF of the daily totals of rows that are not timer-like: log(total) at the",
        " * probabilities HS_SYNTH_CAL_VOLUME_PS, interpolated linearly in between. (K) */",
        f"#define HS_SYNTH_CAL_VOLUME_K {len(gen['volume_ps'])}",
        "#define HS_SYNTH_CAL_VOLUME_PS " + c_list(gen["volume_ps"], "{:.6g}"),
        "#define HS_SYNTH_CAL_VOLUME_LOGQ " + c_list(gen["volume_logq"], "{:.6g}"),
        "",
        "/* Timer periods in minutes and their weights (timer-like rows by modal gap, plus one). */",
        f"#define HS_SYNTH_CAL_TIMER_NPERIODS {len(gen['timer_periods'])}",
        "#define HS_SYNTH_CAL_TIMER_PERIODS " + c_list(gen["timer_periods"], "{:d}"),
        "#define HS_SYNTH_CAL_TIMER_WEIGHTS " + c_list(gen["timer_weights"], "{:d}"),
        "/* Shares of timer functions firing every few seconds (sub-minute rows / timer trigger share)",
        " * and once a day (1 - (timer-like + sub-minute rows) / timer trigger share). */",
        f"#define HS_SYNTH_CAL_TIMER_SUBMINUTE_SHARE {q(gen['timer_subminute_share'])}",
        f"#define HS_SYNTH_CAL_TIMER_DAILY_SHARE {q(gen['timer_daily_share'])}",
        "/* Share of timer-like rows that are strict timers. */",
        f"#define HS_SYNTH_CAL_STRICT_GIVEN_TIMER {q(gen['strict_given_timer'])}",
        "",
        "/* Triggers and their shares of functions (Shahrad et al. 2020, approximate). */",
        f"#define HS_SYNTH_CAL_NTRIGGERS {len(TRIGGERS)}",
        "#define HS_SYNTH_CAL_TRIGGERS " + c_list(TRIGGERS, '"{}"'),
        "#define HS_SYNTH_CAL_TRIGGER_SHARES " + c_list(TRIGGER_SHARES, "{:.6g}"),
        "",
        "/* Diurnal rhythm of the aggregate: relative amplitude and peak hour of the first harmonic. */",
        f"#define HS_SYNTH_CAL_DIURNAL_AMP {q(fig['diurnal_amp'])}",
        f"#define HS_SYNTH_CAL_DIURNAL_PEAK_HOUR {q(fig['diurnal_peak_hour'])}",
        "/* The same amplitude per function (median over rows active in >= 100 minutes). */",
        f"#define HS_SYNTH_CAL_FN_DIURNAL_AMP {q(fig['fn_diurnal_amp_median'])}",
        "/* Share of those rows with an amplitude above 0.25. */",
        f"#define HS_SYNTH_CAL_FN_RHYTHMIC_SHARE {q(fig['fn_rhythmic_share'])}",
        "",
        "/* ---- figures of the real day (the targets; see the script for definitions) ---- */",
        "",
        f"#define HS_SYNTH_CAL_ROWS {fig['rows']}",
        f"#define HS_SYNTH_CAL_INVOCATIONS {fig['invocations']}",
        "/* quantiles 10, 25, 50, 75, 90, 99 */",
        "#define HS_SYNTH_CAL_TOTAL_Q " + c_list(fig["total_q"], "{:.6g}"),
        "#define HS_SYNTH_CAL_ACTIVE_Q " + c_list(fig["active_q"], "{:.6g}"),
        f"#define HS_SYNTH_CAL_ALWAYS_ACTIVE_SHARE {q(fig['always_active_share'])}",
        f"#define HS_SYNTH_CAL_STRICT_TIMER_SHARE {q(fig['strict_timer_share'])}",
        f"#define HS_SYNTH_CAL_TIMER_LIKE_SHARE {q(fig['timer_like_share'])}",
        f"#define HS_SYNTH_CAL_SUBMINUTE_TIMER_SHARE {q(fig['subminute_timer_share'])}",
        f"#define HS_SYNTH_CAL_CV_MEDIAN {q(fig['cv_median'])}",
        f"#define HS_SYNTH_CAL_FN_PEAK_TO_MEAN_MEDIAN {q(fig['fn_peak_to_mean_median'])}",
        f"#define HS_SYNTH_CAL_AGG_MEDIAN_PER_FN {q(fig['agg_median_per_fn'])}",
        f"#define HS_SYNTH_CAL_AGG_MEAN_PER_FN {q(fig['agg_mean_per_fn'])}",
        f"#define HS_SYNTH_CAL_AGG_PEAK_TO_MEAN {q(fig['agg_peak_to_mean'])}",
        "",
        "#endif",
        "",
    ]
    with open(path, "w", newline="\n") as f:
        f.write("\n".join(lines))


def shared_input():
    base = os.environ.get("HYSCALE_SHARED_DATA") or "/work/shared/data"
    return os.path.join(base, REL_INPUT)


def check(dirname, real):
    names = sorted(n for n in os.listdir(dirname) if n.startswith("invocations_per_function_md.anon.d"))
    if not names:
        sys.exit(f"{dirname}: no day files")
    keys = [k for k in real if k not in ("timer_like_periods",)]
    days = []
    for n in names:
        rows, _ = read_day(os.path.join(dirname, n))
        days.append((n[-7:-4], r6(figures(rows))))
    print(f"{'figure':24s} {'real':>40s} " + " ".join(f"{d:>40s}" for d, _ in days))
    for k in keys + ["timer_like_periods"]:
        print(f"{k:24s} {str(real[k]):>40s} " + " ".join(f"{str(f[k]):>40s}" for _, f in days))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", help="real day CSV (default: $HYSCALE_SHARED_DATA/" + REL_INPUT + ")")
    ap.add_argument("--check", metavar="DIR", help="print the figures of generated day files in DIR")
    args = ap.parse_args()
    path = args.input or shared_input()
    if not os.path.exists(path):
        sys.exit(f"{path}: not found (set HYSCALE_SHARED_DATA)")
    rows, _ = read_day(path)
    fig = r6(figures(rows))
    if args.check:
        check(args.check, fig)
        return
    gen = r6(generator_inputs(rows))
    src_name = REL_INPUT if not args.input else os.path.basename(path)
    write_header(os.path.join(REPO, "src", "data", "synth_calibration.h"), src_name, fig, gen)
    doc = {
        "generated_by": "scripts/calibrate_synth.py",
        "source": src_name,
        "definitions": "see scripts/calibrate_synth.py",
        "quantiles": list(QS),
        "figures": fig,
    }
    os.makedirs(os.path.join(REPO, "tests", "fixtures"), exist_ok=True)
    with open(os.path.join(REPO, "tests", "fixtures", "synth_calibration.json"), "w", newline="\n") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(json.dumps(fig, indent=2))


if __name__ == "__main__":
    main()
