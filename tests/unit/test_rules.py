"""Pure rules: table-driven, plus properties for money, stock and windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livepledge.accounts import rules as account_rules
from livepledge.live import rules as live_rules
from livepledge.orders import rules as order_rules

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
START, END = T0, T0 + timedelta(hours=1)


@pytest.mark.parametrize(("session_status", "now", "expected"), [
    ("live", START - timedelta(seconds=1), "upcoming"),
    ("live", START, "open"),                 # both ends included
    ("live", END, "open"),
    ("live", END + timedelta(microseconds=1), "ended"),
    ("scheduled", START + timedelta(minutes=5), "upcoming"),
    ("ended", START + timedelta(minutes=5), "ended"),
    ("scheduled", END + timedelta(seconds=1), "ended"),
])
def test_sale_state(session_status: str, now: datetime, expected: str) -> None:
    assert live_rules.sale_state(session_status=session_status, starts_at=START, ends_at=END,
                                 now=now) == expected


@given(st.integers(min_value=-7200, max_value=7200))
def test_a_sale_is_open_exactly_inside_the_window_while_live(offset_seconds: int) -> None:
    now = START + timedelta(seconds=offset_seconds)
    state = live_rules.sale_state(session_status="live", starts_at=START, ends_at=END, now=now)
    assert (state == "open") == (START <= now <= END)


@pytest.mark.parametrize(("status", "action", "expected"), [
    ("scheduled", "start", "live"), ("live", "start", None), ("ended", "start", None),
    ("live", "end", "ended"), ("scheduled", "end", None), ("ended", "end", None),
])
def test_session_transitions(status: str, action: str, expected: str | None) -> None:
    assert live_rules.transition(status, action) == expected


@pytest.mark.parametrize(("status", "action", "expected"), [
    ("pending_payment", "pay", "paid"), ("paid", "pay", None), ("expired", "pay", None),
    ("paid", "ship", "shipped"), ("pending_payment", "ship", None),
    ("shipped", "receive", "received"), ("paid", "receive", None),
    ("pending_payment", "buyer_cancel", "cancelled"), ("paid", "buyer_cancel", None),
    ("paid", "merchant_cancel", "cancelled"), ("shipped", "merchant_cancel", None),
    ("pending_payment", "expire", "expired"), ("paid", "expire", None),
    ("cancelled", "merchant_cancel", None),
])
def test_order_transitions(status: str, action: str, expected: str | None) -> None:
    assert order_rules.next_status(status, action) == expected


@pytest.mark.parametrize(("quantity", "ok"), [(-5, False), (0, False), (1, True), (1000, True),
                                              (1001, False)])
def test_quantity_bounds(quantity: int, ok: bool) -> None:
    assert (order_rules.quantity_error(quantity) is None) == ok


@pytest.mark.parametrize(("key", "ok"), [(None, False), ("", False), ("a", True),
                                         ("x" * 128, True), ("x" * 129, False),
                                         ("has space", False), ("中文", False),
                                         ("3f1c-uuid-like_KEY.1", True)])
def test_idempotency_keys(key: str | None, ok: bool) -> None:
    assert (order_rules.idempotency_key_error(key) is None) == ok


@given(st.datetimes(timezones=st.just(UTC), min_value=datetime(2020, 1, 1),
                    max_value=datetime(2040, 1, 1)),
       st.integers(min_value=5, max_value=86400), st.integers(min_value=-10, max_value=10))
def test_unpaid_orders_expire_exactly_at_their_deadline(created: datetime, timeout: int,
                                                        offset: int) -> None:
    deadline = order_rules.expires_at(created, timeout)
    now = deadline + timedelta(seconds=offset)
    assert order_rules.is_expired(status="pending_payment", expires=deadline, now=now) == (
        offset >= 0)
    assert not order_rules.is_expired(status="paid", expires=deadline, now=now)


def test_lineup_errors() -> None:
    def error(**changes: object) -> str | None:
        args: dict[str, object] = {"live_price": 100, "allocated": 10, "per_buyer_limit": 1,
                                   "starts_at": START, "ends_at": END, "now": T0}
        args.update(changes)
        return live_rules.lineup_error(**args)  # type: ignore[arg-type]

    assert error() is None
    assert error(live_price=0) is not None
    assert error(allocated=0) is not None
    assert error(per_buyer_limit=0) is not None
    assert error(per_buyer_limit=1001) is not None
    assert error(ends_at=START) is not None
    assert error(now=END + timedelta(seconds=1)) is not None
    assert error(ends_at=START + timedelta(days=31)) is not None


@pytest.mark.parametrize(("url", "ok"), [
    (None, True), ("", True), ("https://cdn.example.com/live/1.m3u8", True),
    ("http://10.0.0.5:8080/stream.mp4", True), ("javascript:alert(1)", False),
    ("ftp://x/y", False), ("https://", False),
    ("/demo/stream.webm", True),  # a path on this server (the demo's test pattern)
    ("//evil.example/stream.m3u8", False),  # another site, scheme-relative
    ("/\\evil.example/x", False), ("/" + "a" * 500, False),
])
def test_playback_urls(url: str | None, ok: bool) -> None:
    assert (live_rules.playback_url_error(url) is None) == ok


@pytest.mark.parametrize(("login", "ok"), [("ab", False), ("abc", True), ("a" * 32, True),
                                           ("a" * 33, False), ("bad login", False),
                                           ("中文名", False), ("x.y-z_1", True)])
def test_logins(login: str, ok: bool) -> None:
    assert (account_rules.login_error(login) is None) == ok


@given(st.integers(min_value=1, max_value=100_000_000_00),
       st.integers(min_value=1, max_value=order_rules.MAX_QUANTITY))
def test_order_amount_is_exact_integer_fen(price: int, quantity: int) -> None:
    # Amounts are integers: no float ever touches money.
    amount = price * quantity
    assert isinstance(amount, int)
    assert amount // quantity == price


@given(amount=st.integers(1, 10**9), percent=st.integers(1, 100), floor=st.integers(1, 10**5),
       extra=st.integers(0, 10**6))
def test_compensation_is_a_share_between_floor_and_cap_never_zero(
        amount: int, percent: int, floor: int, extra: int) -> None:
    from livepledge.orders.rules import compensation

    cap = floor + extra
    paid = compensation(amount, percent=percent, floor=floor, cap=cap)
    assert floor <= paid <= cap and paid >= 1
    if floor <= amount * percent // 100 <= cap:
        assert paid == amount * percent // 100
