"""Kill the server (SIGKILL) while the ledger consumer is posting thousands of money events,
restart it: every event is posted exactly once, and `livepledge ledger verify` agrees.

A batch's postings and the consumer's checkpoint are one transaction, and the transaction's
event id is unique: after the crash the batch is read again and posts what it had not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import run_cli
from tests.race.race_support import crash, fetch, lp_env, seed_demo, wait_for

ORDERS, PAID = 4000, 9900


async def _money_events(url: str, shop_id: int) -> int:
    """Paid orders, a partial refund of every third and the release of every second, as the
    platform records them (inserted into the outbox directly: this test is about the ledger)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from livepledge.infra.events import insert_events

    now = datetime.now(UTC)
    rows = []
    for n in range(ORDERS):
        order_id = 1_000_000 + n
        rows.append({"type": "OrderPaid", "shop_id": shop_id, "order_id": order_id,
                     "payload": {"amount": PAID, "provider": "sandbox"}, "occurred_at": now})
        if n % 3 == 0:
            rows.append({"type": "CaseRefunded", "shop_id": shop_id, "order_id": order_id,
                         "payload": {"case_id": n, "amount": 900}, "occurred_at": now})
        if n % 2 == 0:
            rows.append({"type": "EscrowReleased", "shop_id": shop_id, "order_id": order_id,
                         "payload": {"commission_bp": 500}, "occurred_at": now})
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert_events(conn), rows)
    finally:
        await engine.dispose()
    return len(rows)


async def _posted(url: str) -> dict[str, int]:
    rows = await fetch(url, "SELECT count(*) AS n, count(DISTINCT event_id) AS events "
                       "FROM ledger_transactions")
    handled = await fetch(url, "SELECT handled FROM consumer_checkpoints WHERE name = 'ledger'")
    return {"transactions": rows[0]["n"], "events": rows[0]["events"],
            "handled": handled[0]["handled"] if handled else 0}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}"
    return request.getfixturevalue("pg_url")  # type: ignore[no-any-return]


async def test_postings_cut_by_sigkill_are_made_once_per_event(url, server_factory):  # type: ignore[no-untyped-def]
    env = lp_env(url, "", LIVEPLEDGE_CONSUMER_POLL_SECONDS="0.05")
    demo = seed_demo(env, buyers=0, stock=1)
    total = await _money_events(url, int(demo["shop_id"]))  # type: ignore[call-overload]
    money_events = await fetch(url, "SELECT count(*) AS n FROM events WHERE type IN "
                               "('OrderPaid', 'CaseRefunded', 'EscrowReleased')")
    assert money_events[0]["n"] == total

    # When the server is killed while the ledger consumer is posting
    server = server_factory(env)

    async def under_way() -> bool:
        return (await _posted(url))["transactions"] > 0
    await wait_for(under_way, "the ledger to start posting", every=0.01)
    crash(server)
    cut = await _posted(url)
    assert 0 < cut["transactions"] < total, cut  # it was cut mid-way
    assert cut["transactions"] == cut["events"]

    # Then once restarted, every event is posted exactly once
    server_factory(env)

    async def caught_up() -> bool:
        return (await _posted(url))["transactions"] >= total
    await wait_for(caught_up, "the ledger to catch up", deadline=180)
    after = await _posted(url)
    assert after["transactions"] == after["events"] == total
    verified = run_cli(["ledger", "verify"], env, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    released = (ORDERS + 1) // 2
    assert f"transactions: {total}" in verified.stdout
    balances = {r["code"]: r["balance"] for r in await fetch(
        url, "SELECT code, balance FROM ledger_accounts")}
    shop = demo["shop_id"]
    refunded = 900 * ((ORDERS + 2) // 3)
    assert balances["provider:sandbox:clearing"] == ORDERS * PAID - refunded
    # an order both refunded (n % 3 == 0) and released (n % 2 == 0) was refunded first
    both = (ORDERS + 5) // 6
    released_base = released * PAID - both * 900
    assert balances[f"shop:{shop}:escrow"] == -(ORDERS * PAID - refunded - released_base)
