"""coupons/rules.py: the discount, validity, claim windows and the pro-rata split, table-driven,
with hypothesis properties for the money."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livepledge.coupons import rules

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def terms(**changes: object) -> rules.Terms:
    base: dict[str, object] = {
        "kind": "threshold", "threshold": 10000, "amount_off": 1000, "budget": 10,
        "per_buyer_limit": 1, "claim_starts_at": NOW, "claim_ends_at": NOW + timedelta(days=1),
        "valid_days": 7}
    base.update(changes)
    return rules.Terms(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "ok"), [
    ({}, True),
    ({"kind": "percent", "amount_off": None, "percent_off": 15, "cap": 500}, True),
    ({"kind": "percent", "amount_off": None, "percent_off": 15, "threshold": 0}, True),
    ({"kind": "no_threshold", "threshold": 0, "amount_off": 300}, True),
    ({"budget": 0}, False),
    ({"amount_off": 10000}, False),
    ({"amount_off": 0}, False),
    ({"kind": "percent", "amount_off": None, "percent_off": 0}, False),
    ({"kind": "percent", "amount_off": None, "percent_off": 100}, False),
    ({"kind": "percent", "amount_off": 100, "percent_off": 10}, False),
    ({"kind": "no_threshold", "threshold": 1, "amount_off": 300}, False),
    ({"kind": "gift"}, False),
    ({"claim_ends_at": NOW - timedelta(seconds=1)}, False),
    ({"valid_days": None, "valid_from": NOW, "valid_until": NOW + timedelta(days=1)}, True),
    ({"valid_days": None, "valid_from": NOW, "valid_until": NOW}, False),
    ({"valid_from": NOW, "valid_until": NOW + timedelta(days=1)}, False),
    ({"valid_days": None}, False),
    ({"valid_days": 400}, False),
])
def test_terms(changes, ok):
    assert (rules.terms_errors(terms(**changes), NOW - timedelta(hours=1)) == []) is ok


@pytest.mark.parametrize(("status", "at", "state"), [
    ("active", NOW, "open"),
    ("active", NOW - timedelta(seconds=1), "upcoming"),
    ("active", NOW + timedelta(days=1), "open"),
    ("active", NOW + timedelta(days=1, seconds=1), "ended"),
    ("paused", NOW, "paused"),
    ("ended", NOW, "ended"),
])
def test_claim_state(status, at, state):
    assert rules.claim_state(status=status, starts_at=NOW, ends_at=NOW + timedelta(days=1),
                             now=at) == state


@pytest.mark.parametrize(("kind", "threshold", "off", "percent", "cap", "amount", "expected"), [
    ("threshold", 10000, 1000, None, None, 9999, 0),  # below the threshold
    ("threshold", 10000, 1000, None, None, 10000, 1000),
    ("no_threshold", 0, 500, None, None, 300, 299),  # never below 1 fen to pay
    ("no_threshold", 0, 500, None, None, 1, 0),
    ("percent", 0, None, 15, None, 9999, 1499),  # rounded down
    ("percent", 0, None, 15, 1000, 9999, 1000),  # capped
    ("percent", 5000, None, 50, None, 4999, 0),
])
def test_discount(kind, threshold, off, percent, cap, amount, expected):
    assert rules.discount(kind=kind, threshold=threshold, amount_off=off, percent_off=percent,
                          cap=cap, amount=amount) == expected


def test_validity_fixed_or_days_from_the_claim():
    assert rules.validity(claimed_at=NOW, valid_from=None, valid_until=None,
                          valid_days=3) == (NOW, NOW + timedelta(days=3))
    fixed = (NOW - timedelta(days=1), NOW + timedelta(days=2))
    assert rules.validity(claimed_at=NOW, valid_from=fixed[0], valid_until=fixed[1],
                          valid_days=None) == fixed


def test_split_worked_example():
    # docs/fans.md: 1,000 fen off 3 units of 9,900 — 334, 333, 333
    assert rules.split(1000, [9900, 9900, 9900]) == [334, 333, 333]
    assert rules.paid_per_unit(unit_price=9900, quantity=3, discount=1000) == [9566, 9567, 9567]
    assert rules.paid_for_units(unit_price=9900, quantity=3, discount=1000, units=1) == 9567


kinds = st.sampled_from(["threshold", "percent", "no_threshold"])


@given(kind=kinds, threshold=st.integers(0, 10**6), off=st.integers(1, 10**6),
       percent=st.integers(1, 99), cap=st.none() | st.integers(1, 10**6),
       amount=st.integers(1, 10**8))
def test_payable_is_never_below_one_fen_or_above_the_price(kind, threshold, off, percent, cap,
                                                           amount):
    discount = rules.discount(kind=kind, threshold=threshold, amount_off=off,
                              percent_off=percent, cap=cap, amount=amount)
    assert 0 <= discount <= amount
    assert amount - discount >= min(amount, rules.MIN_PAYABLE)


@given(total=st.integers(0, 10**9), weights=st.lists(st.integers(0, 10**6), min_size=1,
                                                     max_size=50).filter(lambda w: sum(w) > 0))
def test_split_parts_sum_exactly_and_stay_within_one_fen_of_the_share(total, weights):
    parts = rules.split(total, weights)
    assert sum(parts) == total
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert total * weight // whole <= part <= total * weight // whole + 1


@given(price=st.integers(1, 10**6), quantity=st.integers(1, 20), data=st.data())
def test_refunds_of_units_in_any_steps_never_exceed_what_was_paid(price, quantity, data):
    amount = price * quantity
    discount = data.draw(st.integers(0, amount - 1))
    paid = amount - discount
    steps = data.draw(st.lists(st.integers(1, quantity), max_size=quantity))
    returned, refunded = 0, 0
    for step in steps:
        step = min(step, quantity - returned)
        if step == 0:
            break
        refunded += (rules.paid_for_units(unit_price=price, quantity=quantity,
                                          discount=discount, units=returned + step)
                     - rules.paid_for_units(unit_price=price, quantity=quantity,
                                            discount=discount, units=returned))
        returned += step
        assert refunded <= paid
    everything = rules.paid_for_units(unit_price=price, quantity=quantity, discount=discount,
                                      units=quantity)
    assert everything == paid


@given(price=st.integers(1, 10**5), quantity=st.integers(1, 10), data=st.data())
def test_price_protection_with_a_coupon_never_refunds_beyond_what_was_paid(price, quantity,
                                                                           data):
    from livepledge.promises.rules import protection_refund

    amount = price * quantity
    discount = data.draw(st.integers(0, amount - 1))
    paid = amount - discount
    refunded = data.draw(st.integers(0, paid))
    returned = data.draw(st.integers(0, quantity))
    offer = data.draw(st.integers(0, price))
    refund = protection_refund(unit_price=price, offer_price=offer, quantity=quantity,
                               returned=returned, already=0, refunded_total=refunded,
                               amount=paid, discount=discount)
    assert 0 <= refund <= paid - refunded
    per_unit = rules.paid_per_unit(unit_price=price, quantity=quantity, discount=discount)
    assert refund <= sum(max(0, p - offer) for p in per_unit[:quantity - returned])


def test_red_packet_split_worked_examples():
    # docs/fans.md: ¥10.00 in 7 shares
    assert rules.split_red_packet(1000, 7, "even") == [143, 143, 143, 143, 143, 143, 142]
    assert rules.split_red_packet(1000, 7, "random", b"abc") == [233, 119, 172, 229, 18, 146, 83]
    assert rules.split_red_packet(5, 5, "random", b"x") == [1, 1, 1, 1, 1]


@pytest.mark.parametrize(("total", "shares", "mode", "ok"), [
    (1, 1, "even", True), (2, 3, "even", False), (0, 1, "random", False),
    (100, 0, "random", False), (100, 2, "lucky", False),
    (rules.MAX_RED_PACKET + 1, 1, "even", False), (10**6, rules.MAX_SHARES + 1, "even", False),
])
def test_red_packet_terms(total, shares, mode, ok):
    assert (rules.red_packet_error(total=total, shares=shares, split_mode=mode) is None) is ok


@given(shares=st.integers(1, 500), data=st.data(), mode=st.sampled_from(["even", "random"]),
       seed=st.binary(min_size=0, max_size=32))
def test_red_packet_shares_are_exact_and_at_least_one_fen(shares, data, mode, seed):
    total = data.draw(st.integers(shares, rules.MAX_RED_PACKET))
    parts = rules.split_red_packet(total, shares, mode, seed)
    assert len(parts) == shares
    assert sum(parts) == total
    assert min(parts) >= 1
    assert parts == rules.split_red_packet(total, shares, mode, seed)  # seeded: reproducible
    if mode == "even":
        assert max(parts) - min(parts) <= 1
