"""A live room sees a promise the moment it is declared or withdrawn (real server, real
WebSocket): the lineup's items carry the badges."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_room_ws import Viewer, ws
from tests.conftest import lp_env, seed_demo

pytestmark = pytest.mark.slow


def _badges(state: dict) -> list[str]:  # type: ignore[type-arg]
    return [p["label"]["zh-CN"] for p in state["session"]["lineup"][0].get("promises", [])]


async def test_the_room_shows_promises_as_they_change(tmp_path, server_factory):  # type: ignore[no-untyped-def]
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=0, stock=5)
    server = server_factory(env)
    base = server.base_url
    merchant = {"Authorization": f"Bearer {demo['merchant_token']}"}
    viewer = await Viewer.join(ws(server), demo["session_id"])
    try:
        assert _badges(viewer.state) == []
        async with httpx.AsyncClient(base_url=base, headers=merchant) as client:
            declared = await client.post(f"/api/v1/shops/{demo['shop_id']}/promises", json={
                "kind": "price_protection", "terms": {"days": 15},
                "scope": {"type": "lineup_item", "id": demo["item_id"]}})
            assert declared.status_code == 201, declared.text
            await viewer.until(lambda s: _badges(s) == ["15天保价"])
            withdrawn = await client.post(f"/api/v1/promises/{declared.json()['id']}/withdraw")
            assert withdrawn.status_code == 200
            await viewer.until(lambda s: _badges(s) == [])
    finally:
        await viewer.socket.close()
