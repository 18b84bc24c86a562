"""Brute-force reference for brushing detection (small inputs only; used by the tests).

It does not use the (a)/(b) window families of `brushing.py`.  It samples the window start s
over continuous time: the content of [s, s + W] can only change where s crosses t − W or t for
some order time t, so sampling s at every such breakpoint and at one point inside every open
interval between consecutive breakpoints (and beyond both ends) visits every possible window
content.  Times and W are exact Fractions, so "inside" is exact.

With a step > 0 (the official reading: windows start at whole seconds) it simply tries every
start s that is a whole multiple of the step from below the first order time − W to above
the last order time: nothing clever, so keep the inputs small.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from fractions import Fraction


def sample_starts(times: list[Fraction], window: Fraction) -> list[Fraction]:
    points = sorted(set(times) | {t - window for t in times})
    starts = [points[0] - 1, points[-1] + 1]
    for left, right in itertools.pairwise(points):
        starts.append((left + right) / 2)
    starts.extend(points)
    return starts


def grid_starts(times: list[Fraction], window: Fraction, step: Fraction) -> list[Fraction]:
    first = math.floor((min(times) - window) / step) - 1
    last = math.ceil(max(times) / step) + 1
    return [k * step for k in range(first, last + 1)]


def shop_windows(orders: list[tuple[str, Fraction]], window: Fraction,
                 threshold: Fraction, step: Fraction = Fraction(0)) -> set[int]:
    """Indices of the orders (buyer, time) lying in at least one brushing window."""
    times = [t for _, t in orders]
    in_period: set[int] = set()
    starts = grid_starts(times, window, step) if step > 0 else sample_starts(times, window)
    for start in starts:
        inside = [i for i, t in enumerate(times) if start <= t <= start + window]
        if not inside:
            continue
        buyers = {orders[i][0] for i in inside}
        if Fraction(len(inside), len(buyers)) >= threshold:
            in_period.update(inside)
    return in_period


def sort_ids(ids: Iterable[str]) -> list[str]:
    values = list(ids)
    if all(_is_integer(v) for v in values):
        return sorted(values, key=lambda v: (int(v), v))
    return sorted(values)


def _is_integer(value: str) -> bool:
    digits = value[1:] if value.startswith("-") else value
    return digits.isdigit() and digits.isascii() and 0 < len(digits) <= 30


def brute_force(rows: list[tuple[str, str, Fraction]], window: Fraction, threshold: Fraction,
                rule: str = "period-share", step: Fraction = Fraction(0)) -> dict[str, str]:
    """rows: (shop_id, buyer_id, time in seconds) → {shop_id: buyer_ids or '0'}.

    step 0: windows start anywhere (continuous); step > 0: at whole multiples of step."""
    by_shop: dict[str, list[tuple[str, Fraction]]] = defaultdict(list)
    for shop, buyer, time in rows:
        by_shop[shop].append((buyer, Fraction(time)))
    result: dict[str, str] = {}
    for shop, orders in by_shop.items():
        in_period = shop_windows(orders, Fraction(window), Fraction(threshold), Fraction(step))
        if not in_period:
            result[shop] = "0"
            continue
        counts = Counter(orders[i][0] for i in in_period)
        totals = Counter(buyer for buyer, _ in orders)
        if rule == "buyer-share":
            scores = {b: Fraction(n, totals[b]) for b, n in counts.items()}
        else:
            scores = {b: Fraction(n) for b, n in counts.items()}
        best = max(scores.values())
        result[shop] = "&".join(sort_ids(b for b, s in scores.items() if s == best))
    return result
