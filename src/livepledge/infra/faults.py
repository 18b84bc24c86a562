"""Fault points for crash tests (LIVEPLEDGE_FAULT_POINTS, refused in production).

`hit("name")` kills this process with SIGKILL when the point is configured, exactly where a power
cut would hurt most (e.g. after the payment provider refunded and before the database committed).
Unconfigured, it costs one set lookup."""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger("livepledge.faults")
_points: frozenset[str] = frozenset()


def configure(points: str) -> None:
    global _points
    _points = frozenset(p.strip() for p in points.split(",") if p.strip())


def hit(name: str) -> None:
    if name in _points:
        log.warning("fault point %s: killing the process (SIGKILL)", name)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGKILL)
