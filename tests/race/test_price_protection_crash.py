"""Kill the server (SIGKILL) in the middle of a price-protection sweep over 1,000 protected
orders, restart it: every order ends with exactly the right refund, once, and one notice.

The sweep of one price drop is one transaction with the consumer's checkpoint: after the crash
either all of its refunds are stored or none, and the restarted server finishes it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.race.race_support import crash, fetch, lp_env, seed_demo, wait_for

ORDERS, PAID, DROP = 1000, 9900, 9000


async def _seed_protected_orders(url: str, base: str, demo: dict[str, Any]) -> int:
    """1,000 paid orders of the demo SKU, each with the shop's price protection frozen in, as
    the buy path would have written them (inserted directly: buying 1,000 times is not what
    this test is about)."""
    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import create_async_engine

    from livepledge.accounts.models import users
    from livepledge.orders.models import orders, payments

    merchant = {"Authorization": f"Bearer {demo['merchant_token']}"}
    declared = httpx.post(f"{base}/api/v1/shops/{demo['shop_id']}/promises", headers=merchant,
                          json={"kind": "price_protection", "terms": {"days": 30},
                                "scope": {"type": "shop"}})
    assert declared.status_code == 201, declared.text
    p = declared.json()
    frozen = {"promise_id": p["id"], "kind": p["kind"], "terms": p["terms"],
              "version": p["version"], "hash": p["hash"], "source": p["scope"],
              "enforced": True, "label": p["label"], "description": p["description"]}
    session = httpx.get(f"{base}/api/v1/sessions/{demo['session_id']}").json()
    sku = session["lineup"][0]["sku_id"]
    buyer = httpx.post(f"{base}/api/v1/users", json={
        "login": "ppbuyer", "password": "violet-teapot-harbour", "display_name": "买家"})
    assert buyer.status_code == 201, buyer.text
    engine = create_async_engine(url)
    from datetime import UTC, datetime, timedelta
    paid_at = datetime.now(UTC) - timedelta(hours=1)
    try:
        async with engine.begin() as conn:
            buyer_id = buyer.json()["user_id"]
            assert (await conn.execute(users.select().where(users.c.id == buyer_id))).first()
            ids = (await conn.execute(
                insert(orders).returning(orders.c.id, sort_by_parameter_order=True), [
                    {"buyer_id": buyer_id, "shop_id": demo["shop_id"], "session_id": None,
                     "lineup_item_id": None, "sku_id": sku, "quantity": 1, "unit_price": PAID,
                     "amount": PAID, "status": "paid", "idempotency_key": f"pp-{n}",
                     "snapshot": {"product_title": "红茶", "promises": [frozen]},
                     "created_at": paid_at, "expires_at": paid_at, "paid_at": paid_at}
                    for n in range(ORDERS)])).scalars().all()
            await conn.execute(insert(payments), [
                {"order_id": i, "provider": "sandbox", "provider_ref": f"seed-{i}",
                 "amount": PAID, "status": "succeeded", "created_at": paid_at} for i in ids])
    finally:
        await engine.dispose()
    return int(sku)


async def _refunds(url: str) -> list[dict[str, Any]]:
    return await fetch(url, "SELECT order_id, amount FROM payments "
                       "WHERE reason = 'price_protection' ORDER BY order_id")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}"
    return request.getfixturevalue("pg_url")  # type: ignore[no-any-return]


async def test_a_sweep_cut_by_sigkill_ends_with_exactly_the_right_refunds(
        url, server_factory):  # type: ignore[no-untyped-def]
    env = lp_env(url, "", LIVEPLEDGE_CONSUMER_POLL_SECONDS="0.05")
    demo = seed_demo(env, buyers=0, stock=1)
    server = server_factory(env)
    sku = await _seed_protected_orders(url, server.base_url, demo)

    # When the shop drops the price and the server is killed while the sweep runs
    dropped = httpx.patch(f"{server.base_url}/api/v1/skus/{sku}", json={"price": DROP},
                          headers={"Authorization": f"Bearer {demo['merchant_token']}"})
    assert dropped.status_code == 200, dropped.text
    crash(server)

    # Then the sweep is all or nothing
    assert len(await _refunds(url)) in (0, ORDERS)

    # And once restarted, every order has exactly one refund of the difference
    server_factory(env)

    async def swept() -> bool:
        return len(await _refunds(url)) >= ORDERS
    await wait_for(swept, "the price-protection sweep to finish", deadline=120)
    refunds = await _refunds(url)
    assert len(refunds) == ORDERS
    assert len({r["order_id"] for r in refunds}) == ORDERS
    assert {r["amount"] for r in refunds} == {-(PAID - DROP)}
    notices = await fetch(url, "SELECT count(*) AS n FROM notices "
                          "WHERE kind = 'price_protection_refund'")
    assert notices[0]["n"] == ORDERS
    events = await fetch(url, "SELECT payload FROM events WHERE type = 'PriceProtectionRefunded'")
    assert len(events) == ORDERS
    payload = events[0]["payload"]
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert payload["amount"] == PAID - DROP
