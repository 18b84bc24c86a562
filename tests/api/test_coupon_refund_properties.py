"""Property (hypothesis), through the real services: whatever coupon an order was paid with and
whatever refunds follow (a price-protection drop, an after-sales refund of any allowed amount,
a merchant cancellation), the order's refunds never exceed what was charged, and the payable
was at least 1 fen."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.world import auth, build_world
from tests.conftest import make_app_client

PRICE = 9900

coupons = st.one_of(
    st.builds(lambda t, off: {"kind": "threshold", "threshold": t, "amount_off": min(off, t - 1)},
              st.integers(2, 2 * PRICE), st.integers(1, 2 * PRICE)),
    st.builds(lambda p, cap: {"kind": "percent", "threshold": 0, "percent_off": p,
                              **({"cap": cap} if cap else {})},
              st.integers(1, 99), st.one_of(st.none(), st.integers(1, PRICE))),
    st.builds(lambda off: {"kind": "no_threshold", "threshold": 0, "amount_off": off},
              st.integers(1, 3 * PRICE)),
)


async def scenario(database_url: str, terms: dict[str, Any], quantity: int, drop: int | None,
                   ask: float, cancel: bool) -> None:
    async with make_app_client(database_url) as client:
        rt = client.app.state.runtime  # type: ignore[attr-defined]
        w = await build_world(client, buyers=1, limit=2)
        await client.post(f"/api/v1/shops/{w.shop_id}/promises", headers=auth(w.merchant),
                          json={"kind": "price_protection", "terms": {"days": 30},
                                "scope": {"type": "sku", "id": w.sku_id}})
        now = datetime.now(UTC)
        coupon = await client.post(f"/api/v1/shops/{w.shop_id}/coupons", headers=auth(w.merchant),
                                   json={"title": "券", "budget": 5, **terms,
                                         "claim_starts_at": (now - timedelta(minutes=1))
                                         .isoformat(),
                                         "claim_ends_at": (now + timedelta(hours=1)).isoformat(),
                                         "valid_days": 1})
        assert coupon.status_code == 201, coupon.text
        claim = await client.post(f"/api/v1/coupons/{coupon.json()['id']}/claims",
                                  headers={**auth(w.buyers[0]), "Idempotency-Key": "k"})
        order = (await w.buy(w.buyers[0], quantity=quantity)).json()
        paid = await client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(w.buyers[0]),
                                 json={"claim_id": claim.json()["id"], "cooling_off_minutes": 0})
        if paid.status_code == 409:  # below the threshold: pay without it
            assert paid.json()["code"] == "coupon_not_usable"
            paid = await client.post(f"/api/v1/orders/{order['id']}/pay",
                                     headers=auth(w.buyers[0]), json={"cooling_off_minutes": 0})
        assert paid.status_code == 200, paid.text
        charged = paid.json()["paid_amount"]
        assert 1 <= charged <= quantity * PRICE
        if drop is not None:
            await client.patch(f"/api/v1/skus/{w.sku_id}", headers=auth(w.merchant),
                               json={"price": drop})
            await rt.deadlines.run_once(datetime.now(UTC))
            await rt.consumers.drain_all()
        view = (await client.get(f"/api/v1/orders/{order['id']}",
                                 headers=auth(w.buyers[0]))).json()
        left = charged - view["refunded_total"]
        if cancel:
            await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=auth(w.merchant),
                              json={"reason_code": "out_of_stock"})
        elif left > 0:
            await client.post(f"/api/v1/orders/{order['id']}/cases", headers=auth(w.buyers[0]),
                              json={"type": "refund_only", "reason": "not_shipped",
                                    "amount": max(1, int(left * ask)), "text": "退款"})
        final = (await client.get(f"/api/v1/orders/{order['id']}",
                                  headers=auth(w.buyers[0]))).json()
        assert final["refunded_total"] <= charged
        if cancel:
            assert final["refunded_total"] == charged


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(terms=coupons, quantity=st.integers(1, 2),
       drop=st.one_of(st.none(), st.integers(1, PRICE - 1)),
       ask=st.floats(0.0, 1.0), cancel=st.booleans())
def test_refunds_of_a_coupon_order_never_exceed_what_was_charged(terms, quantity, drop, ask,
                                                                 cancel):
    path = Path(tempfile.mkdtemp(prefix="lp-prop-")) / "lp.db"
    asyncio.run(scenario(f"sqlite+aiosqlite:///{path}", terms, quantity, drop, ask, cancel))
