"""The fan-group feed (docs/fans.md, "Fan-group feed"): the shop posts (checked like a script:
violations refused with the findings, warnings returned to the shop), members react and comment
(comments checked like chat: a diversion attempt is held, visible to its author only); bad input
is refused and nothing is stored. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.api.world import World, assert_problem, auth, build_world
from tests.conftest import make_app_client

WARNED = "限时秒杀，最后3件"  # the engine warns (an unverified scarcity claim)
VIOLATING = "全网最低价，国家级产品"  # absolute terms: a violation
DIVERTING = "加我微信 abc123 私聊便宜"


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(database_url) as c:
        yield c


async def _join(w: World, token: str) -> None:
    joined = await w.client.put(f"/api/v1/shops/{w.shop_id}/fan-club/membership",
                                headers=auth(token))
    assert joined.status_code == 200


async def _post(w: World, body: str, **more: Any) -> httpx.Response:
    return await w.client.post(f"/api/v1/shops/{w.shop_id}/fan-club/posts",
                               headers=auth(w.merchant), json={"body": body, **more})


async def _feed(w: World, token: str) -> list[dict[str, Any]]:
    got = await w.client.get(f"/api/v1/shops/{w.shop_id}/fan-club/feed", headers=auth(token))
    assert got.status_code == 200, got.text
    return got.json()["posts"]  # type: ignore[no-any-return]


async def test_the_shop_posts_and_fans_react_and_comment(client):
    w = await build_world(client, buyers=2)
    fan, other = w.buyers
    for token in w.buyers:
        await _join(w, token)
    made = await _post(w, f"新茶上架！{WARNED}", kind="arrival", session_id=w.session_id)
    assert made.status_code == 201, made.text
    post = made.json()
    assert post["kind"] == "arrival" and post["session_id"] == w.session_id
    assert [f["severity"] for f in post["warnings"]] and \
        all(f["severity"] == "warning" for f in post["warnings"])
    seen = (await _feed(w, fan))[0]
    assert (seen["id"], seen["body"], seen["warnings"]) == (post["id"], post["body"], [])
    for _ in range(2):  # idempotent
        liked = await client.put(f"/api/v1/fan-posts/{post['id']}/reactions/like",
                                 headers=auth(fan))
        assert liked.status_code == 200
    await client.put(f"/api/v1/fan-posts/{post['id']}/reactions/want", headers=auth(other))
    assert liked.json()["reactions"] == {"like": 1, "love": 0, "want": 0}
    said = await client.post(f"/api/v1/fan-posts/{post['id']}/comments", headers=auth(fan),
                             json={"body": "等开播！"})
    assert said.status_code == 201 and said.json()["status"] == "shown"
    reply = await client.post(f"/api/v1/fan-posts/{post['id']}/comments",
                              headers=auth(w.merchant), json={"body": "今晚见"})
    assert reply.status_code == 201 and reply.json()["from_shop"] is True
    seen = (await _feed(w, other))[0]
    assert seen["reactions"] == {"like": 1, "love": 0, "want": 1}
    assert seen["my_reactions"] == ["want"]
    assert [(c["body"], c["from_shop"]) for c in seen["comments"]] == [
        ("等开播！", False), ("今晚见", True)]
    undone = await client.delete(f"/api/v1/fan-posts/{post['id']}/reactions/like",
                                 headers=auth(fan))
    assert undone.json()["reactions"]["like"] == 0


async def test_a_diverting_comment_is_held_and_shown_to_its_author_only(client):
    w = await build_world(client, buyers=2)
    fan, other = w.buyers
    for token in w.buyers:
        await _join(w, token)
    post = (await _post(w, "今晚8点直播，新茶上市", kind="schedule")).json()
    held = await client.post(f"/api/v1/fan-posts/{post['id']}/comments", headers=auth(fan),
                             json={"body": DIVERTING})
    assert held.status_code == 201
    assert held.json()["status"] == "held"
    assert {f["family"] for f in held.json()["findings"]} == {"diversion"}
    mine = (await _feed(w, fan))[0]["comments"]
    assert [(c["body"], c["status"]) for c in mine] == [(DIVERTING, "held")]
    assert mine[0]["findings"]
    assert (await _feed(w, other))[0]["comments"] == []
    assert (await _feed(w, w.merchant))[0]["comments"] == []


async def test_a_violating_post_or_reply_is_refused_with_its_findings(client):
    w = await build_world(client, buyers=1)
    await _join(w, w.buyers[0])
    refused = await _post(w, VIOLATING)
    body = assert_problem(refused, 409, "compliance_blocked")
    assert {f["family"] for f in body["findings"]} >= {"absolute"}
    assert all(f["severity"] == "violation" for f in body["findings"])
    assert await _feed(w, w.merchant) == []
    post = (await _post(w, "上新啦")).json()
    reply = await client.post(f"/api/v1/fan-posts/{post['id']}/comments",
                              headers=auth(w.merchant), json={"body": VIOLATING})
    assert_problem(reply, 409, "compliance_blocked")
    assert (await _feed(w, w.merchant))[0]["comments"] == []


async def test_outsiders_and_bad_input_change_nothing(client):
    w = await build_world(client, buyers=2)
    other = await build_world(client, buyers=0, prefix="o-")
    fan, outsider = w.buyers
    await _join(w, fan)
    post = (await _post(w, "上新啦")).json()
    feed_url = f"/api/v1/shops/{w.shop_id}/fan-club/feed"
    assert_problem(await client.get(feed_url), 401, "unauthenticated")
    assert_problem(await client.get(feed_url, headers=auth(outsider)), 409, "not_a_fan")
    assert_problem(await client.put(f"/api/v1/fan-posts/{post['id']}/reactions/like",
                                    headers=auth(outsider)), 409, "not_a_fan")
    assert_problem(await client.post(f"/api/v1/fan-posts/{post['id']}/comments",
                                     headers=auth(outsider), json={"body": "hi"}),
                   409, "not_a_fan")
    foreign = await client.post(f"/api/v1/shops/{w.shop_id}/fan-club/posts",
                                headers=auth(other.merchant), json={"body": "冒充"})
    assert_problem(foreign, 403, "forbidden")
    assert_problem(await client.post(f"/api/v1/shops/{w.shop_id}/fan-club/posts",
                                     headers=auth(fan), json={"body": "粉丝发帖"}),
                   403, "forbidden")
    for bad in ({"body": "x", "kind": "ad"}, {"body": ""}, {"body": "x" * 1001},
                {"body": "发券", "session_id": other.session_id}):
        made = await client.post(f"/api/v1/shops/{w.shop_id}/fan-club/posts",
                                 headers=auth(w.merchant), json=bad)
        assert_problem(made, 422, "validation_failed")
    assert_problem(await client.put(f"/api/v1/fan-posts/{post['id']}/reactions/angry",
                                    headers=auth(fan)), 422, "validation_failed")
    assert_problem(await client.post(f"/api/v1/fan-posts/{post['id']}/comments",
                                     headers=auth(fan), json={"body": "x" * 301}),
                   422, "validation_failed")
    assert_problem(await client.delete(f"/api/v1/fan-posts/{post['id']}", headers=auth(fan)),
                   404, "not_found")
    seen = await _feed(w, fan)
    assert [p["id"] for p in seen] == [post["id"]]
    assert seen[0]["reactions"] == {"like": 0, "love": 0, "want": 0}
    assert seen[0]["comments"] == []
    gone = await client.delete(f"/api/v1/fan-posts/{post['id']}", headers=auth(w.merchant))
    assert gone.status_code == 204
    assert await _feed(w, fan) == []


async def test_a_fan_exports_and_deletes_their_comments_and_reactions(client):
    w = await build_world(client, buyers=1)
    fan = w.buyers[0]
    await _join(w, fan)
    post = (await _post(w, "上新啦")).json()
    await client.put(f"/api/v1/fan-posts/{post['id']}/reactions/love", headers=auth(fan))
    await client.post(f"/api/v1/fan-posts/{post['id']}/comments", headers=auth(fan),
                      json={"body": "好看"})
    exported = (await client.get("/api/v1/me/fan-data", headers=auth(fan))).json()
    assert [(c["post_id"], c["body"]) for c in exported["feed_comments"]] == [(post["id"], "好看")]
    assert [r["kind"] for r in exported["feed_reactions"]] == ["love"]
    deleted = await client.delete("/api/v1/me/fan-data", headers=auth(fan))
    assert deleted.json()["deleted"]["feed_comments"] == 1
    seen = (await _feed(w, w.merchant))[0]
    assert (seen["comments"], seen["reactions"]["love"]) == ([], 0)


async def test_a_fan_comments_at_most_once_per_interval_and_the_staff_are_not_limited(
        database_url: str):
    async with make_app_client(database_url, comment_min_interval_seconds=600) as client:
        w = await build_world(client, buyers=1)
        fan = w.buyers[0]
        await _join(w, fan)
        first, second = [(await _post(w, text)).json() for text in ("今晚8点直播", "明晚也播")]
        said = await client.post(f"/api/v1/fan-posts/{first['id']}/comments",
                                 headers=auth(fan), json={"body": "来了"})
        assert said.status_code == 201, said.text
        again = await client.post(f"/api/v1/fan-posts/{second['id']}/comments",
                                  headers=auth(fan), json={"body": "也来"})
        assert_problem(again, 429, "rate_limited")
        assert 0 < float(again.headers["Retry-After"]) <= 600
        for _ in range(2):  # the shop replies as often as it needs
            reply = await client.post(f"/api/v1/fan-posts/{second['id']}/comments",
                                      headers=auth(w.merchant), json={"body": "欢迎"})
            assert reply.status_code == 201, reply.text
        posts = {p["id"]: p for p in await _feed(w, fan)}
        assert [c["body"] for c in posts[first["id"]]["comments"]] == ["来了"]
        assert [c["body"] for c in posts[second["id"]]["comments"]] == ["欢迎", "欢迎"]
