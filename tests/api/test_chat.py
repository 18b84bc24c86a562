"""Chat over HTTP: validation, rate limit, mute, and nothing stored on refusal."""

from __future__ import annotations

import httpx

from tests.api.world import assert_problem, auth, build_world


async def _chat(world, token: str, text: object) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await world.client.post(f"/api/v1/sessions/{world.session_id}/chat",
                                   headers=auth(token), json={"text": text})


async def _stored(world) -> list[str]:  # type: ignore[no-untyped-def]
    response = await world.client.get(f"/api/v1/sessions/{world.session_id}/chat")
    return [c["text"] for c in response.json()]


async def test_chat_is_stored_and_returned(app_client: httpx.AsyncClient):
    world = await build_world(app_client)

    response = await _chat(world, world.buyers[0], "  主播好 <b>hi</b>  ")

    assert response.status_code == 201
    assert (response.json()["status"], response.json()["text"]) == ("shown", "主播好 <b>hi</b>")
    assert await _stored(world) == ["主播好 <b>hi</b>"]


async def test_empty_oversized_and_non_text_chat_are_422(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    for text in ("", "   ", "长" * 201, 42, "a\x00b"):
        assert_problem(await _chat(world, world.buyers[0], text), 422, "validation_failed")
    assert await _stored(world) == []


async def test_chat_faster_than_the_limit_is_429(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    assert (await _chat(world, world.buyers[0], "第一条")).status_code == 201

    response = await _chat(world, world.buyers[0], "第二条")

    body = assert_problem(response, 429, "rate_limited")
    assert 0 < body["retry_after"] <= 1.0
    assert int(response.headers["Retry-After"]) >= 1
    assert await _stored(world) == ["第一条"]


async def test_muted_viewer_cannot_chat(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    me = await app_client.get("/api/v1/me", headers=auth(world.buyers[1]))
    muted = await app_client.post(f"/api/v1/sessions/{world.session_id}/mutes",
                                  headers=auth(world.anchor),
                                  json={"user_id": me.json()["id"], "muted": True})
    assert muted.status_code == 200

    assert_problem(await _chat(world, world.buyers[1], "你好"), 403, "muted")
    assert await _stored(world) == []


async def test_chat_when_not_live_is_409(app_client: httpx.AsyncClient):
    world = await build_world(app_client, live=False)
    assert_problem(await _chat(world, world.buyers[0], "在吗"), 409, "invalid_transition")
    assert await _stored(world) == []


async def test_removed_chat_is_hidden_but_kept(app_client: httpx.AsyncClient):
    world = await build_world(app_client)
    chat = (await _chat(world, world.buyers[0], "垃圾广告")).json()

    no_reason = await app_client.post(
        f"/api/v1/sessions/{world.session_id}/chat/{chat['id']}/remove",
        headers=auth(world.anchor), json={"reason": ""})
    removed = await app_client.post(
        f"/api/v1/sessions/{world.session_id}/chat/{chat['id']}/remove",
        headers=auth(world.anchor), json={"reason": "广告刷屏"})

    assert_problem(no_reason, 422, "validation_failed")
    assert removed.json() == {"id": chat["id"], "status": "removed"}
    assert await _stored(world) == []
    rt = app_client.app.state.runtime  # type: ignore[attr-defined]
    from sqlalchemy import select

    from livepledge.live.models import chat_messages
    async with rt.db.read() as conn:
        row = (await conn.execute(select(chat_messages).where(
            chat_messages.c.id == chat["id"]))).one()
    assert (row.text, row.status, row.reason) == ("垃圾广告", "removed", "广告刷屏")
