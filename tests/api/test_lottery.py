"""Lotteries through the API: create (prize stock taken, commitment published), enter once
meeting the conditions, refusals that change nothing, the draw at the window's end through an
injected clock, prize orders, the winner's notice and address, the verification document."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from livepledge.lottery.verify import verify_lottery
from tests.api.world import World, add_address, assert_problem, auth, build_world, register


def runtime(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def create(world: World, *, winners: int = 2, quantity: int = 1,
                 conditions: list[dict[str, Any]] | None = None, lasts: int = 300,
                 token: str | None = None) -> httpx.Response:
    closes = datetime.now(UTC) + timedelta(seconds=lasts)
    return await world.client.post(
        f"/api/v1/sessions/{world.session_id}/lotteries", headers=auth(token or world.anchor),
        json={"title": "福袋：红茶礼盒", "sku_id": world.sku_id, "prize_quantity": quantity,
              "winners": winners, "closes_at": closes.isoformat(),
              "conditions": conditions or [], "ship_within_hours": 48})


async def state(client: httpx.AsyncClient) -> dict[str, Any]:
    """Everything an entry or a refusal could change."""
    from livepledge.infra.models import events
    from livepledge.lottery.models import lotteries, lottery_entries

    async with runtime(client).db.read() as conn:
        return {
            "entries": (await conn.execute(select(lottery_entries.c.buyer_id,
                                                  lottery_entries.c.position)
                                           .order_by(lottery_entries.c.id))).all(),
            "lotteries": (await conn.execute(select(lotteries.c.id, lotteries.c.entries,
                                                    lotteries.c.status))).all(),
            "events": (await conn.execute(select(func.count()).select_from(events)))
            .scalar_one()}


async def lottery_events(client: httpx.AsyncClient) -> list[tuple[str, dict[str, Any]]]:
    from livepledge.infra.models import events

    async with runtime(client).db.read() as conn:
        rows = (await conn.execute(select(events.c.type, events.c.payload).where(
            events.c.type.like("Lottery%")).order_by(events.c.id))).all()
    return [(r.type, dict(r.payload)) for r in rows]


async def draw_now(client: httpx.AsyncClient, lottery: dict[str, Any]) -> None:
    """The window's end, by the injected clock: the draw, then the prizes."""
    closes = datetime.fromisoformat(lottery["closes_at"])
    rt = runtime(client)
    await rt.deadlines.run_once(datetime.now(UTC))  # what was due already (the sale opening)
    assert await rt.deadlines.run_once(closes - timedelta(seconds=1)) == 0
    assert await rt.deadlines.run_once(closes) == 1  # lottery_draw
    assert await rt.deadlines.run_once(closes) == 1  # lottery_prizes (due at the draw)
    await rt.consumers.drain_all()


async def test_create_publishes_the_commitment_and_takes_the_prize_stock(app_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client, stock=10, allocated=5)  # 5 on hand after the lineup
    created = await create(world, winners=2, quantity=2)
    assert created.status_code == 201, created.text
    lottery = created.json()
    assert lottery["state"] == "open"
    assert len(bytes.fromhex(lottery["commitment"])) == 32
    assert lottery["seed"] is None and lottery["entry_root"] is None
    assert lottery["entry_count"] == 0 and lottery["winners"] == []
    assert (await world.sku())["stock"] == 1  # 2 winners x 2 units reserved
    events = await lottery_events(app_client)
    assert [t for t, _ in events] == ["LotteryCreated"]
    payload = events[0][1]
    assert payload["commitment"] == lottery["commitment"]
    assert payload["lottery_id"] == lottery["id"]
    assert payload["session_id"] == world.session_id
    assert payload["prize"] == {"sku_id": world.sku_id, "quantity": 2}
    assert payload["winners"] == 2 and payload["conditions"] == []
    # the seed is nowhere public
    public = await app_client.get(f"/api/v1/lotteries/{lottery['id']}")
    assert public.json()["seed"] is None
    document = (await app_client.get(f"/api/v1/lotteries/{lottery['id']}/verification")).json()
    assert document["seed"] is None and document["entries"] == []
    assert document["report"]["verified"] is False


@pytest.mark.parametrize(("changes", "status", "code"), [
    ({"winners": 0}, 422, "validation_failed"),
    ({"winners": 6}, 409, "insufficient_stock"),  # 5 units on hand
    ({"lasts": 5}, 422, "validation_failed"),  # a window under 10 s
    ({"conditions": [{"type": "chat"}, {"type": "chat"}]}, 422, "validation_failed"),
    ({"conditions": [{"type": "watched", "minutes": 0}]}, 422, "validation_failed"),
    ({"conditions": [{"type": "fans"}]}, 422, "validation_failed"),
])
async def test_create_refusals_change_nothing(app_client, changes, status, code) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client, stock=10, allocated=5)
    before = await state(app_client)
    assert_problem(await create(world, **changes), status, code)
    assert await state(app_client) == before
    assert (await world.sku())["stock"] == 5


async def test_only_staff_or_the_anchor_create_and_only_while_live(app_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client)
    before = await state(app_client)
    assert_problem(await create(world, token=world.buyers[0]), 403, "forbidden")
    assert (await create(world, token=world.merchant)).status_code == 201
    ended = await app_client.post(f"/api/v1/sessions/{world.session_id}/end",
                                  headers=auth(world.anchor))
    assert ended.status_code == 200, ended.text
    after_end = await state(app_client)
    assert_problem(await create(world), 409, "invalid_transition")
    assert await state(app_client) == after_end
    assert after_end["entries"] == before["entries"]


async def test_a_buyer_enters_once_and_can_check_their_own_hash(app_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client)
    lottery = (await create(world)).json()
    entered = await app_client.post(f"/api/v1/lotteries/{lottery['id']}/entries",
                                    headers=auth(world.buyers[0]))
    assert entered.status_code == 201, entered.text
    mine = entered.json()["my_entry"]
    me = (await app_client.get("/api/v1/me", headers=auth(world.buyers[0]))).json()
    nonce = bytes.fromhex(mine["nonce"])
    assert len(nonce) == 16
    assert mine["entrant_hash"] == hashlib.sha256(nonce + str(me["id"]).encode()).hexdigest()
    assert mine["position"] == 0 and entered.json()["entry_count"] == 1
    events = await lottery_events(app_client)
    assert events[-1] == ("LotteryEntered", {"session_id": world.session_id,
                                             "lottery_id": lottery["id"],
                                             "entrant_hash": mine["entrant_hash"]})
    # a second entry is refused and changes nothing
    before = await state(app_client)
    assert_problem(await app_client.post(f"/api/v1/lotteries/{lottery['id']}/entries",
                                         headers=auth(world.buyers[0])), 409, "already_entered")
    assert await state(app_client) == before
    # the shop's people cannot enter their own lottery
    for token in (world.merchant, world.anchor):
        assert_problem(await app_client.post(f"/api/v1/lotteries/{lottery['id']}/entries",
                                             headers=auth(token)), 403, "not_eligible")
    assert await state(app_client) == before
    # nobody else sees my nonce
    other = (await app_client.get(f"/api/v1/lotteries/{lottery['id']}",
                                  headers=auth(world.buyers[1]))).json()
    assert other["my_entry"] is None


async def test_conditions_are_checked_against_what_the_buyer_did(app_client) -> None:  # type: ignore[no-untyped-def]
    from livepledge.live.models import viewer_visits

    world = await build_world(app_client)
    lottery = (await create(world, conditions=[
        {"type": "watched", "minutes": 5}, {"type": "chat"}, {"type": "bought"}])).json()
    assert [c["zh-CN"] for c in lottery["condition_labels"]] == [
        "观看满 5 分钟", "在直播间发过弹幕", "本场直播下过单"]
    buyer = world.buyers[0]
    url = f"/api/v1/lotteries/{lottery['id']}/entries"
    before = await state(app_client)
    refused = assert_problem(await app_client.post(url, headers=auth(buyer)), 403, "not_eligible")
    assert [c["type"] for c in refused["unmet"]] == ["watched", "chat", "bought"]
    assert await state(app_client) == before

    me = (await app_client.get("/api/v1/me", headers=auth(buyer))).json()
    now = datetime.now(UTC)
    async with runtime(app_client).db.write() as uow:  # two tabs: 4 minutes, overlapping
        await uow.conn.execute(insert(viewer_visits), [
            {"session_id": world.session_id, "viewer_key": f"u:{me['id']}",
             "joined_at": now - timedelta(minutes=4), "left_at": None},
            {"session_id": world.session_id, "viewer_key": f"u:{me['id']}",
             "joined_at": now - timedelta(minutes=3), "left_at": now - timedelta(minutes=1)}])
    chat = await app_client.post(f"/api/v1/sessions/{world.session_id}/chat",
                                 headers=auth(buyer), json={"text": "想要福袋"})
    assert chat.status_code == 201, chat.text
    bought = await world.buy(buyer)
    assert bought.status_code == 201, bought.text
    paid = await app_client.post(f"/api/v1/orders/{bought.json()['id']}/pay", headers=auth(buyer))
    assert paid.status_code == 200, paid.text
    before = await state(app_client)
    refused = assert_problem(await app_client.post(url, headers=auth(buyer)), 403, "not_eligible")
    assert [c["type"] for c in refused["unmet"]] == ["watched"]  # 4 minutes, not 8
    assert await state(app_client) == before

    async with runtime(app_client).db.write() as uow:
        await uow.conn.execute(insert(viewer_visits).values(
            session_id=world.session_id, viewer_key=f"u:{me['id']}",
            joined_at=now - timedelta(minutes=10), left_at=now - timedelta(minutes=8)))
    assert (await app_client.post(url, headers=auth(buyer))).status_code == 201


async def test_the_window_closes_draws_and_places_one_prize_order_per_winner(app_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client, stock=10, allocated=5, buyers=5)
    lottery = (await create(world, winners=2)).json()
    hashes = {}
    for token in world.buyers[:4]:
        entered = await app_client.post(f"/api/v1/lotteries/{lottery['id']}/entries",
                                        headers=auth(token))
        assert entered.status_code == 201, entered.text
        hashes[token] = entered.json()["my_entry"]["entrant_hash"]

    await draw_now(app_client, lottery)

    drawn = (await app_client.get(f"/api/v1/lotteries/{lottery['id']}")).json()
    assert drawn["state"] == "drawn" and drawn["entry_count"] == 4
    assert hashlib.sha256(bytes.fromhex(drawn["seed"])).hexdigest() == lottery["commitment"]
    assert len(drawn["winners"]) == 2 and set(drawn["winners"]) <= set(hashes.values())
    document = (await app_client.get(f"/api/v1/lotteries/{lottery['id']}/verification")).json()
    assert document["report"]["verified"] is True
    assert document["entries"] == list(hashes.values())  # in entry order
    assert verify_lottery({k: v for k, v in document.items() if k != "report"}).verified
    types = [t for t, _ in await lottery_events(app_client)]
    assert types == ["LotteryCreated"] + ["LotteryEntered"] * 4 + ["LotteryClosed",
                                                                   "LotteryDrawn"]
    closed, drawn_event = [p for t, p in await lottery_events(app_client)][-2:]
    assert closed == {"session_id": world.session_id, "lottery_id": lottery["id"],
                      "entry_count": 4, "entry_root": document["entry_root"]}
    assert drawn_event == {"session_id": world.session_id, "lottery_id": lottery["id"],
                           "seed": document["seed"], "winners": drawn["winners"]}

    # each winner has one zero-price prize order and a notice; the others have none
    winners = [t for t, h in hashes.items() if h in drawn["winners"]]
    for token in hashes:
        mine = (await app_client.get(f"/api/v1/lotteries/{lottery['id']}",
                                     headers=auth(token))).json()["my_entry"]
        orders = (await app_client.get("/api/v1/orders", headers=auth(token))).json()
        prizes = [o for o in orders if o["amount"] == 0]
        notices = (await app_client.get("/api/v1/me/notices", headers=auth(token))).json()
        won = [n for n in notices["notices"] if n["kind"] == "lottery_won"]
        if token in winners:
            assert mine["won"] is True and len(prizes) == 1
            assert mine["prize_order_id"] == prizes[0]["id"]
            assert prizes[0]["status"] == "paid" and prizes[0]["quantity"] == 1
            assert prizes[0]["sku_id"] == world.sku_id
            assert len(won) == 1 and won[0]["order_id"] == prizes[0]["id"]
            assert won[0]["title"]["zh-CN"] == "恭喜中奖：福袋：红茶礼盒"
        else:
            assert mine["won"] is False and prizes == [] and won == []
    assert (await world.sku())["stock"] == 3  # 5 - 2 reserved, both needed
    # the prizes are the shop's record
    record = (await app_client.get(f"/api/v1/shops/{world.shop_id}/prize-record")).json()
    assert record == {"prizes": 2, "delivered": 0, "received": 0, "awaiting_shipment": 2,
                      "cancelled": 0}

    # entering after the close is refused, nothing changes
    before = await state(app_client)
    assert_problem(await app_client.post(f"/api/v1/lotteries/{lottery['id']}/entries",
                                         headers=auth(world.buyers[4])), 409, "lottery_closed")
    assert await state(app_client) == before
    # firing again adds nothing
    rt = runtime(app_client)
    assert await rt.deadlines.run_once(datetime.now(UTC) + timedelta(hours=1)) == 0
    assert len([o for o in await world.orders() if o["amount"] == 0]) == 2


async def test_fewer_entrants_than_winners_give_the_unused_prizes_back(app_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client, stock=10, allocated=5)
    lottery = (await create(world, winners=3, quantity=1)).json()
    assert (await world.sku())["stock"] == 2
    assert (await app_client.post(f"/api/v1/lotteries/{lottery['id']}/entries",
                                  headers=auth(world.buyers[0]))).status_code == 201
    await draw_now(app_client, lottery)
    drawn = (await app_client.get(f"/api/v1/lotteries/{lottery['id']}")).json()
    assert len(drawn["winners"]) == 1
    assert (await world.sku())["stock"] == 4  # 2 of the 3 units back


async def test_nobody_entered_draws_no_one_and_verifies(app_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client)
    lottery = (await create(world)).json()
    await draw_now(app_client, lottery)
    document = (await app_client.get(f"/api/v1/lotteries/{lottery['id']}/verification")).json()
    assert document["entries"] == [] and document["winners"] == []
    assert document["entry_root"] == hashlib.sha256(b"").hexdigest()
    assert document["report"]["verified"] is True


async def test_the_winner_gives_an_address_and_the_shipping_clock_runs(app_client) -> None:  # type: ignore[no-untyped-def]
    from livepledge.infra.models import deadlines

    world = await build_world(app_client, buyers=1)
    lottery = (await create(world, winners=1)).json()
    buyer = world.buyers[0]
    assert (await app_client.post(f"/api/v1/lotteries/{lottery['id']}/entries",
                                  headers=auth(buyer))).status_code == 201
    await draw_now(app_client, lottery)
    order_id = (await app_client.get(f"/api/v1/lotteries/{lottery['id']}", headers=auth(buyer))
                ).json()["my_entry"]["prize_order_id"]
    # nothing ships without an address
    assert_problem(await app_client.post(f"/api/v1/orders/{order_id}/ship",
                                         headers=auth(world.merchant),
                                         json={"carrier": "顺丰", "tracking_number": "SF1234567"}),
                   422, "address_required")
    # a stranger cannot give it
    _, stranger = await register(app_client, "stranger")
    address = await add_address(app_client, stranger)
    assert_problem(await app_client.post(f"/api/v1/lotteries/{lottery['id']}/prize-address",
                                         headers=auth(stranger),
                                         json={"address_id": address["id"]}), 404, "not_found")
    mine = (await app_client.get("/api/v1/me/addresses", headers=auth(buyer))).json()
    given = await app_client.post(f"/api/v1/lotteries/{lottery['id']}/prize-address",
                                  headers=auth(buyer), json={"address_id": mine[0]["id"]})
    assert given.status_code == 200, given.text
    assert given.json()["shipping_address"]["recipient"] == "张三"
    async with runtime(app_client).db.read() as conn:
        due = (await conn.execute(select(deadlines.c.due_at, deadlines.c.payload).where(
            deadlines.c.kind == "ship_by", deadlines.c.ref_id == order_id))).one()
    assert due.payload == {"hours": 48}
    shipped = await app_client.post(f"/api/v1/orders/{order_id}/ship",
                                    headers=auth(world.merchant),
                                    json={"carrier": "顺丰", "tracking_number": "SF1234567"})
    assert shipped.status_code == 200, shipped.text
    record = (await app_client.get(f"/api/v1/shops/{world.shop_id}/prize-record")).json()
    assert record["delivered"] == 1 and record["awaiting_shipment"] == 0


async def test_an_unshipped_prize_past_its_deadline_is_compensated(app_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(app_client, buyers=1)
    lottery = (await create(world, winners=1)).json()
    buyer = world.buyers[0]
    assert (await app_client.post(f"/api/v1/lotteries/{lottery['id']}/entries",
                                  headers=auth(buyer))).status_code == 201
    await draw_now(app_client, lottery)
    mine = (await app_client.get("/api/v1/me/addresses", headers=auth(buyer))).json()
    order = (await app_client.post(f"/api/v1/lotteries/{lottery['id']}/prize-address",
                                   headers=auth(buyer),
                                   json={"address_id": mine[0]["id"]})).json()
    rt = runtime(app_client)
    assert await rt.deadlines.run_once(datetime.now(UTC) + timedelta(hours=49)) == 1
    after = (await app_client.get(f"/api/v1/orders/{order['id']}", headers=auth(buyer))).json()
    assert after["compensated_total"] == rt.compensation.amount(0) > 0


async def test_concurrent_entries_get_consecutive_positions_and_the_draw_verifies(
        database_url) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from tests.conftest import make_app_client

    async with make_app_client(database_url) as client:
        world = await build_world(client, buyers=8)
        lottery = (await create(world, winners=3)).json()
        url_ = f"/api/v1/lotteries/{lottery['id']}/entries"
        # every buyer enters, the first one twice, all at once
        answers = await asyncio.gather(*[client.post(url_, headers=auth(t))
                                         for t in [*world.buyers, world.buyers[0]]])
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] * 8 + [409]
        positions = sorted(a.json()["my_entry"]["position"] for a in answers
                           if a.status_code == 201)
        assert positions == list(range(8))
        await draw_now(client, lottery)
        document = (await client.get(f"/api/v1/lotteries/{lottery['id']}/verification")).json()
        assert document["report"]["verified"] is True
        assert document["entry_count"] == 8 and len(document["winners"]) == 3
        prizes = [o for o in await world.orders() if o["amount"] == 0]
        assert len(prizes) == 3 and len({o["buyer_id"] for o in prizes}) == 3


async def test_the_order_pages_address_change_also_starts_the_prize_clock_once(app_client) -> None:  # type: ignore[no-untyped-def]
    from livepledge.infra.models import deadlines

    world = await build_world(app_client, buyers=1)
    lottery = (await create(world, winners=1)).json()
    buyer = world.buyers[0]
    assert (await app_client.post(f"/api/v1/lotteries/{lottery['id']}/entries",
                                  headers=auth(buyer))).status_code == 201
    await draw_now(app_client, lottery)
    order_id = (await app_client.get(f"/api/v1/lotteries/{lottery['id']}", headers=auth(buyer))
                ).json()["my_entry"]["prize_order_id"]
    first = (await app_client.get("/api/v1/me/addresses", headers=auth(buyer))).json()[0]
    second = await add_address(app_client, buyer, detail="另一个地址 1 号")

    async def due() -> list[Any]:
        async with runtime(app_client).db.read() as conn:
            return list((await conn.execute(select(deadlines.c.due_at).where(
                deadlines.c.kind == "ship_by", deadlines.c.ref_id == order_id))).all())

    assert await due() == []
    for address in (first, second):
        changed = await app_client.put(f"/api/v1/orders/{order_id}/address",
                                       headers=auth(buyer), json={"address_id": address["id"]})
        assert changed.status_code == 200, changed.text
    assert changed.json()["shipping_address"]["detail"] == "另一个地址 1 号"
    assert len(await due()) == 1  # the first address started it; a change does not move it
