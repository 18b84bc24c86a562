"""In a real browser, at a phone and a desktop viewport: the merchant registers a webhook
endpoint in the console (消息推送), sees its signing secret once, sees the delivery of a paid
order arrive at a local receiver (signed with that secret) in the delivery log, and replays it
— the receiver gets the same message again. Screenshots of each step (docs/screenshots.md)."""

from __future__ import annotations

import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from livepledge.web import console
from livepledge.webhooks import signature
from tests.conftest import lp_env, seed_demo
from tests.e2e.test_console_browser import DEVICES, patient_expect, shot  # noqa: F401
from tests.e2e.test_live_room_browser import browser, login  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class Receiver:
    """A webhook receiver on a thread (the browser test is synchronous)."""

    def __init__(self) -> None:
        self.arrived: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        arrived = self.arrived

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                arrived.put(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/livepledge"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self) -> tuple[dict[str, str], bytes]:
        return self.arrived.get(timeout=30)


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_merchant_registers_a_webhook_sees_a_delivery_and_replays_it(
        browser, tmp_path, server_factory, device) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    from livepledge.demo import MERCHANT_PASSWORD

    if not (console.DIST / "index.html").is_file():
        pytest.fail("the console is not built: run ./dev setup (frontend/, docs/console.md)")
    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}",
                 LIVEPLEDGE_WEBHOOK_ALLOW_PRIVATE="true", LIVEPLEDGE_CONSUMER_POLL_SECONDS="0.1",
                 LIVEPLEDGE_WEBHOOK_POLL_SECONDS="0.1")
    demo = seed_demo(env, buyers=1, stock=5)
    base = server_factory(env).base_url
    merchant = httpx.get(f"{base}/api/v1/me", headers={
        "Authorization": f"Bearer {demo['merchant_token']}"}).json()
    receiver = Receiver()
    try:
        context = browser.new_context(**DEVICES[device])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, base, merchant["login"], MERCHANT_PASSWORD, "/console/webhooks")

        # register an endpoint; the secret is shown once
        expect(page.get_by_text("还没有推送地址")).to_be_visible()
        page.get_by_test_id("webhook-add").click()
        page.get_by_test_id("webhook-url-input").fill(receiver.url)
        page.get_by_test_id("webhook-description").fill("ERP 订单同步")
        shot(page, f"webhooks-add-{device}")
        page.get_by_test_id("webhook-save").click()
        secret_box = page.get_by_test_id("webhook-secret")
        expect(secret_box).to_contain_text("whsec_")
        secret = secret_box.inner_text().strip()
        expect(page.get_by_test_id("webhook-secret-dialog")).to_contain_text("只显示这一次")
        shot(page, f"webhooks-secret-{device}")
        page.get_by_test_id("webhook-secret-done").click()
        expect(page.get_by_test_id("webhook-row" if device == "phone" else "webhook-table")
               ).to_contain_text("ERP 订单同步")
        expect(page.get_by_test_id("webhook-secret")).to_be_hidden()
        assert secret not in page.content()  # never shown again
        shot(page, f"webhooks-{device}")

        # a buyer pays: the receiver gets a signed order.paid
        buyer = {"Authorization": f"Bearer {demo['buyer_tokens'][0]}"}
        order = httpx.post(
            f"{base}/api/v1/sessions/{demo['session_id']}/lineup/{demo['item_id']}/orders",
            json={"quantity": 1}, headers={**buyer, "Idempotency-Key": f"e2e-{device}"}).json()
        assert httpx.post(f"{base}/api/v1/orders/{order['id']}/pay",
                          headers=buyer).status_code == 200
        headers, body = receiver.next()
        assert signature.verify(secret, webhook_id=headers["webhook-id"],
                                webhook_timestamp=headers["webhook-timestamp"],
                                webhook_signature=headers["webhook-signature"], body=body,
                                now=time.time())

        # the delivery log shows it delivered, with its attempt; replay it
        page.get_by_test_id("webhook-log").first.click()
        drawer = page.get_by_test_id("webhook-log-drawer")
        expect(drawer.get_by_test_id("webhook-delivery")).to_have_count(1)
        expect(drawer.get_by_test_id("webhook-delivery-status")).to_have_text("已送达")
        expect(drawer).to_contain_text("订单已支付")
        expect(drawer).to_contain_text(headers["webhook-id"])
        drawer.locator(".el-collapse-item__header").first.click()
        expect(drawer.get_by_test_id("webhook-attempts")).to_contain_text("HTTP 200")
        shot(page, f"webhooks-log-{device}")
        drawer.get_by_test_id("webhook-replay").first.click()
        expect(page.get_by_text("已加入推送队列")).to_be_visible()
        replayed_headers, replayed_body = receiver.next()
        assert replayed_headers["webhook-id"] == headers["webhook-id"]
        assert replayed_body == body
        expect(drawer.get_by_test_id("webhook-delivery")).to_have_count(2)
        drawer.get_by_test_id("webhook-log-refresh").click()
        expect(drawer.get_by_test_id("webhook-delivery-status")).to_have_text(
            ["已送达", "已送达"])
        expect(drawer).to_contain_text("重推自")
        shot(page, f"webhooks-replayed-{device}")
        assert errors == []
        context.close()
    finally:
        receiver.server.shutdown()
