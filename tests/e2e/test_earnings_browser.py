"""In a real browser, at a phone and a desktop viewport: the anchor's and the MCN agency's
earnings page. The shop agrees a commission and a slot fee with its anchor and signs an MCN
contract with an ROI guarantee; a buyer's order is received and released (the server's test
clock moves); the platform settles the contract; the anchor sees the slot fee and the
commission, the agency the contract's computation line by line. Every figure is checked through
the API too."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import lp_env, seed_demo
from tests.e2e.test_console_browser import DEVICES, patient_expect, shot  # noqa: F401
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AGENCY_PASSWORD = "mcn-agency-pass-2026"


def until(check: Callable[[], bool], nudge: Callable[[], object], what: str) -> None:
    """The server's consumers run in the background: move the test clock a second at a time
    (which also fires what came due) until `check` holds, for at most 30 s."""
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        nudge()
        time.sleep(0.05)


def test_anchor_and_agency_see_what_they_earned(browser, tmp_path,  # noqa: F811
                                                server_factory) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from livepledge.demo import ANCHOR_PASSWORD

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}", LIVEPLEDGE_TEST_CLOCK="1",
                 LIVEPLEDGE_PLATFORM_COMMISSION_BP="500")
    demo = seed_demo(env, buyers=1, stock=5)
    base = server_factory(env).base_url
    sid = int(demo["session_id"])  # type: ignore[call-overload]
    shop_id = int(demo["shop_id"])  # type: ignore[call-overload]
    merchant = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['merchant_token']}"})
    session = merchant.get(f"/api/v1/sessions/{sid}").json()
    anchor_id, item = session["anchor"]["id"], session["lineup"][0]
    made = httpx.post(f"{base}/api/v1/users", json={
        "login": "mcn.galaxy", "password": AGENCY_PASSWORD, "display_name": "银河MCN",
        "role": "agency"})
    assert made.status_code == 201, made.text
    agency_id = made.json()["user_id"]
    agency = httpx.Client(base_url=base,
                          headers={"Authorization": f"Bearer {made.json()['token']}"})

    agreed = merchant.post(f"/api/v1/shops/{shop_id}/agreements", headers={
        "Idempotency-Key": "anchor-1"}, json={"party_id": anchor_id, "session_id": sid,
                                             "commission_bp": 1000, "slot_fee": 30000})
    assert agreed.status_code == 201, agreed.text
    now = datetime.now(UTC)
    contract = merchant.post(f"/api/v1/shops/{shop_id}/mcn-contracts", headers={
        "Idempotency-Key": "mcn-1"}, json={
        "agency_id": agency_id, "anchor_id": anchor_id, "fee": 5000, "guaranteed_roi_bp": 20000,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat()})
    assert contract.status_code == 201, contract.text
    contract_id = contract.json()["id"]

    buyer = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['buyer_tokens'][0]}"})  # type: ignore[index]
    order = buyer.post(f"/api/v1/sessions/{sid}/lineup/{item['id']}/orders",
                       json={"quantity": 1}, headers={"Idempotency-Key": "earn-0001"}).json()
    assert buyer.post(f"/api/v1/orders/{order['id']}/pay").status_code == 200
    assert merchant.post(f"/api/v1/orders/{order['id']}/ship", json={
        "carrier": "顺丰速运", "tracking_number": "SF0000000001"}).status_code == 200
    assert buyer.post(f"/api/v1/orders/{order['id']}/receive").status_code == 200
    paid = order["amount"]

    def advance(seconds: int) -> None:
        moved = httpx.post(f"{base}/api/v1/test/clock", json={"advance_seconds": seconds})
        assert moved.status_code == 200, moved.text

    def available() -> int:
        return int(merchant.get(f"/api/v1/shops/{shop_id}/balances").json()["available"])

    advance(8 * 86400)  # past the 7-day return window after receipt
    until(lambda: available() > 0, lambda: advance(1), "the escrow release")
    advance(2 * 86400)  # the contract comes back a day after it last looked
    until(lambda: agency.get(f"/api/v1/mcn-contracts/{contract_id}").json()["status"]
          == "settled", lambda: advance(1), "the contract's settlement")
    cut = (paid * 500 + 5000) // 10000
    commission = (paid * 1000 + 5000) // 10000
    outcome = agency.get(f"/api/v1/mcn-contracts/{contract_id}").json()["outcome"]
    to_agency = min(5000, paid * 10000 // 20000)
    assert (outcome["net_sales"], outcome["to_agency"], outcome["to_shop"]) == (
        paid, to_agency, 5000 - to_agency)
    until(lambda: agency.get("/api/v1/me/earnings").json()["payable"] == to_agency,
          lambda: advance(1), "the ledger posting the settlement")

    for device in ("phone", "desktop"):
        context = browser.new_context(**DEVICES[device], timezone_id="Asia/Shanghai",
                                      locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))  # noqa: B023
        login(page, base, "mcn.galaxy", AGENCY_PASSWORD, "/earnings")
        expect(page.get_by_test_id("payable")).to_contain_text(f"¥{to_agency / 100:.2f}")
        card = page.get_by_test_id("contract")
        expect(card).to_contain_text("已结算")
        expect(page.get_by_test_id("computation")).to_contain_text(f"¥{paid / 100:.2f}")
        expect(page.get_by_test_id("computation")).to_contain_text(
            f"¥{(5000 - to_agency) / 100:.2f}")
        shot(page, f"earnings-agency-{device}")
        context.close()
        assert errors == []

    context = browser.new_context(**DEVICES["phone"], timezone_id="Asia/Shanghai",
                                  locale="zh-CN")
    page = context.new_page()
    anchor_login = next(m["login"] for m in merchant.get(f"/api/v1/shops/{shop_id}/members")
                        .json() if m["user_id"] == anchor_id)
    login(page, base, anchor_login, ANCHOR_PASSWORD, "/earnings")
    expect(page.get_by_test_id("payable")).to_contain_text(f"¥{(30000 + commission) / 100:.2f}")
    lines = page.get_by_test_id("earning-lines")
    expect(lines).to_contain_text("坑位费")
    expect(lines).to_contain_text(f"+¥{commission / 100:.2f}")
    expect(page.get_by_test_id("agreements")).to_contain_text("10.00%")
    shot(page, "earnings-anchor-phone")

    # the anchor pays out all of it: a wrong amount is refused in the page, nothing is paid
    owed = 30000 + commission
    expect(page.get_by_test_id("payable-now")).to_have_text(f"¥{owed / 100:.2f}")
    page.get_by_test_id("payout-amount").fill(f"{(owed + 1) / 100:.2f}")
    page.get_by_test_id("payout-submit").click()
    expect(page.locator("#payout-form .field-error")).to_contain_text("可提现金额")
    anchor_api = httpx.Client(base_url=base, headers={"Authorization": "Bearer " + httpx.post(
        f"{base}/api/v1/tokens", json={"login": anchor_login,
                                                "password": ANCHOR_PASSWORD}).json()["token"]})
    assert anchor_api.get("/api/v1/me/payouts").json() == []
    page.get_by_test_id("payout-all").click()
    expect(page.get_by_test_id("payout-amount")).to_have_value(f"{owed / 100:.2f}")
    page.get_by_test_id("payout-submit").click()
    expect(page.get_by_test_id("payouts")).to_contain_text(f"¥{owed / 100:.2f}")
    assert [p["amount"] for p in anchor_api.get("/api/v1/me/payouts").json()] == [owed]
    until(lambda: anchor_api.get("/api/v1/me/earnings").json()["owed"] == 0,
          lambda: advance(1), "the ledger posting the payout")
    page.reload()
    expect(page.get_by_test_id("owed")).to_have_text("¥0.00")
    expect(page.get_by_test_id("payout-panel")).not_to_contain_text("提现到结算账户")
    expect(lines).to_contain_text("提现")
    shot(page, "earnings-anchor-paid-out-phone")
    context.close()
    assert available() == paid - cut - commission + (5000 - to_agency)
