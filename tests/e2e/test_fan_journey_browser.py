"""In a real browser, the fan club end to end (issue #13): a viewer joins the fan club in the
live room and checks in; the merchant creates a coupon and a campaign to the club's members in
the console (营销); the campaign reaches the viewer, who claims the coupon in the room and pays
an order with it; the campaign's report attributes the order. The merchant also posts to the
fan group and the viewer reacts and comments on 我的粉丝团. Screenshots of the console's 营销
tabs and of 我的粉丝团 at a phone and a desktop viewport."""

from __future__ import annotations

import httpx
import pytest

from tests.api.world import ADDRESS
from tests.conftest import lp_env, seed_demo
from tests.e2e.test_checkout_browser import DESKTOP, PHONE, shot
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The campaign is sent by the server's deadline runner and the order reaches the fan club's
# records through its event consumer, both in the background: the page asks the API until the
# server says so (Playwright polls; no fixed waits).
CAMPAIGN_IS = """([id, field, want]) => {
  const request = new XMLHttpRequest();  // synchronous: the predicate's answer, not a promise
  request.open('GET', '/api/v1/campaigns/' + id, false);
  request.send();
  if (request.status !== 200) return false;
  const c = JSON.parse(request.responseText);
  return field === 'status' ? c.status === want : c.results[field] === want;
}"""


def test_a_fan_joins_checks_in_claims_buys_and_the_campaign_report_attributes_it(
        browser, tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    from livepledge.demo import MERCHANT_PASSWORD
    from livepledge.web import console

    if not (console.DIST / "index.html").is_file():
        pytest.fail("the console is not built: run ./dev setup (frontend/, docs/console.md)")
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    demo = seed_demo(env, buyers=0, stock=5)
    base = server_factory(env).base_url
    sid, item, shop_id = demo["session_id"], demo["item_id"], demo["shop_id"]
    merchant_auth = {"Authorization": f"Bearer {demo['merchant_token']}"}
    merchant = httpx.get(f"{base}/api/v1/me", headers=merchant_auth).json()
    password = "violet-teapot-harbour"
    created = httpx.post(f"{base}/api/v1/users", json={
        "login": "journeyfan", "password": password, "display_name": "追播的小李"})
    assert created.status_code == 201, created.text
    bearer = {"Authorization": f"Bearer {created.json()['token']}"}
    assert httpx.post(f"{base}/api/v1/me/addresses", headers=bearer,
                      json=ADDRESS).status_code == 201
    errors: list[str] = []

    # 1. the viewer joins the fan club in the room and checks in
    fan_ctx = browser.new_context(**PHONE)
    fan = fan_ctx.new_page()
    fan.on("pageerror", lambda e: errors.append(str(e)))
    login(fan, base, "journeyfan", password, f"/live/{sid}")
    expect(fan.get_by_test_id("fanclub")).to_be_visible(timeout=10_000)
    fan.get_by_test_id("fan-join").click()
    expect(fan.get_by_test_id("fan-badge")).to_have_text("新粉 Lv1")
    fan.get_by_test_id("fan-checkin").click()
    expect(fan.get_by_test_id("fan-stat")).to_have_text("亲密度 10 · 积分 5")

    # 2. the merchant: a segment of the club's members, then a coupon and a campaign in 营销
    segment = httpx.post(f"{base}/api/v1/shops/{shop_id}/segments", headers=merchant_auth,
                         json={"name": "粉丝团成员", "filter": {"members_only": True}})
    assert segment.status_code == 201, segment.text
    shop_ctx = browser.new_context(**DESKTOP, timezone_id="Asia/Shanghai", locale="zh-CN")
    shop = shop_ctx.new_page()
    shop.on("pageerror", lambda e: errors.append(str(e)))
    login(shop, base, merchant["login"], MERCHANT_PASSWORD, "/console/overview")
    shop.get_by_role("menuitem", name="营销").click()
    shop.wait_for_url("**/console/marketing")
    shop.get_by_test_id("coupon-new").click()
    shop.get_by_test_id("coupon-save").click()  # empty: refused in the form, nothing sent
    expect(shop.get_by_test_id("coupon-form")).to_contain_text("请填写名称")
    shop.get_by_test_id("coupon-title").fill("粉丝专享立减3元")
    shop.get_by_role("radio", name="无门槛").click(force=True)
    shop.get_by_test_id("coupon-amount-off").fill("3")
    shop.get_by_test_id("coupon-save").click()
    expect(shop.get_by_role("dialog")).to_be_hidden()
    expect(shop.get_by_test_id("coupon-counts")).to_have_text("0 / 0 / 100")
    coupon_id = httpx.get(f"{base}/api/v1/shops/{shop_id}/coupons",
                          headers=merchant_auth).json()[0]["id"]

    shop.get_by_role("tab", name="营销活动").click()
    shop.get_by_test_id("campaign-new").click()
    shop.get_by_test_id("campaign-segment").click()
    shop.get_by_role("option", name="粉丝团成员（1）").click()
    shop.get_by_test_id("campaign-title").fill("今晚上新")
    shop.get_by_test_id("campaign-body").fill("粉丝专享券已发放，直播间领取")
    shop.get_by_test_id("campaign-form").get_by_text("附带优惠券（可不填）").click()
    shop.get_by_role("option", name="粉丝专享立减3元").click()
    shop.get_by_test_id("campaign-save").click()
    expect(shop.get_by_role("dialog")).to_be_hidden()
    campaign_id = httpx.get(f"{base}/api/v1/shops/{shop_id}/campaigns",
                            headers=merchant_auth).json()[0]["id"]
    shop.wait_for_function(CAMPAIGN_IS, arg=[campaign_id, "status", "sent"], polling=200,
                           timeout=30_000)

    # 3. the viewer, back in the room (reopened: the coupon is new), claims the coupon there
    #    and pays an order with it
    fan.reload()
    fan.get_by_test_id("coupons-open").click()
    expect(fan.get_by_test_id("coupon-item")).to_contain_text("粉丝专享立减3元")
    fan.get_by_test_id("coupon-claim").click()
    expect(fan.get_by_test_id("coupon-claim")).to_have_text("已领 1 张")
    order = httpx.post(f"{base}/api/v1/sessions/{sid}/lineup/{item}/orders",
                       json={"quantity": 1}, headers={**bearer, "Idempotency-Key": "j-1"}).json()
    fan.goto(f"{base}/checkout/{order['id']}")
    expect(fan.get_by_test_id("coupon-choice")).to_contain_text("粉丝专享立减3元")
    fan.click("#pay-now")
    expect(fan.locator("#checkout-state")).to_contain_text("支付成功")
    due = order["amount"] - 300

    # 4. the report attributes the order (net of nothing refunded) and the coupon's use
    shop.wait_for_function(CAMPAIGN_IS, arg=[campaign_id, "orders", 1], polling=200,
                           timeout=30_000)
    shop.reload()
    shop.get_by_role("tab", name="营销活动").click()
    report = shop.get_by_test_id("campaign-report")
    expect(report.get_by_test_id("report-delivered")).to_have_text("1")
    expect(report.get_by_test_id("report-claimed")).to_have_text("1")
    expect(report.get_by_test_id("report-orders")).to_have_text("1")
    expect(report.get_by_test_id("report-sales")).to_have_text(f"¥{due // 100}.{due % 100:02d}")
    shot(shop, "console-campaigns-desktop")
    shop.get_by_role("tab", name="优惠券").click()
    expect(shop.get_by_test_id("coupon-counts")).to_have_text("1 / 1 / 100")
    shot(shop, "console-coupons-desktop")

    # 5. the fan group: a post refused for a violation, one published; the fan reacts, comments
    shop.get_by_role("tab", name="粉丝群动态").click()
    shop.get_by_test_id("post-body").fill("全网最低价，国家级产品")
    shop.get_by_test_id("post-publish").click()
    expect(shop.get_by_test_id("post-blocked")).to_be_visible()
    shop.get_by_test_id("post-body").fill("新茶上架，今晚8点直播间见")
    shop.get_by_test_id("post-publish").click()
    expect(shop.get_by_test_id("post-row")).to_contain_text("新茶上架")
    shot(shop, "console-fan-feed-desktop")
    fan.goto(f"{base}/fan-clubs")
    club = fan.get_by_test_id("club")
    club.get_by_test_id("club-feed-open").click()
    post = club.get_by_test_id("feed-post")
    expect(post).to_contain_text("新茶上架")
    post.get_by_test_id("feed-react-like").click()
    expect(post.get_by_test_id("feed-react-like")).to_contain_text("1")
    post.get_by_test_id("feed-comment-input").fill("加我微信 abc123 私聊")
    post.get_by_test_id("feed-comment-input").press("Enter")
    expect(post.get_by_test_id("feed-comment")).to_contain_text("仅你可见")
    club.get_by_test_id("club-coupons-open").click()
    expect(club.get_by_test_id("club-coupon")).to_contain_text("粉丝专享立减3元")
    expect(club.get_by_test_id("club-coupon-take")).to_be_disabled()  # the one allowed is held
    shot(fan, "fan-clubs-feed-phone")
    fan_ctx.close()

    # the console's 营销 at a phone viewport
    phone_ctx = browser.new_context(**PHONE, timezone_id="Asia/Shanghai", locale="zh-CN")
    phone = phone_ctx.new_page()
    phone.on("pageerror", lambda e: errors.append(str(e)))
    login(phone, base, merchant["login"], MERCHANT_PASSWORD, "/console/marketing")
    expect(phone.get_by_test_id("coupon-counts")).to_have_text("1 / 1 / 100")
    shot(phone, "console-coupons-phone")
    phone.get_by_role("tab", name="营销活动").click()
    expect(phone.get_by_test_id("report-orders")).to_have_text("1")
    shot(phone, "console-campaigns-phone")
    phone.get_by_role("tab", name="粉丝群动态").click()
    expect(phone.get_by_test_id("post-counts")).to_contain_text("赞 1")
    shot(phone, "console-fan-feed-phone")
    assert coupon_id and errors == []
    phone_ctx.close()
    shop_ctx.close()
