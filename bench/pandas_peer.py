#!/usr/bin/env python3
"""pandas peer for bench/preprocess_bench.sh: the per-minute aggregate of Azure 2019 day files.

For each day file (Azure Functions 2019 layout: HashOwner,HashApp,HashFunction,Trigger,1..1440)
it does the plain thing an analyst would write, `pd.read_csv(file)`, then sums the 1440 minute
columns over all rows; the day series are concatenated in day order (dNN in the file name),
which is the same series hyscale writes as the `invocations` column of series.csv.

Only read + sum is timed (time.perf_counter, a monotonic clock); the interpreter start, the
pandas import and writing the optional CSV are not. Peak RSS comes from getrusage(RUSAGE_SELF).

usage: pandas_peer.py [--series-csv OUT.csv] [--json OUT.json] FILE_OR_DIR...
exit codes: 0 success, 1 bad input.
"""
import argparse
import json
import os
import re
import resource
import sys
import time

import numpy as np
import pandas as pd

MINUTES = 1440
DAY_RE = re.compile(r"\.d(\d+)\.csv$")


def day_files(paths):
    """Expands folders to their invocations_per_function day files, sorted by day number."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += [os.path.join(p, n) for n in os.listdir(p)
                      if n.startswith("invocations_per_function_md.") and DAY_RE.search(n)]
        else:
            files.append(p)
    if not files:
        raise SystemExit("pandas_peer: no day files in " + " ".join(paths))

    def day(f):
        m = DAY_RE.search(os.path.basename(f))
        if not m:
            raise SystemExit(f"pandas_peer: {f}: no dNN day number in the name")
        return int(m.group(1))

    return sorted(files, key=day)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--series-csv", help="write minute,invocations here (not timed)")
    ap.add_argument("--json", help="write timing and counts here")
    a = ap.parse_args()

    files = day_files(a.inputs)
    minute_cols = [str(i) for i in range(1, MINUTES + 1)]
    days = []
    rows = 0
    nbytes = 0

    t0 = time.perf_counter()
    for f in files:
        df = pd.read_csv(f)
        missing = [c for c in minute_cols if c not in df.columns]
        if missing:
            raise SystemExit(f"pandas_peer: {f}: missing minute columns, first {missing[0]}")
        block = df[minute_cols]
        if block.isna().to_numpy().any():
            raise SystemExit(f"pandas_peer: {f}: empty minute cells")
        days.append(block.sum(axis=0).to_numpy(dtype=np.int64))  # (1440,)
        rows += len(df)
        nbytes += os.path.getsize(f)
    seconds = time.perf_counter() - t0

    series = np.concatenate(days)  # (days * 1440,)
    result = {
        "tool": "pandas",
        "pandas_version": pd.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "files": len(files),
        "bytes": nbytes,
        "rows": rows,
        "minutes": int(series.size),
        "invocations": int(series.sum()),
        "seconds": seconds,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,  # KiB on Linux
    }
    if a.series_csv:
        with open(a.series_csv, "w") as out:
            out.write("minute,invocations\n")
            for i, v in enumerate(series.tolist()):
                out.write(f"{i},{v}\n")
    if a.json:
        with open(a.json, "w") as out:
            json.dump(result, out, indent=1)
    else:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
