"""Cost of the context layer around the engine (compliance/statements.py: stated facts, rule
statements, buyer warnings, codes), beside the bare engine, on the same lines in the same run.

Prints JSON: CPU time per line (µs) of `engine.check` and of `statements.check_in_context` around
it, over every line of corpus/compliance and corpus/external, rounds alternating which goes first,
and the ratio of their median round times. Both run on one core in this process; the machine is
shared, so CPU time (not wall time) is reported.

    python bench/compliance_context.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import orjson

from livepledge.compliance.catalogue import get_catalogue
from livepledge.compliance.engine import check
from livepledge.compliance.evaluation import load_corpus
from livepledge.compliance.facts import Facts
from livepledge.compliance.statements import check_in_context

ROOT = Path(__file__).resolve().parents[1] / "corpus"
TARGET_RATIO = 1.5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    get_catalogue()
    items = [(i["text"], i["category"], i["context"], Facts.from_dict(i.get("facts")))
             for folder in ("compliance", "external") for i in load_corpus(ROOT / folder)]

    def bare() -> None:
        for text, category, context, facts in items:
            list(check(text, category, context, facts))

    def layered() -> None:
        for text, category, context, facts in items:
            check_in_context(check, text, category, context, facts)

    bare(), layered()  # warm-up
    times: dict[str, list[float]] = {"engine": [], "with_context": []}
    for round_number in range(args.rounds):
        order = [("engine", bare), ("with_context", layered)]
        for name, run in order if round_number % 2 == 0 else order[::-1]:
            start = time.thread_time()
            run()
            times[name].append(time.thread_time() - start)
    per_line = {name: statistics.median(values) / len(items) * 1e6
                for name, values in times.items()}
    ratio = per_line["with_context"] / per_line["engine"]
    print(orjson.dumps({
        "lines": len(items), "rounds": args.rounds,
        "cpu_us_per_line": {name: round(value, 1) for name, value in per_line.items()},
        "ratio_with_context_to_engine": round(ratio, 3),
        "target": {"ratio_at_most": TARGET_RATIO, "met": ratio <= TARGET_RATIO},
        "note": "median CPU time per round / lines; shared machine (other agents running)",
    }, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
