"""Limits around the compliance engine in the running app (issue #16 item 1, issue #14): staff
texts are bounded too, the anonymous check is throttled per address through the runtime's
throttle, and the rule catalogue is compiled at startup, not on the first chat message."""

from __future__ import annotations

import httpx

from livepledge.compliance.catalogue import get_catalogue
from livepledge.live.schemas import SCRIPT_MAX_CHARS, TRANSCRIPT_MAX_CHARS
from tests.api.world import assert_problem, auth, build_world
from tests.conftest import make_app_client


async def test_oversized_staff_texts_are_refused_and_nothing_is_recorded(
        app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)
    base = f"/api/v1/sessions/{world.session_id}"
    script = "全网最低价加微信" * (SCRIPT_MAX_CHARS // 8) + "好"
    segment = "全网最低价加微信" * (TRANSCRIPT_MAX_CHARS // 8) + "好"

    too_long = [await app_client.post(f"{base}/scripts", headers=auth(world.anchor),
                                      json={"text": script}),
                await app_client.post(f"{base}/transcript", headers=auth(world.anchor),
                                      json={"text": segment})]

    for response in too_long:
        assert_problem(response, 422, "validation_failed")
    assert [e["field"] for r in too_long for e in r.json()["errors"]] == ["text", "text"]
    log = (await app_client.get(f"{base}/oversight", headers=auth(world.merchant))).json()
    assert (log["scripts"], log["segments"]) == ([], [])
    fits = await app_client.post(f"{base}/transcript", headers=auth(world.anchor),
                                 json={"text": segment[:-1]})
    assert fits.status_code == 201, fits.text


async def test_the_anonymous_check_is_throttled_per_address_in_the_app(sqlite_url: str):
    async with make_app_client(sqlite_url, compliance_checks_per_address=2) as client:
        url = "/api/v1/compliance/check"
        answers = [await client.post(url, json={"text": "全网最低价"}) for _ in range(3)]

        assert [a.status_code for a in answers] == [200, 200, 429]
        assert_problem(answers[2], 429, "rate_limited")
        assert 1 <= int(answers[2].headers["retry-after"]) <= 60


async def test_the_catalogue_is_compiled_at_startup(sqlite_url: str):
    get_catalogue.cache_clear()
    async with make_app_client(sqlite_url):
        assert get_catalogue.cache_info().currsize == 1  # before any request
