"""In a real browser: a viewer enters the room's lottery (福袋) from its card, the window ends,
the server draws, the card says the viewer won and links the prize order, the viewer gives the
prize's address on the order page and finds the notice in the inbox, and the public
verification page says "已验证 / verified" and finds the viewer's own entry. Screenshots of the
room with the card and of the verification page, at a phone and a desktop viewport."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import lp_env, seed_demo
from tests.e2e.test_checkout_browser import DESKTOP, PHONE, shot
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ADDRESS = {"recipient": "王小明", "phone": "13912345678", "province": "江苏省", "city": "南京市",
           "district": "玄武区", "detail": "中山路 18 号 5 楼"}


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_a_viewer_enters_wins_gives_an_address_and_verifies_the_draw(
        browser, tmp_path, server_factory, device) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}",
                 LIVEPLEDGE_CONSUMER_POLL_SECONDS="0.2", LIVEPLEDGE_DEADLINE_POLL_SECONDS="0.2")
    demo = seed_demo(env, buyers=0, stock=5)
    base = server_factory(env).base_url
    sid = demo["session_id"]
    password = "violet-teapot-harbour"
    token = httpx.post(f"{base}/api/v1/users", json={
        "login": "luckybuyer", "password": password, "display_name": "幸运观众"}).json()["token"]
    buyer = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{base}/api/v1/me/addresses", headers=buyer,
                      json=ADDRESS).status_code == 201
    chat = httpx.post(f"{base}/api/v1/sessions/{sid}/chat", headers=buyer,
                      json={"text": "主播好，想要福袋"})
    assert chat.status_code == 201, chat.text
    sku = httpx.get(f"{base}/api/v1/sessions/{sid}").json()["lineup"][0]["sku_id"]

    context = browser.new_context(**(PHONE if device == "phone" else DESKTOP))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, "luckybuyer", password, f"/live/{sid}")

    # the shop starts a lottery while the viewer watches: the card appears by itself
    closes = datetime.now(UTC) + timedelta(seconds=20)
    created = httpx.post(f"{base}/api/v1/sessions/{sid}/lotteries",
                         headers={"Authorization": f"Bearer {demo['merchant_token']}"},
                         json={"title": "整点福袋：古树红茶", "sku_id": sku, "winners": 1,
                               "closes_at": closes.isoformat(),
                               "conditions": [{"type": "chat"}]})
    assert created.status_code == 201, created.text
    lottery = created.json()
    card = page.get_by_test_id("lottery")
    expect(card).to_be_visible(timeout=10_000)
    expect(card).to_contain_text("整点福袋：古树红茶")
    expect(card).to_contain_text("在直播间发过弹幕")
    expect(card).to_contain_text("1 人中奖")
    expect(page.get_by_test_id("lottery-countdown")).to_contain_text("后开奖")
    shot(page, f"room-lottery-{device}")

    page.get_by_test_id("lottery-enter").click()
    entered = page.get_by_test_id("lottery-entered")
    expect(entered).to_contain_text("已参与 · 你的参与码")
    expect(page.get_by_test_id("lottery-entries")).to_have_text("1 人已参与")
    expect(page.get_by_test_id("lottery-enter")).to_be_hidden()
    shot(page, f"room-lottery-entered-{device}")

    # the window ends, the server draws: the only entrant wins, and the card says so
    expect(page.get_by_test_id("lottery-won")).to_have_text("恭喜中奖！", timeout=40_000)
    expect(page.get_by_test_id("lottery-countdown")).to_have_text("已开奖")
    prize_link = page.get_by_test_id("lottery-prize-order")
    expect(prize_link).to_be_visible(timeout=15_000)
    shot(page, f"room-lottery-won-{device}")
    prize_link.click()
    page.wait_for_url("**/orders/*")
    expect(page.locator("#order-status")).to_have_text("已支付")
    page.get_by_role("button", name="填写收货地址").click()
    page.locator("#order-address").get_by_role("button", name="收货地址").click()
    expect(page.locator("#order-address")).to_contain_text("中山路 18 号 5 楼")

    page.goto(f"{base}/notices")
    expect(page.get_by_test_id("notices")).to_contain_text("恭喜中奖：整点福袋：古树红茶",
                                                            timeout=20_000)

    # the public verification page recomputes the draw; the card's link checks my entry
    page.goto(f"{base}/live/{sid}")
    page.get_by_test_id("lottery-verify").click()
    page.wait_for_url(f"**/lotteries/{lottery['id']}/verify?entrant=*")
    expect(page.get_by_test_id("verdict")).to_have_text("✓ 已验证 / verified")
    expect(page.get_by_test_id("verify-commitment")).to_have_text(lottery["commitment"])
    expect(page.get_by_test_id("verify-count")).to_have_text("1")
    expect(page.get_by_test_id("verify-mine")).to_contain_text("你的参与在名单第 1 位 · 中奖")
    shot(page, f"lottery-verify-{device}")

    # and in English
    page.goto(f"{base}/live/{sid}?lang=en")
    expect(page.get_by_test_id("lottery-won")).to_have_text("You won!")
    expect(page.get_by_test_id("lottery")).to_contain_text("sent a chat message in this room")
    expect(page.get_by_test_id("lottery-countdown")).to_have_text("Drawn")
    shot(page, f"room-lottery-won-en-{device}")
    page.goto(f"{base}/lotteries/{lottery['id']}/verify")
    expect(page.get_by_test_id("verdict")).to_have_text("✓ Verified")
    expect(page.get_by_test_id("verify-checks")).to_contain_text("seed opens the commitment")
    page.goto(f"{base}/lotteries/{lottery['id']}/verify?entrant={'0' * 64}")
    expect(page.get_by_test_id("verify-mine")).to_have_text(
        "✗ This entrant hash is not in the list")
    page.goto(f"{base}/live/{sid}?lang=zh-CN")
    context.close()
    assert errors == []
