"""In a real browser, at a phone and a desktop viewport: the buyer's after-sales.

1. A buyer opens a 7-day no-reason return with a photo from the order page; the shop lets its
   48 h pass (the server's test clock moves); the buyer is refunded and sees it on the case and
   the order. A message pointing off the platform is held and the buyer is told why.
2. A refused case: the buyer escalates it from the case page and a platform operator rules for
   the buyer on the operators' page; everyone sees the ruling on the same record.
Every step is checked through the API too."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import lp_env, run_cli, seed_demo
from tests.e2e.test_console_browser import DEVICES, patient_expect, png_bytes, shot  # noqa: F401
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
OPERATOR_PASSWORD = "platform-judge-2026"


def _received_order(base: str, token: str, merchant: httpx.Client, sid: int, item_id: int,
                    key: str, *, receive: bool = True) -> dict:  # type: ignore[type-arg]
    buyer = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    order = buyer.post(f"/api/v1/sessions/{sid}/lineup/{item_id}/orders", json={"quantity": 1},
                       headers={"Idempotency-Key": key})
    assert order.status_code == 201, order.text
    oid = order.json()["id"]
    assert buyer.post(f"/api/v1/orders/{oid}/pay").status_code == 200
    shipped = merchant.post(f"/api/v1/orders/{oid}/ship",
                            json={"carrier": "顺丰速运", "tracking_number": f"SF{key[-6:]}0000"})
    assert shipped.status_code == 200, shipped.text
    if receive:
        assert buyer.post(f"/api/v1/orders/{oid}/receive").status_code == 200
    return buyer.get(f"/api/v1/orders/{oid}").json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_a_buyer_returns_goods_and_is_refunded_when_the_shop_lets_the_deadline_pass(
        browser, tmp_path, server_factory, device) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    from livepledge.demo import BUYER_PASSWORD

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}",
                 LIVEPLEDGE_MEDIA_DIR=str(tmp_path / "media"), LIVEPLEDGE_TEST_CLOCK="1")
    demo = seed_demo(env, buyers=1, stock=5)
    base = server_factory(env).base_url
    sid = int(demo["session_id"])  # type: ignore[call-overload]
    merchant = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['merchant_token']}"})
    item = merchant.get(f"/api/v1/sessions/{sid}").json()["lineup"][0]
    token = demo["buyer_tokens"][0]  # type: ignore[index]
    order = _received_order(base, token, merchant, sid, item["id"], f"return-{device}-000001")
    buyer_api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    photo = tmp_path / "crack.png"
    photo.write_bytes(png_bytes())

    context = browser.new_context(**DEVICES[device], timezone_id="Asia/Shanghai", locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text else None)
    login(page, base, buyer_api.get("/api/v1/me").json()["login"], BUYER_PASSWORD,
          f"/orders/{order['id']}")

    # the order page: no case yet; open a no-reason return with a photo
    expect(page.get_by_test_id("order-cases")).to_contain_text("暂无售后")
    page.get_by_test_id("case-apply").click()
    form = page.get_by_test_id("case-form")
    expect(form).to_be_visible()
    page.get_by_test_id("case-type").select_option("return_refund/no_reason")
    expect(page.get_by_test_id("case-amount")).to_have_value(f"{order['amount'] / 100:.2f}")
    page.get_by_test_id("case-text").fill("颜色和直播间展示的不一样，不想要了")
    page.get_by_test_id("case-photos").set_input_files(str(photo))
    shot(page, f"aftersales-open-{device}")
    page.get_by_test_id("case-submit").click()
    page.wait_for_url("**/cases/*")
    case_id = int(page.url.rstrip("/").split("/")[-1].split("?")[0])

    expect(page.get_by_test_id("case-status")).to_have_text("待商家处理")
    expect(page.get_by_test_id("case-turn")).to_contain_text("等待商家处理")
    record = page.get_by_test_id("case-record")
    expect(record).to_contain_text("发起售后")
    expect(record).to_contain_text("颜色和直播间展示的不一样")
    expect(record.locator(".case-photos img")).to_have_count(1)
    case = buyer_api.get(f"/api/v1/cases/{case_id}").json()
    assert (case["type"], case["reason"], case["status"], case["amount"]) == (
        "return_refund", "no_reason", "awaiting_merchant", order["amount"])
    assert [len(e["data"].get("photos", [])) for e in case["record"]] == [0, 1]

    # a message that leads off the platform is held and the buyer is told why
    page.get_by_test_id("case-message-text").fill("加我微信 lp20261205 私下退")
    page.get_by_test_id("case-message-send").click()
    expect(record.get_by_test_id("held")).to_have_count(1)
    shop_view = merchant.get(f"/api/v1/cases/{case_id}").json()
    assert [e["kind"] for e in shop_view["record"]] == ["opened", "message"]  # not the held one
    shot(page, f"aftersales-case-{device}")

    # the shop lets its 48 hours pass: the return is granted and refunded, the buyer keeps it
    moved = httpx.post(f"{base}/api/v1/test/clock", json={"advance_seconds": 49 * 3600})
    assert moved.status_code == 200 and moved.json()["deadlines_fired"] >= 1, moved.text
    page.reload()
    expect(page.get_by_test_id("case-status")).to_have_text("已结束")
    expect(page.get_by_test_id("case-refunded")).to_have_text(f"¥{order['amount'] / 100:.2f}")
    expect(page.get_by_test_id("case-outcome")).to_contain_text("逾期自动退款")
    expect(record).to_contain_text("处理时限已到")
    expect(page.get_by_test_id("case-message-text")).to_be_hidden()  # closed: no more messages
    shot(page, f"aftersales-refunded-{device}")
    after = buyer_api.get(f"/api/v1/orders/{order['id']}").json()
    assert after["refunded_total"] == order["amount"]
    assert [(c["id"], c["status"]) for c in after["cases"]] == [(case_id, "closed")]

    page.goto(f"{base}/orders/{order['id']}")
    expect(page.get_by_test_id("refunds")).to_contain_text(f"¥{order['amount'] / 100:.2f}")
    expect(page.get_by_test_id("case-link")).to_contain_text("已结束")
    expect(page.get_by_test_id("case-apply")).to_have_count(0)  # all of it refunded
    assert errors == []
    context.close()


def test_a_refused_case_is_escalated_and_ruled_for_the_buyer(
        browser, tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    from livepledge.demo import BUYER_PASSWORD

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}",
                 LIVEPLEDGE_MEDIA_DIR=str(tmp_path / "media"))
    demo = seed_demo(env, buyers=1, stock=5)
    run_cli(["operator", "add", "judge.li", "--password-stdin"], env,
            input_text=f"{OPERATOR_PASSWORD}\n")
    base = server_factory(env).base_url
    sid = int(demo["session_id"])  # type: ignore[call-overload]
    merchant = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['merchant_token']}"})
    item = merchant.get(f"/api/v1/sessions/{sid}").json()["lineup"][0]
    token = demo["buyer_tokens"][0]  # type: ignore[index]
    order = _received_order(base, token, merchant, sid, item["id"], "escalate-000001")
    buyer_api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    opened = buyer_api.post(f"/api/v1/orders/{order['id']}/cases", json={
        "type": "return_refund", "reason": "quality", "text": "杯身有裂纹"})
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    refused = merchant.post(f"/api/v1/cases/{case_id}/merchant", json={
        "action": "refuse", "text": "发货前检查过没有裂纹"})
    assert refused.status_code == 200 and refused.json()["status"] == "refused", refused.text

    context = browser.new_context(**DEVICES["phone"], timezone_id="Asia/Shanghai",
                                  locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, buyer_api.get("/api/v1/me").json()["login"], BUYER_PASSWORD,
          f"/cases/{case_id}")
    expect(page.get_by_test_id("case-status")).to_have_text("商家已拒绝")
    expect(page.get_by_test_id("case-record")).to_contain_text("发货前检查过没有裂纹")
    page.get_by_test_id("escalate-text").fill("照片清楚可见裂纹，商家拒绝不合理")
    page.get_by_test_id("case-escalate").click()
    expect(page.get_by_test_id("case-status")).to_have_text("平台介入中")
    expect(page.get_by_test_id("case-turn")).to_contain_text("平台客服处理中")
    assert buyer_api.get(f"/api/v1/cases/{case_id}").json()["status"] == "escalated"
    context.close()

    desk = browser.new_context(**DEVICES["desktop"], timezone_id="Asia/Shanghai",
                               locale="zh-CN")
    page = desk.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, "judge.li", OPERATOR_PASSWORD, "/operator")
    card = page.locator(f"[data-testid=escalation][data-case-id='{case_id}']")
    expect(card).to_contain_text("照片清楚可见裂纹")
    expect(card).to_contain_text("发货前检查过没有裂纹")
    card.get_by_test_id("rule-submit").click()  # no reason given: refused inline
    expect(card.locator(".field-error")).to_have_text("请填写裁决理由")
    assert buyer_api.get(f"/api/v1/cases/{case_id}").json()["status"] == "escalated"
    card.get_by_test_id("rule-amount").fill("5.00")
    card.get_by_test_id("rule-text").fill("照片显示运输前已有裂纹，支持部分退款")
    shot(page, "operator-escalations-desktop")
    card.get_by_test_id("rule-submit").click()
    page.get_by_test_id("confirm").get_by_role("button", name="确定").click()
    expect(page.get_by_test_id("no-escalations")).to_be_visible()
    ruled = buyer_api.get(f"/api/v1/cases/{case_id}").json()
    assert (ruled["status"], ruled["refunded"]) == ("closed", 500)
    assert [(e["kind"], e["text"]) for e in ruled["record"] if e["actor"] == "operator"] == [
        ("ruling", "照片显示运输前已有裂纹，支持部分退款"),
        ("refunded", "平台裁定支持买家 / the platform ruled for the buyer")]
    page.goto(f"{base}/operator?status=closed")
    expect(page.locator(f"[data-case-id='{case_id}']")).to_contain_text("照片显示运输前已有裂纹")
    assert errors == []
    desk.close()
