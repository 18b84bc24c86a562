"""Pure decisions of the fan club (粉丝团): affinity per action and its daily caps, levels,
check-in streaks, points, and the segment filter. No I/O, no clock: `now` is an argument
(docs/fans.md has the tables these constants make)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Source:
    """One kind of verified action: affinity per unit, and at most `daily_cap` a day (a
    calendar day in Asia/Shanghai) per fan and shop. `daily_cap` None: no cap (take-backs)."""

    per_unit: int
    daily_cap: int | None
    zh: str
    en: str


# The affinity (亲密度) table. Units: minutes watched with a live heartbeat; chat messages
# shown; likes; one check-in; one yuan of a paid order. `refund` takes a purchase's affinity
# back in proportion to what was refunded (never more than it gave), so it is not capped.
SOURCES: dict[str, Source] = {
    "watch": Source(1, 30, "观看直播", "minutes watched"),
    "chat": Source(2, 20, "发弹幕", "chat messages"),
    "like": Source(1, 10, "点赞", "likes"),
    "checkin": Source(10, 10, "打卡", "daily check-in"),
    "purchase": Source(1, 300, "购买（扣除退款）", "purchases, net of returns"),
    "refund": Source(-1, None, "退款扣回", "refund takes back"),
}


def local_day(now: datetime) -> date:
    """The fan's calendar day: caps, check-ins and streaks follow Asia/Shanghai."""
    return now.astimezone(SHANGHAI).date()


def grant(source: str, units: int, granted_today: int) -> int:
    """Affinity for `units` of `source`, given what this source already gave today; never
    more than what is left of the day's cap, never negative."""
    rule = SOURCES[source]
    if units <= 0:
        return 0
    wanted = units * rule.per_unit
    if rule.daily_cap is None:
        return wanted
    return max(0, min(wanted, rule.daily_cap - max(0, granted_today)))


def purchase_units(amount_fen: int) -> int:
    """Whole yuan of a paid amount (affinity and points are earned per yuan)."""
    return max(0, amount_fen) // 100


def take_back(granted: int, taken: int, paid: int, refunded_total: int) -> int:
    """How much more of an order's affinity (or points) to take back once `refunded_total` of
    its `paid` amount has been refunded in all: the proportional share, rounded up, never more
    than was granted in all."""
    if paid <= 0 or granted <= 0:
        return 0
    refunded_total = min(max(0, refunded_total), paid)
    due = -(-granted * refunded_total // paid)  # ceil: a full refund takes everything back
    return max(0, min(granted, due) - taken)


# --- levels ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Level:
    name: str
    threshold: int


DEFAULT_LEVELS: tuple[Level, ...] = (
    Level("新粉", 0), Level("铁粉", 100), Level("真爱粉", 500), Level("挚爱粉", 1500),
    Level("铁杆粉", 4000), Level("元老粉", 10000))
MAX_LEVELS = 20
MAX_LEVEL_NAME = 8
MAX_THRESHOLD = 10**9


def level_errors(levels: list[dict[str, Any]]) -> list[str]:
    """What is wrong with a merchant's level table ([] when it is valid): 1–20 levels, names
    1–8 characters and distinct, thresholds whole numbers strictly increasing from 0."""
    if not 1 <= len(levels) <= MAX_LEVELS:
        return [f"等级须为 1–{MAX_LEVELS} 个 / 1-{MAX_LEVELS} levels"]
    problems: list[str] = []
    names = [str(level.get("name", "")).strip() for level in levels]
    thresholds = [level.get("threshold") for level in levels]
    for n, name in enumerate(names, 1):
        if not 1 <= len(name) <= MAX_LEVEL_NAME:
            problems.append(f"第 {n} 级名称须为 1–{MAX_LEVEL_NAME} 字 / level {n}: name must "
                            f"be 1-{MAX_LEVEL_NAME} characters")
    if len(set(names)) != len(names):
        problems.append("等级名称不能重复 / level names must differ")
    if any(isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= MAX_THRESHOLD
           for t in thresholds):
        problems.append(f"亲密度门槛须为 0–{MAX_THRESHOLD} 的整数 / thresholds must be whole "
                        f"numbers 0-{MAX_THRESHOLD}")
        return problems
    if thresholds[0] != 0:
        problems.append("第 1 级门槛须为 0（入团即是）/ level 1 must start at 0")
    if any(b <= a for a, b in pairwise(thresholds)):
        problems.append("亲密度门槛须严格递增 / thresholds must strictly increase")
    return problems


def level_for(affinity: int, levels: tuple[Level, ...] | list[Level]) -> int:
    """The level (1-based) a fan with this affinity has: the highest whose threshold it
    reached. Levels are valid (thresholds increasing from 0)."""
    reached = 1
    for n, level in enumerate(levels, 1):
        if affinity >= level.threshold:
            reached = n
    return reached


# --- check-ins (打卡) ------------------------------------------------------------------------

def next_streak(last_day: date | None, streak: int, today: date) -> int | None:
    """The streak after checking in `today`; None when the fan already checked in today.
    Yesterday's check-in continues the streak; any gap starts again at 1."""
    if last_day is not None and last_day >= today:
        return None
    if last_day is not None and last_day == today - timedelta(days=1):
        return streak + 1
    return 1


def checkin_points(streak: int) -> int:
    """积分 for a check-in: 5, plus 1 for each day of the streak beyond the first, at most 10."""
    return 5 + min(max(streak, 1) - 1, 5)


def purchase_points(amount_fen: int) -> int:
    """积分 for a completed purchase: 1 per whole yuan kept (paid minus refunded)."""
    return purchase_units(amount_fen)


# --- watch minutes and bought viewers -------------------------------------------------------

def watch_minutes_due(minutes: int, credited: int, *, engaged: bool) -> int:
    """Minutes of a session to turn into affinity now. Only a viewer who interacted in the
    session (a chat shown, a like, a paid order) earns from watching: the audit flags silent
    viewers who arrive in synchronized bursts as bought (audit/viewers.py), and an engaged
    viewer is never one of them. Minutes watched before the first interaction wait and count
    once the viewer interacts."""
    if not engaged:
        return 0
    return max(0, minutes - credited)


# --- segments --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FanFacts:
    """What a segment may ask of one buyer of the shop (from the shop's own orders and its
    fan club): RFM net of returns, level, current streak, sessions bought in, tags."""

    user_id: int
    is_member: bool
    last_order_at: datetime | None  # latest paid order not refunded in full
    orders: int  # paid orders not refunded in full
    net_fen: int  # paid minus refunded, over all orders
    level: int  # 0: not a member
    streak: int  # 0 unless the last check-in was today or yesterday
    sessions: frozenset[int]  # live sessions with a paid order of theirs
    tags: frozenset[str]


@dataclass(frozen=True)
class SegmentFilter:
    """Every condition given must hold (AND); a None bound is no condition."""

    members_only: bool = False
    recency_days_max: int | None = None  # bought within this many days
    recency_days_min: int | None = None  # and not within this many (lapsed buyers)
    orders_min: int | None = None
    orders_max: int | None = None
    net_min_fen: int | None = None
    net_max_fen: int | None = None
    level_min: int | None = None
    level_max: int | None = None
    streak_min: int | None = None
    bought_in_session: int | None = None
    tags_any: frozenset[str] = frozenset()
    tags_all: frozenset[str] = frozenset()


def current_streak(streak: int, last_checkin: date | None, today: date) -> int:
    """A streak counts while it can still continue: last check-in today or yesterday."""
    if last_checkin is None or (today - last_checkin).days > 1:
        return 0
    return streak


def _within(value: int, low: int | None, high: int | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def matches(f: SegmentFilter, fan: FanFacts, now: datetime) -> bool:
    """Whether a buyer is in the segment (pure; the service loads the facts once)."""
    if f.members_only and not fan.is_member:
        return False
    if f.recency_days_max is not None or f.recency_days_min is not None:
        if fan.last_order_at is None:
            return False
        days = (now - fan.last_order_at).days
        if not _within(days, f.recency_days_min, f.recency_days_max):
            return False
    if not _within(fan.orders, f.orders_min, f.orders_max):
        return False
    if not _within(fan.net_fen, f.net_min_fen, f.net_max_fen):
        return False
    if (f.level_min is not None or f.level_max is not None) and not (
            fan.is_member and _within(fan.level, f.level_min, f.level_max)):
        return False
    if f.streak_min is not None and fan.streak < f.streak_min:
        return False
    if f.bought_in_session is not None and f.bought_in_session not in fan.sessions:
        return False
    if f.tags_any and not (f.tags_any & fan.tags):
        return False
    return f.tags_all <= fan.tags


# --- campaigns (docs/fans.md, "Campaigns") ---------------------------------------------------

CAMPAIGN_CAP = 2  # campaigns a fan receives from one shop in any CAP_WINDOW
CAP_WINDOW = timedelta(days=7)
ATTRIBUTION_WINDOW = timedelta(days=7)  # an order paid this long after a message counts for it
CAMPAIGN_TITLE_MAX, CAMPAIGN_BODY_MAX = 40, 500
CAMPAIGN_AHEAD_MAX = timedelta(days=30)


def campaign_text_error(title: str, body: str) -> str | None:
    if not 1 <= len(title) <= CAMPAIGN_TITLE_MAX:
        return (f"标题须为 1–{CAMPAIGN_TITLE_MAX} 字 / the title must be "
                f"1-{CAMPAIGN_TITLE_MAX} characters")
    if not 1 <= len(body) <= CAMPAIGN_BODY_MAX:
        return (f"正文须为 1–{CAMPAIGN_BODY_MAX} 字 / the text must be "
                f"1-{CAMPAIGN_BODY_MAX} characters")
    return None


def campaign_time_error(send_at: datetime | None, on_session_id: int | None,
                        now: datetime) -> str | None:
    if send_at is not None and on_session_id is not None:
        return "定时发送与开播时发送只能选一个 / a time or a session's start, not both"
    if send_at is not None and send_at < now - timedelta(minutes=1):
        return "发送时间已过 / the sending time has passed"
    if send_at is not None and send_at > now + CAMPAIGN_AHEAD_MAX:
        return "发送时间须在 30 天内 / send within 30 days"
    return None


def campaign_capped(received_in_window: int) -> bool:
    """Whether a fan who received this many of the shop's campaigns in the last CAP_WINDOW
    gets no more for now."""
    return received_in_window >= CAMPAIGN_CAP
