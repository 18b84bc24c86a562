"""The test clock (LIVEPLEDGE_TEST_CLOCK): off by default, refused in production; on, it moves
the server's clock and fires the deadlines that came due (a browser test lets a deadline
pass)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from livepledge.config import Settings
from livepledge.infra import clock
from tests.api.aftersales_support import open_case, paid
from tests.api.world import auth, build_world
from tests.conftest import make_app_client


async def test_the_test_clock_is_absent_by_default(app_client: httpx.AsyncClient):
    answer = await app_client.post("/api/v1/test/clock", json={"advance_seconds": 60})
    assert answer.status_code == 404


@pytest.mark.parametrize("setting", [{"test_clock": True}, {"clock_offset_seconds": 60},
                                     {"fault_points": "aftersales.after_provider_refund"}])
def test_production_refuses_the_test_settings(setting: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(SystemExit):
        Settings(environment="production", secret_key="x" * 40, **setting).check_production()


async def test_the_test_clock_lets_a_deadline_pass(sqlite_url: str):
    async with make_app_client(sqlite_url, test_clock=True) as client:
        try:
            w = await build_world(client, buyers=1)
            order_id = await paid(w, w.buyers[0], ship=True, receive=True)
            case = (await open_case(w, w.buyers[0], order_id, type="return_refund",
                                    reason="no_reason")).json()
            moved = await client.post("/api/v1/test/clock", json={"advance_seconds": 49 * 3600})
            assert moved.status_code == 200, moved.text
            assert moved.json()["offset_seconds"] == 49 * 3600
            assert moved.json()["deadlines_fired"] >= 1
            after = (await client.get(f"/api/v1/cases/{case['id']}",
                                      headers=auth(w.buyers[0]))).json()
            assert (after["status"], after["refunded"]) == ("closed", 9900)
        finally:
            clock.set_offset(timedelta(0))
