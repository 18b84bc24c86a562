"""Benchmark of the integrity audit (issue #4): brushing detection and the full report.

Generates synthetic order exports (≈5,000 shops, planted brushing) of 1 M and 10 M orders, runs
`livepledge audit brushing` and `livepledge audit report` in child processes (wall time and the
child's peak RSS from wait4), and a straightforward pandas per-shop implementation of the same
definition on the sizes up to --pandas-max (its output is compared with ours).  Larger sizes get
a linear extrapolation of the pandas time, marked as such (linear is generous to pandas: its
per-window work grows with shop density).  Prints JSON.

    .venv/bin/python bench/audit.py                      # 1 M and 10 M
    .venv/bin/python bench/audit.py --sizes 1000000 --dir /tmp/lp-bench
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

WINDOW, THRESHOLD = 3600, 3


def run_child(args: list[str]) -> dict:
    """Run a child process; wall seconds and its own peak RSS (wait4 gives per-child rusage)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stdout = process.stdout.read().decode() if process.stdout else ""
    stderr = process.stderr.read().decode() if process.stderr else ""
    if status != 0:
        raise SystemExit(f"child failed ({status}): {' '.join(args)}\n{stderr}")
    return {"seconds": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "stdout": stdout}


def generate(directory: Path, orders: int, shops: int) -> dict:
    if (directory / "orders.csv").exists():
        return {"reused": True}
    code = ("import sys; from pathlib import Path; import duckdb; "
            "from livepledge.audit.synth import SynthSpec, write_orders; "
            "write_orders(duckdb.connect(), SynthSpec(orders=int(sys.argv[1]), "
            "shops=int(sys.argv[2])), Path(sys.argv[3]))")
    result = run_child([sys.executable, "-c", code, str(orders), str(shops), str(directory)])
    return {"seconds": result["seconds"]}


def pandas_brushing(path: str, out: str) -> None:
    """Straightforward pandas: per shop, per window anchor, count orders and distinct buyers.

    Same exact definition as the DuckDB detector: windows [t − W, t] and (t, t + W] for every
    order time t (docs/audit.md), union of brushing windows, buyers with most orders in it.
    """
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(path, usecols=["shop_id", "buyer_id", "created_at"],
                        dtype={"shop_id": str, "buyer_id": str})
    frame["t"] = pd.to_datetime(frame["created_at"]).dt.as_unit("us").astype("int64")
    w = WINDOW * 1_000_000
    rows = []
    for shop, group in frame.groupby("shop_id", sort=False):
        group = group.sort_values("t", kind="stable")
        times = group["t"].to_numpy()
        buyers = group["buyer_id"].to_numpy()
        marked = np.zeros(len(times), dtype=bool)
        windows = [(np.searchsorted(times, times - w, "left"),
                    np.searchsorted(times, times, "right")),
                   (np.searchsorted(times, times, "right"),
                    np.searchsorted(times, times + w, "right"))]
        for lows, highs in windows:
            for lo, hi in zip(lows, highs, strict=True):
                if hi > lo and (hi - lo) >= THRESHOLD * len(set(buyers[lo:hi])):
                    marked[lo:hi] = True
        if marked.any():
            counts = pd.Series(buyers[marked]).value_counts()
            best = counts[counts == counts.max()].index
            ids = sorted(best, key=lambda b: (int(b), b))
            rows.append((shop, "&".join(ids)))
        else:
            rows.append((shop, "0"))
    result = pd.DataFrame(rows, columns=["shop_id", "buyer_ids"])
    result["key"] = result["shop_id"].astype("int64")
    result.sort_values("key").drop(columns="key").to_csv(out, index=False)


def pandas_straightforward(path: str, out: str) -> None:
    """The first thing one writes: per shop, per anchor order, a boolean mask over the shop's
    orders for each window, then nunique. O(n²) per shop; same definition and output."""
    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_csv(path, usecols=["shop_id", "buyer_id", "created_at"],
                        dtype={"shop_id": str, "buyer_id": str})
    frame["t"] = pd.to_datetime(frame["created_at"]).dt.as_unit("us").astype("int64")
    read = time.perf_counter() - started
    w = WINDOW * 1_000_000
    rows = []
    for shop, group in frame.groupby("shop_id", sort=False):
        times = group["t"].to_numpy()
        buyers = group["buyer_id"]
        marked = pd.Series(False, index=group.index)
        for t in times:
            for mask in ((times >= t - w) & (times <= t), (times > t) & (times <= t + w)):
                inside = buyers[mask]
                if len(inside) and len(inside) >= THRESHOLD * inside.nunique():
                    marked |= mask
        if marked.any():
            counts = buyers[marked].value_counts()
            best = counts[counts == counts.max()].index
            rows.append((shop, "&".join(sorted(best, key=lambda b: (int(b), b)))))
        else:
            rows.append((shop, "0"))
    result = pd.DataFrame(rows, columns=["shop_id", "buyer_ids"])
    result["key"] = result["shop_id"].astype("int64")
    result.sort_values("key").drop(columns="key").to_csv(out, index=False)
    print(json.dumps({"read_seconds": read, "compute_seconds": time.perf_counter() - started
                      - read}))


def straightforward_on_sample(directory: Path, data: Path, ours: Path, every: int) -> dict:
    """Run the O(n²)-per-shop pandas on 1/`every` of the shops; scale by Σ n_shop² (its cost)."""
    import duckdb

    sample = directory / f"sample_{every}.csv"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * FROM read_csv('{data}', all_varchar = true)
                    WHERE hash(shop_id) % {every} = 7) TO '{sample}' (HEADER true)""")
    total_sq, sample_sq, rows = con.execute(f"""
        SELECT sum(n * n), sum(n * n) FILTER (WHERE hash(shop_id) % {every} = 7),
               sum(n) FILTER (WHERE hash(shop_id) % {every} = 7)
        FROM (SELECT shop_id, count(*) AS n FROM read_csv('{data}', all_varchar = true)
              GROUP BY shop_id)""").fetchone()
    theirs = directory / f"brushing_pandas_straightforward_{every}.csv"
    run = run_child([sys.executable, __file__, "--pandas-child", str(sample), str(theirs),
                     "--straightforward"])
    phases = json.loads(run["stdout"])
    kept = {line.split(",")[0] for line in _rows(theirs)[1:]}
    ours_sample = [line for line in _rows(ours)[1:] if line.split(",")[0] in kept]
    total_rows = con.execute(f"SELECT count(*) FROM read_csv('{data}')").fetchone()[0]
    estimate = (phases["read_seconds"] * total_rows / rows
                + phases["compute_seconds"] * total_sq / sample_sq)
    return {
        "sample_orders": int(rows), "sample_shops": len(kept), "sample_seconds": run["seconds"],
        "sample_read_seconds": round(phases["read_seconds"], 3),
        "sample_compute_seconds": round(phases["compute_seconds"], 3),
        "seconds": round(estimate, 1),
        "note": f"O(n²)-per-shop pandas run on 1/{every} of the shops; estimate = read time × "
                "rows ratio + compute time × Σ n_shop² (total) / Σ n_shop² (sample)",
        "same_output_as_duckdb_on_sample": _rows(theirs)[1:] == ours_sample,
    }


def bench_size(base: Path, orders: int, shops: int, pandas_max: int) -> dict:
    directory = base / f"orders_{orders}"
    result: dict = {"orders": orders, "shops": shops, "generate": generate(directory, orders,
                                                                           shops)}
    data = directory / "orders.csv"
    result["file_mb"] = round(data.stat().st_size / 1024**2, 1)
    cli = [sys.executable, "-m", "livepledge.audit"]
    ours = directory / "brushing_duckdb.csv"
    brushing = run_child([*cli, "brushing", str(data), "--window", str(WINDOW), "--threshold",
                          str(THRESHOLD), "--all-shops", "--out", str(ours)])
    brushing.pop("stdout")
    brushing["rows_per_second"] = round(orders / brushing["seconds"])
    result["brushing_duckdb"] = brushing
    result["brushing_detection"] = detection_rates(directory / "truth_brushing.csv", ours)
    full = run_child([*cli, "report", str(data), "--out", str(directory / "report.html"),
                      "--json"])
    full.pop("stdout")
    full["rows_per_second"] = round(orders / full["seconds"])
    result["report_duckdb"] = full
    if orders <= pandas_max:
        theirs = directory / "brushing_pandas.csv"
        baseline = run_child([sys.executable, __file__, "--pandas-child", str(data),
                              str(theirs)])
        baseline.pop("stdout")
        baseline["rows_per_second"] = round(orders / baseline["seconds"])
        baseline["same_output_as_duckdb"] = (_rows(theirs) == _rows(ours))
        result["brushing_pandas"] = baseline
    else:
        result["brushing_pandas_sampled"] = pandas_on_sample(directory, data, ours, orders,
                                                             sample_orders=pandas_max)
    result["brushing_pandas_straightforward"] = straightforward_on_sample(
        directory, data, ours, every=max(50, orders // 20_000))
    return result


def pandas_on_sample(directory: Path, data: Path, ours: Path, orders: int,
                     sample_orders: int) -> dict:
    """pandas on a sample of whole shops (same per-shop density), scaled by the row ratio."""
    import duckdb

    fraction = max(1, round(orders / sample_orders))
    sample = directory / "sample.csv"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * FROM read_csv('{data}', all_varchar = true)
                    WHERE hash(shop_id) % {fraction} = 0) TO '{sample}' (HEADER true)""")
    rows = con.execute(f"SELECT count(*) FROM read_csv('{sample}')").fetchone()[0]
    theirs = directory / "brushing_pandas_sample.csv"
    baseline = run_child([sys.executable, __file__, "--pandas-child", str(sample), str(theirs)])
    kept = set(con.execute(f"SELECT DISTINCT shop_id FROM read_csv('{sample}', "
                           f"all_varchar = true)").fetchall())
    ours_sample = [line for line in _rows(ours)[1:] if (line.split(",")[0],) in kept]
    return {
        "sample_orders": int(rows), "sample_shops": len(kept),
        "sample_seconds": baseline["seconds"], "peak_rss_mb": baseline["peak_rss_mb"],
        "seconds": round(baseline["seconds"] * orders / rows, 1),
        "note": f"pandas run on 1/{fraction} of the shops (whole shops, same density), "
                "time scaled by orders / sample orders",
        "same_output_as_duckdb_on_sample": _rows(theirs)[1:] == ours_sample,
    }


def detection_rates(truth: Path, ours: Path) -> dict:
    planted = {line.split(",")[0] for line in _rows(truth)[1:]}
    found = {line.split(",")[0] for line in _rows(ours)[1:] if not line.endswith(",0")}
    hits = len(planted & found)
    return {"planted_shops": len(planted), "detected_shops": len(found),
            "precision": round(hits / len(found), 4) if found else None,
            "recall": round(hits / len(planted), 4) if planted else None}


def _rows(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--shops", type=int, default=5000)
    parser.add_argument("--dir", default="/tmp/livepledge-bench")
    parser.add_argument("--pandas-max", type=int, default=1_000_000)
    parser.add_argument("--pandas-child", nargs=2, metavar=("CSV", "OUT"))
    parser.add_argument("--straightforward", action="store_true")
    args = parser.parse_args()
    if args.pandas_child:
        if args.straightforward:
            pandas_straightforward(*args.pandas_child)
        else:
            pandas_brushing(*args.pandas_child)
        return
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    load_before = os.getloadavg()  # other work on the machine skews the timings
    results = [bench_size(base, n, args.shops, args.pandas_max) for n in sizes]
    for r in results:
        ours_seconds = r["brushing_duckdb"]["seconds"]
        vectorized = (r.get("brushing_pandas") or r.get("brushing_pandas_sampled") or {})
        if vectorized.get("seconds"):
            r["speedup_vs_pandas_vectorized"] = round(vectorized["seconds"] / ours_seconds, 1)
        straightforward = r["brushing_pandas_straightforward"]["seconds"]
        r["speedup_vs_pandas_straightforward"] = round(straightforward / ours_seconds, 1)
    print(json.dumps({"benchmark": "audit", "cpus": os.cpu_count(),
                      "load_average_before": [round(x, 2) for x in load_before],
                      "window_seconds": WINDOW,
                      "threshold": THRESHOLD, "results": results}, indent=2))


if __name__ == "__main__":
    main()
