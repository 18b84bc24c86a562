"""The live room over a real server: snapshot + events == a fresh snapshot, for every live
action (STYLE.md #4), honest viewer counts, and escaping left to the client (text stays text)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import free_port, lp_env, seed_demo

pytestmark = pytest.mark.slow


def apply(state: dict[str, Any], message: dict[str, Any]) -> None:
    """The same reducer the live page runs (web/static/live.js)."""
    kind = message["type"]
    if kind == "snapshot":
        state.update(session=message["session"], likes=message["likes_total"],
                     chat=[c["id"] for c in message["recent_chat"]])
        state["stock"] = {i["id"]: i["stock_remaining"] for i in message["session"]["lineup"]}
    elif kind == "session":
        state["session"] = message["session"]
        state["stock"].update({i["id"]: i["stock_remaining"] for i in message["session"]["lineup"]})
    elif kind == "stock":
        state["stock"][message["item_id"]] = message["stock_remaining"]
    elif kind == "tick":
        state["likes"] = message["likes_total"]
        state["chat"].extend(c["id"] for c in message["chat"] if c["id"] not in state["chat"])
    elif kind == "chat_removed":
        state["chat"] = [c for c in state["chat"] if c != message["id"]]


def view(state: dict[str, Any]) -> dict[str, Any]:
    session = state["session"]
    return {"status": session["status"], "pinned": session["pinned_item_id"],
            "stock": state["stock"], "likes": state["likes"], "chat": state["chat"][-30:]}


class Viewer:
    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.state: dict[str, Any] = {}
        self.messages: list[dict[str, Any]] = []

    @classmethod
    async def join(cls, ws_base: str, session_id: int, token: str | None = None) -> Viewer:
        url = ws_base + f"/ws/sessions/{session_id}?device=test"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        viewer = cls(await websockets.connect(url, additional_headers=headers))
        await viewer.until(lambda s: "session" in s)
        return viewer

    async def until(self, condition: Any, timeout: float = 15.0) -> None:
        async def pump() -> None:
            while not condition(self.state):
                message = json.loads(await self.socket.recv())
                self.messages.append(message)
                apply(self.state, message)
        await asyncio.wait_for(pump(), timeout)

    async def close(self) -> None:
        await self.socket.close()


async def fresh_view(ws_base: str, session_id: int) -> dict[str, Any]:
    viewer = await Viewer.join(ws_base, session_id)
    await viewer.close()
    return view(viewer.state)


def ws(server: Any) -> str:
    """Where the room's sockets go: the room's own listener when the server has one
    (LIVEPLEDGE_ROOM_PORT, live/roomserver.py), else the main port (uvicorn)."""
    return getattr(server, "ws_base", None) or server.base_url.replace("http", "ws")


def serve(server_factory: Any, env: dict[str, str], listener: bool, **kwargs: Any) -> Any:
    port = free_port()
    if listener:
        env = {**env, "LIVEPLEDGE_ROOM_PORT": str(port)}
    server = server_factory(env, **kwargs)
    if listener:
        server.ws_base = f"ws://127.0.0.1:{port}"
    return server


@pytest.fixture(params=["uvicorn", "room listener"])
def listener(request: pytest.FixtureRequest) -> bool:
    return request.param == "room listener"  # type: ignore[no-any-return]


@pytest.fixture(params=["sqlite", "postgresql+redis"])
def room_server(request: pytest.FixtureRequest, tmp_path, server_factory, listener):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}",
                     LIVEPLEDGE_CHAT_MIN_INTERVAL_SECONDS="0")
        workers = 1
    else:
        database = request.getfixturevalue("pg_url")
        redis_url = request.getfixturevalue("redis_url")
        env = lp_env(database, redis_url, LIVEPLEDGE_CHAT_MIN_INTERVAL_SECONDS="0")
        workers = 2
    demo = seed_demo(env, buyers=4, stock=5)
    return serve(server_factory, env, listener, workers=workers), demo


async def test_snapshot_plus_events_equals_fresh_snapshot(room_server) -> None:  # type: ignore[no-untyped-def]
    server, demo = room_server
    sid, item = demo["session_id"], demo["item_id"]
    merchant = {"Authorization": f"Bearer {demo['merchant_token']}"}
    buyers = demo["buyer_tokens"]
    watcher = await Viewer.join(ws(server), sid)
    other_item = next(i["id"] for i in watcher.state["session"]["lineup"] if i["id"] != item)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        # pin another item (上链接)
        assert (await http.post(f"/api/v1/sessions/{sid}/pin", headers=merchant,
                                json={"item_id": other_item})).status_code == 200
        await watcher.until(lambda s: s["session"]["pinned_item_id"] == other_item)
        assert view(watcher.state) == await fresh_view(ws(server), sid)

        # a purchase changes the stock
        bought = await http.post(f"/api/v1/sessions/{sid}/lineup/{item}/orders",
                                 json={"quantity": 1}, headers={
                                     "Authorization": f"Bearer {buyers[0]}",
                                     "Idempotency-Key": "ws-1"})
        assert bought.status_code == 201
        await watcher.until(lambda s: s["stock"][item] == 4)
        assert view(watcher.state) == await fresh_view(ws(server), sid)

        # chat arrives in a tick, markup stays text
        said = await http.post(f"/api/v1/sessions/{sid}/chat", json={"text": "<img src=x>好茶"},
                               headers={"Authorization": f"Bearer {buyers[1]}"})
        assert said.status_code == 201
        chat_id = said.json()["id"]
        await watcher.until(lambda s: chat_id in s["chat"])
        delivered = [c for m in watcher.messages if m["type"] == "tick" for c in m["chat"]]
        assert [c["text"] for c in delivered if c["id"] == chat_id] == ["<img src=x>好茶"]
        assert view(watcher.state) == await fresh_view(ws(server), sid)

        # moderation removes it
        removed = await http.post(f"/api/v1/sessions/{sid}/chat/{chat_id}/remove",
                                  headers=merchant, json={"reason": "测试删除"})
        assert removed.status_code == 200
        await watcher.until(lambda s: chat_id not in s["chat"])
        assert view(watcher.state) == await fresh_view(ws(server), sid)

        # likes from a viewer's socket are counted once stored
        liker = await Viewer.join(ws(server), sid, token=buyers[2])
        await liker.socket.send(json.dumps({"type": "like", "count": 3}))
        await watcher.until(lambda s: s["likes"] == 3)
        await liker.close()
        assert view(watcher.state) == await fresh_view(ws(server), sid)

        # ending the session
        assert (await http.post(f"/api/v1/sessions/{sid}/end", headers=merchant)).status_code \
            == 200
        await watcher.until(lambda s: s["session"]["status"] == "ended")
        assert view(watcher.state) == await fresh_view(ws(server), sid)
    await watcher.close()


async def test_viewer_count_is_distinct_viewers(tmp_path, server_factory, listener) -> None:  # type: ignore[no-untyped-def]
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=2, stock=5)
    server = serve(server_factory, env, listener)
    sid = demo["session_id"]
    one = await Viewer.join(ws(server), sid, token=demo["buyer_tokens"][0])
    same_again = await Viewer.join(ws(server), sid, token=demo["buyer_tokens"][0])
    two = await Viewer.join(ws(server), sid, token=demo["buyer_tokens"][1])
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.get(f"/api/v1/sessions/{sid}/viewers")).json() == {"viewers": 2}
        await two.close()
        await same_again.close()

        async def count() -> int:
            return (await http.get(f"/api/v1/sessions/{sid}/viewers")).json()["viewers"]

        async def settle() -> None:
            while await count() != 1:
                await asyncio.sleep(0.02)
        await asyncio.wait_for(settle(), 10)
    await one.close()


async def test_room_socket_errors(tmp_path, server_factory, listener) -> None:  # type: ignore[no-untyped-def]
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=1, stock=5)
    server = serve(server_factory, env, listener)
    sid = demo["session_id"]
    anonymous = await Viewer.join(ws(server), sid)
    await anonymous.socket.send(json.dumps({"type": "chat", "text": "hi"}))
    await anonymous.until(lambda s: False if not anonymous.messages else
                          anonymous.messages[-1]["type"] == "error")
    assert anonymous.messages[-1]["problem"]["code"] == "unauthenticated"
    await anonymous.socket.send("not json")
    await anonymous.until(lambda s: anonymous.messages[-1]["type"] == "error"
                          and anonymous.messages[-1]["problem"]["code"] == "malformed_json")
    buyer = await Viewer.join(ws(server), sid, token=demo["buyer_tokens"][0])
    await buyer.socket.send(json.dumps({"type": "chat", "text": "长" * 500}))
    await buyer.until(lambda s: bool(buyer.messages) and buyer.messages[-1]["type"] == "error")
    assert buyer.messages[-1]["problem"]["code"] == "validation_failed"
    await anonymous.close()
    await buyer.close()
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await websockets.connect(ws(server) + "/ws/sessions/999")


async def test_cookie_socket_from_another_site_is_anonymous(  # type: ignore[no-untyped-def]
        tmp_path, server_factory, listener) -> None:
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=1, stock=5)
    server = serve(server_factory, env, listener)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        me = (await http.get("/api/v1/me", headers={
            "Authorization": f"Bearer {demo['buyer_tokens'][0]}"})).json()
        login = await http.post("/web/login", json={"login": me["login"],
                                                    "password": "buyer-demo-pass"})
        cookie = f"lp_session={login.cookies['lp_session']}"
    url = ws(server) + f"/ws/sessions/{demo['session_id']}"
    host = server.base_url.removeprefix("http://")
    for origin, expected in ((f"http://{host}", None), ("http://evil.example", "unauthenticated")):
        socket = await websockets.connect(url, additional_headers={"Cookie": cookie,
                                                                   "Origin": origin})
        viewer = Viewer(socket)
        seen = viewer.messages
        await viewer.until(lambda s: "session" in s)
        await socket.send(json.dumps({"type": "chat", "text": f"来自 {origin}"}))
        if expected is None:
            await viewer.until(lambda s, seen=seen: any(m["type"] == "tick" and m["chat"]
                                                        for m in seen))
        else:
            await viewer.until(lambda s, seen=seen: seen[-1]["type"] == "error")
            assert seen[-1]["problem"]["code"] == expected
        await socket.close()
