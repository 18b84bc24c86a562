"""The fan club's pure rules: affinity per action and its daily caps, take-backs, levels,
check-in streaks and points (fans/rules.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livepledge.fans import rules
from livepledge.fans.rules import Level


@pytest.mark.parametrize(("source", "units", "granted_today", "expected"), [
    ("watch", 1, 0, 1),
    ("watch", 5, 28, 2),  # only what is left of the day's 30
    ("watch", 1, 30, 0),
    ("chat", 1, 0, 2),
    ("chat", 3, 18, 2),
    ("chat", 1, 20, 0),
    ("like", 10, 0, 10),
    ("like", 50, 0, 10),
    ("like", 3, 9, 1),
    ("checkin", 1, 0, 10),
    ("checkin", 1, 10, 0),
    ("purchase", 99, 0, 99),
    ("purchase", 500, 0, 300),
    ("purchase", 1, 300, 0),
    ("purchase", 0, 0, 0),
    ("refund", 7, 0, -7),  # take-backs are not capped
    ("chat", -2, 0, 0),
    ("watch", 1, 31, 0),  # already over (levels changed): never negative
])
def test_grant_per_action_within_the_daily_cap(source, units, granted_today, expected):
    assert rules.grant(source, units, granted_today) == expected


@pytest.mark.parametrize(("now", "day"), [
    (datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), date(2026, 3, 1)),
    (datetime(2026, 3, 1, 16, 0, 0, tzinfo=UTC), date(2026, 3, 2)),  # midnight in Shanghai
    (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), date(2027, 1, 1)),
])
def test_days_are_asia_shanghai_calendar_days(now, day):
    assert rules.local_day(now) == day


@pytest.mark.parametrize(("granted", "taken", "paid", "refunded", "expected"), [
    (99, 0, 9900, 9900, 99),  # full refund: everything back
    (99, 0, 9900, 4950, 50),  # half, rounded up
    (99, 50, 9900, 9900, 49),  # the rest on the second refund
    (99, 99, 9900, 9900, 0),  # nothing twice
    (99, 0, 9900, 20000, 99),  # never more than was granted
    (0, 0, 9900, 9900, 0),  # a non-member's order gave nothing
    (30, 0, 9900, 1, 1),
    (30, 0, 0, 0, 0),
])
def test_refunds_take_back_their_share(granted, taken, paid, refunded, expected):
    assert rules.take_back(granted, taken, paid, refunded) == expected


@given(st.lists(st.tuples(st.sampled_from(sorted(set(rules.SOURCES) - {"refund"})),
                          st.integers(min_value=-5, max_value=1000)), max_size=200))
def test_no_sequence_of_actions_passes_a_daily_cap(actions):
    """Whatever a fan does in a day, in any order, each source gives at most its cap."""
    granted: dict[str, int] = {}
    for source, units in actions:
        points = rules.grant(source, units, granted.get(source, 0))
        assert points >= 0
        granted[source] = granted.get(source, 0) + points
    for source, total in granted.items():
        cap = rules.SOURCES[source].daily_cap
        assert cap is not None and 0 <= total <= cap


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=10**7),
       st.lists(st.integers(min_value=1, max_value=10**7), max_size=20))
def test_take_backs_sum_to_at_most_what_was_granted(granted, paid, refunds):
    """Any series of partial refunds takes back the proportional share, at most the grant, and
    exactly the grant once everything was refunded."""
    taken, refunded = 0, 0
    for amount in refunds:
        refunded = min(paid, refunded + amount)
        step = rules.take_back(granted, taken, paid, refunded)
        assert step >= 0
        taken += step
        assert taken <= granted
    if refunded == paid:
        assert taken == granted


LEVELS = [Level("新粉", 0), Level("铁粉", 100), Level("真爱粉", 500)]


@pytest.mark.parametrize(("affinity", "level"), [(0, 1), (99, 1), (100, 2), (499, 2),
                                                 (500, 3), (10**9, 3)])
def test_level_for_affinity(affinity, level):
    assert rules.level_for(affinity, LEVELS) == level


@pytest.mark.parametrize(("levels", "errors"), [
    ([{"name": "新粉", "threshold": 0}], 0),
    ([{"name": "新粉", "threshold": 0}, {"name": "铁粉", "threshold": 100}], 0),
    ([], 1),
    ([{"name": f"L{n}", "threshold": n} for n in range(21)], 1),
    ([{"name": f"L{n}", "threshold": n} for n in range(20)], 0),
    ([{"name": "新粉", "threshold": 10}], 1),  # must start at 0
    ([{"name": "a", "threshold": 0}, {"name": "b", "threshold": 0}], 1),  # not increasing
    ([{"name": "a", "threshold": 0}, {"name": "b", "threshold": 50},
      {"name": "c", "threshold": 40}], 1),
    ([{"name": "", "threshold": 0}], 1),
    ([{"name": "   ", "threshold": 0}], 1),
    ([{"name": "九个字的等级名称啊", "threshold": 0}], 1),
    ([{"name": "a", "threshold": 0}, {"name": "a", "threshold": 5}], 1),  # duplicate name
    ([{"name": "a", "threshold": -1}], 1),
    ([{"name": "a", "threshold": True}], 1),
    ([{"name": "a", "threshold": "0"}], 1),
])
def test_level_table_validation(levels, errors):
    assert len(rules.level_errors(levels)) == errors


def test_default_levels_are_valid():
    table = [{"name": level.name, "threshold": level.threshold} for level in rules.DEFAULT_LEVELS]
    assert rules.level_errors(table) == []


@pytest.mark.parametrize(("last", "streak", "today", "expected"), [
    (None, 0, date(2026, 3, 2), 1),
    (date(2026, 3, 1), 4, date(2026, 3, 2), 5),  # yesterday: the streak goes on
    (date(2026, 2, 28), 4, date(2026, 3, 2), 1),  # a gap: again from 1
    (date(2026, 3, 2), 4, date(2026, 3, 2), None),  # already today
    (date(2026, 3, 3), 4, date(2026, 3, 2), None),  # clock went back: not twice
    (date(2024, 2, 28), 9, date(2024, 2, 29), 10),
])
def test_check_in_streaks(last, streak, today, expected):
    assert rules.next_streak(last, streak, today) == expected


@pytest.mark.parametrize(("streak", "points"), [(1, 5), (2, 6), (6, 10), (7, 10), (100, 10),
                                                (0, 5)])
def test_check_in_points(streak, points):
    assert rules.checkin_points(streak) == points


@pytest.mark.parametrize(("amount", "points"), [(0, 0), (99, 0), (100, 1), (9900, 99),
                                                (-100, 0)])
def test_purchase_points_per_whole_yuan(amount, points):
    assert rules.purchase_points(amount) == points


@pytest.mark.parametrize(("minutes", "credited", "engaged", "due"), [
    (10, 0, True, 10), (10, 4, True, 6), (10, 10, True, 0),
    (10, 0, False, 0),  # silent viewers (the audit's bought-viewer suspects) earn nothing
])
def test_watch_minutes_count_only_for_engaged_viewers(minutes, credited, engaged, due):
    assert rules.watch_minutes_due(minutes, credited, engaged=engaged) == due


# --- segments --------------------------------------------------------------------------------

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LOYAL = rules.FanFacts(user_id=1, is_member=True, last_order_at=datetime(2026, 3, 8, tzinfo=UTC),
                       orders=5, net_fen=120_000, level=3, streak=7, sessions=frozenset({11}),
                       tags=frozenset({"回头客", "茶叶"}))
LAPSED = rules.FanFacts(user_id=2, is_member=False, last_order_at=datetime(2025, 12, 1,
                                                                            tzinfo=UTC),
                        orders=1, net_fen=9_900, level=0, streak=0, sessions=frozenset({3}),
                        tags=frozenset())
RETURNED = rules.FanFacts(user_id=3, is_member=True, last_order_at=None, orders=0, net_fen=0,
                          level=1, streak=0, sessions=frozenset(), tags=frozenset({"茶叶"}))
F = rules.SegmentFilter


@pytest.mark.parametrize(("segment", "expected"), [
    (F(), {1, 2, 3}),
    (F(members_only=True), {1, 3}),
    (F(recency_days_max=30), {1}),
    (F(recency_days_min=60), {2}),  # lapsed buyers, for a win-back campaign
    (F(recency_days_min=60, recency_days_max=120), {2}),
    (F(orders_min=1), {1, 2}),
    (F(orders_min=2, orders_max=5), {1}),
    (F(orders_max=0), {3}),  # everything they bought was returned
    (F(net_min_fen=10_000), {1}),
    (F(net_max_fen=9_900), {2, 3}),
    (F(level_min=2), {1}),
    (F(level_max=1), {3}),  # non-members have no level
    (F(streak_min=7), {1}),
    (F(bought_in_session=3), {2}),
    (F(tags_any=frozenset({"茶叶", "x"})), {1, 3}),
    (F(tags_all=frozenset({"茶叶", "回头客"})), {1}),
    (F(members_only=True, tags_any=frozenset({"茶叶"}), orders_min=1), {1}),
])
def test_segment_filters(segment, expected):
    assert {fan.user_id for fan in (LOYAL, LAPSED, RETURNED)
            if rules.matches(segment, fan, NOW)} == expected


@pytest.mark.parametrize(("streak", "last", "today", "current"), [
    (5, date(2026, 3, 10), date(2026, 3, 10), 5),
    (5, date(2026, 3, 9), date(2026, 3, 10), 5),
    (5, date(2026, 3, 8), date(2026, 3, 10), 0),  # broken
    (0, None, date(2026, 3, 10), 0),
])
def test_current_streak(streak, last, today, current):
    assert rules.current_streak(streak, last, today) == current
