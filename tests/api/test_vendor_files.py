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
