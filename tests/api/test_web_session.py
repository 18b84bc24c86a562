"""Cookie sessions: logging out revokes the session at once, although validated sessions are
cached (the revoking worker drops its cache and retires the shared tier)."""

from __future__ import annotations

import httpx

from livepledge.infra.security import csrf_token_for
from tests.api.world import assert_problem, register


async def test_logout_revokes_a_cached_session(app_client: httpx.AsyncClient):
    await register(app_client, "viewer1")
    login = await app_client.post("/web/login", json={"login": "viewer1",
                                                      "password": "correct-horse-battery"})
    assert login.status_code == 200
    session = login.cookies["lp_session"]
    me = await app_client.get("/api/v1/me")
    assert (me.status_code, me.json()["login"]) == (200, "viewer1")  # validated and cached

    secret = app_client.app.state.settings.secret_key  # type: ignore[attr-defined]
    out = await app_client.post("/web/logout",
                                headers={"X-CSRF-Token": csrf_token_for(session, secret)})
    assert out.status_code == 200

    app_client.cookies.set("lp_session", session)  # a copy of the cookie kept by someone
    assert_problem(await app_client.get("/api/v1/me"), 401, "unauthenticated")
