"""Pure lottery decisions: what a lottery may be created with, its state at a time, which entry
conditions a buyer meets. No I/O, no clock: `now` is an argument."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

MAX_WINNERS = 1000
MAX_PRIZE_QUANTITY = 100
MIN_WINDOW = timedelta(seconds=10)
MAX_WINDOW = timedelta(hours=24)
MAX_START_AHEAD = timedelta(days=7)
START_GRACE = timedelta(minutes=1)  # a window may start this much in the past (clock skew)
MAX_WATCH_MINUTES = 240
MAX_SHIP_HOURS = 720
DEFAULT_SHIP_HOURS = 72

# Entry conditions: at most one of each type.
#   {"type": "watched", "minutes": N}: watched this session's room for N minutes or more in all
#   {"type": "chat"}: sent a chat message shown in this session's room
#   {"type": "bought"}: placed an order in this session (paid, shipped or received)
CONDITION_TYPES = ("watched", "chat", "bought")
CONDITION_LABELS = {
    "watched": ("观看满 {minutes} 分钟", "watched {minutes} minutes"),
    "chat": ("在直播间发过弹幕", "sent a chat message in this room"),
    "bought": ("本场直播下过单", "bought in this live session"),
}


def conditions_error(conditions: Any) -> str | None:
    if not isinstance(conditions, list) or len(conditions) > len(CONDITION_TYPES):
        return "参与条件须为列表 / conditions must be a list of at most 3"
    seen = set()
    for condition in conditions:
        if not isinstance(condition, dict) or condition.get("type") not in CONDITION_TYPES:
            return (f"未知的参与条件 / unknown condition; use one of "
                    f"{', '.join(CONDITION_TYPES)}")
        kind = condition["type"]
        if kind in seen:
            return f"参与条件重复 / condition {kind} given twice"
        seen.add(kind)
        extra = set(condition) - ({"type", "minutes"} if kind == "watched" else {"type"})
        if extra:
            return f"条件 {kind} 不接受 {sorted(extra)} / condition {kind} takes no {sorted(extra)}"
        if kind == "watched":
            minutes = condition.get("minutes")
            if not isinstance(minutes, int) or isinstance(minutes, bool) \
                    or not 1 <= minutes <= MAX_WATCH_MINUTES:
                return (f"观看时长须为 1–{MAX_WATCH_MINUTES} 分钟 / watched minutes must be "
                        f"1-{MAX_WATCH_MINUTES}")
    return None


def lottery_error(*, title: str, winners: int, prize_quantity: int, opens_at: datetime,
                  closes_at: datetime, ship_within_hours: int, now: datetime) -> str | None:
    if not 1 <= len(title.strip()) <= 60:
        return "标题须为 1–60 个字符 / title must be 1-60 characters"
    if not 1 <= winners <= MAX_WINNERS:
        return f"中奖人数须为 1–{MAX_WINNERS} / winners must be 1-{MAX_WINNERS}"
    if not 1 <= prize_quantity <= MAX_PRIZE_QUANTITY:
        return (f"每份奖品数量须为 1–{MAX_PRIZE_QUANTITY} / prize quantity must be "
                f"1-{MAX_PRIZE_QUANTITY}")
    if not 1 <= ship_within_hours <= MAX_SHIP_HOURS:
        return f"发货时限须为 1–{MAX_SHIP_HOURS} 小时 / shipping within 1-{MAX_SHIP_HOURS} hours"
    if opens_at < now - START_GRACE:
        return "开始时间已过 / the entry window cannot start in the past"
    if opens_at > now + MAX_START_AHEAD:
        return "开始时间须在 7 天内 / the entry window must start within 7 days"
    if not MIN_WINDOW <= closes_at - opens_at <= MAX_WINDOW:
        return "参与时长须为 10 秒至 24 小时 / the entry window must last 10 s to 24 h"
    return None


def state(*, status: str, opens_at: datetime, closes_at: datetime, now: datetime) -> str:
    """upcoming | open | closing (window over, not drawn yet) | drawn"""
    if status == "drawn":
        return "drawn"
    if now < opens_at:
        return "upcoming"
    if now < closes_at:
        return "open"
    return "closing"


def watched_seconds(visits: Iterable[tuple[datetime, datetime | None]], now: datetime) -> float:
    """Seconds of the union of a viewer's visits (several tabs count once); a visit not yet
    left runs until `now`."""
    spans = sorted((joined, min(left or now, now)) for joined, left in visits)
    total = 0.0
    end: datetime | None = None
    for start, stop in spans:
        if end is not None and start < end:
            start = end
        if stop > start:
            total += (stop - start).total_seconds()
            end = stop if end is None or stop > end else end
    return total


def unmet(conditions: list[dict[str, Any]], *, watched: float, chatted: bool,
          bought: bool) -> list[dict[str, Any]]:
    """The conditions this buyer does not meet (empty: may enter)."""
    missing = []
    for condition in conditions:
        kind = condition["type"]
        if (kind == "watched" and watched < condition["minutes"] * 60) or \
                (kind == "chat" and not chatted) or (kind == "bought" and not bought):
            missing.append(condition)
    return missing


def labels(conditions: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for condition in conditions:
        zh, en = CONDITION_LABELS[condition["type"]]
        out.append({"type": condition["type"], "zh-CN": zh.format(**condition),
                    "en": en.format(**condition)})
    return out
