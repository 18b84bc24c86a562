"""In a real browser, at a phone and a desktop viewport: the merchant console (the single-page
app at /console/). The merchant logs in, uploads a picture, schedules a session for a set time,
pins an item on the control desk and ships an order found by search from the order list. Every
step is checked through the API too. A screenshot of each console page is saved
(LIVEPLEDGE_SCREENSHOTS, default build/screenshots; `./dev screenshots`, docs/screenshots.md)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import httpx
import pytest

from livepledge.web import console
from tests.conftest import lp_env, seed_demo
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(os.environ.get("LIVEPLEDGE_SCREENSHOTS",
                            Path(__file__).resolve().parents[2] / "build" / "screenshots"))
DEVICES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
              "device_scale_factor": 2},
    "desktop": {"viewport": {"width": 1440, "height": 900}},
}


@pytest.fixture(autouse=True)
def patient_expect():  # type: ignore[no-untyped-def]
    """The machine running the tests may be loaded: give the browser 20 s for each check."""
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    expect(page.locator(".el-loading-mask")).to_have_count(0)  # nothing still loading
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def png_bytes() -> bytes:
    from PIL import Image

    picture = Image.new("RGB", (640, 480), (200, 40, 60))
    for x in range(0, 640, 40):
        for y in range(0, 480, 40):
            if (x + y) // 40 % 2:
                picture.paste((250, 220, 120), (x, y, x + 40, y + 40))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_merchant_runs_the_shop_from_the_console(browser, tmp_path, server_factory,  # noqa: F811
                                                 device) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from livepledge.demo import MERCHANT_PASSWORD

    if not (console.DIST / "index.html").is_file():
        pytest.fail("the console is not built: run ./dev setup (frontend/, docs/console.md)")
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}",
                 LIVEPLEDGE_MEDIA_DIR=str(tmp_path / "media"))
    demo = seed_demo(env, buyers=2, stock=5)
    base = server_factory(env).base_url
    sid = int(demo["session_id"])  # type: ignore[call-overload]
    merchant_api = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['merchant_token']}"})
    merchant = merchant_api.get("/api/v1/me").json()
    session = merchant_api.get(f"/api/v1/sessions/{sid}").json()
    tea, shirt = session["lineup"]
    assert session["pinned_item_id"] == tea["id"]
    # two paid orders from two buyers: the search must find the shirt buyer's one only
    buyers = []
    for index, (token, item) in enumerate(zip(demo["buyer_tokens"], (tea, shirt), strict=True)):  # type: ignore[call-overload]
        buyer = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
        order = buyer.post(f"/api/v1/sessions/{sid}/lineup/{item['id']}/orders", json={
            "quantity": 1}, headers={"Idempotency-Key": f"console-e2e-{index}"})
        assert order.status_code == 201, order.text
        # the tea buyer chose a 30-minute cooling-off period (冷静期): not to be shipped yet
        paid = buyer.post(f"/api/v1/orders/{order.json()['id']}/pay",
                          json={"cooling_off_minutes": 30 if index == 0 else 0})
        assert paid.status_code == 200, paid.text
        buyers.append((buyer.get("/api/v1/me").json(), paid.json()))
    (shirt_buyer, shirt_order) = buyers[1]

    context = browser.new_context(**DEVICES[device], timezone_id="Asia/Shanghai", locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text else None)

    # log in, land on the console's overview (the old /console URL: test_login_browser.py)
    login(page, base, merchant["login"], MERCHANT_PASSWORD, "/console/overview")
    expect(page.get_by_test_id("shop-name")).to_have_text("星河优选旗舰店")
    expect(page.get_by_test_id("stat-gross")).to_have_text("¥138.00")  # 99 + 39 paid
    expect(page.get_by_test_id("chart")).to_have_count(1)  # sales by day (no viewer data yet)
    shot(page, f"console-overview-{device}")

    # products: upload a picture to the tea
    page.goto(f"{base}/console/products")
    rows = page.get_by_test_id("product-table").locator(".el-table__body-wrapper tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("食品")  # the category as a word, never "food"
    expect(rows.nth(0)).to_contain_text("已发布")
    rows.nth(0).get_by_test_id("edit-product").click()
    editor = page.get_by_test_id("product-editor")
    expect(page.get_by_test_id("product-title")).to_have_value("云南古树红茶 250g 礼盒")
    upload = tmp_path / "tea.png"
    upload.write_bytes(png_bytes())
    page.locator("[data-testid=image-upload] input[type=file]").set_input_files(str(upload))
    expect(page.get_by_test_id("image-list").get_by_test_id("image")).to_have_count(1)
    images = merchant_api.get(f"/api/v1/products/{tea['product_id']}").json()["images"]
    assert len(images) == 1
    expect(rows.nth(0).get_by_test_id("product-cover")).to_have_attribute(
        "src", images[0]["thumb_url"])
    # an invalid edit is refused inline, and nothing changes
    page.get_by_test_id("product-title").fill("")
    page.get_by_test_id("product-save").click()
    expect(editor.locator(".el-form-item__error").first).to_contain_text("标题须为 1–120 个字符")
    assert merchant_api.get(f"/api/v1/products/{tea['product_id']}").json()["title"] == \
        "云南古树红茶 250g 礼盒"
    shot(page, f"console-product-editor-{device}")
    page.keyboard.press("Escape")
    expect(editor).to_be_hidden()
    shot(page, f"console-products-{device}")

    # live: schedule a session for a set time with the date-time picker
    page.goto(f"{base}/console/live")
    page.get_by_test_id("schedule-session").click()
    dialog = page.get_by_test_id("schedule-dialog")
    page.get_by_test_id("session-title").fill("周五晚八点 · 新茶上市")
    picker = dialog.locator("input[placeholder='选择日期时间']")
    picker.fill("2027-01-08 20:00")
    picker.press("Enter")
    dialog.locator(".el-dialog__title").click()
    page.get_by_test_id("schedule-confirm").click()
    expect(dialog).to_be_hidden()
    sessions = page.get_by_test_id("session-table")
    expect(sessions).to_contain_text("周五晚八点 · 新茶上市")
    expect(sessions).to_contain_text("2027/01/08 20:00")
    expect(sessions).to_contain_text("未开播")
    created = [s for s in merchant_api.get(f"/api/v1/shops/{demo['shop_id']}/sessions").json()
               if s["title"] == "周五晚八点 · 新茶上市"]
    assert len(created) == 1
    assert created[0]["status"] == "scheduled"
    assert created[0]["scheduled_at"].startswith("2027-01-08T12:00:00")  # 20:00 in Shanghai
    shot(page, f"console-live-{device}")

    # the control desk of the running session: pin the shirt instead of the tea
    page.goto(f"{base}/console/live/{sid}")
    expect(page.get_by_test_id("desk-status")).to_have_text("直播中")
    lineup = page.get_by_test_id("lineup").locator(".el-table__body-wrapper tbody tr")
    expect(lineup).to_have_count(2)
    expect(lineup.nth(0)).to_contain_text("云南古树红茶")  # the pinned item first
    expect(lineup.nth(0).get_by_test_id("pinned-tag")).to_be_visible()
    expect(lineup.nth(0).get_by_test_id("stock-left")).to_have_text("4")
    expect(page.get_by_test_id("console-orders")).to_contain_text("待发货")
    lineup.nth(1).get_by_test_id("pin").click()
    expect(lineup.nth(0)).to_contain_text("纯棉短袖 T 恤")
    expect(lineup.nth(0).get_by_test_id("pinned-tag")).to_be_visible()
    expect(lineup.nth(1).get_by_test_id("pinned-tag")).to_have_count(0)
    assert merchant_api.get(f"/api/v1/sessions/{sid}").json()["pinned_item_id"] == shirt["id"]
    page.get_by_test_id("script-text").fill("全网最低价，今天只要 39 元")
    page.get_by_test_id("script-check").click()
    expect(page.get_by_test_id("script-result")).to_contain_text("全网最低价")
    expect(page.get_by_test_id("script-result")).to_contain_text("违规")
    shot(page, f"console-desk-{device}")

    # orders: search for the shirt buyer, ship the order
    page.goto(f"{base}/console/orders")
    # a table on a desktop, cards on a phone
    orders = page.get_by_test_id("order-cards" if device == "phone" else "order-table")
    table = (orders.get_by_test_id("order-row") if device == "phone"
             else orders.locator(".el-table__body-wrapper tbody tr"))
    expect(table).to_have_count(2)
    cooling = table.filter(has_text=f"#{buyers[0][1]['id']}")
    expect(cooling.get_by_test_id("cooling-tag")).to_have_text("冷静期")
    expect(cooling.get_by_test_id("ship")).to_be_disabled()
    expect(table.filter(has_text=f"#{shirt_order['id']}").get_by_test_id("cooling-tag")) \
        .to_have_count(0)
    page.get_by_test_id("order-search").fill(shirt_buyer["login"])
    page.get_by_test_id("order-search").press("Enter")
    expect(table).to_have_count(1)
    expect(table.nth(0)).to_contain_text(f"#{shirt_order['id']}")
    expect(table.nth(0)).to_contain_text("待发货")
    expect(page.get_by_test_id("order-pager")).to_contain_text("1")
    expect(page.get_by_test_id("csv-export")).to_have_attribute(
        "href", re.compile(r"/orders\.csv\?q="))
    table.nth(0).get_by_test_id("ship").click()
    ship = page.get_by_test_id("ship-dialog")
    page.get_by_test_id("ship-confirm").click()  # nothing filled in: refused inline
    expect(ship.locator(".el-form-item__error")).to_have_count(2)
    assert merchant_api.get(f"/api/v1/orders/{shirt_order['id']}").json()["status"] == "paid"
    ship.locator("[data-testid=carrier]").click()
    page.locator(".el-select-dropdown__item", has_text="顺丰速运").click()
    page.get_by_test_id("tracking").fill("SF1234567890")
    page.get_by_test_id("ship-confirm").click()
    expect(ship).to_be_hidden()
    expect(table.nth(0)).to_contain_text("已发货")
    expect(table.nth(0)).to_contain_text("SF1234567890")
    shipped = merchant_api.get(f"/api/v1/orders/{shirt_order['id']}").json()
    assert (shipped["status"], shipped["carrier"], shipped["tracking_number"]) == \
        ("shipped", "顺丰速运", "SF1234567890")
    tea_order = merchant_api.get(f"/api/v1/orders/{buyers[0][1]['id']}").json()
    assert tea_order["status"] == "paid"  # the other order was left alone
    page.get_by_test_id("order-search").fill("")
    page.get_by_test_id("order-search").press("Enter")
    expect(table).to_have_count(2)
    # cancel the tea order: "other" needs words, refused inline; then a reason from the list
    tea_row = table.filter(has_text=f"#{tea_order['id']}")
    tea_row.get_by_role("button", name="取消订单").click()
    cancel = page.get_by_test_id("cancel-dialog")
    cancel.get_by_text("其他", exact=True).click()
    page.get_by_test_id("cancel-confirm").click()
    expect(cancel.locator(".el-form-item__error")).to_have_text("选择“其他”须说明原因（4–300 字）")
    assert merchant_api.get(f"/api/v1/orders/{tea_order['id']}").json()["status"] == "paid"
    cancel.get_by_text("缺货", exact=True).click()
    page.get_by_test_id("cancel-confirm").click()
    expect(cancel).to_be_hidden()
    expect(tea_row).to_contain_text("已取消")
    assert merchant_api.get(f"/api/v1/orders/{tea_order['id']}").json()["status"] == "cancelled"
    shot(page, f"console-orders-{device}")

    # compliance and the audit report
    page.goto(f"{base}/console/compliance")
    page.get_by_test_id("compliance-text").fill("本品可以治疗失眠，国家级配方")
    page.get_by_test_id("compliance-check").click()
    expect(page.get_by_test_id("compliance-result").get_by_test_id("finding").first).to_be_visible()
    shot(page, f"console-compliance-{device}")
    page.goto(f"{base}/console/audit")
    expect(page.get_by_test_id("chart")).to_have_count(1)
    expect(page.get_by_test_id("audit-anchors")).to_contain_text("主播小楠")
    shot(page, f"console-audit-{device}")

    # English, from the library's own locale and ours
    page.get_by_test_id("lang-switch").click()
    page.goto(f"{base}/console/orders")
    expect(table.nth(0)).to_contain_text("Shipped")
    expect(orders).not_to_contain_text("已发货")
    shot(page, f"console-orders-en-{device}")
    assert errors == []
    context.close()
