"""A progress display for long DuckDB steps (on stderr, only when it is a terminal)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import duckdb
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

T = TypeVar("T")


class Steps:
    """Runs named steps; while a step runs, DuckDB's own query progress drives the bar."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, enabled: bool | None = None) -> None:
        self.con = con
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.console = Console(stderr=True)

    @contextmanager
    def session(self) -> Iterator[Steps]:
        if not self.enabled:
            yield self
            return
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                                  console=self.console, transient=True)
        with self._progress:
            yield self

    def run(self, label: str, work: Callable[[], T]) -> T:
        if not self.enabled:
            return work()
        task = self._progress.add_task(label, total=100)
        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.25):
                try:
                    value = self.con.query_progress()
                except duckdb.Error:
                    continue
                if value is not None and value >= 0:
                    self._progress.update(task, completed=min(float(value), 99.0))

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            return work()
        finally:
            done.set()
            watcher.join()
            self._progress.update(task, completed=100)
