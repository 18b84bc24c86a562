"""In a real browser: a buyer watches, chats and buys while the merchant console shows the
order appear in real time."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import REQUIRE_SERVICES, lp_env, seed_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = os.environ.get("LIVEPLEDGE_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def login(page, base: str, login_name: str, password: str, target: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login?next={target}")
    page.fill("input[name=login]", login_name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{target}")


@pytest.mark.parametrize("listener", [False, True], ids=["main port", "room listener"])
def test_buyer_watches_chats_and_buys_while_console_shows_the_order(
        browser, tmp_path, server_factory, listener) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from livepledge.demo import BUYER_PASSWORD, MERCHANT_PASSWORD
    from tests.conftest import free_port

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    room_port = free_port() if listener else 0
    if listener:  # the room's own listener (live/roomserver.py): the page must find it
        env["LIVEPLEDGE_ROOM_PORT"] = str(room_port)
    demo = seed_demo(env, buyers=2, stock=3)
    server = server_factory(env)
    base = server.base_url
    sid = demo["session_id"]
    # seed-only logins carry a random prefix; read them back from the API
    import httpx
    me = httpx.get(f"{base}/api/v1/me",
                   headers={"Authorization": f"Bearer {demo['buyer_tokens'][0]}"}).json()
    merchant = httpx.get(f"{base}/api/v1/me",
                         headers={"Authorization": f"Bearer {demo['merchant_token']}"}).json()
    errors: list[str] = []

    console = browser.new_page(viewport={"width": 1200, "height": 900})
    console.on("pageerror", lambda e: errors.append(str(e)))
    login(console, base, merchant["login"], MERCHANT_PASSWORD, f"/console/live/{sid}")
    expect(console.get_by_test_id("shop-name")).to_have_text("星河优选旗舰店")
    expect(console.get_by_test_id("lineup").locator(".el-table__body-wrapper tbody tr")
           ).to_have_count(2)

    buyer = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    buyer.on("pageerror", lambda e: errors.append(str(e)))
    sockets: list[str] = []
    buyer.on("websocket", lambda ws: sockets.append(ws.url))
    login(buyer, base, me["login"], BUYER_PASSWORD, f"/live/{sid}")
    expect(buyer.get_by_test_id("seller")).to_contain_text("星河优选旗舰店")
    expect(buyer.get_by_test_id("card")).to_contain_text("云南古树红茶")
    expect(buyer.get_by_test_id("stock")).to_have_text("3")
    expect(buyer.get_by_test_id("viewers")).to_have_text("1")

    buyer.fill("#chat-input", "<b>主播好</b>，今年的春茶吗？")
    buyer.press("#chat-input", "Enter")
    expect(buyer.get_by_test_id("chat")).to_contain_text("<b>主播好</b>，今年的春茶吗？")
    assert buyer.locator("#chat b", has_text="主播好").count() == 0  # markup stayed text
    main_port = base.rsplit(":", 1)[1]
    assert [re.sub(r"\?.*", "", url) for url in sockets] == [
        f"ws://127.0.0.1:{room_port if listener else main_port}/ws/sessions/{sid}"]

    buyer.get_by_test_id("buy").click()
    expect(buyer.get_by_test_id("order-result")).to_contain_text("待支付")
    expect(buyer.get_by_test_id("stock")).to_have_text("2")

    orders = console.get_by_test_id("console-orders")  # the control desk's orders arriving
    expect(orders.locator(".el-table__body-wrapper tbody tr")).to_have_count(1)
    expect(orders).to_contain_text("云南古树红茶")
    expect(orders).to_contain_text("待支付")

    buyer.click("#pay")  # to the checkout page: the default address is chosen, then pay
    buyer.wait_for_url("**/checkout/*")
    expect(buyer.get_by_test_id("address").first).to_have_class(re.compile("chosen"))
    buyer.click("#pay-now")
    expect(buyer.locator("#checkout-state")).to_contain_text("支付成功")
    expect(orders).to_contain_text("待发货")  # paid: the console says what is to be done
    assert errors == []
