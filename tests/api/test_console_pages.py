"""Serving the merchant console (docs/console.md): the built single-page app at /console/ with a
history fallback, the session's CSRF token written into it, the pages' security headers, and a
plain 503 page when the build is missing. The old URL redirects."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from livepledge.web import console
from tests.api.world import register

INDEX = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
  <meta name="csrf-token" content="">
  <script type="module" crossorigin src="/console/assets/index-abc.js"></script>
</head>
<body><div id="app"></div></body>
</html>"""


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX, encoding="utf-8")
    (dist / "assets" / "index-abc.js").write_text("console.log('app')", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not for you", encoding="utf-8")
    monkeypatch.setattr(console, "DIST", dist)
    return dist


async def _web_login(client: httpx.AsyncClient, login: str) -> None:
    await register(client, login, role="merchant")
    response = await client.post("/web/login", json={"login": login,
                                                     "password": "correct-horse-battery"})
    assert response.status_code == 200, response.text


async def test_without_a_build_the_console_says_so_plainly(
        app_client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(console, "DIST", tmp_path / "nothing-here")
    for path in ("/console/", "/console/orders"):
        response = await app_client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/html")
        assert "商家后台尚未构建" in response.text
        assert "The merchant console has not been built" in response.text
        assert "./dev setup" in response.text
        assert "<script" not in response.text
        assert "script-src 'self'" in response.headers["content-security-policy"]


async def test_the_old_console_url_redirects_to_the_new_one(app_client: httpx.AsyncClient,
                                                             built: Path):
    response = await app_client.get("/console")
    assert response.status_code == 308
    assert response.headers["location"] == "/console/"
    response = await app_client.get("/console", params={"lang": "en"})
    assert response.headers["location"] == "/console/?lang=en"


async def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in_first(
        app_client: httpx.AsyncClient, built: Path):
    response = await app_client.get("/console/orders")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/console/orders"


async def test_every_console_route_gets_the_app_with_the_sessions_csrf_token(
        app_client: httpx.AsyncClient, built: Path):
    from livepledge.deps import SESSION_COOKIE
    from livepledge.infra.security import csrf_token_for

    await _web_login(app_client, "meiling")
    secret = app_client._transport.app.state.settings.secret_key  # type: ignore[attr-defined]
    expected = csrf_token_for(app_client.cookies[SESSION_COOKIE], secret)
    for path in ("/console/", "/console/orders", "/console/live/12"):
        response = await app_client.get(path)
        assert response.status_code == 200, path
        assert f'<meta name="csrf-token" content="{expected}">' in response.text
        script = '<script type="module" crossorigin src="/console/assets/index-abc.js">'
        assert script in response.text
        assert response.headers["cache-control"] == "no-store"
        policy = dict(part.strip().split(" ", 1)
                      for part in response.headers["content-security-policy"].split(";"))
        assert policy["script-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert re.search(r"<script>", response.text) is None
    english = await app_client.get("/console/", params={"lang": "en"})
    assert '<html lang="en">' in english.text
    assert english.cookies.get("lp_lang") == "en"
    # the token in the page is the one the API checks
    token = expected
    refused = await app_client.post("/api/v1/shops", json={
        "name": "美玲小店", "legal_name": "美玲商贸有限公司", "license_no": "91330100MA2TEST01X"})
    assert refused.status_code == 403
    assert (await app_client.get("/api/v1/me")).json()["shops"] == []
    created = await app_client.post("/api/v1/shops", headers={"X-CSRF-Token": token}, json={
        "name": "美玲小店", "legal_name": "美玲商贸有限公司", "license_no": "91330100MA2TEST01X"})
    assert created.status_code == 201, created.text


async def test_built_files_are_served_and_cached_and_nothing_else_is(
        app_client: httpx.AsyncClient, built: Path):
    response = await app_client.get("/console/assets/index-abc.js")
    assert response.status_code == 200
    assert response.text == "console.log('app')"
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    missing = await app_client.get("/console/assets/index-zzz.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    for sneaky in ("/console/assets/%2e%2e/%2e%2e/secret.txt",
                   "/console/assets/..%2f..%2fsecret.txt"):
        response = await app_client.get(sneaky)
        assert response.status_code == 404, sneaky
        assert "not for you" not in response.text
