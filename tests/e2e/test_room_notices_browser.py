"""In a real browser, at a phone viewport: the live room shows the buyer's notices about this
session's orders as they come — here the shop cancels a paid order, and the refund and the
compensation appear in the room without a reload; "知道了" marks them read."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import lp_env, seed_demo
from tests.e2e.test_console_browser import DEVICES, patient_expect, shot  # noqa: F401
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_room_shows_this_sessions_notices_live(browser, tmp_path,  # noqa: F811
                                                    server_factory) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from livepledge.demo import BUYER_PASSWORD

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=1, stock=5)
    base = server_factory(env).base_url
    sid = int(demo["session_id"])  # type: ignore[call-overload]
    merchant = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['merchant_token']}"})
    buyer = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['buyer_tokens'][0]}"})  # type: ignore[index]
    item = merchant.get(f"/api/v1/sessions/{sid}").json()["lineup"][0]
    order = buyer.post(f"/api/v1/sessions/{sid}/lineup/{item['id']}/orders",
                       json={"quantity": 1}, headers={"Idempotency-Key": "notice-0001"}).json()
    assert buyer.post(f"/api/v1/orders/{order['id']}/pay",
                      json={"cooling_off_minutes": 0}).status_code == 200

    context = browser.new_context(**DEVICES["phone"], timezone_id="Asia/Shanghai",
                                  locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, buyer.get("/api/v1/me").json()["login"], BUYER_PASSWORD, f"/live/{sid}")
    expect(page.get_by_test_id("order-result")).to_be_visible()
    expect(page.get_by_test_id("room-notices")).to_be_hidden()

    cancelled = merchant.post(f"/api/v1/orders/{order['id']}/cancel",
                              json={"reason_code": "out_of_stock"})
    assert cancelled.status_code == 200, cancelled.text
    notices = page.get_by_test_id("room-notices")
    expect(notices).to_be_visible()  # no reload: the room looks every few seconds
    expect(notices).to_contain_text("¥99.00")
    unread = buyer.get(f"/api/v1/me/notices?session_id={sid}&unread_only=true").json()
    assert unread["notices"] and all(n["session_id"] == sid for n in unread["notices"])
    shot(page, "room-notices-phone")
    page.get_by_test_id("room-notices-ok").click()
    expect(notices).to_be_hidden()
    left = buyer.get(f"/api/v1/me/notices?session_id={sid}&unread_only=true").json()
    assert left["notices"] == []
    page.reload()
    expect(page.get_by_test_id("order-result")).to_be_visible()
    expect(notices).to_be_hidden()  # read: not shown again
    assert errors == []
    context.close()


def test_the_room_strikes_through_only_a_price_really_paid(browser, tmp_path,  # noqa: F811
                                                           server_factory) -> None:  # type: ignore[no-untyped-def]
    """The card's 划线价 is the lowest price paid in 7 days, shown only above the live price; the
    shop's list price is labelled as such and never struck through (docs/promises.md)."""
    from playwright.sync_api import expect

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=1, stock=5)
    base = server_factory(env).base_url
    sid = int(demo["session_id"])  # type: ignore[call-overload]
    merchant = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['merchant_token']}"})
    buyer = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['buyer_tokens'][0]}"})  # type: ignore[index]
    item = merchant.get(f"/api/v1/sessions/{sid}").json()["lineup"][0]
    context = browser.new_context(**DEVICES["phone"], locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/live/{sid}")
    card = page.get_by_test_id("card")
    expect(card).to_contain_text("店铺标价 ¥129.00")
    expect(page.get_by_test_id("card-ref")).to_be_hidden()  # nothing paid yet: no 划线价
    assert card.locator("s").filter(has_text="129.00").count() == 0

    order = buyer.post(f"/api/v1/sessions/{sid}/lineup/{item['id']}/orders",
                       json={"quantity": 1}, headers={"Idempotency-Key": "ref-0001"}).json()
    assert buyer.post(f"/api/v1/orders/{order['id']}/pay",
                      json={"cooling_off_minutes": 0}).status_code == 200
    dropped = merchant.patch(f"/api/v1/sessions/{sid}/lineup/{item['id']}",
                             json={"live_price": 8900})
    assert dropped.status_code == 200, dropped.text
    ref = page.get_by_test_id("card-ref")
    expect(ref).to_be_visible()  # pushed to the room: the new price is below one really paid
    expect(ref).to_contain_text("¥99.00")
    expect(ref).to_contain_text("前7日最低成交价")
    expect(card).to_contain_text("¥89.00")
    shot(page, "room-reference-price-phone")
    context.close()
