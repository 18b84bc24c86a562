"""Shipping addresses (收货地址): the address book, the copy an order keeps, who sees the whole
phone number, and that nothing ships without an address."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update

from livepledge.orders.models import orders, payments
from tests.api.world import ADDRESS, add_address, assert_problem, auth, build_world, register


async def _paid_order(world, buyer: int = 0, **pay: object) -> dict:  # type: ignore[no-untyped-def]
    order = (await world.buy(world.buyers[buyer])).json()
    paid = await world.client.post(f"/api/v1/orders/{order['id']}/pay",
                                   headers=auth(world.buyers[buyer]), json=pay)
    assert paid.status_code == 200, paid.text
    return paid.json()  # type: ignore[no-any-return]


async def _payments(client: httpx.AsyncClient) -> int:
    async with client.app.state.runtime.db.read() as conn:  # type: ignore[attr-defined]
        return len((await conn.execute(select(payments.c.id))).all())


@pytest.mark.parametrize(("changes", "fields"), [
    ({"phone": "1380013800"}, ["phone"]),
    ({"phone": "23800138000"}, ["phone"]),
    ({"province": "杭州省"}, ["province"]),
    ({"recipient": "   ", "detail": "短"}, ["recipient", "detail"]),
    ({"city": "", "district": ""}, ["city", "district"]),
])
async def test_a_wrong_address_names_every_wrong_field_and_stores_nothing(
        app_client: httpx.AsyncClient, changes: dict[str, str], fields: list[str]):
    _, token = await register(app_client, "buyer")
    response = await app_client.post("/api/v1/me/addresses", headers=auth(token),
                                     json={**ADDRESS, **changes})
    body = assert_problem(response, 422, "validation_failed")
    assert sorted(e["field"] for e in body["errors"]) == sorted(fields)
    listed = await app_client.get("/api/v1/me/addresses", headers=auth(token))
    assert listed.json() == []


async def test_phone_numbers_are_kept_in_one_form(app_client: httpx.AsyncClient):
    _, token = await register(app_client, "buyer")
    mobile = await add_address(app_client, token, phone="+86 138-0013-8000")
    landline = await add_address(app_client, token, phone="0571-88886666")
    assert (mobile["phone"], landline["phone"]) == ("13800138000", "0571-88886666")


async def test_there_is_always_exactly_one_default(app_client: httpx.AsyncClient):
    _, token = await register(app_client, "buyer")
    first = await add_address(app_client, token)
    second = await add_address(app_client, token, recipient="李四")
    third = await add_address(app_client, token, recipient="王五", is_default=True)

    async def defaults() -> list[int]:
        book = (await app_client.get("/api/v1/me/addresses", headers=auth(token))).json()
        return [a["id"] for a in book if a["is_default"]]

    assert (first["is_default"], second["is_default"]) == (True, False)
    assert await defaults() == [third["id"]]
    await app_client.post(f"/api/v1/me/addresses/{second['id']}/default", headers=auth(token))
    assert await defaults() == [second["id"]]
    removed = await app_client.delete(f"/api/v1/me/addresses/{second['id']}", headers=auth(token))
    assert removed.status_code == 204
    assert await defaults() == [third["id"]]  # the newest remaining one
    book = (await app_client.get("/api/v1/me/addresses", headers=auth(token))).json()
    assert [a["id"] for a in book] == [third["id"], first["id"]]


async def test_another_buyers_address_does_not_exist_for_you(app_client: httpx.AsyncClient):
    _, alice = await register(app_client, "alice")
    _, bob = await register(app_client, "bob")
    hers = await add_address(app_client, alice)
    for response in (
        await app_client.put(f"/api/v1/me/addresses/{hers['id']}", headers=auth(bob),
                             json={**ADDRESS, "recipient": "Bob"}),
        await app_client.delete(f"/api/v1/me/addresses/{hers['id']}", headers=auth(bob)),
        await app_client.post(f"/api/v1/me/addresses/{hers['id']}/default", headers=auth(bob)),
    ):
        assert_problem(response, 404, "not_found")
    book = (await app_client.get("/api/v1/me/addresses", headers=auth(alice))).json()
    assert book == [hers]


async def test_no_address_no_payment(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=1)
    _, newcomer = await register(app_client, "newcomer")
    world.buyers.append(newcomer)
    order = (await world.buy(newcomer)).json()
    before = await _payments(app_client)

    response = await app_client.post(f"/api/v1/orders/{order['id']}/pay", headers=auth(newcomer))

    assert_problem(response, 422, "address_required")
    current = (await app_client.get(f"/api/v1/orders/{order['id']}",
                                    headers=auth(newcomer))).json()
    assert (current["status"], current["shipping_address"]) == ("pending_payment", None)
    assert await _payments(app_client) == before


async def test_an_order_keeps_the_address_it_was_paid_with(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=1)
    book = (await app_client.get("/api/v1/me/addresses", headers=auth(world.buyers[0]))).json()
    order = await _paid_order(world)
    await app_client.put(f"/api/v1/me/addresses/{book[0]['id']}", headers=auth(world.buyers[0]),
                         json={**ADDRESS, "detail": "另一条街 1 号"})

    current = (await app_client.get(f"/api/v1/orders/{order['id']}",
                                     headers=auth(world.buyers[0]))).json()
    assert current["shipping_address"] == {**ADDRESS}
    assert order["shipping_address"] == current["shipping_address"]


async def test_paying_with_a_chosen_address_and_refusing_someone_elses(
        app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=2)
    office = await add_address(app_client, world.buyers[0], recipient="办公室", city="宁波市")
    theirs = (await app_client.get("/api/v1/me/addresses",
                                   headers=auth(world.buyers[1]))).json()[0]
    order = (await world.buy(world.buyers[0])).json()
    before = await _payments(app_client)

    stolen = await app_client.post(f"/api/v1/orders/{order['id']}/pay",
                                   headers=auth(world.buyers[0]),
                                   json={"address_id": theirs["id"]})
    assert_problem(stolen, 404, "not_found")
    assert await _payments(app_client) == before
    paid = await app_client.post(f"/api/v1/orders/{order['id']}/pay",
                                 headers=auth(world.buyers[0]), json={"address_id": office["id"]})
    assert paid.json()["shipping_address"]["recipient"] == "办公室"
    assert paid.json()["shipping_address"]["city"] == "宁波市"


async def test_staff_see_the_phone_masked_except_on_the_packing_slip(
        app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=1)
    order = await _paid_order(world)
    url = f"/api/v1/orders/{order['id']}"

    staff = (await app_client.get(url, headers=auth(world.merchant))).json()
    listed = (await app_client.get(f"/api/v1/shops/{world.shop_id}/orders",
                                   headers=auth(world.merchant))).json()
    slip = await app_client.get(url + "/packing-slip", headers=auth(world.merchant))
    buyer_slip = await app_client.get(url + "/packing-slip", headers=auth(world.buyers[0]))

    assert staff["shipping_address"]["phone"] == "138****8000"
    assert listed[0]["shipping_address"]["phone"] == "138****8000"
    assert order["shipping_address"]["phone"] == "13800138000"  # the buyer sees their own
    assert slip.status_code == 200
    assert slip.json()["shipping_address"] == ADDRESS
    assert slip.json()["shop_name"] == "测试小店"
    assert_problem(buyer_slip, 403, "forbidden")


async def test_the_buyer_may_change_the_address_until_it_ships(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=1)
    order = await _paid_order(world)
    other = await add_address(app_client, world.buyers[0], recipient="李四")
    url = f"/api/v1/orders/{order['id']}"

    changed = await app_client.put(url + "/address", headers=auth(world.buyers[0]),
                                   json={"address_id": other["id"]})
    by_staff = await app_client.put(url + "/address", headers=auth(world.merchant),
                                    json={"address_id": other["id"]})
    await app_client.post(url + "/ship", headers=auth(world.merchant),
                          json={"carrier": "顺丰速运", "tracking_number": "SF1234567890"})
    too_late = await app_client.put(url + "/address", headers=auth(world.buyers[0]),
                                    json={"address_id": other["id"]})

    assert changed.json()["shipping_address"]["recipient"] == "李四"
    assert [s["step"] for s in changed.json()["timeline"]] == ["placed", "paid",
                                                                "address_changed"]
    assert_problem(by_staff, 403, "forbidden")
    assert_problem(too_late, 409, "invalid_transition")


async def test_nothing_ships_without_an_address(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=1)
    order = await _paid_order(world)
    async with app_client.app.state.runtime.db.write() as uow:  # type: ignore[attr-defined]
        # an order paid before addresses existed
        await uow.conn.execute(update(orders).where(orders.c.id == order["id"])
                               .values(shipping_address=None, address_set_at=None))

    response = await app_client.post(
        f"/api/v1/orders/{order['id']}/ship", headers=auth(world.merchant),
        json={"carrier": "顺丰速运", "tracking_number": "SF1234567890"})

    assert_problem(response, 422, "address_required")
    current = (await app_client.get(f"/api/v1/orders/{order['id']}",
                                    headers=auth(world.merchant))).json()
    assert (current["status"], current["carrier"]) == ("paid", None)


async def test_the_timeline_tells_the_whole_story(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=2)
    kept = await _paid_order(world)
    url = f"/api/v1/orders/{kept['id']}"
    await app_client.post(url + "/ship", headers=auth(world.merchant),
                          json={"carrier": "顺丰速运", "tracking_number": "SF1234567890"})
    await app_client.post(url + "/receive", headers=auth(world.buyers[0]))
    cancelled = await _paid_order(world, buyer=1)
    await app_client.post(f"/api/v1/orders/{cancelled['id']}/cancel",
                          headers=auth(world.merchant), json={"reason_code": "out_of_stock",
                                                       "reason": "仓库缺货，全额退款"})

    story = (await app_client.get(url, headers=auth(world.buyers[0]))).json()["timeline"]
    refund = (await app_client.get(f"/api/v1/orders/{cancelled['id']}",
                                   headers=auth(world.buyers[1]))).json()["timeline"]

    assert [s["step"] for s in story] == ["placed", "paid", "shipped", "received"]
    assert story[2]["carrier"] == "顺丰速运" and story[2]["tracking_number"] == "SF1234567890"
    assert story[1]["amount"] == 9900
    assert [s["step"] for s in refund] == ["placed", "paid", "cancelled"]
    assert refund[-1] == {"step": "cancelled", "at": refund[-1]["at"], "by": "merchant",
                          "reason": "仓库缺货，全额退款", "refunded": 9900}
