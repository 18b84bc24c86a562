"""In a real browser, at a phone and a desktop viewport: chat moderation on the console's control
desk. The merchant removes a buyer's message with a reason (a reason is required), mutes another
buyer and turns slow mode on; each is checked through the API: the removed message is gone for
everyone, the muted buyer cannot post, slow mode holds the others back."""

from __future__ import annotations

import httpx
import pytest

from livepledge.web import console
from tests.conftest import lp_env, seed_demo
from tests.e2e.test_console_browser import DEVICES, patient_expect, shot  # noqa: F401
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_merchant_moderates_the_chat_from_the_desk(browser, tmp_path, server_factory,  # noqa: F811
                                                   device) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from livepledge.demo import MERCHANT_PASSWORD

    if not (console.DIST / "index.html").is_file():
        pytest.fail("the console is not built: run ./dev setup (frontend/, docs/console.md)")
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=3, stock=5)
    base = server_factory(env).base_url
    sid = int(demo["session_id"])  # type: ignore[call-overload]
    merchant = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['merchant_token']}"})
    spammer, talker, viewer = (
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
        for token in demo["buyer_tokens"])  # type: ignore[attr-defined]
    for client, text in ((spammer, "便宜卖货看我主页"), (talker, "这个茶好喝吗")):
        posted = client.post(f"/api/v1/sessions/{sid}/chat", json={"text": text})
        assert posted.status_code == 201, posted.text

    context = browser.new_context(**DEVICES[device], timezone_id="Asia/Shanghai", locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    me = merchant.get("/api/v1/me").json()
    login(page, base, me["login"], MERCHANT_PASSWORD, f"/console/live/{sid}")
    lines = page.get_by_test_id("desk-chat").get_by_test_id("chat-line")
    expect(lines).to_have_count(2)

    # remove the spam: a reason is required
    spam = lines.filter(has_text="便宜卖货看我主页")
    spam.get_by_test_id("chat-remove").click()
    box = page.locator(".el-message-box")
    box.get_by_role("button", name="删除").click()
    expect(box.locator(".el-message-box__errormsg")).to_be_visible()
    assert len(merchant.get(f"/api/v1/sessions/{sid}/chat").json()) == 2  # nothing removed
    box.locator("input").fill("站外引流广告")
    box.get_by_role("button", name="删除").click()
    expect(lines).to_have_count(1)
    assert [c["text"] for c in httpx.get(f"{base}/api/v1/sessions/{sid}/chat").json()] == [
        "这个茶好喝吗"]

    # mute the talker (confirmed), then slow mode for everyone
    lines.filter(has_text="这个茶好喝吗").get_by_test_id("chat-mute").click()
    page.get_by_role("button", name="确定").click()
    expect(lines.filter(has_text="这个茶好喝吗").get_by_test_id("chat-mute")).to_contain_text("✓")
    refused = talker.post(f"/api/v1/sessions/{sid}/chat", json={"text": "为什么不回答"})
    assert (refused.status_code, refused.json()["code"]) == (403, "muted")
    page.get_by_test_id("slow-mode").click()
    page.get_by_role("option", name="30 秒").click()
    expect(page.get_by_text("已保存").first).to_be_visible()
    first = viewer.post(f"/api/v1/sessions/{sid}/chat", json={"text": "第一条"})
    assert first.status_code == 201, first.text
    second = viewer.post(f"/api/v1/sessions/{sid}/chat", json={"text": "第二条"})
    assert second.status_code == 429, second.text
    assert int(second.headers["Retry-After"]) > 20  # the slow mode's 30 s, not the usual pace
    shot(page, f"console-desk-moderation-{device}")
    assert errors == []
    context.close()


def test_merchant_starts_a_lottery_from_the_desk(browser, tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    from livepledge.demo import MERCHANT_PASSWORD

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=1, stock=5)
    base = server_factory(env).base_url
    sid = int(demo["session_id"])  # type: ignore[call-overload]
    merchant = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['merchant_token']}"})
    context = browser.new_context(**DEVICES["desktop"], timezone_id="Asia/Shanghai",
                                  locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, merchant.get("/api/v1/me").json()["login"], MERCHANT_PASSWORD,
          f"/console/live/{sid}")
    expect(page.get_by_test_id("desk-lotteries")).to_contain_text("本场还没有福袋")
    page.get_by_test_id("lottery-new").click()
    page.get_by_test_id("lottery-save").click()  # no prize chosen: refused inline
    expect(page.get_by_test_id("lottery-error")).to_have_text("请选择奖品")
    assert merchant.get(f"/api/v1/sessions/{sid}/lotteries").json() == []
    page.get_by_test_id("lottery-title").fill("福袋：红茶礼盒")
    page.get_by_test_id("lottery-sku").click()
    page.get_by_role("option").filter(has_text="云南古树红茶").first.click()
    page.get_by_test_id("lottery-watched").click()
    page.get_by_test_id("lottery-save").click()
    expect(page.get_by_test_id("lottery-dialog")).to_be_hidden()
    row = page.get_by_test_id("lottery-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("福袋：红茶礼盒")
    expect(row).to_contain_text("进行中")
    made = merchant.get(f"/api/v1/sessions/{sid}/lotteries").json()
    assert [(x["title"], x["winners_count"], x["state"], [c["type"] for c in x["conditions"]])
            for x in made] == [("福袋：红茶礼盒", 1, "open", ["watched"])]
    assert len(made[0]["commitment"]) == 64  # the seed's hash, published before any entry
    shot(page, "console-desk-lottery-desktop")
    assert errors == []
    context.close()
