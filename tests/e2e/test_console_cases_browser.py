"""In a real browser, at a phone and a desktop viewport: the console's promise ledger and
after-sales queue. The merchant declares a promise (it is frozen into the next order), then
answers a buyer's case from the queue: a refusal without a reason is refused inline, a refusal
of a no-reason return inside its window is refused by the server (the order's promise), and a
partial refund offer goes to the buyer. Every step is checked through the API too."""

from __future__ import annotations

import httpx
import pytest

from livepledge.web import console
from tests.conftest import lp_env, seed_demo
from tests.e2e.test_console_browser import DEVICES, patient_expect, png_bytes, shot  # noqa: F401
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _paid_and_shipped(base: str, token: str, merchant: httpx.Client, sid: int, item_id: int,
                      key: str) -> dict:  # type: ignore[type-arg]
    buyer = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    order = buyer.post(f"/api/v1/sessions/{sid}/lineup/{item_id}/orders", json={"quantity": 1},
                       headers={"Idempotency-Key": key})
    assert order.status_code == 201, order.text
    assert buyer.post(f"/api/v1/orders/{order.json()['id']}/pay").status_code == 200
    shipped = merchant.post(f"/api/v1/orders/{order.json()['id']}/ship",
                            json={"carrier": "顺丰速运", "tracking_number": f"SF{key[-6:]}0000"})
    assert shipped.status_code == 200, shipped.text
    return shipped.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_merchant_keeps_promises_and_answers_cases(browser, tmp_path, server_factory,  # noqa: F811
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
    shop_id = int(demo["shop_id"])  # type: ignore[call-overload]
    merchant_api = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['merchant_token']}"})
    merchant = merchant_api.get("/api/v1/me").json()
    tea = merchant_api.get(f"/api/v1/sessions/{sid}").json()["lineup"][0]
    before = merchant_api.get(f"/api/v1/shops/{shop_id}/promises").json()

    context = browser.new_context(**DEVICES[device], timezone_id="Asia/Shanghai", locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, merchant["login"], MERCHANT_PASSWORD, "/console/overview")
    expect(page.get_by_test_id("shop-name")).to_have_text("星河优选旗舰店")  # logged in

    # declare a 15-day price protection for the whole shop
    page.goto(f"{base}/console/promises")
    page.get_by_test_id("promise-declare").click()
    dialog = page.get_by_test_id("promise-dialog")
    days = page.get_by_test_id("promise-days").locator("input")
    days.fill("15")
    days.press("Tab")
    page.get_by_test_id("promise-save").click()
    expect(dialog).to_be_hidden()
    listing = page.get_by_test_id("promise-cards" if device == "phone" else "promise-table")
    expect(listing).to_contain_text("15天保价")
    expect(listing).to_contain_text("全店")
    after = merchant_api.get(f"/api/v1/shops/{shop_id}/promises").json()
    declared = [p for p in after if p["id"] not in {q["id"] for q in before}]
    assert [(p["kind"], p["terms"], p["scope"]) for p in declared] == [
        ("price_protection", {"days": 15, "excludes_flash_sale": False},
         {"type": "shop", "id": shop_id})]
    shot(page, f"console-promises-{device}")

    # two shipped orders carry it; one buyer asks for a quality return, the other a no-reason one
    tokens = demo["buyer_tokens"]  # type: ignore[index]
    quality_order = _paid_and_shipped(base, tokens[0], merchant_api, sid, tea["id"], "cases-e2e-1")
    no_reason_order = _paid_and_shipped(base, tokens[1], merchant_api, sid, tea["id"],
                                        "cases-e2e-2")
    assert "15天保价" in [p["label"]["zh-CN"] for p in quality_order["promises"]]
    cases = {}
    for token, order, reason in ((tokens[0], quality_order, "quality"),
                                 (tokens[1], no_reason_order, "no_reason")):
        opened = httpx.post(f"{base}/api/v1/orders/{order['id']}/cases",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"type": "return_refund", "reason": reason, "text": "不合适"})
        assert opened.status_code == 201, opened.text
        cases[reason] = opened.json()

    page.goto(f"{base}/console/aftersales")
    queue = page.get_by_test_id("case-cards" if device == "phone" else "case-table")
    rows = (queue.get_by_test_id("case-row") if device == "phone"
            else queue.locator(".el-table__body-wrapper tbody tr"))
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("待商家处理")
    expect(rows.nth(0)).to_contain_text("剩 2 天 0 小时")  # 48 h from opening, minutes rounded up
    expect(queue).to_contain_text("七天无理由")
    shot(page, f"console-cases-{device}")

    # the no-reason return: a refusal needs words, and inside the window it is not allowed
    def case_row(case_id: int):  # type: ignore[no-untyped-def]
        return rows.filter(has=page.get_by_test_id("case-id").get_by_text(f"#{case_id}",
                                                                          exact=True))

    case_row(cases["no_reason"]["id"]).click()
    drawer = page.get_by_test_id("case-drawer")
    expect(drawer).to_contain_text("15天保价")  # the promise frozen into the order
    expect(page.get_by_test_id("case-evidence")).to_have_attribute(
        "href", f"/api/v1/orders/{no_reason_order['id']}/evidence")
    expect(page.get_by_test_id("case-record")).to_contain_text("发起售后")
    page.get_by_test_id("case-refuse").click()
    page.get_by_test_id("case-submit").click()
    expect(page.get_by_test_id("case-error")).to_have_text("拒绝须说明原因")
    page.get_by_test_id("case-text").fill("商品已拆封")
    page.get_by_test_id("case-submit").click()
    expect(page.get_by_test_id("case-error")).to_contain_text("无理由")
    unchanged = merchant_api.get(f"/api/v1/cases/{cases['no_reason']['id']}").json()
    assert (unchanged["status"], len(unchanged["record"])) == ("awaiting_merchant", 1)
    shot(page, f"console-case-{device}")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # the quality return: offer ¥20 back; the buyer is now to answer
    case_row(cases["quality"]["id"]).click()
    page.get_by_test_id("case-offer").click()
    page.get_by_test_id("case-offer-amount").fill("20")
    page.get_by_test_id("case-text").fill("可部分退款 20 元")
    page.get_by_test_id("case-submit").click()
    expect(page.get_by_test_id("drawer-status")).to_have_text("待买家确认")
    expect(page.get_by_test_id("case-record")).to_contain_text("提出部分退款")
    offered = merchant_api.get(f"/api/v1/cases/{cases['quality']['id']}").json()
    assert (offered["status"], offered["offered_amount"]) == ("awaiting_buyer", 2000)

    # a message with a photo, on the same record the buyer sees
    photo = tmp_path / "flaw.png"
    photo.write_bytes(png_bytes())
    page.get_by_test_id("case-message-text").fill("瑕疵位置见照片")
    page.get_by_test_id("case-message-photos").set_input_files(str(photo))
    page.get_by_test_id("case-message-send").click()
    expect(page.get_by_test_id("case-photos").locator("img")).to_have_count(1)
    expect(page.get_by_test_id("case-record")).to_contain_text("瑕疵位置见照片")
    shot(page, f"console-case-message-{device}")
    seen = httpx.get(f"{base}/api/v1/cases/{cases['quality']['id']}",
                     headers={"Authorization": f"Bearer {tokens[0]}"}).json()
    assert [(e["actor"], e["kind"], e["text"], len(e["data"].get("photos", [])))
            for e in seen["record"]][-1] == ("merchant", "message", "瑕疵位置见照片", 1)
    page.keyboard.press("Escape")
    expect(case_row(cases["quality"]["id"])).to_contain_text("待买家确认")

    page.get_by_test_id("lang-switch").click()
    page.goto(f"{base}/console/aftersales")
    expect(queue).to_contain_text("Awaiting the shop")
    expect(queue).not_to_contain_text("待商家处理")
    assert errors == []
    context.close()
