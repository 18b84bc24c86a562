"""In a real browser that can reach nothing but the server: /docs shows the API's operations,
from the swagger-ui-dist package the server serves itself, under the pages' CSP (no inline
script) without a violation."""

from __future__ import annotations

import pytest

from tests.conftest import lp_env
from tests.e2e.test_live_room_browser import browser  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_api_docs_work_offline(browser, tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base = server_factory(lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")).base_url
    # Swagger UI renders only what is in the viewport: a tall one shows every tag at once
    context = browser.new_context(viewport={"width": 1280, "height": 20000})
    outside: list[str] = []

    def only_the_server(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith(base):
            route.continue_()
        else:  # any other origin (a CDN) is unreachable here
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(f"{base}/docs")
    page.wait_for_selector("#swagger-ui .opblock-tag")
    page.wait_for_function("() => document.querySelectorAll('#swagger-ui .opblock-tag').length"
                           " >= 10", timeout=20_000)
    tags = page.locator("#swagger-ui .opblock-tag").all_inner_texts()
    operations = page.locator("#swagger-ui .opblock").count()
    context.close()

    assert outside == []
    assert violations == []
    assert any("orders" in tag.lower() for tag in tags), tags
    assert operations > 20
