"""In a real browser, at a phone and a desktop viewport: the console's 达人合作 page. The merchant
makes an agreement with its anchor for a session (commission and slot fee; a login that is no
anchor or agency is refused inline, nothing stored) and signs an MCN contract with an ROI
guarantee with an agency; both appear in the lists and through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from livepledge.web import console
from tests.conftest import lp_env, seed_demo
from tests.e2e.test_console_browser import DEVICES, patient_expect, shot  # noqa: F401
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_merchant_makes_agreements_and_contracts_with_partners(
        browser, tmp_path, server_factory, device) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    from livepledge.demo import MERCHANT_PASSWORD

    if not (console.DIST / "index.html").is_file():
        pytest.fail("the console is not built: run ./dev setup (frontend/, docs/console.md)")
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=1, stock=5)
    base = server_factory(env).base_url
    shop_id, sid = int(demo["shop_id"]), int(demo["session_id"])  # type: ignore[call-overload]
    merchant_api = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['merchant_token']}"})
    me = merchant_api.get("/api/v1/me").json()
    anchor = next(m for m in merchant_api.get(f"/api/v1/shops/{shop_id}/members").json()
                  if m["role"] == "anchor")
    agency = httpx.post(f"{base}/api/v1/users", json={
        "login": "mcn.xingyao", "password": "mcn-agency-pass-2026", "display_name": "星耀MCN",
        "role": "agency"})
    assert agency.status_code == 201, agency.text

    context = browser.new_context(**DEVICES[device], timezone_id="Asia/Shanghai", locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, me["login"], MERCHANT_PASSWORD, "/console/partners")
    expect(page.get_by_text("暂无合作协议")).to_be_visible()

    # a buyer's login is no partner: refused inline, nothing stored
    page.get_by_test_id("agreement-new").click()
    dialog = page.get_by_test_id("agreement-dialog")
    page.get_by_test_id("agreement-login").fill(demo_buyer_login(merchant_api, base, demo))
    page.get_by_test_id("agreement-save").click()
    expect(page.get_by_test_id("agreement-error")).to_have_text("找不到该主播或 MCN 机构")
    assert merchant_api.get(f"/api/v1/shops/{shop_id}/agreements").json() == []

    # the anchor, for this session: 8 % and a ¥200 slot fee
    page.get_by_test_id("agreement-login").fill(anchor["login"])
    page.get_by_test_id("agreement-session").click()
    page.get_by_role("option").filter(has_text=f"#{sid} ").click()
    rate = page.get_by_test_id("agreement-rate").locator("input")
    rate.fill("8")
    rate.press("Tab")
    page.get_by_test_id("agreement-slot-fee").fill("200")
    page.get_by_test_id("agreement-save").click()
    expect(dialog).to_be_hidden()
    listing = page.get_by_test_id("agreement-cards" if device == "phone" else "agreement-table")
    expect(listing).to_contain_text("主播小楠")
    expect(listing).to_contain_text("8.00%")
    expect(listing).to_contain_text("¥200.00")
    made = merchant_api.get(f"/api/v1/shops/{shop_id}/agreements").json()
    assert [(a["party_id"], a["session_id"], a["commission_bp"], a["slot_fee"]) for a in made] \
        == [(anchor["user_id"], sid, 800, 20000)]

    # an MCN contract: ¥500 fee, 3× guaranteed, over the next week
    page.get_by_test_id("contract-new").click()
    page.get_by_test_id("contract-login").fill("mcn.xingyao")
    start = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).replace(microsecond=0)
    end = start + timedelta(days=7)
    inputs = page.get_by_test_id("contract-dialog").locator(".el-range-input")
    for n, moment in enumerate((start, end)):
        inputs.nth(n).fill(moment.strftime("%Y-%m-%d %H:%M:%S"))
        inputs.nth(n).press("Enter")
    page.get_by_test_id("contract-fee").fill("500")
    page.get_by_test_id("contract-save").click()
    expect(page.get_by_test_id("contract-dialog")).to_be_hidden()
    table = page.get_by_test_id("contract-table")
    expect(table).to_contain_text("¥500.00")
    expect(table).to_contain_text("3.00×")
    expect(table).to_contain_text("托管中")
    contracts = merchant_api.get(f"/api/v1/shops/{shop_id}/mcn-contracts").json()
    assert [(c["agency_id"], c["fee"], c["guaranteed_roi_bp"], c["status"]) for c in contracts] \
        == [(agency.json()["user_id"], 50000, 30000, "funded")]
    got = datetime.fromisoformat(contracts[0]["ends_at"]) - datetime.fromisoformat(
        contracts[0]["starts_at"])
    assert got == timedelta(days=7)
    shot(page, f"console-partners-{device}")
    assert errors == []
    context.close()


def demo_buyer_login(merchant_api: httpx.Client, base: str, demo: dict) -> str:  # type: ignore[type-arg]
    buyer = httpx.get(f"{base}/api/v1/me", headers={
        "Authorization": f"Bearer {demo['buyer_tokens'][0]}"})
    return str(buyer.json()["login"])
