"""A deadline fires once in effect: the server is killed (SIGKILL, by a fault point inside the
process) between an after-sales deadline's decision and the commit of its refund — before the
payment provider was asked, or after it paid — then restarted. The refund is issued exactly
once: one refund at the provider (its journal survives the crash as a real provider's books
do), one payment row, one decision on the case's timeline.

The shop let the 48 h answer deadline pass: the server is restarted with its clock 49 h ahead
(LIVEPLEDGE_CLOCK_OFFSET_SECONDS), the deadline runner finds the case due and decides it for
the buyer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.race.race_support import crash, fetch, lp_env, seed_demo, wait_for

pytestmark = pytest.mark.slow
AHEAD = str(49 * 3600)
ADDRESS = {"recipient": "张三", "phone": "13800138000", "province": "浙江省", "city": "杭州市",
           "district": "西湖区", "detail": "文三路 100 号 2 单元 301"}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}"
    return request.getfixturevalue("pg_url")  # type: ignore[no-any-return]


def _open_case(base: str, demo: dict[str, Any]) -> int:
    buyer = {"Authorization": f"Bearer {demo['buyer_tokens'][0]}"}
    merchant = {"Authorization": f"Bearer {demo['merchant_token']}"}
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as http:
        assert http.post("/api/v1/me/addresses", headers=buyer, json=ADDRESS).status_code == 201
        order = http.post(f"/api/v1/sessions/{demo['session_id']}/lineup/{demo['item_id']}/"
                          "orders", json={"quantity": 1},
                          headers={**buyer, "Idempotency-Key": "crash-1"})
        assert order.status_code == 201, order.text
        url = f"/api/v1/orders/{order.json()['id']}"
        for path, headers, body in [("/pay", buyer, None),
                                    ("/ship", merchant, {"carrier": "顺丰速运",
                                                         "tracking_number": "SF1234567"}),
                                    ("/receive", buyer, None)]:
            answer = http.post(url + path, headers=headers, json=body)
            assert answer.status_code == 200, answer.text
        case = http.post(url + "/cases", headers=buyer,
                         json={"type": "return_refund", "reason": "quality", "text": "有裂纹"})
        assert case.status_code == 201, case.text
        return int(case.json()["id"])


def _journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("point", ["aftersales.before_provider_refund",
                                   "aftersales.after_provider_refund"])
async def test_a_deadline_killed_between_decision_and_refund_refunds_once(
        url, point, server_factory, tmp_path):  # type: ignore[no-untyped-def]
    provider_paid = point.endswith("after_provider_refund")  # before the commit, mind
    journal = tmp_path / "provider.jsonl"
    env = lp_env(url, "", LIVEPLEDGE_SANDBOX_JOURNAL=str(journal),
                 LIVEPLEDGE_DEADLINE_POLL_SECONDS="0.05")
    demo = seed_demo(env, buyers=1, stock=3)
    server = server_factory(env)
    case_id = _open_case(server.base_url, demo)
    key = f"case:{case_id}:due:awaiting_merchant"
    crash(server)

    # Given the server back 49 h later, with a fault point that kills it mid-refund
    faulty = {**env, "LIVEPLEDGE_CLOCK_OFFSET_SECONDS": AHEAD, "LIVEPLEDGE_FAULT_POINTS": point}
    log = (tmp_path / "faulty.log").open("ab")
    process = subprocess.Popen([sys.executable, "-m", "livepledge", "serve", "--port", "0",
                                "--no-migrate"], env=faulty, stdout=log,
                               stderr=subprocess.STDOUT)
    assert process.wait(timeout=120) == -9  # SIGKILL, by the fault point
    refunds = [e for e in _journal(journal) if e["key"] == key]
    assert [e["op"] for e in refunds] == (["refund"] if provider_paid else [])
    assert await fetch(url, "SELECT id FROM payments WHERE reason = 'aftersales'") == []
    status = await fetch(url, "SELECT status FROM cases WHERE id = :id", id=case_id)
    assert status == [{"status": "awaiting_merchant"}]  # nothing of the decision was kept

    # When it is restarted without the fault
    server_factory({**env, "LIVEPLEDGE_CLOCK_OFFSET_SECONDS": AHEAD})

    async def decided() -> bool:
        rows = await fetch(url, "SELECT status FROM cases WHERE id = :id", id=case_id)
        return rows[0]["status"] == "closed"
    await wait_for(decided, "the case's deadline to be decided after the restart", deadline=60)

    # Then the buyer was refunded exactly once
    paid = [e for e in _journal(journal) if e["key"] == key and e["op"] == "refund"]
    assert len(paid) == 1 and paid[0]["charge"]["amount"] == 9900
    replays = [e for e in _journal(journal) if e["key"] == key and e["op"] == "replay"]
    assert len(replays) == (1 if provider_paid else 0)  # asked again, paid nothing more
    rows = await fetch(url, "SELECT amount, provider_ref FROM payments "
                       "WHERE reason = 'aftersales'")
    assert rows == [{"amount": -9900, "provider_ref": paid[0]["charge"]["reference"]}]
    entries = await fetch(url, "SELECT kind FROM case_entries WHERE case_id = :id ORDER BY id",
                          id=case_id)
    assert [e["kind"] for e in entries] == ["opened", "deadline", "refunded"]
    events = await fetch(url, "SELECT count(*) AS n FROM events WHERE type = 'CaseRefunded'")
    assert events[0]["n"] == 1
    case = await fetch(url, "SELECT refunded, status FROM cases WHERE id = :id", id=case_id)
    assert case == [{"refunded": 9900, "status": "closed"}]
