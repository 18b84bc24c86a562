"""In a real browser: the buyer sees the shop's promises before paying and frozen in the
order; chooses a cooling-off period and cancels with one tap for a full refund; and, after the
shop drops its price, finds the price-protection refund on the order page and in the notice
inbox without asking anyone. Screenshots at a phone and a desktop viewport."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import lp_env, seed_demo
from tests.e2e.test_checkout_browser import DESKTOP, PHONE, shot
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ADDRESS = {"recipient": "王小明", "phone": "13912345678", "province": "江苏省", "city": "南京市",
           "district": "玄武区", "detail": "中山路 18 号 5 楼"}


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_promises_cooling_off_and_price_protection(browser, tmp_path, server_factory,  # noqa: F811
                                                   device) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}",
                 LIVEPLEDGE_CONSUMER_POLL_SECONDS="0.2")
    demo = seed_demo(env, buyers=0, stock=5)
    base = server_factory(env).base_url
    merchant = {"Authorization": f"Bearer {demo['merchant_token']}"}
    shop, sid, item = demo["shop_id"], demo["session_id"], demo["item_id"]
    for kind, terms in (("price_protection", {"days": 30}), ("shipping_deadline", {"hours": 48})):
        declared = httpx.post(f"{base}/api/v1/shops/{shop}/promises", headers=merchant,
                              json={"kind": kind, "terms": terms, "scope": {"type": "shop"}})
        assert declared.status_code == 201, declared.text
    password = "violet-teapot-harbour"
    token = httpx.post(f"{base}/api/v1/users", json={
        "login": "pbuyer", "password": password, "display_name": "买家"}).json()["token"]
    buyer = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{base}/api/v1/me/addresses", headers=buyer,
                      json=ADDRESS).status_code == 201
    def place(key: str) -> dict:  # type: ignore[type-arg]
        placed = httpx.post(f"{base}/api/v1/sessions/{sid}/lineup/{item}/orders",
                            json={"quantity": 1}, headers={**buyer, "Idempotency-Key": key})
        assert placed.status_code == 201, placed.text
        return placed.json()  # type: ignore[no-any-return]

    orders = [place("p-1")]
    context = browser.new_context(**(PHONE if device == "phone" else DESKTOP))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, "pbuyer", password, f"/checkout/{orders[0]['id']}")

    promises = page.get_by_test_id("promises")
    expect(promises.locator(".promise-badge")).to_have_text(["30天保价", "48小时发货"])
    expect(promises).to_contain_text("自动退还差价")
    page.get_by_test_id("cooling-off").select_option("10")
    shot(page, f"checkout-promises-{device}")
    page.click("#pay-now")
    expect(page.locator("#checkout-state")).to_contain_text("支付成功")
    page.goto(f"{base}/orders/{orders[0]['id']}")
    expect(page.get_by_test_id("cooling")).to_contain_text("冷静期至")
    expect(page.get_by_test_id("promises")).to_contain_text("30天保价")
    expect(page.locator("#order-promises")).to_contain_text("下单时锁定，之后不会改变")
    page.get_by_role("button", name="冷静期内取消（全额退款）").click()
    page.get_by_role("button", name="确定").click()
    expect(page.locator("#order-status")).to_have_text("已取消")
    expect(page.get_by_test_id("refunds")).to_contain_text("取消退款")
    expect(page.get_by_test_id("refunds")).to_contain_text("¥99.00")

    # The second order (the limit is 1 each: the first was cancelled), paid without
    # cooling-off; then the shop lowers its list price.
    orders.append(place("p-2"))
    paid = httpx.post(f"{base}/api/v1/orders/{orders[1]['id']}/pay", headers=buyer,
                      json={"cooling_off_minutes": 0})
    assert paid.status_code == 200, paid.text
    sku = httpx.get(f"{base}/api/v1/sessions/{sid}").json()["lineup"][0]["sku_id"]
    assert httpx.patch(f"{base}/api/v1/skus/{sku}", headers=merchant,
                       json={"price": 9000}).status_code == 200
    page.goto(f"{base}/notices")
    # The refund is pushed by the platform; the inbox shows it without a reload.
    expect(page.get_by_test_id("notices")).to_contain_text("保价退款 ¥9.00", timeout=20_000)
    shot(page, f"notices-{device}")
    page.goto(f"{base}/orders/{orders[1]['id']}")
    expect(page.get_by_test_id("refunds")).to_contain_text("保价退款")
    expect(page.get_by_test_id("refunds")).to_contain_text("¥9.00")
    shot(page, f"order-promises-{device}")
    context.close()
    assert errors == []
