"""Red packet grabs (抢红包) against a real `livepledge serve`, on every deployment shape: with
hundreds of fans pressing twice each at once, exactly N shares are taken, each fan at most once,
the shares sum to the amount, every share is paid to its fan (also across a SIGKILL of the
server while the payouts run), and `livepledge ledger verify` agrees."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.race.race_support import (
    TLS,
    crash,
    fetch,
    root,
    seed_demo,
    wait_for,
)

pytestmark = pytest.mark.slow

FANS = 200
SHARES = 50
TOTAL = 8_888


async def fund(base_url: str, scenario: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False) as http:
        response = await http.post(
            f"/api/v1/sessions/{scenario['session_id']}/red-packets",
            headers={"Authorization": f"Bearer {scenario['merchant_token']}",
                     "Idempotency-Key": "race-packet"},
            json={"total_amount": TOTAL, "shares": SHARES, "split": "random"})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def grab(base_url: str, token: str, packet_id: int) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60, trust_env=False,
                                 verify=TLS) as http:
        try:
            response = await http.post(f"/api/v1/red-packets/{packet_id}/grabs",
                                       headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError:
            return 0, {}
    return response.status_code, response.json()


async def grabs_of(database_url: str, packet_id: int) -> list[dict[str, Any]]:
    return await fetch(database_url, "SELECT id, buyer_id, position, amount, payout_ref FROM "
                       "red_packet_grabs WHERE red_packet_id = :p ORDER BY position",
                       p=packet_id)


async def test_fans_grab_exactly_the_shares_once_each_and_all_are_paid(shape, server_factory):
    env = shape.env()
    scenario = seed_demo(env, buyers=FANS, stock=1)
    server = server_factory(env, workers=shape.workers)
    packet = await fund(server.base_url, scenario)

    # When every fan presses 抢 twice at once
    answers = await asyncio.gather(*(grab(server.base_url, t, packet["id"])
                                     for t in scenario["buyer_tokens"] * 2))

    # Then exactly SHARES fans got a share, once each, and the shares sum to the amount
    rows = await grabs_of(shape.database_url, packet["id"])
    assert len(rows) == SHARES
    assert [r["position"] for r in rows] == list(range(SHARES))
    assert len({r["buyer_id"] for r in rows}) == SHARES
    assert sum(r["amount"] for r in rows) == TOTAL and min(r["amount"] for r in rows) >= 1
    assert Counter(status for status, _ in answers) == {201: 2 * SHARES,
                                                        409: 2 * (FANS - SHARES)}

    # And when the server is SIGKILLed while the payouts may still be running, then restarted,
    # every share is paid exactly once and the ledger agrees with its events
    crash(server)
    server_factory(env, workers=shape.workers)

    async def all_paid() -> bool:
        return all(r["payout_ref"] for r in await grabs_of(shape.database_url, packet["id"]))

    await wait_for(all_paid, "every share to be paid")
    paid = await fetch(shape.database_url, "SELECT COUNT(*) AS n FROM events "
                       "WHERE type = 'RedPacketSharePaid'")
    assert paid[0]["n"] == SHARES  # one payment per share, none twice across the crash

    async def ledger_caught_up() -> bool:
        rows = await fetch(shape.database_url, "SELECT COUNT(*) AS n FROM ledger_transactions "
                           "WHERE kind = 'RedPacketSharePaid'")
        return rows[0]["n"] == SHARES

    await wait_for(ledger_caught_up, "the ledger to post every share")
    verified = root.run_cli(["ledger", "verify"], env, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
