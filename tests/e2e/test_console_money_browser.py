"""In a real browser, at a phone and a desktop viewport: the console's 资金 page (issue #12).

A merchant sees a session's sales held; the buyers confirm receipt and the no-reason return
window passes (the server's test clock moves, the durable `escrow_release` deadline fires): the
money moves to available, less the platform's commission. A return after that (an after-sales
refund) comes out of available and gives back its commission; the statement shows the
settlement and the refund, each line linked to its order; the income statement shows the net
commission. Every figure is checked through the API too, and `ledger verify` and `ledger
reconcile` agree with the books afterwards."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import pytest

from livepledge.settlement import statements
from livepledge.web import console
from tests.api.world import ADDRESS
from tests.conftest import lp_env, run_cli, seed_demo
from tests.e2e.test_aftersales_browser import _received_order
from tests.e2e.test_console_browser import DEVICES, patient_expect, shot  # noqa: F401
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
COMMISSION_BP = 500


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def _wait_for(merchant: httpx.Client, shop_id: int, **want: int) -> dict:  # type: ignore[type-arg]
    """The ledger posts on its next poll: wait until the balances say `want`."""
    deadline = time.monotonic() + 30
    while True:
        got = merchant.get(f"/api/v1/shops/{shop_id}/balances").json()
        if all(got[k] == v for k, v in want.items()):
            return got  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"balances stayed {got}, wanted {want}"
        time.sleep(0.2)


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_sales_move_from_held_to_available_and_a_return_reverses_its_commission(
        browser, tmp_path, server_factory, device) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    from livepledge.demo import MERCHANT_PASSWORD

    if not (console.DIST / "index.html").is_file():
        pytest.fail("the console is not built: run ./dev setup (frontend/, docs/console.md)")
    journal = tmp_path / "provider.jsonl"
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}",
                 LIVEPLEDGE_MEDIA_DIR=str(tmp_path / "media"), LIVEPLEDGE_TEST_CLOCK="1",
                 LIVEPLEDGE_PLATFORM_COMMISSION_BP=str(COMMISSION_BP),
                 LIVEPLEDGE_CONSUMER_POLL_SECONDS="0.2", LIVEPLEDGE_SANDBOX_JOURNAL=str(journal))
    demo = seed_demo(env, buyers=2, stock=5)
    base = server_factory(env).base_url
    sid = int(demo["session_id"])  # type: ignore[call-overload]
    shop_id = int(demo["shop_id"])  # type: ignore[call-overload]
    merchant = httpx.Client(base_url=base, headers={
        "Authorization": f"Bearer {demo['merchant_token']}"})
    item = merchant.get(f"/api/v1/sessions/{sid}").json()["lineup"][0]
    tokens = demo["buyer_tokens"]  # type: ignore[index]
    kept = _received_order(base, tokens[0], merchant, sid, item["id"], f"money-{device}-000001")
    returned = _received_order(base, tokens[1], merchant, sid, item["id"],
                               f"money-{device}-000002")
    amount = int(kept["amount"])
    commission = (amount * COMMISSION_BP + 5000) // 10000
    _wait_for(merchant, shop_id, held=2 * amount, available=0)

    context = browser.new_context(**DEVICES[device], timezone_id="Asia/Shanghai", locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text else None)
    me = merchant.get("/api/v1/me").json()
    login(page, base, me["login"], MERCHANT_PASSWORD, "/console/money")
    expect(page.get_by_test_id("money-held")).to_have_text(_yuan(2 * amount))
    expect(page.get_by_test_id("money-available")).to_have_text("¥0.00")
    expect(page.get_by_test_id("statement-line")).to_have_count(2)  # two payments, held
    shot(page, f"money-held-{device}")

    # receipt + the 7-day no-reason window: the release deadline fires on the moved clock
    moved = httpx.post(f"{base}/api/v1/test/clock", json={"advance_seconds": 8 * 86400})
    assert moved.status_code == 200 and moved.json()["deadlines_fired"] >= 2, moved.text
    server_now = datetime.fromisoformat(moved.json()["now"])
    _wait_for(merchant, shop_id, held=0, available=2 * (amount - commission))

    # a return after release: refunded from available, its commission given back
    buyer = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens[1]}"})
    case = buyer.post(f"/api/v1/orders/{returned['id']}/cases", json={
        "type": "return_refund", "reason": "quality"})
    assert case.status_code == 201, case.text
    url = f"/api/v1/cases/{case.json()['id']}"
    assert merchant.post(url + "/merchant", json={"action": "approve",
                                                  "return_address": ADDRESS}).status_code == 200
    assert buyer.post(url + "/buyer", json={"action": "ship_return", "carrier": "中通快递",
                                            "tracking_number": "ZT998877"}).status_code == 200
    closed = merchant.post(url + "/return-received")
    assert closed.status_code == 200 and closed.json()["refunded"] == amount, closed.text
    _wait_for(merchant, shop_id, held=0, available=amount - commission,
              payable=amount - commission)

    page.clock.set_fixed_time(server_now)  # the browser's month is the server's (moved) one
    page.reload()
    expect(page.get_by_test_id("money-held")).to_have_text("¥0.00")
    expect(page.get_by_test_id("money-available")).to_have_text(_yuan(amount - commission))
    month = statements.month_period(server_now.astimezone(statements.TZ).year,
                                    server_now.astimezone(statements.TZ).month).label
    expect(page.get_by_test_id("statement-month")).to_contain_text(month)
    lines = page.get_by_test_id("statement-line")
    expect(lines.filter(has_text="确认收货结算")).to_have_count(4)  # held out, available in
    expect(lines.filter(has_text="售后退款")).to_have_count(1)
    links = page.get_by_test_id("line-link")
    expect(links.filter(has_text=f"订单 #{returned['id']}").first).to_have_attribute(
        "href", f"/orders/{returned['id']}")
    expect(links.filter(has_text=f"订单 #{kept['id']}").first).to_be_visible()
    shot(page, f"money-statement-{device}")

    # the statement through the API: a settlement per order, the return net of its commission
    period = statements.month_period(server_now.astimezone(statements.TZ).year,
                                     server_now.astimezone(statements.TZ).month)
    statement = merchant.get(f"/api/v1/shops/{shop_id}/statement", params={
        "start": period.start.isoformat(), "end": period.end.isoformat()}).json()
    available_lines = sorted((ln["event"], ln["amount"], ln["order_id"])
                             for ln in statement["lines"] if ln["account"] == "available")
    assert available_lines == sorted([
        ("EscrowReleased", amount - commission, kept["id"]),
        ("EscrowReleased", amount - commission, returned["id"]),
        ("CaseRefunded", -(amount - commission), returned["id"])])

    # the income statement: the platform's commission net of the one given back
    page.get_by_role("tab", name="收入报表").click()
    expect(page.get_by_test_id("income-platform_commission")).to_have_text(_yuan(commission))
    expect(page.get_by_test_id("income-refunds_aftersales")).to_have_text(_yuan(amount))
    expect(page.get_by_test_id("income-csv")).to_have_attribute(
        "href", f"/api/v1/shops/{shop_id}/income-statements?period={month}&format=csv")
    shot(page, f"money-income-{device}")
    income = merchant.get(f"/api/v1/shops/{shop_id}/income-statements",
                          params={"period": month}).json()["figures"]
    assert (income["platform_commission"], income["refunds_aftersales"], income["released"]) == (
        commission, amount, 2 * (amount - commission))
    download = merchant.get(f"/api/v1/shops/{shop_id}/income-statements",
                            params={"period": month, "format": "xlsx"})
    assert download.status_code == 200 and download.content[:2] == b"PK"

    # a payout from the page: the available balance is shown, the amount is paid once
    page.get_by_test_id("open-payout").click()
    expect(page.get_by_test_id("dialog-payable")).to_have_text(_yuan(amount - commission))
    page.get_by_test_id("payout-amount").fill("1.00")
    page.get_by_test_id("submit-payout").click()
    _wait_for(merchant, shop_id, available=amount - commission - 100)
    assert [p["amount"] for p in merchant.get(f"/api/v1/shops/{shop_id}/payouts").json()] == [
        100]

    # the deposit: topped up from the page, part of it taken back (no minimum here)
    page.get_by_test_id("open-top-up").click()
    page.get_by_test_id("top-up-amount").fill("50.00")
    page.get_by_test_id("submit-top-up").click()
    _wait_for(merchant, shop_id, deposit=5000)
    page.reload()
    page.get_by_test_id("open-withdrawal").click()
    expect(page.get_by_test_id("dialog-withdrawable")).to_have_text(_yuan(5000))
    page.get_by_test_id("withdrawal-amount").fill("60.00")
    expect(page.get_by_test_id("submit-withdrawal")).to_be_disabled()
    page.get_by_test_id("withdrawal-amount").fill("20.00")
    shot(page, f"money-withdrawal-{device}")
    page.get_by_test_id("submit-withdrawal").click()
    _wait_for(merchant, shop_id, deposit=3000)
    assert [w["amount"] for w in merchant.get(
        f"/api/v1/shops/{shop_id}/deposit/withdrawals").json()] == [2000]
    assert errors == []

    verified = run_cli(["ledger", "verify"], env, check=False)
    assert verified.returncode == 0, verified.stdout
    tied = run_cli(["ledger", "reconcile"], env, check=False)
    assert tied.returncode == 0, tied.stdout
