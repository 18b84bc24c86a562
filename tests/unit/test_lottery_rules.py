"""Pure lottery rules: windows, conditions, watched time as the union of visits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livepledge.lottery import rules

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def error(**changes):  # type: ignore[no-untyped-def]
    values = {"title": "福袋", "winners": 3, "prize_quantity": 1, "opens_at": NOW,
              "closes_at": NOW + timedelta(minutes=5), "ship_within_hours": 72, "now": NOW}
    return rules.lottery_error(**(values | changes))


@pytest.mark.parametrize(("changes", "ok"), [
    ({}, True),
    ({"title": " "}, False),
    ({"title": "x" * 61}, False),
    ({"winners": 0}, False), ({"winners": 1000}, True), ({"winners": 1001}, False),
    ({"prize_quantity": 0}, False), ({"prize_quantity": 101}, False),
    ({"ship_within_hours": 0}, False), ({"ship_within_hours": 721}, False),
    ({"closes_at": NOW + timedelta(seconds=10)}, True),
    ({"closes_at": NOW + timedelta(seconds=9)}, False),
    ({"closes_at": NOW + timedelta(hours=24)}, True),
    ({"closes_at": NOW + timedelta(hours=24, seconds=1)}, False),
    ({"opens_at": NOW - timedelta(minutes=1), "closes_at": NOW + timedelta(minutes=1)}, True),
    ({"opens_at": NOW - timedelta(minutes=2), "closes_at": NOW + timedelta(minutes=1)}, False),
    ({"opens_at": NOW + timedelta(days=8), "closes_at": NOW + timedelta(days=8, hours=1)},
     False),
])
def test_lottery_limits(changes, ok) -> None:  # type: ignore[no-untyped-def]
    assert (error(**changes) is None) == ok


@pytest.mark.parametrize(("conditions", "ok"), [
    ([], True),
    ([{"type": "watched", "minutes": 5}, {"type": "chat"}, {"type": "bought"}], True),
    ([{"type": "watched", "minutes": 0}], False),
    ([{"type": "watched", "minutes": 241}], False),
    ([{"type": "watched", "minutes": True}], False),
    ([{"type": "watched"}], False),
    ([{"type": "chat", "minutes": 3}], False),
    ([{"type": "chat"}, {"type": "chat"}], False),
    ([{"type": "fans"}], False),
    ("chat", False),
])
def test_conditions(conditions, ok) -> None:  # type: ignore[no-untyped-def]
    assert (rules.conditions_error(conditions) is None) == ok


def test_state_follows_the_window() -> None:
    opens, closes = NOW, NOW + timedelta(minutes=1)
    at = lambda t: rules.state(status="open", opens_at=opens, closes_at=closes, now=t)  # noqa: E731
    assert at(NOW - timedelta(seconds=1)) == "upcoming"
    assert at(NOW) == "open"
    assert at(closes - timedelta(microseconds=1)) == "open"
    assert at(closes) == "closing"
    assert rules.state(status="drawn", opens_at=opens, closes_at=closes, now=NOW) == "drawn"


def test_unmet_names_exactly_what_is_missing() -> None:
    conditions = [{"type": "watched", "minutes": 5}, {"type": "chat"}, {"type": "bought"}]
    assert rules.unmet(conditions, watched=300, chatted=True, bought=True) == []
    assert rules.unmet(conditions, watched=299, chatted=True, bought=False) == [
        {"type": "watched", "minutes": 5}, {"type": "bought"}]


visits = st.lists(st.tuples(st.integers(0, 600), st.one_of(st.none(), st.integers(0, 600))),
                  max_size=6)


@settings(max_examples=300, deadline=None)
@given(spans=visits, now=st.integers(0, 700))
def test_watched_seconds_is_the_union_of_visits(spans, now) -> None:  # type: ignore[no-untyped-def]
    # against a second-by-second count: a second is watched if some visit covers it
    covered = set()
    for joined, left in spans:
        end = min(left if left is not None else now, now)
        covered.update(range(joined, end))
    as_times = [(NOW + timedelta(seconds=j), NOW + timedelta(seconds=left) if left is not None
                 else None) for j, left in spans]
    assert rules.watched_seconds(as_times, NOW + timedelta(seconds=now)) == len(covered)
