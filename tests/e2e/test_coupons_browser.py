"""In a real browser: a viewer grabs a red packet and claims a coupon in the live room (领券),
then pays an order with the coupon at checkout, which shows the discount and the amount due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.api.world import ADDRESS
from tests.conftest import lp_env, seed_demo
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_viewer_claims_in_the_room_and_pays_with_the_coupon(browser, tmp_path,  # noqa: F811
                                                              server_factory) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=0, stock=5)
    base = server_factory(env).base_url
    sid, item = demo["session_id"], demo["item_id"]
    merchant = {"Authorization": f"Bearer {demo['merchant_token']}"}
    now = datetime.now(UTC)
    coupon = httpx.post(f"{base}/api/v1/shops/{demo['shop_id']}/coupons", headers=merchant, json={
        "title": "直播间专享", "kind": "no_threshold", "amount_off": 300, "budget": 50,
        "session_id": sid, "claim_starts_at": (now - timedelta(minutes=1)).isoformat(),
        "claim_ends_at": (now + timedelta(hours=1)).isoformat(), "valid_days": 3})
    assert coupon.status_code == 201, coupon.text
    packet = httpx.post(f"{base}/api/v1/sessions/{sid}/red-packets", headers={
        **merchant, "Idempotency-Key": "rp-1"}, json={"total_amount": 300, "shares": 3,
                                                      "split": "even"})
    assert packet.status_code == 201, packet.text
    password = "violet-teapot-harbour"
    created = httpx.post(f"{base}/api/v1/users", json={
        "login": "couponfan", "password": password, "display_name": "券粉"})
    token = created.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{base}/api/v1/me/addresses", headers=bearer,
                      json=ADDRESS).status_code == 201

    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, "couponfan", password, f"/live/{sid}")

    # the room offers the coupon; the viewer claims it from the sheet
    expect(page.get_by_test_id("coupons-open")).to_be_visible()
    page.get_by_test_id("coupons-open").click()
    expect(page.get_by_test_id("red-packet")).to_contain_text("¥3.00 共 3 份")
    page.get_by_test_id("red-packet-grab").click()
    expect(page.get_by_test_id("red-packet-grab")).to_have_text("抢到 ¥1.00")
    expect(page.get_by_test_id("red-packet")).to_contain_text("剩 2 份")
    expect(page.get_by_test_id("coupon-item")).to_contain_text("无门槛 减 ¥3.00")
    expect(page.get_by_test_id("coupon-item")).to_contain_text("剩 50 张")
    page.get_by_test_id("coupon-claim").click()
    expect(page.get_by_test_id("coupon-item")).to_contain_text("剩 49 张")
    expect(page.get_by_test_id("coupon-claim")).to_be_disabled()
    expect(page.get_by_test_id("coupon-claim")).to_have_text("已领 1 张")

    # an order of ¥99.00 at checkout: the coupon is chosen and the amount due is ¥96.00
    order = httpx.post(f"{base}/api/v1/sessions/{sid}/lineup/{item}/orders",
                       json={"quantity": 1}, headers={**bearer, "Idempotency-Key": "c-1"}).json()
    page.goto(f"{base}/checkout/{order['id']}")
    expect(page.get_by_test_id("coupon-choice")).to_contain_text("直播间专享")
    expect(page.get_by_test_id("amount-discount")).to_have_text("优惠 −¥3.00")
    due = order["amount"] - 300
    expect(page.locator("#amount-due")).to_have_text(f"¥{due // 100}.{due % 100:02d}")
    page.click("#pay-now")
    expect(page.locator("#checkout-state")).to_contain_text("支付成功")
    paid = httpx.get(f"{base}/api/v1/orders/{order['id']}", headers=bearer).json()
    assert (paid["status"], paid["paid_amount"], paid["coupon_discount"]) == ("paid", due, 300)
    assert errors == []
