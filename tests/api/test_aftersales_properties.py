"""Invariants of after-sales money, property-based over random sequences of case actions
(hypothesis drives the public API of one app; every example is a fresh shop and order):

- an order's refunds never exceed what was paid for it, and what is owed on top (假一赔N)
  never exceeds N × what was refunded for counterfeit — the compensation its frozen promises
  allow;
- two cases on the same units cannot both refund them: the units returned and refunded by all
  the order's cases never exceed the units bought, and each case refunds at most its amount;
- at most one case is open; every open case has a deadline; the provider paid each refund
  once and the payments table says exactly what the provider paid.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.api.aftersales_support import declare, paid, runtime
from tests.api.world import ADDRESS, auth, build_world
from tests.conftest import make_app_client

UNIT = 9900
_worlds = itertools.count()

opening = st.tuples(
    st.just("open"),
    st.sampled_from([("refund_only", "not_shipped"), ("refund_only", "not_received"),
                     ("return_refund", "no_reason"), ("return_refund", "quality"),
                     ("promise_breach", "promise"), ("counterfeit", "counterfeit")]),
    st.one_of(st.none(), st.none(), st.integers(1, UNIT), st.integers(UNIT, 2 * UNIT + 1)),
    st.one_of(st.none(), st.none(), st.integers(1, 3)))
action = st.one_of(
    opening,
    st.tuples(st.just("merchant"), st.sampled_from(["approve", "refuse", "offer"]),
              st.integers(1, 2 * UNIT), st.none()),
    st.tuples(st.just("buyer"),
              st.sampled_from(["accept_offer", "decline_offer", "ship_return", "withdraw"]),
              st.none(), st.none()),
    st.tuples(st.just("confirm"), st.none(), st.none(), st.none()),
    st.tuples(st.just("escalate"), st.none(), st.none(), st.none()),
    st.tuples(st.just("clock"), st.sampled_from([1, 47, 49, 169, 400]), st.none(), st.none()),
)
# A sequence starts by opening a case the order allows (the kind drawn among those), and
# tries to open others as often as it does anything else.
first = st.tuples(st.just("first"), st.integers(0, 5),
                  st.one_of(st.none(), st.integers(1, UNIT)), st.one_of(st.none(), st.just(1)))
sequences = st.tuples(first, st.lists(st.one_of(opening, action), max_size=14)).map(
    lambda t: [t[0], *t[1]])


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


@pytest.fixture
def client(runner: asyncio.Runner, tmp_path: Path) -> Iterator[httpx.AsyncClient]:
    maker = make_app_client(f"sqlite+aiosqlite:///{tmp_path / 'prop.db'}",
                            registrations_per_address=100_000)
    yield runner.run(maker.__aenter__())
    runner.run(maker.__aexit__(None, None, None))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quantity=st.integers(1, 2), state=st.sampled_from(["paid", "shipped", "received"]),
       multiple=st.sampled_from([None, 1, 3]), gift=st.booleans(),
       actions=sequences)
def test_refunds_never_exceed_what_was_paid_plus_what_the_promises_allow(
        runner: asyncio.Runner, client: httpx.AsyncClient, quantity: int, state: str,
        multiple: int | None, gift: bool, actions: list[tuple[Any, ...]]) -> None:
    runner.run(_check(client, quantity, state, multiple, gift, actions))


async def _check(client: httpx.AsyncClient, quantity: int, state: str, multiple: int | None,
                 gift: bool, actions: list[tuple[Any, ...]]) -> None:
    from livepledge.infra import clock

    w = await build_world(client, buyers=1, prefix=f"p{next(_worlds)}-", allocated=5)
    buyer = w.buyers[0]
    promise_id = None
    if multiple:
        await declare(w, "counterfeit_compensation", {"multiple": multiple})
    if gift:
        promise_id = await declare(w, "gift", {"name": "茶杯", "quantity": 1})
    order_id = await paid(w, buyer, quantity=quantity, ship=state != "paid",
                          receive=state == "received")
    paid_amount = UNIT * quantity
    start = clock.offset()
    try:
        for name, a, b, c in actions:
            if name == "first":
                allowed = {"paid": [("refund_only", "not_shipped")],
                           "shipped": [("refund_only", "not_received"),
                                       ("return_refund", "quality")],
                           "received": [("return_refund", "no_reason"),
                                        ("return_refund", "quality")]}[state]
                if state != "paid" and multiple:
                    allowed.append(("counterfeit", "counterfeit"))
                if state != "paid" and gift:
                    allowed.append(("promise_breach", "promise"))
                name, a = "open", allowed[a % len(allowed)]
            await _act(client, w, order_id, promise_id, name, a, b, c)
            await _invariants(client, w.merchant, order_id, quantity, paid_amount, multiple)
        final = (await client.get(f"/api/v1/orders/{order_id}", headers=auth(buyer))).json()
        event(f"cases opened: {min(len(final['cases']), 2)}")
        refunded = final["refunded_total"]
        event("refunded: " + ("all" if refunded == paid_amount else "part" if refunded else
                              "none"))
    finally:
        clock.set_offset(start)


async def _act(client: httpx.AsyncClient, w: Any, order_id: int, promise_id: int | None,
               name: str, a: Any, b: Any, c: Any) -> None:
    from livepledge.infra import clock

    buyer = w.buyers[0]
    case = await _open_case(client, order_id, buyer)
    url = f"/api/v1/cases/{case['id']}" if case else None
    if name == "open":
        body: dict[str, Any] = {"type": a[0], "reason": a[1]}
        if b is not None:
            body["amount"] = b
        if c is not None:
            body["quantity"] = c
        if a[0] == "promise_breach":
            body["promise_id"] = promise_id or 1
        await client.post(f"/api/v1/orders/{order_id}/cases", headers=auth(buyer),
                          json=body)
    elif name == "merchant" and url:
        await client.post(url + "/merchant", headers=auth(w.merchant), json={
            "action": a, "amount": b, "text": "理由说明：已核实",
            "return_address": ADDRESS if a == "approve" else None})
    elif name == "buyer" and url:
        await client.post(url + "/buyer", headers=auth(buyer), json={
            "action": a, "carrier": "中通快递", "tracking_number": "ZT12345"})
    elif name == "confirm" and url:
        await client.post(url + "/return-received", headers=auth(w.merchant))
    elif name == "escalate" and url:
        await client.post(url + "/escalate", headers=auth(buyer),
                          json={"text": "商家拒绝不合理"})
    elif name == "clock":
        clock.set_offset(clock.offset() + timedelta(hours=a))
        await runtime(client).deadlines.run_once(clock.utcnow())


async def _open_case(client: httpx.AsyncClient, order_id: int,
                     token: str) -> dict[str, Any] | None:
    order = (await client.get(f"/api/v1/orders/{order_id}", headers=auth(token))).json()
    return next((c for c in order["cases"] if c["status"] != "closed"), None)


async def _invariants(client: httpx.AsyncClient, merchant: str, order_id: int, quantity: int,
                      paid_amount: int, multiple: int | None) -> None:
    order = (await client.get(f"/api/v1/orders/{order_id}", headers=auth(merchant))).json()
    cases = [(await client.get(f"/api/v1/cases/{c['id']}", headers=auth(merchant))).json()
             for c in order["cases"]]
    refunds = [r for r in order["refunds"] if r["reason"] != "compensation"]
    assert order["refunded_total"] == sum(r["amount"] for r in refunds) <= paid_amount
    assert sum(c["refunded"] for c in cases) == sum(
        r["amount"] for r in refunds if r["reason"] == "aftersales")
    for c in cases:
        assert 0 <= c["refunded"] <= c["amount"]
        if c["status"] != "closed":
            assert c["deadline"] is not None
        else:
            assert c["deadline"] is None
    # 假一赔N: at most N × what counterfeit cases refunded, and only with the promise
    counterfeit_refunded = sum(c["refunded"] for c in cases if c["type"] == "counterfeit")
    assert sum(c["awarded"] for c in cases) == (multiple or 0) * counterfeit_refunded
    # two cases never refund the same units
    kinds = [{e["kind"] for e in c["record"]} for c in cases]
    returned = sum(c["quantity"] for c, k in zip(cases, kinds, strict=True)
                   if {"return_shipped", "refunded"} <= k)  # settled once the goods went back
    assert order["returned_quantity"] == returned <= quantity
    assert sum(1 for c in cases if c["status"] != "closed") <= 1
    # the provider paid each refund once, as the payments table says
    provider = runtime(client).payments
    keys = {f"case:{e['case_id']}:{e['data']['step']}" for c in cases for e in c["record"]
            if e["kind"] == "refunded" and e["data"].get("amount")}
    assert len(keys) == sum(1 for r in refunds if r["reason"] == "aftersales")
    assert all(k in provider._refunds for k in keys)
