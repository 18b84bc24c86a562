"""Compliance checker speed on chat-length lines, beside a bare Aho-Corasick scan.

Prints JSON: messages/s and p50/p99 latency (µs) of the full check (normalisation, one
Aho-Corasick pass, context checks, facts) on the 10–60 character lines of the labelled corpus,
checked as chat, on one core; and the same for a bare scan of the same automaton (same lexicon)
over the raw text, measured in the same run; and the ratio of the two mean latencies.

    python bench/compliance.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from livepledge.compliance.catalogue import get_catalogue
from livepledge.compliance.engine import check

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "compliance"


def chat_lines() -> list[tuple[str, str]]:
    lines = []
    for file in sorted(CORPUS.glob("*.jsonl")):
        for raw in file.read_bytes().splitlines():
            item = orjson.loads(raw)
            if 10 <= len(item["text"]) <= 60:
                lines.append((item["text"], item["category"]))
    return lines


def measure(run: Callable[[str, str], object], lines: list[tuple[str, str]],
            rounds: int) -> dict[str, float]:
    samples: list[int] = []
    clock = time.perf_counter_ns
    started = clock()
    for _ in range(rounds):
        for text, category in lines:
            t0 = clock()
            run(text, category)
            samples.append(clock() - t0)
    elapsed = (clock() - started) / 1e9
    samples.sort()
    return {
        "messages_per_s": round(len(samples) / elapsed),
        "mean_us": round(statistics.fmean(samples) / 1000, 2),
        "p50_us": round(samples[len(samples) // 2] / 1000, 2),
        "p99_us": round(samples[int(len(samples) * 0.99)] / 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    started = time.perf_counter()
    catalogue = get_catalogue()
    compile_s = time.perf_counter() - started
    automaton = catalogue.automaton
    lines = chat_lines()

    def full(text: str, category: str) -> object:
        return check(text, category, "chat", catalogue=catalogue)

    def bare(text: str, category: str) -> object:
        for _ in automaton.iter(text):
            pass
        return None

    for run in (full, bare):  # warm up
        measure(run, lines, 1)
    full_stats = measure(full, lines, args.rounds)
    bare_stats = measure(bare, lines, args.rounds)
    result = {
        "lines": len(lines),
        "rounds": args.rounds,
        "lexicon_keys": len(catalogue.lexicon),
        "compile_s": round(compile_s, 3),
        "full_check": full_stats,
        "bare_aho_corasick": bare_stats,
        "ratio_full_to_bare": round(full_stats["mean_us"] / bare_stats["mean_us"], 2),
        "targets": {"messages_per_s": 10_000, "p99_us": 1000, "ratio": 5},
        "python": sys.version.split()[0],
    }
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    main()
