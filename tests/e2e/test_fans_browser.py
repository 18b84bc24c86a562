"""In a real browser: a viewer joins the shop's fan club (加入粉丝团) in the live room, checks
in (打卡), chats and sees their level badge beside the message; the merchant finds them in the
fan list. Screenshots of the room's fan-club strip at a phone and a desktop viewport."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import lp_env, seed_demo
from tests.e2e.test_checkout_browser import DESKTOP, PHONE, shot
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_a_viewer_joins_the_fan_club_checks_in_and_the_merchant_sees_them(
        browser, tmp_path, server_factory, device) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=0, stock=5)
    base = server_factory(env).base_url
    sid, shop_id = demo["session_id"], demo["shop_id"]
    password = "violet-teapot-harbour"
    created = httpx.post(f"{base}/api/v1/users", json={
        "login": "teafan", "password": password, "display_name": "爱喝茶的小王"})
    assert created.status_code == 201, created.text

    context = browser.new_context(**(PHONE if device == "phone" else DESKTOP))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, "teafan", password, f"/live/{sid}")

    strip = page.get_by_test_id("fanclub")
    expect(strip).to_be_visible(timeout=10_000)
    expect(page.get_by_test_id("fan-stat")).to_have_text("0 位粉丝")
    shot(page, f"room-fanclub-{device}")
    page.get_by_test_id("fan-join").click()
    expect(page.get_by_test_id("fan-badge")).to_have_text("新粉 Lv1")
    expect(page.get_by_test_id("fan-join")).to_be_hidden()
    page.get_by_test_id("fan-checkin").click()
    expect(page.get_by_test_id("fan-stat")).to_have_text("亲密度 10 · 积分 5")
    expect(page.get_by_test_id("fan-checkin")).to_have_text("今日已打卡")
    expect(page.get_by_test_id("fan-checkin")).to_be_disabled()

    page.fill("#chat-input", "打卡啦")
    page.press("#chat-input", "Enter")
    line = page.get_by_test_id("chat").locator("li", has_text="打卡啦")
    expect(line.get_by_test_id("chat-fan-level")).to_have_text("新粉 Lv1", timeout=10_000)
    shot(page, f"room-fanclub-joined-{device}")

    # 我的粉丝团: the club, its affinity and the history behind it
    page.get_by_test_id("fan-badge").click()
    page.wait_for_url("**/fan-clubs")
    club = page.get_by_test_id("club")
    expect(club).to_contain_text("星河优选旗舰店")
    expect(club.get_by_test_id("club-points")).to_have_text("5")
    expect(club.get_by_test_id("club-checkin")).to_be_disabled()
    club.get_by_text("亲密度明细").click()
    expect(club.locator(".club-history")).to_contain_text("打卡")
    shot(page, f"fan-clubs-{device}")

    fans = httpx.get(f"{base}/api/v1/shops/{shop_id}/fans",
                     headers={"Authorization": f"Bearer {demo['merchant_token']}"}).json()
    assert [(f["display_name"], f["level_name"], f["streak"]) for f in fans["fans"]] == [
        ("爱喝茶的小王", "新粉", 1)]
    assert fans["fans"][0]["affinity"] >= 10  # the check-in, and the chat once it is stored
    assert errors == []
    context.close()

    # the merchant's console: the fan list, the level table, a segment with its count
    from livepledge.demo import MERCHANT_PASSWORD
    from livepledge.web import console

    if not (console.DIST / "index.html").is_file():
        pytest.fail("the console is not built: run ./dev setup (frontend/, docs/console.md)")
    merchant = httpx.get(f"{base}/api/v1/me", headers={
        "Authorization": f"Bearer {demo['merchant_token']}"}).json()
    context = browser.new_context(**(PHONE if device == "phone" else DESKTOP),
                                  timezone_id="Asia/Shanghai", locale="zh-CN")
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, merchant["login"], MERCHANT_PASSWORD, "/console/overview")
    expect(page.get_by_test_id("shop-name")).to_have_text("星河优选旗舰店")
    page.get_by_role("menuitem", name="粉丝").click()
    expect(page.get_by_test_id("fan-total")).to_have_text("共 1 位粉丝")
    row = page.get_by_test_id("fan-row" if device == "phone" else "fan-table")
    expect(row).to_contain_text("爱喝茶的小王")
    expect(row).to_contain_text("新粉 Lv1")
    shot(page, f"console-fans-{device}")
    page.get_by_role("tab", name="等级设置").click()
    expect(page.get_by_test_id("level-row")).to_have_count(6)
    shot(page, f"console-fan-levels-{device}")
    page.get_by_role("tab", name="人群").click()
    page.get_by_test_id("segment-new").click()
    page.get_by_test_id("segment-name").fill("打卡粉丝")
    page.get_by_text("仅粉丝团成员").click()
    page.get_by_test_id("segment-save").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_test_id("segment-row")).to_contain_text("打卡粉丝")
    expect(page.get_by_test_id("segment-count")).to_have_text("1")
    shot(page, f"console-segments-{device}")
    assert errors == []
    context.close()
