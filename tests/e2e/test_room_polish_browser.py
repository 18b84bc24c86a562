"""In a real browser, at a phone and a desktop viewport: the live room's product bag (buy from
it, the per-buyer limit reached), pictures on the card, cancellations and refunds in the order
strip, held chat told with its reason, the rate limit's real wait, the ended room (what was
sold, the replay), English without Chinese leftovers, and 预约 on the shop's upcoming-lives page
turning into a reminder when the session goes live. Screenshots go to build/screenshots."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import lp_env, seed_demo
from tests.e2e.test_checkout_browser import DESKTOP, PHONE, shot
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _picture(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 640), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((140, 140, 500, 500), fill=(255, 245, 230))
    draw.rectangle((260, 60, 380, 160), fill=(120, 60, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


class Shop:
    """The demo shop, its live session with two lineup items (pictures uploaded), and a buyer."""

    def __init__(self, tmp_path, server_factory, **env: str) -> None:  # type: ignore[no-untyped-def]
        self.env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}", **env)
        self.demo = seed_demo(self.env, buyers=1, stock=5)
        self.base = server_factory(self.env).base_url
        self.sid = self.demo["session_id"]
        self.merchant = _bearer(self.demo["merchant_token"])
        self.buyer = _bearer(self.demo["buyer_tokens"][0])
        me = httpx.get(f"{self.base}/api/v1/me", headers=self.buyer).json()
        self.buyer_login, self.buyer_display = me["login"], me["display_name"]
        session = httpx.get(f"{self.base}/api/v1/sessions/{self.sid}").json()
        self.shop_id = session["shop"]["id"]
        self.anchor_id = session["anchor"]["id"]
        self.lineup = session["lineup"]  # tea (limit 1, pinned), then the T-shirt (limit 2)

    def upload_pictures(self) -> None:
        for item, colour in zip(self.lineup, [(150, 40, 30), (40, 90, 160)], strict=True):
            response = httpx.post(f"{self.base}/api/v1/products/{item['product_id']}/images",
                                  headers=self.merchant,
                                  files={"file": ("p.jpg", _picture(colour), "image/jpeg")})
            assert response.status_code == 201, response.text

    def open_room(self, chromium, device: str,  # type: ignore[no-untyped-def]
                  path: str | None = None):
        from livepledge.demo import BUYER_PASSWORD

        context = chromium.new_context(**(PHONE if device == "phone" else DESKTOP))
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, self.base, self.buyer_login, BUYER_PASSWORD, path or f"/live/{self.sid}")
        return page, errors


def _until_notice(shop: Shop) -> None:
    """Wait (bounded) for the buyer's go-live notice to be in the inbox."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        inbox = httpx.get(f"{shop.base}/api/v1/me/notices", headers=shop.buyer).json()
        if any(n["kind"] == "session_live" for n in inbox["notices"]):
            return
        time.sleep(0.2)
    pytest.fail("no go-live notice within 30 s")


def _open_bag(page, device: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    if device == "phone":
        expect(page.get_by_test_id("bag")).to_be_hidden()  # a sheet, opened from the bottom bar
        page.locator("[data-testid=bag-open]:visible").click()
    expect(page.get_by_test_id("bag")).to_be_visible()


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_buy_from_the_bag_to_the_limit_then_cancellation_refund_and_the_ended_room(
        browser, tmp_path, server_factory, device) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    shop = Shop(tmp_path, server_factory)
    shop.upload_pictures()
    tea, tee = shop.lineup
    page, errors = shop.open_room(browser, device)

    # the pinned card shows the product's picture
    expect(page.locator("#card-img")).to_be_visible()
    expect(page.locator("#card-img")).to_have_attribute("src", re.compile(r"^/media/"))
    expect(page.get_by_test_id("status")).to_have_text("直播中")

    _open_bag(page, device)
    items = page.get_by_test_id("bag-item")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("讲解中")  # the pinned item on top
    expect(items.nth(0)).to_contain_text("云南古树红茶")
    expect(items.nth(1)).to_contain_text("纯棉短袖 T 恤")
    expect(items.nth(1)).to_contain_text("每人限购 2 件")
    expect(items.nth(1).locator("img")).to_have_attribute("src", re.compile(r"^/media/"))

    # buy two T-shirts from the bag: the stepper stops at the limit
    items.nth(1).get_by_test_id("bag-buy").click()
    sheet = page.get_by_test_id("buy-sheet")
    expect(sheet).to_be_visible()
    expect(page.locator("#sheet-less")).to_be_disabled()
    page.click("#sheet-more")
    expect(page.locator("#sheet-qty")).to_have_value("2")
    expect(page.locator("#sheet-more")).to_be_disabled()
    page.get_by_test_id("sheet-buy").click()
    expect(sheet).to_be_hidden()
    strip = page.get_by_test_id("order-result")
    expect(strip).to_contain_text("纯棉短袖 T 恤 ×2 ¥78.00 · 待支付")
    if device == "phone":
        page.locator("[data-testid=bag-open]:visible").click()
    bag_tee = page.get_by_test_id("bag-item").nth(1)
    expect(bag_tee.get_by_test_id("bag-buy")).to_have_text("已达限购")
    expect(bag_tee.get_by_test_id("bag-buy")).to_be_disabled()
    expect(bag_tee).to_contain_text("已买 2 件")
    expect(bag_tee).to_contain_text("剩 98 件")
    if device == "phone":
        page.click("#bag-close")

    # the pinned tea (limit 1): buy one, then the card says the limit is reached
    page.get_by_test_id("buy").click()
    expect(strip).to_contain_text("云南古树红茶 250g 礼盒 ×1 ¥99.00 · 待支付")
    expect(page.get_by_test_id("buy")).to_have_text("已达限购")
    expect(page.get_by_test_id("buy")).to_be_disabled()
    expect(page.get_by_test_id("stock")).to_have_text("4")
    shot(page, f"room-{device}")

    # the shop cancels the paid tea order: the strip says so, with the refund, as it happens
    tea_order = httpx.get(f"{shop.base}/api/v1/sessions/{shop.sid}/my-orders",
                          headers=shop.buyer).json()[0]
    assert tea_order["lineup_item_id"] == tea["id"]
    paid = httpx.post(f"{shop.base}/api/v1/orders/{tea_order['id']}/pay", headers=shop.buyer,
                      json={})
    assert paid.status_code == 200, paid.text
    cancelled = httpx.post(f"{shop.base}/api/v1/orders/{tea_order['id']}/cancel",
                           headers=shop.merchant,
                           json={"reason_code": "out_of_stock", "reason": "仓库发现包装破损"})
    assert cancelled.status_code == 200, cancelled.text
    expect(strip).to_contain_text("云南古树红茶 250g 礼盒 ×1 ¥99.00 · 已取消")
    expect(strip).to_contain_text(
        "商家取消：缺货（仓库发现包装破损） · 已退款 ¥99.00 · 已赔付 ¥29.70")
    expect(page.get_by_test_id("stock")).to_have_text("5")
    expect(page.get_by_test_id("buy")).to_have_text("立即抢购")  # the limit is free again

    # pay the T-shirts, then the session ends: the room says so and shows what was sold
    tee_order = httpx.get(f"{shop.base}/api/v1/sessions/{shop.sid}/my-orders",
                          headers=shop.buyer).json()[1]
    assert tee_order["lineup_item_id"] == tee["id"]
    assert httpx.post(f"{shop.base}/api/v1/orders/{tee_order['id']}/pay", headers=shop.buyer,
                      json={}).status_code == 200
    ended = httpx.post(f"{shop.base}/api/v1/sessions/{shop.sid}/end", headers=shop.merchant)
    assert ended.status_code == 200, ended.text
    expect(page.get_by_test_id("ended")).to_contain_text("本场直播已结束")
    expect(page.get_by_test_id("sold-summary")).to_have_text("本场共售出 2 件 · 1 笔订单")
    expect(page.get_by_test_id("card")).to_be_hidden()
    expect(page.locator("#nocard")).to_be_hidden()
    expect(page.locator("#chat-form")).to_be_hidden()
    expect(page.get_by_test_id("status")).to_have_text("已结束")

    # a fresh visit of the ended room: no "nothing pinned", no chat box, what each item sold
    page.reload()
    expect(page.get_by_test_id("sold-summary")).to_have_text("本场共售出 2 件 · 1 笔订单")
    expect(page.locator("#nocard")).to_be_hidden()
    expect(page.locator("#chat-input")).to_be_hidden()
    expect(page.locator(".stage")).to_contain_text("本场没有回放")
    expect(page.locator(".viewers-stat")).to_be_hidden()
    shot(page, f"room-ended-{device}")
    _open_bag(page, device)
    expect(page.get_by_test_id("bag-item").nth(1)).to_contain_text("已售 2 件")
    expect(page.get_by_test_id("bag-item").nth(0)).to_contain_text("已售 0 件")
    expect(page.get_by_test_id("bag-buy")).to_have_count(0)
    assert "主播还未上链接" not in page.inner_text("body")
    shot(page, f"room-ended-bag-{device}")
    assert errors == []


def test_an_ended_session_with_a_stream_shows_its_replay(browser, tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    shop = Shop(tmp_path, server_factory)
    assert httpx.post(f"{shop.base}/api/v1/sessions/{shop.sid}/end",
                      headers=shop.merchant).status_code == 200
    created = httpx.post(f"{shop.base}/api/v1/shops/{shop.shop_id}/sessions", headers=shop.merchant,
                         json={"title": "回放测试", "anchor_id": shop.anchor_id,
                               "playback_url": f"{shop.base}/replay/index.m3u8",
                               "scheduled_at": datetime.now(UTC).isoformat()})
    assert created.status_code == 201, created.text
    replay = created.json()["id"]
    for action in ("start", "end"):
        assert httpx.post(f"{shop.base}/api/v1/sessions/{replay}/{action}",
                          headers=shop.merchant).status_code == 200
    page, _ = shop.open_room(browser, "phone", f"/live/{replay}")
    expect(page.get_by_test_id("ended")).to_contain_text("本场直播已结束")
    expect(page.get_by_test_id("video")).to_be_attached()
    expect(page.locator("#replay-tag")).to_have_text("回放")
    expect(page.locator("#replay-tag")).to_be_visible()
    expect(page.get_by_test_id("sold-summary")).to_have_text("本场没有成交")


def test_held_chat_is_told_with_its_reason_and_the_rate_limit_with_its_wait(
        browser, tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    # a long interval, so that the second message is certainly too soon
    shop = Shop(tmp_path, server_factory, LIVEPLEDGE_CHAT_MIN_INTERVAL_SECONDS="30")
    page, errors = shop.open_room(browser, "phone")
    expect(page.get_by_test_id("viewers")).to_have_text("1")
    page.fill("#chat-input", "想要的加我微信 tea12345 私聊便宜")
    page.press("#chat-input", "Enter")
    notice = page.get_by_test_id("chat-held")
    # the compliance check and the chat's batched write take a moment on a loaded machine
    expect(notice).to_contain_text("消息未发出：请勿发布站外联系方式或引导私下交易，平台内交易才有保障",
                                   timeout=20000)
    expect(notice).to_contain_text("「想要的加我微信 tea12345 私聊便宜」")
    assert " / " not in notice.inner_text()  # one language, not both
    page.fill("#chat-input", "主播好")
    page.press("#chat-input", "Enter")
    toast = page.locator("#toast")
    expect(toast).to_have_text(re.compile(r"^发言太快了，请 (1\d|2\d|30) 秒后再试$"), timeout=20000)
    expect(page.get_by_test_id("chat")).not_to_contain_text("主播好")
    shot(page, "room-held-chat-phone")
    assert errors == []


def test_the_room_in_english_has_no_chinese_interface_words(
        browser, tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    shop = Shop(tmp_path, server_factory)
    page, errors = shop.open_room(browser, "desktop", f"/live/{shop.sid}?lang=en")
    expect(page.get_by_test_id("status")).to_have_text("Live")
    expect(page.get_by_test_id("buy")).to_have_text("Buy now")
    expect(page.locator("#bag-title")).to_have_text("Products in this live (2)")
    page.get_by_test_id("buy").click()
    expect(page.get_by_test_id("order-result")).to_contain_text("· Awaiting payment")
    expect(page.get_by_test_id("buy")).to_have_text("Limit reached")
    # everything but the shop's own data (names, titles) is English
    text = page.inner_text("body").replace("中文", "")  # the language switch names its language
    for data in (shop.buyer_display, "星河优选旗舰店", "杭州星河优选电子商务有限公司",
                 "古树红茶专场 · 整点秒杀", "云南古树红茶 250g 礼盒", "250g 礼盒", "纯棉短袖 T 恤",
                 "白色 M"):
        text = text.replace(data, "")
    assert CJK.findall(text) == [], text
    assert "：" not in page.inner_text("body")
    assert errors == []


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_reserve_an_upcoming_live_then_its_going_live_is_a_reminder(
        browser, tmp_path, server_factory, device) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    shop = Shop(tmp_path, server_factory)
    shop.upload_pictures()
    # the demo's anchor is live: the new session has its own anchor
    anchor = httpx.post(f"{shop.base}/api/v1/users", json={
        "login": "anchor2", "password": "violet-teapot-harbour", "display_name": "主播阿杰",
        "role": "anchor"})
    assert anchor.status_code == 201, anchor.text
    assert httpx.post(f"{shop.base}/api/v1/shops/{shop.shop_id}/members", headers=shop.merchant,
                      json={"login": "anchor2", "role": "anchor"}).status_code == 201
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=12, minute=0, second=0,
                                                               microsecond=0)
    created = httpx.post(f"{shop.base}/api/v1/shops/{shop.shop_id}/sessions",
                         headers=shop.merchant,
                         json={"title": "明晚 8 点 · T 恤上新",
                               "anchor_id": anchor.json()["user_id"],
                               "scheduled_at": tomorrow.isoformat()})
    assert created.status_code == 201, created.text
    upcoming = created.json()["id"]
    tee = shop.lineup[1]
    added = httpx.post(f"{shop.base}/api/v1/sessions/{upcoming}/lineup", headers=shop.merchant,
                       json={"sku_id": tee["sku_id"], "live_price": 4900, "stock_allocated": 20,
                             "per_buyer_limit": 2, "sale_starts_at": tomorrow.isoformat(),
                             "sale_ends_at": (tomorrow + timedelta(hours=2)).isoformat()})
    assert added.status_code == 201, added.text

    page, errors = shop.open_room(browser, device, f"/shops/{shop.shop_id}/lives")
    live = page.get_by_test_id("live-list").get_by_test_id("life")
    expect(live).to_have_count(1)
    expect(live).to_contain_text("古树红茶专场")
    card = page.get_by_test_id("upcoming-list").get_by_test_id("life")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("明晚 8 点 · T 恤上新")
    expect(card).to_contain_text("20:00:00 开播")  # 12:00 UTC is 20:00 in Shanghai
    expect(card).to_contain_text("0 人已预约")
    expect(card.locator("img")).to_have_attribute("src", re.compile(r"^/media/"))
    card.get_by_test_id("reserve").click()
    expect(card.get_by_test_id("reserve")).to_have_text("已预约")
    expect(card).to_contain_text("1 人已预约")
    expect(page.get_by_test_id("notices")).to_be_hidden()
    shot(page, f"upcoming-{device}")

    started = httpx.post(f"{shop.base}/api/v1/sessions/{upcoming}/start", headers=shop.merchant)
    assert started.status_code == 200, started.text
    _until_notice(shop)  # the event consumer writes it in the background (~0.5 s)
    page.reload()
    notice = page.get_by_test_id("notice")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("你预约的「明晚 8 点 · T 恤上新」开播了 · 星河优选旗舰店")
    expect(notice).to_have_class(re.compile("unread"))
    shot(page, f"upcoming-notice-{device}")
    page.click("#notices-seen")
    expect(notice).to_have_class(re.compile("seen"))
    notice.get_by_role("link").click()
    page.wait_for_url(f"**/live/{upcoming}")
    expect(page.get_by_test_id("status")).to_have_text("直播中")
    assert errors == []
