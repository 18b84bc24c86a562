"""After-sales rules, table-driven: windows, what may be opened, refusals a promise forbids,
and that every open state has a deadline and a decision when it passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from livepledge.aftersales import rules

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
RETURN_15 = {"promise_id": 1, "kind": "no_reason_return", "terms": {"days": 15}}
EXEMPT = {"promise_id": 2, "kind": "no_reason_return",
          "terms": {"exempt": "perishable", "reason": "鲜果"}}
FAKE3 = {"promise_id": 3, "kind": "counterfeit_compensation", "terms": {"multiple": 3}}


def test_every_open_state_has_a_deadline_and_a_decision() -> None:
    cfg = rules.Deadlines()
    for state in rules.OPEN_STATES:
        assert cfg.due(state, NOW) is not None and cfg.due(state, NOW) > NOW
        assert state in rules.ON_DEADLINE
    assert cfg.due(rules.CLOSED, NOW) is None


@pytest.mark.parametrize(("promises", "days"), [
    ([], 7), ([RETURN_15], 15), ([EXEMPT], None), ([RETURN_15, EXEMPT], None)])
def test_the_no_reason_window(promises: list, days: int | None) -> None:
    assert rules.return_window_days(promises) == days


def _open(**changes: object) -> str | None:
    args = {"case_type": "return_refund", "reason": "no_reason", "order_status": "received",
            "received_at": NOW - timedelta(days=3), "now": NOW, "promises": [],
            "promise_id": None, "amount": 9900, "refundable": 9900, "quantity": 1, "kept": 1}
    args.update(changes)
    return rules.open_error(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "says"), [
    ({}, None),
    ({"received_at": NOW - timedelta(days=8)}, "7-day"),
    ({"received_at": NOW - timedelta(days=8), "promises": [RETURN_15]}, None),
    ({"promises": [EXEMPT]}, "exempt"),
    ({"order_status": "pending_payment"}, "pending_payment"),
    ({"order_status": "paid"}, "not shipped yet"),
    ({"amount": 9901}, "1-9900"),
    ({"amount": 0}, "1-9900"),
    ({"quantity": 2}, "1-1"),
    ({"case_type": "refund_only", "reason": "not_shipped", "order_status": "shipped"},
     "already shipped"),
    ({"case_type": "refund_only", "reason": "not_received", "order_status": "received"},
     "not received"),
    ({"case_type": "counterfeit", "reason": "counterfeit"}, "no counterfeit promise"),
    ({"case_type": "counterfeit", "reason": "counterfeit", "promises": [FAKE3]}, None),
    ({"case_type": "promise_breach", "reason": "promise", "promise_id": 9,
      "promises": [FAKE3]}, "frozen"),
    ({"case_type": "promise_breach", "reason": "promise", "promise_id": 3,
      "promises": [FAKE3]}, None),
    ({"case_type": "refund_only", "reason": "quality"}, "unknown"),
])
def test_what_may_be_opened(changes: dict, says: str | None) -> None:
    error = _open(**changes)
    assert (error is None) if says is None else (says in (error or ""))


@pytest.mark.parametrize(("case", "promises", "received", "opened", "allowed"), [
    ({"type": "return_refund", "reason": "no_reason"}, [], NOW, NOW + timedelta(days=6), False),
    ({"type": "return_refund", "reason": "no_reason"}, [], NOW, NOW + timedelta(days=8), True),
    ({"type": "return_refund", "reason": "no_reason"}, [EXEMPT], NOW, NOW, True),
    ({"type": "return_refund", "reason": "quality"}, [], NOW, NOW, True),
    ({"type": "refund_only", "reason": "not_shipped"}, [], None, NOW, False),
    ({"type": "refund_only", "reason": "not_received"}, [], None, NOW, True),
])
def test_refusals_a_promise_or_the_law_forbids(case: dict, promises: list,
                                                received: datetime | None, opened: datetime,
                                                allowed: bool) -> None:
    error = rules.refusal_error(case, promises=promises, received_at=received, opened_at=opened)
    assert (error is None) is allowed


def test_counterfeit_award() -> None:
    assert rules.counterfeit_award(9900, [FAKE3]) == 29700
    assert rules.counterfeit_award(9900, []) == 0


GIFT = {"promise_id": 4, "kind": "gift", "terms": {"name": "茶杯", "quantity": 1}}
SHIP24 = {"promise_id": 5, "kind": "shipping_deadline", "terms": {"hours": 24}}
PAID = NOW - timedelta(days=3)


@pytest.mark.parametrize(("promise", "gift_shipped", "shipped_at", "allowed"), [
    (GIFT, None, PAID + timedelta(hours=1), False),  # the shipment never said the gift went
    (GIFT, False, PAID + timedelta(hours=1), False),
    (GIFT, True, PAID + timedelta(hours=1), True),  # it did: the shop may refuse (escalation)
    (SHIP24, None, PAID + timedelta(hours=23), True),  # shipped in time
    (SHIP24, None, PAID + timedelta(hours=25), False),  # shipped late
    (SHIP24, None, None, False),  # still not shipped, three days on
])
def test_refusing_a_breach_of_a_frozen_promise(promise: dict, gift_shipped: bool | None,
                                               shipped_at: datetime | None,
                                               allowed: bool) -> None:
    case = {"type": "promise_breach", "reason": "promise", "promise_id": promise["promise_id"]}
    error = rules.refusal_error(case, promises=[GIFT, SHIP24], received_at=None, opened_at=NOW,
                                gift_shipped=gift_shipped, paid_at=PAID, shipped_at=shipped_at,
                                now=NOW)
    assert (error is None) is allowed


def test_the_state_machine_walked_every_state_has_a_deadline_and_reaches_closed() -> None:
    """Breadth-first from the opening state: every state reached is either closed (no
    deadline, no way out) or has a deadline, a decision when it passes, someone whose turn it
    is, and a path to closed; and every state of the table is reached."""
    cfg = rules.Deadlines()
    seen, frontier = {"awaiting_merchant"}, ["awaiting_merchant"]
    while frontier:
        state = frontier.pop()
        for target in rules.TRANSITIONS[state].values():
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(rules.TRANSITIONS) == {*rules.OPEN_STATES, rules.CLOSED}
    for state in seen:
        if state == rules.CLOSED:
            assert cfg.due(state, NOW) is None and rules.TRANSITIONS[state] == {}
            assert rules.WHO[state] is None
            continue
        assert cfg.due(state, NOW) > NOW  # type: ignore[operator]
        assert state in rules.ON_DEADLINE and rules.TRANSITIONS[state]["deadline"] == rules.CLOSED
        assert rules.WHO[state] in ("buyer", "merchant", "operator")
    # and from every state, closed is reachable without the clock too (someone can end it)
    for state in rules.OPEN_STATES:
        assert rules.TRANSITIONS[state]["withdraw"] == rules.CLOSED
