"""The console's order list: search, filters on the shop's calendar days, pagination with a
total, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
from sqlalchemy import update

from livepledge.orders.models import orders
from tests.api.world import assert_problem, auth, build_world


async def _orders(world, n: int) -> list[dict]:  # type: ignore[no-untyped-def]
    placed = []
    for i in range(n):
        response = await world.buy(world.buyers[i % len(world.buyers)])
        assert response.status_code == 201, response.text
        placed.append(response.json())
    return placed


async def _search(world, **params: object) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await world.client.get(f"/api/v1/shops/{world.shop_id}/orders",
                                  headers=auth(world.merchant), params=params)


async def _set_created(client: httpx.AsyncClient, order_id: int, at: datetime) -> None:
    async with client.app.state.runtime.db.write() as uow:  # type: ignore[attr-defined]
        await uow.conn.execute(update(orders).where(orders.c.id == order_id)
                               .values(created_at=at))


async def test_search_by_order_id_buyer_and_tracking_number(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=10, limit=3, buyers=3)
    placed = await _orders(world, 4)  # buyers 0, 1, 2, 0
    await app_client.post(f"/api/v1/orders/{placed[1]['id']}/pay", headers=auth(world.buyers[1]))
    await app_client.post(f"/api/v1/orders/{placed[1]['id']}/ship", headers=auth(world.merchant),
                          json={"carrier": "中通快递", "tracking_number": "ZT7788990011"})

    by_id = await _search(world, q=str(placed[2]["id"]))
    by_buyer = await _search(world, q="buyer0")
    by_tracking = await _search(world, q="ZT7788990011")
    nothing = await _search(world, q="no-such-thing")

    assert [o["id"] for o in by_id.json()] == [placed[2]["id"]]
    assert [o["id"] for o in by_buyer.json()] == [placed[3]["id"], placed[0]["id"]]
    assert by_buyer.json()[0]["buyer_login"] == "buyer0"
    assert [o["id"] for o in by_tracking.json()] == [placed[1]["id"]]
    assert (nothing.json(), nothing.headers["X-Total-Count"]) == ([], "0")


async def test_pages_and_the_total(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=10, limit=3, buyers=3)
    placed = await _orders(world, 5)
    newest_first = [o["id"] for o in reversed(placed)]

    first = await _search(world, limit=2)
    third = await _search(world, limit=2, offset=4)

    assert [o["id"] for o in first.json()] == newest_first[:2]
    assert [o["id"] for o in third.json()] == newest_first[4:]
    assert first.headers["X-Total-Count"] == third.headers["X-Total-Count"] == "5"


async def test_dates_are_the_shops_calendar_days(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=10, limit=3, buyers=2)
    late, early = await _orders(world, 2)
    # 23:59:59 on 1 December in Shanghai, and midnight starting 2 December
    await _set_created(app_client, late["id"], datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC))
    await _set_created(app_client, early["id"], datetime(2026, 12, 1, 16, 0, 0, tzinfo=UTC))

    first_day = await _search(world, placed_from="2026-12-01", placed_to="2026-12-01")
    second_day = await _search(world, placed_from="2026-12-02")
    backwards = await _search(world, placed_from="2026-12-02", placed_to="2026-12-01")

    assert [o["id"] for o in first_day.json()] == [late["id"]]
    assert [o["id"] for o in second_day.json()] == [early["id"]]
    assert_problem(backwards, 422, "validation_failed")


async def test_status_and_session_filters(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=10, limit=3, buyers=2)
    unpaid, paid = await _orders(world, 2)
    await app_client.post(f"/api/v1/orders/{paid['id']}/pay", headers=auth(world.buyers[1]))

    only_paid = await _search(world, status="paid")
    this_session = await _search(world, session_id=world.session_id)
    other_session = await _search(world, session_id=world.session_id + 1000)
    unknown = await _search(world, status="lost")

    assert [o["id"] for o in only_paid.json()] == [paid["id"]]
    assert [o["id"] for o in this_session.json()] == [paid["id"], unpaid["id"]]
    assert other_session.json() == []
    assert_problem(unknown, 422, "validation_failed")


async def test_csv_export_opens_in_a_spreadsheet(app_client: httpx.AsyncClient):
    world = await build_world(app_client, allocated=10, limit=3, buyers=1)
    order = (await _orders(world, 1))[0]
    await app_client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(world.buyers[0]))
    await _set_created(app_client, order["id"], datetime(2026, 12, 1, 16, 0, 0, tzinfo=UTC))
    async with app_client.app.state.runtime.db.write() as uow:  # type: ignore[attr-defined]
        await uow.conn.execute(update(orders).where(orders.c.id == order["id"]).values(
            cancel_reason="=HYPERLINK(\"http://evil.example\")"))

    response = await app_client.get(f"/api/v1/shops/{world.shop_id}/orders.csv",
                                    headers=auth(world.merchant), params={"status": "paid"})
    stranger = await app_client.get(f"/api/v1/shops/{world.shop_id}/orders.csv",
                                    headers=auth(world.buyers[0]))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["订单号", "下单时间", "状态", "买家"]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["订单号"] == str(order["id"])
    assert record["下单时间"] == "2026-12-02 00:00:00"  # Asia/Shanghai
    assert (record["状态"], record["金额(元)"], record["电话"]) == ("待发货", "99.00",
                                                                  "138****8000")
    assert record["收货地址"] == "浙江省 杭州市 西湖区 文三路 100 号 2 单元 301"
    assert record["取消原因"].startswith("'=")  # never a live formula
    assert len(rows) == 2
    assert_problem(stranger, 403, "forbidden")
