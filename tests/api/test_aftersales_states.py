"""The case state machine through the API, exhaustively: every (state, action) pair of
rules.TRANSITIONS is driven on a fresh order and lands where the table says, with a deadline
in every state but closed; then a time-travel test drives a case through every state's
deadline with an injected clock and checks the automatic decision of docs/aftersales.md."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from livepledge.aftersales import rules
from tests.api.aftersales_support import clock_ahead, open_case, paid, runtime
from tests.api.test_aftersales_escalation import operator
from tests.api.world import ADDRESS, World, auth, build_world
from tests.conftest import make_app_client

# How each state is reached from a fresh order (after the case is opened).
PATHS: dict[str, list[str]] = {
    "awaiting_merchant": [],
    "awaiting_buyer": ["offer"],
    "awaiting_return": ["approve_return"],
    "return_shipped": ["approve_return", "ship_return"],
    "refused": ["refuse"],
    "escalated": ["refuse", "escalate"],
}
# docs/aftersales.md: what the clock decides in each state (refunded?, closed reason)
ON_DEADLINE = {
    "awaiting_merchant": 9900, "awaiting_buyer": 0, "awaiting_return": 0,
    "return_shipped": 9900, "refused": 0, "escalated": 9900,
}


@pytest.fixture
async def client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(sqlite_url, registrations_per_address=10_000) as c:
        yield c


class Walk:
    def __init__(self, client: httpx.AsyncClient, w: World, op: str) -> None:
        self.client, self.w, self.op = client, w, op
        self.n = itertools.count()

    async def case(self, *, approve_only: bool = False) -> tuple[str, int]:
        """A fresh buyer, a received order (shipped only, for a plain refund) and a case."""
        from tests.api.world import add_address, register

        _, token = await register(self.client, f"walker{next(self.n)}")
        await add_address(self.client, token)
        if approve_only:  # a refund-only case: approving it refunds at once
            order_id = await paid(self.w, token, ship=True)
            body: dict[str, Any] = {"type": "refund_only", "reason": "not_received"}
        else:
            order_id = await paid(self.w, token, ship=True, receive=True)
            body = {"type": "return_refund", "reason": "quality"}
        opened = await open_case(self.w, token, order_id, **body)
        assert opened.status_code == 201, opened.text
        return token, int(opened.json()["id"])

    async def act(self, token: str, case_id: int, action: str) -> dict[str, Any]:
        c, url, m = self.client, f"/api/v1/cases/{case_id}", auth(self.w.merchant)
        if action == "deadline":
            due = datetime.fromisoformat((await self.view(token, case_id))["deadline"])
            await runtime(c).deadlines.run_once(due + timedelta(seconds=1))
            return await self.view(token, case_id)
        requests = {
            "approve": (url + "/merchant", m, {"action": "approve"}),
            "approve_return": (url + "/merchant", m, {"action": "approve",
                                                      "return_address": ADDRESS}),
            "refuse": (url + "/merchant", m, {"action": "refuse", "text": "商品无质量问题"}),
            "offer": (url + "/merchant", m, {"action": "offer", "amount": 2000, "text": "补偿"}),
            "confirm_return": (url + "/return-received", m, None),
            "accept_offer": (url + "/buyer", auth(token), {"action": "accept_offer"}),
            "decline_offer": (url + "/buyer", auth(token), {"action": "decline_offer"}),
            "ship_return": (url + "/buyer", auth(token), {
                "action": "ship_return", "carrier": "中通快递", "tracking_number": "ZT7788"}),
            "withdraw": (url + "/buyer", auth(token), {"action": "withdraw"}),
            "escalate": (url + "/escalate", auth(token), {"text": "不同意"}),
            "rule_for_buyer": (url + "/ruling", auth(self.op), {"decision": "buyer",
                                                                "text": "支持买家退款"}),
            "rule_for_shop": (url + "/ruling", auth(self.op), {"decision": "shop",
                                                               "text": "支持商家意见"}),
        }
        path, headers, body = requests[action]
        answer = await c.post(path, headers=headers, json=body)
        assert answer.status_code == 200, (action, answer.text)
        return answer.json()  # type: ignore[no-any-return]

    async def view(self, token: str, case_id: int) -> dict[str, Any]:
        return (await self.client.get(f"/api/v1/cases/{case_id}", headers=auth(token))).json()


async def test_every_transition_of_every_state(client: httpx.AsyncClient):
    w = await build_world(client, buyers=0, allocated=200, stock=300, limit=1)
    walk = Walk(client, w, await operator(client))
    walked = []
    for state, actions in rules.TRANSITIONS.items():
        for action, target in actions.items():
            token, case_id = await walk.case(approve_only=action == "approve")
            for step in PATHS[state]:
                await walk.act(token, case_id, step)
            reached = await walk.view(token, case_id)
            assert reached["status"] == state
            assert (reached["deadline"] is not None) is (state != rules.CLOSED)
            assert reached["turn"] == rules.WHO[state]
            after = await walk.act(token, case_id, action)
            assert after["status"] == target, (state, action, after["status"])
            assert (after["deadline"] is None) is (target == rules.CLOSED)
            if after["status"] != rules.CLOSED:  # no deadline left behind for the next pair
                await walk.act(token, case_id, "withdraw")
            walked.append((state, action))
    assert len(walked) == sum(len(a) for a in rules.TRANSITIONS.values()) >= 20


async def test_time_travel_through_every_deadline(client: httpx.AsyncClient):
    """An injected clock: the server's own clock is moved past each deadline and the deadline
    runner fires what it finds due, as the background loop would."""
    from livepledge.infra import clock

    w = await build_world(client, buyers=0, allocated=200, stock=300, limit=1)
    walk = Walk(client, w, await operator(client))
    cfg = runtime(client).aftersales
    for state, refunded in ON_DEADLINE.items():
        token, case_id = await walk.case()
        for step in PATHS[state]:
            await walk.act(token, case_id, step)
        case = await walk.view(token, case_id)
        due = datetime.fromisoformat(case["deadline"])
        entered = datetime.fromisoformat(case["record"][-1]["at"])
        assert due - entered == timedelta(hours=cfg.hours(state))  # the documented default
        ahead = due - datetime.now(UTC)
        with clock_ahead(ahead - timedelta(minutes=1)):
            await runtime(client).deadlines.run_once(clock.utcnow())
            assert (await walk.view(token, case_id))["status"] == state  # not yet
        with clock_ahead(ahead + timedelta(minutes=1)):
            await runtime(client).deadlines.run_once(clock.utcnow())
            await runtime(client).deadlines.run_once(clock.utcnow())  # fires once
            case = await walk.view(token, case_id)
        assert (case["status"], case["refunded"], case["deadline"]) == (
            "closed", refunded, None), state
        deadline_entries = [e for e in case["record"] if e["kind"] == "deadline"]
        assert len(deadline_entries) == 1 and deadline_entries[0]["actor"] == "platform"
        assert deadline_entries[0]["data"]["state"] == state
        assert deadline_entries[0]["text"] == rules.ON_DEADLINE[state][1]
        order = (await client.get(f"/api/v1/orders/{case['order_id']}",
                                  headers=auth(token))).json()
        assert order["refunded_total"] == refunded
        # a return decided for the buyer before the goods went back: refunded, goods kept
        assert order["returned_quantity"] == (1 if state == "return_shipped" else 0)
