"""The flash-sale benchmark's no-op baseline exists only behind its switch, never in production."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from livepledge.app import create_app
from livepledge.config import Settings

NOOP = "/api/v1/sessions/1/lineup/2/noop"


async def _post(settings: Settings, path: str) -> httpx.Response:
    app = create_app(settings)  # no lifespan: the no-op needs no runtime
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        return await client.post(path, json={"quantity": 1})


async def test_the_noop_answers_only_when_switched_on(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}"

    on = await _post(Settings(database_url=url, bench_noop_endpoint=True), NOOP)
    off = await _post(Settings(database_url=url), NOOP)

    assert (on.status_code, on.content) == (200, b"{}")
    assert off.status_code == 404
    assert off.headers["content-type"] == "application/problem+json"


def test_production_refuses_the_noop_switch(tmp_path: Path):
    from livepledge.record.note import Signer

    key = tmp_path / "record.key"  # otherwise production refuses first for the missing key
    key.write_text(Signer.generate("shop.example").private_key_text())
    settings = Settings(environment="production", secret_key="s" * 40, bench_noop_endpoint=True,
                        record_key_file=key)
    with pytest.raises(SystemExit, match="LIVEPLEDGE_BENCH_NOOP_ENDPOINT"):
        settings.check_production()
