"""Hardening: login and registration throttles, password strength, the login redirect,
security headers and the session cookie (docs/security.md)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.world import register
from tests.conftest import make_app_client

GOOD = "correct-horse-battery"


async def _login(client: httpx.AsyncClient, login: str, password: str,
                 path: str = "/api/v1/tokens") -> httpx.Response:
    return await client.post(path, json={"login": login, "password": password})


async def _users(client: httpx.AsyncClient) -> int:
    from sqlalchemy import func, select

    from livepledge.accounts.models import users

    async with client.app.state.runtime.db.read() as conn:  # type: ignore[attr-defined]
        return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())


async def test_failed_logins_of_one_account_are_throttled_before_the_password_is_checked(
        sqlite_url: str):
    async with make_app_client(sqlite_url, login_failures_per_account=3) as client:
        await register(client, "alice")
        failures = [(await _login(client, "alice", f"wrong-{n}")).status_code for n in range(3)]
        refused = await _login(client, "alice", GOOD)  # right password, but throttled
        other = await _login(client, "bob", "no-such-user")  # another account: own budget

    assert failures == [401, 401, 401]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 900
    assert refused.json()["code"] == "rate_limited"
    assert "token" not in refused.json()
    assert other.status_code == 401


async def test_web_login_and_api_login_share_the_counters(sqlite_url: str):
    async with make_app_client(sqlite_url, login_failures_per_account=2) as client:
        await register(client, "alice")
        first = await _login(client, "alice", "wrong-one", "/web/login")
        second = await _login(client, "alice", "wrong-two")
        web = await _login(client, "alice", GOOD, "/web/login")
    assert (first.status_code, second.status_code, web.status_code) == (401, 401, 429)
    assert "lp_session" not in web.headers.get("set-cookie", "")


async def test_failed_logins_from_one_address_are_throttled_across_accounts(sqlite_url: str):
    async with make_app_client(sqlite_url, login_failures_per_address=4) as client:
        await register(client, "alice")
        failures = [(await _login(client, f"user{n}", "wrong-password")).status_code
                    for n in range(4)]
        refused = await _login(client, "alice", GOOD)
    assert failures == [401] * 4
    assert refused.status_code == 429


async def test_registrations_from_one_address_are_throttled(sqlite_url: str):
    async with make_app_client(sqlite_url, registrations_per_address=2) as client:
        await register(client, "alice")
        taken = await client.post("/api/v1/users", json={
            "login": "alice", "password": GOOD, "display_name": "A"})
        before = await _users(client)
        refused = await client.post("/api/v1/users", json={
            "login": "carol", "password": GOOD, "display_name": "C"})
        after = await _users(client)
    assert taken.status_code == 409
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert before == after == 1


def test_a_throttled_key_is_free_again_when_its_window_ends():
    import asyncio

    from livepledge.infra.throttle import LocalThrottle

    now = [1000.0]
    throttle = LocalThrottle(clock=lambda: now[0])

    async def scenario() -> list[float]:
        waits = [await throttle.hit("k", limit=2, window=60) for _ in range(3)]
        blocked_inside = await throttle.blocked("k", limit=2)
        now[0] += 60.0
        return [*waits, blocked_inside, await throttle.blocked("k", limit=2),
                await throttle.hit("k", limit=2, window=60)]

    assert asyncio.run(scenario()) == [0.0, 0.0, 60.0, 60.0, 0.0, 0.0]


@pytest.mark.parametrize("password", ["12345678", "password", "aaaaaaaa", "qwertyuiop",
                                      "woaini1314", "alice-2026"])
async def test_weak_passwords_are_refused_with_the_reason(app_client: httpx.AsyncClient,
                                                         password: str):
    response = await app_client.post("/api/v1/users", json={
        "login": "alice-2026", "password": password, "display_name": "Alice"})
    assert response.status_code == 422
    assert "密码" in response.json()["detail"] and "password" in response.json()["detail"]
    assert await _users(app_client) == 0


async def test_a_strong_password_is_accepted(app_client: httpx.AsyncClient):
    response = await app_client.post("/api/v1/users", json={
        "login": "alice", "password": "violet-teapot-harbour", "display_name": "Alice"})
    assert response.status_code == 201


@pytest.mark.parametrize(("target", "expected"), [
    ("//evil.example/x", "/"), ("/\\evil.example/x", "/"), ("/\\\\evil.example", "/"),
    ("https://evil.example/", "/"), ("/\t/evil.example", "/"), ("javascript:alert(1)", "/"),
    ("", "/"), ("/console", "/console"), ("/live/3?lang=en", "/live/3?lang=en"),
])
async def test_the_login_page_only_sends_you_on_to_this_site(
        app_client: httpx.AsyncClient, target: str, expected: str):
    response = await app_client.get("/login", params={"next": target})
    assert response.status_code == 200
    found = re.search(r'data-next="([^"]*)"', response.text)
    assert found is not None
    assert found.group(1).replace("&amp;", "&") == expected


async def test_pages_carry_a_strict_content_security_policy(app_client: httpx.AsyncClient):
    page = await app_client.get("/login")
    policy = page.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "<script>" not in page.text  # no inline script left for the policy to block


async def test_api_responses_are_not_sniffed_or_framed(app_client: httpx.AsyncClient):
    response = await app_client.get("/api/v1/sessions/1")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_page_data_cannot_close_its_script_block():
    from livepledge.web.pages import page_json

    assert "</script" not in page_json({"x": "</script><script>alert(1)</script>"})


@pytest.mark.parametrize(("base_url", "environment", "secure"), [
    ("http://testserver", "development", False),
    ("https://testserver", "development", True),
    ("http://testserver", "production", True),
])
async def test_the_session_cookie_is_secure_over_https_and_in_production(
        sqlite_url: str, base_url: str, environment: str, secure: bool, tmp_path):
    from livepledge.record.note import Signer

    settings: dict[str, object] = {"environment": environment}
    if environment == "production":
        settings["secret_key"] = "x" * 40
        key = tmp_path / "record.key"  # production never generates the record's signing key
        key.write_text(Signer.generate("shop.example").private_key_text())
        settings["record_key_file"] = key
    async with make_app_client(sqlite_url, **settings) as client:
        await register(client, "alice")
        client.base_url = httpx.URL(base_url)
        response = await _login(client, "alice", GOOD, "/web/login")
    cookie = response.headers["set-cookie"]
    assert response.status_code == 200 and cookie.startswith("lp_session=")
    assert ("secure" in cookie.lower().split("; ")) is secure


BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def test_a_browser_gets_error_pages_in_its_language(app_client: httpx.AsyncClient):
    missing = await app_client.get("/live/987654321", headers=BROWSER)
    english = await app_client.get("/no/such/page?lang=en", headers=BROWSER)
    api = await app_client.get("/api/v1/sessions/987654321", headers=BROWSER)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "页面不存在" in missing.text and "data-testid=\"error-page\"" in missing.text
    assert english.status_code == 404 and "This page does not exist" in english.text
    assert api.status_code == 404  # the API keeps problem+json, whatever the Accept header
    assert api.headers["content-type"] == "application/problem+json"


async def test_an_error_page_for_someone_elses_order(app_client: httpx.AsyncClient):
    from tests.api.world import build_world

    world = await build_world(app_client, buyers=2)
    order = (await world.buy(world.buyers[0])).json()
    login = await app_client.post("/web/login", json={"login": "buyer1", "password": GOOD})
    assert login.status_code == 200
    page = await app_client.get(f"/orders/{order['id']}", headers=BROWSER)
    assert page.status_code == 404 and "页面不存在" in page.text
    assert "buyer0" not in page.text


async def test_a_bug_on_a_page_is_a_500_page_without_details(
        app_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch):
    from livepledge.web import pages

    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(pages.live, "session_view", broken)
    page = await app_client.get("/live/1", headers=BROWSER)
    assert page.status_code == 500
    assert "出了点问题" in page.text and "secret internals" not in page.text
