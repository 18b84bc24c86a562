"""Shared by the benchmarks: a load-generating child process runs one JSON job on uvloop."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any


def run_job(flag: str, work: Callable[[dict[str, Any]], Awaitable[Any]]) -> None:
    """Read the job file named after `flag` on the command line, run `work(job)` on uvloop when
    available, and write its JSON result to the job's `output` path."""
    job = json.loads(Path(sys.argv[sys.argv.index(flag) + 1]).read_text())
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    Path(job["output"]).write_text(json.dumps(asyncio.run(work(job))))
