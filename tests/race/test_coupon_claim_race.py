"""Coupon claims (领券) against a real `livepledge serve` process, on every deployment shape
(SQLite embedded; PostgreSQL embedded; PostgreSQL + Redis with two workers sharing the gate):

- never over-issued and the per-buyer limit holds, with hundreds of concurrent buyers firing
  several keys each;
- the same Idempotency-Key never makes a second claim, even fired concurrently;
- every claim acknowledged with 201 survives SIGKILL of the server mid-burst, and after the
  restart the gate (rebuilt from the database) issues exactly what is left of the budget."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as redis

from tests.race.race_support import TLS, Answer, crash, fetch, new_key, seed_demo, wait_for

pytestmark = pytest.mark.slow

BUYERS = 300
BUDGET = 100
SHORT_LEASE = {"LIVEPLEDGE_GATE_LEASE_SECONDS": "1"}


async def create_coupon(base_url: str, scenario: dict[str, Any], *, budget: int,
                        limit: int = 1) -> int:
    now = datetime.now(UTC)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False) as http:
        response = await http.post(
            f"/api/v1/shops/{scenario['shop_id']}/coupons",
            headers={"Authorization": f"Bearer {scenario['merchant_token']}"},
            json={"title": "直播间无门槛券", "kind": "no_threshold", "amount_off": 500,
                  "budget": budget, "per_buyer_limit": limit,
                  "claim_starts_at": (now - timedelta(minutes=1)).isoformat(),
                  "claim_ends_at": (now + timedelta(hours=1)).isoformat(), "valid_days": 7})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def claim(base_url: str, scenario: dict[str, Any], coupon_id: int, buyer: int,
                key: str) -> Answer:
    token = scenario["buyer_tokens"][buyer]
    async with httpx.AsyncClient(base_url=base_url, timeout=60, trust_env=False,
                                 verify=TLS) as http:
        try:
            response = await http.post(f"/api/v1/coupons/{coupon_id}/claims", headers={
                "Authorization": f"Bearer {token}", "Idempotency-Key": key})
        except httpx.TransportError as exc:
            return Answer(buyer, key, 0, error=type(exc).__name__)
    return Answer(buyer, key, response.status_code, response.json(),
                  response.headers.get("idempotent-replayed") == "true")


async def claim_burst(base_url: str, scenario: dict[str, Any], coupon_id: int,
                      requests: Iterable[tuple[int, str]], *, concurrency: int | None = None,
                      on_answer: Callable[[Answer], None] | None = None) -> list[Answer]:
    gate = asyncio.Semaphore(concurrency) if concurrency else None

    async def one(buyer: int, key: str) -> Answer:
        if gate is None:
            answer = await claim(base_url, scenario, coupon_id, buyer, key)
        else:
            async with gate:
                answer = await claim(base_url, scenario, coupon_id, buyer, key)
        if on_answer is not None:
            on_answer(answer)
        return answer

    return list(await asyncio.gather(*(one(b, k) for b, k in requests)))


async def stored(database_url: str, coupon_id: int) -> tuple[dict[int, dict[str, Any]], int,
                                                              dict[int, int]]:
    """(claims by id, coupon remaining, per-buyer counts) as the database has them."""
    claims = await fetch(database_url, "SELECT id, buyer_id, idempotency_key, status FROM "
                         "coupon_claims WHERE coupon_id = :c", c=coupon_id)
    remaining = (await fetch(database_url, "SELECT remaining FROM coupons WHERE id = :c",
                             c=coupon_id))[0]["remaining"]
    counts = await fetch(database_url, "SELECT buyer_id, claimed FROM coupon_buyer_counts "
                         "WHERE coupon_id = :c", c=coupon_id)
    return ({c["id"]: c for c in claims}, int(remaining),
            {c["buyer_id"]: c["claimed"] for c in counts if c["claimed"]})


def per_buyer(claims: dict[int, dict[str, Any]]) -> Counter[int]:
    return Counter(c["buyer_id"] for c in claims.values())


async def test_buyers_firing_three_keys_each_never_over_issue(shape, server_factory):
    # Given 300 buyers who each fire 3 parallel claims with different keys, a budget of 100 and
    # a limit of 1 per buyer
    env = shape.env()
    scenario = seed_demo(env, buyers=BUYERS, stock=1)
    server = server_factory(env, workers=shape.workers)
    coupon_id = await create_coupon(server.base_url, scenario, budget=BUDGET)
    requests = [(b, new_key()) for _ in range(3) for b in range(BUYERS)]

    # When all 900 requests arrive together
    answers = await claim_burst(server.base_url, scenario, coupon_id, requests)

    # Then exactly the budget is issued, one per buyer, each acknowledged claim stored
    claims, remaining, counts = await stored(shape.database_url, coupon_id)
    assert Counter(a.status for a in answers) == {201: BUDGET, 409: 3 * BUYERS - BUDGET}
    assert {a.code for a in answers if a.status == 409} <= {"sold_out", "over_limit"}
    created = [a for a in answers if a.status == 201]
    assert {a.body["id"] for a in created} == set(claims)
    assert len(claims) == BUDGET and remaining == 0
    assert set(per_buyer(claims).values()) == {1}
    assert counts == dict(per_buyer(claims))
    winners = Counter(a.buyer for a in created)
    assert len(winners) == BUDGET and set(winners.values()) == {1}


async def test_a_limit_of_two_holds_under_a_burst(shape, server_factory):
    # Given 50 buyers firing 4 keys each at a coupon with a limit of 2 and plenty of budget
    env = shape.env()
    scenario = seed_demo(env, buyers=50, stock=1)
    server = server_factory(env, workers=shape.workers)
    coupon_id = await create_coupon(server.base_url, scenario, budget=1000, limit=2)
    answers = await claim_burst(server.base_url, scenario, coupon_id,
                                [(b, new_key()) for _ in range(4) for b in range(50)])

    # Then every buyer holds exactly 2 and the rest were refused as over the limit
    claims, remaining, counts = await stored(shape.database_url, coupon_id)
    assert Counter(a.status for a in answers) == {201: 100, 409: 100}
    assert {a.code for a in answers if a.status == 409} == {"over_limit"}
    assert set(per_buyer(claims).values()) == {2} and len(per_buyer(claims)) == 50
    assert remaining == 900 and counts == dict(per_buyer(claims))


async def test_the_same_key_fired_concurrently_makes_one_claim(shape, server_factory):
    env = shape.env()
    scenario = seed_demo(env, buyers=10, stock=1)
    server = server_factory(env, workers=shape.workers)
    coupon_id = await create_coupon(server.base_url, scenario, budget=BUDGET, limit=3)
    keys = {b: new_key() for b in range(10)}

    # When each buyer fires the same claim 20 times in parallel, then once more
    answers = await claim_burst(server.base_url, scenario, coupon_id,
                                [(b, keys[b]) for _ in range(20) for b in keys])
    repeats = await claim_burst(server.base_url, scenario, coupon_id,
                                [(b, keys[b]) for b in keys])

    # Then each buyer holds exactly one claim, and every answer names it
    claims, remaining, _ = await stored(shape.database_url, coupon_id)
    by_key = {c["idempotency_key"]: c for c in claims.values()}
    assert len(claims) == 10 and set(by_key) == set(keys.values())
    for answer in answers + repeats:
        assert answer.status == 201, answer
        assert answer.body["id"] == by_key[answer.key]["id"]
    assert sum(1 for a in answers if not a.replayed) == 10
    assert all(a.replayed for a in repeats)
    assert remaining == BUDGET - 10


async def gate_state(redis_url: str, coupon_id: int) -> tuple[int | None, int]:
    client = redis.from_url(redis_url)
    try:
        remaining = await client.get(f"lp:cgate:{{{coupon_id}}}:remaining")
        pending = await client.hlen(f"lp:cgate:{{{coupon_id}}}:pending")
    finally:
        await client.aclose()
    return (None if remaining is None else int(remaining)), int(pending)


async def test_acknowledged_claims_survive_sigkill_and_the_budget_holds(shape, server_factory):
    # Given 400 buyers and a budget of 200, claimed 24 requests at a time
    buyers, budget = 400, 200
    env = shape.env(**SHORT_LEASE)
    scenario = seed_demo(env, buyers=buyers, stock=1)
    server = server_factory(env, workers=shape.workers)
    coupon_id = await create_coupon(server.base_url, scenario, budget=budget)
    acked: list[Answer] = []
    crashed = asyncio.Event()

    def on_answer(answer: Answer) -> None:
        if answer.status == 201:
            acked.append(answer)
            if len(acked) == 40 and not crashed.is_set():
                crash(server)  # When the server and its workers are SIGKILLed mid-burst
                crashed.set()

    first = await claim_burst(server.base_url, scenario, coupon_id,
                              [(b, new_key()) for b in range(buyers)], concurrency=24,
                              on_answer=on_answer)
    assert crashed.is_set() and server.process.poll() is not None

    # Then every acknowledged claim is stored and the budget agrees with the claims
    claims, remaining, counts = await stored(shape.database_url, coupon_id)
    assert {a.body["id"] for a in acked} <= set(claims)
    assert remaining == budget - len(claims)
    assert set(per_buyer(claims).values()) <= {1} and counts == dict(per_buyer(claims))
    assert any(a.error == "ConnectError" for a in first), "the crash came after the burst"

    # When the server restarts on the same database (and Redis)
    restarted = server_factory(env, workers=shape.workers)
    if shape.redis_url:
        async def gate_reconciled() -> bool:
            gated, pending = await gate_state(shape.redis_url, coupon_id)
            return pending == 0 and gated in (None, remaining)
        await wait_for(gate_reconciled, "the Redis coupon gate to be reconciled")

    # Then a retry of a request cut off by the crash returns its claim if it was committed
    cut_off = [a for a in first if a.status == 0 and a.error != "ConnectError"]
    retried = await claim_burst(restarted.base_url, scenario, coupon_id,
                                [(a.buyer, a.key) for a in cut_off])
    committed = {c["idempotency_key"]: c["id"] for c in claims.values()}
    for answer in retried:
        if answer.key in committed:
            assert (answer.status, answer.replayed, answer.body["id"]) == (
                201, True, committed[answer.key])
        else:
            assert answer.status in (201, 409)

    # And everyone claiming again gets exactly what is left of the budget, never more
    again = await claim_burst(restarted.base_url, scenario, coupon_id,
                              [(b, new_key()) for b in range(buyers)])
    final, final_remaining, final_counts = await stored(shape.database_url, coupon_id)
    assert len(final) == budget and final_remaining == 0
    assert set(per_buyer(final).values()) == {1} and final_counts == dict(per_buyer(final))
    assert sum(1 for a in again if a.status == 201) == budget - len(claims) - sum(
        1 for a in retried if a.status == 201 and not a.replayed)
