"""The pages' npm packages are served by the app itself (no CDN): what is installed is served,
anything else is a 404 problem, and without the packages the route says so instead of failing."""

from __future__ import annotations

from pathlib import Path

import httpx

from livepledge.web.pages import CHECKOUT_PACKAGES
from tests.api.world import assert_problem


async def test_hls_js_is_served_from_the_installed_package(app_client: httpx.AsyncClient):
    installed = (CHECKOUT_PACKAGES / "hls.js" / "dist" / "hls.min.js").read_bytes()

    response = await app_client.get("/vendor/hls.min.js")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == installed


async def test_only_the_listed_files_are_served(app_client: httpx.AsyncClient):
    for name in ("hls.js", "package.json", "..%2Fpackage.json", "hls.min.js.map"):
        assert_problem(await app_client.get(f"/vendor/{name}"), 404, "not_found")


async def test_without_the_packages_it_is_a_404(app_client: httpx.AsyncClient,
                                                tmp_path: Path):
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    runtime.settings = runtime.settings.model_copy(update={"web_packages_dir": tmp_path})

    assert_problem(await app_client.get("/vendor/hls.min.js"), 404, "not_found")


async def test_swagger_ui_files_are_served_with_their_types(app_client: httpx.AsyncClient):
    package = CHECKOUT_PACKAGES / "swagger-ui-dist"
    script = await app_client.get("/vendor/swagger-ui-bundle.js")
    style = await app_client.get("/vendor/swagger-ui.css")

    assert (script.status_code, style.status_code) == (200, 200)
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    assert script.content == (package / "swagger-ui-bundle.js").read_bytes()
    assert style.content == (package / "swagger-ui.css").read_bytes()


async def test_the_docs_page_loads_swagger_from_the_server_under_the_page_policy(
        app_client: httpx.AsyncClient):
    response = await app_client.get("/docs", headers={"Accept": "text/html"})

    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split(
        "script-src", 1)[1].split(";", 1)[0]
    assert '<script src="/vendor/swagger-ui-bundle.js"></script>' in response.text
    assert '<script src="/static/apidocs.js"></script>' in response.text
    assert "<script>" not in response.text and "http" not in response.text.split("<body>")[1]


async def test_without_the_package_the_docs_page_says_so(app_client: httpx.AsyncClient,
                                                         tmp_path: Path):
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    runtime.settings = runtime.settings.model_copy(update={"web_packages_dir": tmp_path})

    response = await app_client.get("/docs?lang=en")

    assert response.status_code == 200
    assert 'data-testid="api-docs-missing"' in response.text
    assert "swagger-ui-dist" in response.text and "/vendor/" not in response.text
