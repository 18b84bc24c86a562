"""Benchmark of order brushing (issue #4, #14): DuckDB against the best pandas and Polars.

Generates a synthetic order export (≈5,000 shops, planted brushing; 10 M orders by default),
converts it once to a Parquet file of (order_id, shop_id, buyer_id, t µs), and runs three
engines on that same file, each in its own child process (`bench/audit_baselines.py`):

- duckdb: the product's detector, in process;
- pandas: the best pandas/numpy baseline I could write (same exact filters, vectorised);
- polars: the best Polars baseline I could write (same filters, rolling windows, asof joins).

Every engine computes the same definition (windows starting at whole seconds, the default) and
their outputs are checked equal ({shop: suspects}). Each engine runs `--repeat` times; wall
and CPU seconds (the child's user + system time from wait4, which holds on a busy machine) and
peak RSS are reported per run, with the median, and ratios against DuckDB from the same run.
The child also reports its CPU seconds in process (read + compute, all threads, without
interpreter start). Also timed: `livepledge audit brushing` end to end on the CSV (parse +
validate + detect + write), as a user runs it. Targets are printed as met or not met. Prints JSON.

    .venv/bin/python bench/audit.py                         # 10 M orders, 3 runs per engine
    .venv/bin/python bench/audit.py --orders 1000000 --repeat 1 --dir /tmp/lp-audit-bench
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

WINDOW, THRESHOLD, STEP = 3600, 3, 1
TARGET_SECONDS_10M = 3.0
HERE = Path(__file__).resolve().parent


def run_child(args: list[str]) -> dict:
    """Run a child process: wall seconds, its CPU seconds and peak RSS (wait4, per child)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout_bytes, stderr_bytes = b"", b""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if process.stdout:
        stdout_bytes = process.stdout.read()
    if process.stderr:
        stderr_bytes = process.stderr.read()
    if status != 0:
        raise SystemExit(f"child failed ({status}): {' '.join(args)}\n{stderr_bytes.decode()}")
    return {"wall_seconds": round(wall, 3),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "stdout": stdout_bytes.decode()}


def generate(directory: Path, orders: int, shops: int) -> dict:
    if (directory / "orders.csv").exists():
        return {"reused": True}
    code = ("import sys; from pathlib import Path; import duckdb; "
            "from livepledge.audit.synth import SynthSpec, write_orders; "
            "write_orders(duckdb.connect(), SynthSpec(orders=int(sys.argv[1]), "
            "shops=int(sys.argv[2])), Path(sys.argv[3]))")
    result = run_child([sys.executable, "-c", code, str(orders), str(shops), str(directory)])
    return {"seconds": result["wall_seconds"]}


def prepare_parquet(directory: Path) -> Path:
    """The engines' common input: order_id, shop_id, buyer_id (text), t (µs since epoch)."""
    import duckdb

    out = directory / "brushing_input.parquet"
    if not out.exists():
        con = duckdb.connect()
        con.execute("SET TimeZone = 'Asia/Shanghai'")  # the CLI's default for zone-less times
        con.execute(f"""COPY (SELECT order_id, shop_id, buyer_id,
                                     epoch_us(CAST(created_at AS TIMESTAMPTZ)) AS t
                              FROM read_csv('{directory / "orders.csv"}', all_varchar = true))
                        TO '{out}' (FORMAT parquet)""")
    return out


def engine_child(name: str, path: str, out: str, threads: int | None) -> None:
    sys.path.insert(0, str(HERE))
    from audit_baselines import ENGINES

    fn = ENGINES[name]
    kwargs = {"threads": threads} if name == "duckdb" and threads else {}
    cpu = time.process_time()
    result, phases = fn(path, WINDOW, Fraction(THRESHOLD), STEP, **kwargs)
    cpu = time.process_time() - cpu  # all threads of this process, without interpreter start
    Path(out).write_text(json.dumps(result, sort_keys=True))
    print(json.dumps({"phases": {k: round(v, 3) for k, v in phases.items()},
                      "in_process_cpu_seconds": round(cpu, 3)}))


def run_engines(directory: Path, data: Path, engines: list[str], repeat: int,
                orders: int) -> dict:
    results: dict = {}
    outputs: dict[str, dict] = {}
    for _ in range(repeat):
        for name in engines:  # interleaved, so that load changes hit every engine alike
            out = directory / f"brushing_{name}.json"
            child = run_child([sys.executable, __file__, "--engine-child", name, str(data),
                               str(out)])
            reported = json.loads(child.pop("stdout"))
            child["phases"] = reported["phases"]
            child["in_process_cpu_seconds"] = reported["in_process_cpu_seconds"]
            # Read + compute inside the process, without interpreter start and imports.
            child["in_process_seconds"] = round(sum(child["phases"].values()), 3)
            results.setdefault(name, {"runs": []})["runs"].append(child)
            outputs[name] = json.loads(out.read_text())
    for name, entry in results.items():
        walls = [r["wall_seconds"] for r in entry["runs"]]
        cpus = [r["cpu_seconds"] for r in entry["runs"]]
        entry["median_wall_seconds"] = round(statistics.median(walls), 3)
        entry["median_in_process_seconds"] = round(
            statistics.median(r["in_process_seconds"] for r in entry["runs"]), 3)
        entry["median_cpu_seconds"] = round(statistics.median(cpus), 3)
        entry["median_in_process_cpu_seconds"] = round(
            statistics.median(r["in_process_cpu_seconds"] for r in entry["runs"]), 3)
        entry["cpu_us_per_order"] = round(statistics.median(cpus) / orders * 1e6, 3)
        entry["brushing_shops"] = len(outputs[name])
        entry["same_output_as_duckdb"] = outputs[name] == outputs.get("duckdb")
    return results


def detection_rates(truth: Path, found_shops: set[str]) -> dict:
    planted = {line.split(",")[0] for line in _rows(truth)[1:]}
    hits = len(planted & found_shops)
    return {"planted_shops": len(planted), "detected_shops": len(found_shops),
            "precision": round(hits / len(found_shops), 4) if found_shops else None,
            "recall": round(hits / len(planted), 4) if planted else None}


def _rows(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--shops", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="duckdb,pandas,polars")
    parser.add_argument("--dir", default="/tmp/livepledge-audit-bench")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI run")
    parser.add_argument("--engine-child", nargs=3, metavar=("ENGINE", "PARQUET", "OUT"))
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.engine_child:
        engine_child(*args.engine_child, args.threads)
        return
    directory = Path(args.dir) / f"orders_{args.orders}"
    load_before = os.getloadavg()  # other work on the machine skews the wall times
    report: dict = {"benchmark": "audit-brushing", "cpus": os.cpu_count(),
                    "orders": args.orders, "shops": args.shops, "window_seconds": WINDOW,
                    "threshold": THRESHOLD, "step_seconds": STEP,
                    "generate": generate(directory, args.orders, args.shops)}
    started = time.perf_counter()
    data = prepare_parquet(directory)
    report["prepare_parquet_seconds"] = round(time.perf_counter() - started, 2)
    engines = args.engines.split(",")
    report["engines"] = run_engines(directory, data, engines, args.repeat, args.orders)
    duck = report["engines"].get("duckdb")
    if duck:
        found = set(json.loads((directory / "brushing_duckdb.json").read_text()))
        report["detection"] = detection_rates(directory / "truth_brushing.csv", found)
        for name, entry in report["engines"].items():
            if name != "duckdb":
                entry["wall_ratio_vs_duckdb"] = round(
                    entry["median_wall_seconds"] / duck["median_wall_seconds"], 2)
                entry["in_process_ratio_vs_duckdb"] = round(
                    entry["median_in_process_seconds"] / duck["median_in_process_seconds"], 2)
                entry["cpu_ratio_vs_duckdb"] = round(
                    entry["median_cpu_seconds"] / duck["median_cpu_seconds"], 2)
                entry["in_process_cpu_ratio_vs_duckdb"] = round(
                    entry["median_in_process_cpu_seconds"]
                    / duck["median_in_process_cpu_seconds"], 2)
    if not args.no_cli:
        out = directory / "brushing_cli.csv"
        cli = run_child([sys.executable, "-m", "livepledge.audit", "brushing",
                         str(directory / "orders.csv"), "--window", str(WINDOW), "--threshold",
                         str(THRESHOLD), "--out", str(out)])
        cli.pop("stdout")
        cli_result = {line.split(",")[0]: line.split(",")[1] for line in _rows(out)[1:]}
        cli["same_output_as_duckdb"] = cli_result == json.loads(
            (directory / "brushing_duckdb.json").read_text()) if duck else None
        report["cli_brushing_from_csv"] = cli
    targets = []
    if duck:
        scaled = duck["median_in_process_seconds"] * 10_000_000 / args.orders
        scaled_cpu = duck["median_in_process_cpu_seconds"] * 10_000_000 / args.orders
        targets.append({"target": "DuckDB brushing, 10 M orders (Parquet read + detect, in "
                                  "process), ≤ 3 s",
                        "value": round(scaled, 2),
                        "scaled_from_orders": args.orders if args.orders != 10_000_000 else None,
                        "met": scaled <= TARGET_SECONDS_10M})
        # On a shared machine the wall time above mostly measures the other work; the CPU time
        # in process says whether one idle core could do it in 3 s.
        targets.append({"target": "DuckDB brushing, 10 M orders, CPU seconds in process ≤ 3 s",
                        "value": round(scaled_cpu, 2),
                        "scaled_from_orders": args.orders if args.orders != 10_000_000 else None,
                        "met": scaled_cpu <= TARGET_SECONDS_10M})
        for name, entry in report["engines"].items():
            if name == "duckdb":
                continue
            targets.append({"target": f"DuckDB faster than the best {name} baseline "
                                      "(median in-process time and CPU, ratio > 1)",
                            "value": {"in_process": entry["in_process_ratio_vs_duckdb"],
                                      "cpu": entry["cpu_ratio_vs_duckdb"]},
                            "met": entry["in_process_ratio_vs_duckdb"] > 1
                            and entry["cpu_ratio_vs_duckdb"] > 1})
            targets.append({"target": f"{name} output equals DuckDB's",
                            "met": entry["same_output_as_duckdb"]})
    report["targets"] = targets
    report["load_average_before"] = [round(x, 2) for x in load_before]
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
