"""In a real browser: after logging in, `next` never leads to another site, and the login page
runs under its Content-Security-Policy without a violation. (The old console URL, /console, now
redirects to the single-page console, which opens on its overview.)"""

from __future__ import annotations

import pytest

from tests.conftest import lp_env, seed_demo
from tests.e2e.test_live_room_browser import browser  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_login_never_leaves_the_site(browser, tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from urllib.parse import quote, urlsplit

    import httpx

    from livepledge.demo import MERCHANT_PASSWORD

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=0, stock=1)
    base = server_factory(env).base_url
    merchant = httpx.get(f"{base}/api/v1/me",
                         headers={"Authorization": f"Bearer {demo['merchant_token']}"}).json()
    landed: dict[str, str] = {}
    violations: list[str] = []
    for target in ("//evil.example/x", "/\\evil.example/x", "/%5Cevil.example", "/console"):
        context = browser.new_context()  # a browser that is not logged in yet
        page = context.new_page()
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.goto(f"{base}/login?next={quote(target, safe='/')}")
        page.fill("input[name=login]", merchant["login"])
        page.fill("input[name=password]", MERCHANT_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        if target == "/console":  # /console → /console/ (server) → /console/overview (console)
            page.wait_for_url("**/console/overview")
        parts = urlsplit(page.url)
        landed[target] = f"{parts.scheme}://{parts.netloc}{parts.path}"
        context.close()
    assert landed == {"//evil.example/x": f"{base}/", "/\\evil.example/x": f"{base}/",
                      "/%5Cevil.example": f"{base}/%5Cevil.example",
                      "/console": f"{base}/console/overview"}
    assert violations == []
