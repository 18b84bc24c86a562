"""In a real browser: a buyer without an address adds one at checkout, pays, and follows the
order's timeline; the address book; the merchant's packing slip. Screenshots of each page at a
phone and a desktop viewport are saved (LIVEPLEDGE_SCREENSHOTS, default build/screenshots)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.conftest import lp_env, seed_demo
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(os.environ.get("LIVEPLEDGE_SCREENSHOTS",
                            Path(__file__).resolve().parents[2] / "build" / "screenshots"))
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_checkout_with_a_new_address_then_the_timeline(browser, tmp_path, server_factory,  # noqa: F811
                                                       device) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=0, stock=5)
    base = server_factory(env).base_url
    sid, item = demo["session_id"], demo["item_id"]
    password = "violet-teapot-harbour"
    created = httpx.post(f"{base}/api/v1/users", json={
        "login": "newbuyer", "password": password, "display_name": "新买家"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    order = httpx.post(f"{base}/api/v1/sessions/{sid}/lineup/{item}/orders",
                       json={"quantity": 1}, headers={"Authorization": f"Bearer {token}",
                                                      "Idempotency-Key": "checkout-1"}).json()
    context = browser.new_context(**(PHONE if device == "phone" else DESKTOP))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, "newbuyer", password, f"/checkout/{order['id']}")

    # no address yet: the form is open and paying is not possible
    expect(page.get_by_test_id("address-form")).to_be_visible()
    expect(page.locator("#pay-now")).to_be_disabled()
    expect(page.locator("#pay-deadline")).to_contain_text("内完成支付")
    form = page.get_by_test_id("address-form")
    form.locator("[name=recipient]").fill("王小明")
    form.locator("[name=phone]").fill("1380013")  # too short: said beside the field
    form.locator("[name=province]").select_option("江苏省")
    form.locator("[name=city]").fill("南京市")
    form.locator("[name=district]").fill("玄武区")
    form.locator("[name=detail]").fill("中山路 18 号 5 楼")
    form.locator("button[type=submit]").click()
    expect(form.locator("[data-field=phone]")).not_to_be_empty()
    form.locator("[name=phone]").fill("13912345678")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("address")).to_have_count(1)
    expect(page.get_by_test_id("address")).to_contain_text("江苏省 南京市 玄武区 中山路 18 号 5 楼")
    expect(page.locator("#pay-now")).to_be_enabled()
    shot(page, f"checkout-{device}")

    page.click("#pay-now")
    expect(page.locator("#checkout-state")).to_contain_text("支付成功")
    page.click("#checkout-state a")
    page.wait_for_url(f"**/orders/{order['id']}")
    expect(page.locator("#timeline li")).to_have_count(2)
    expect(page.locator("#timeline li").nth(1)).to_contain_text("已支付 · ¥")
    expect(page.locator("#order-status")).to_have_text("已支付")
    expect(page.locator("#order-address")).to_contain_text("13912345678")
    shot(page, f"order-detail-{device}")

    page.goto(f"{base}/addresses")
    expect(page.get_by_test_id("address")).to_contain_text("默认")
    shot(page, f"addresses-{device}")

    # the merchant ships from the packing slip's data; the buyer sees it on the timeline
    merchant = {"Authorization": f"Bearer {demo['merchant_token']}"}
    staff_view = httpx.get(f"{base}/api/v1/orders/{order['id']}", headers=merchant).json()
    assert staff_view["shipping_address"]["phone"] == "139****5678"
    shipped = httpx.post(f"{base}/api/v1/orders/{order['id']}/ship", headers=merchant,
                         json={"carrier": "顺丰速运", "tracking_number": "SF1234567890"})
    assert shipped.status_code == 200
    page.goto(f"{base}/orders/{order['id']}")
    expect(page.locator("#timeline li")).to_have_count(3)
    expect(page.locator("#timeline")).to_contain_text("顺丰速运 SF1234567890")
    page.get_by_role("button", name="确认收货").click()
    page.get_by_test_id("confirm").get_by_role("button", name="确定").click()
    expect(page.locator("#order-status")).to_have_text("已收货")
    expect(page.locator("#timeline li")).to_have_count(4)
    assert errors == []
    context.close()


def test_the_packing_slip_prints_the_whole_address(browser, tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    from livepledge.demo import MERCHANT_PASSWORD

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=1, stock=5)
    base = server_factory(env).base_url
    buyer = {"Authorization": f"Bearer {demo['buyer_tokens'][0]}", "Idempotency-Key": "slip-1"}
    order = httpx.post(f"{base}/api/v1/sessions/{demo['session_id']}/lineup/"
                       f"{demo['item_id']}/orders", json={"quantity": 1}, headers=buyer).json()
    assert httpx.post(f"{base}/api/v1/orders/{order['id']}/pay",
                      headers=buyer).status_code == 200
    merchant = httpx.get(f"{base}/api/v1/me", headers={
        "Authorization": f"Bearer {demo['merchant_token']}"}).json()
    page = browser.new_context(**DESKTOP).new_page()
    login(page, base, merchant["login"], MERCHANT_PASSWORD, f"/orders/{order['id']}/slip")
    slip = page.get_by_test_id("packing-slip")
    expect(slip).to_contain_text(str(order["id"]))
    expect(slip).to_contain_text("浙江省 杭州市 西湖区 文三路 100 号")
    expect(slip).not_to_contain_text("****")
    expect(slip).to_contain_text("云南古树红茶")
    shot(page, "packing-slip-desktop")
