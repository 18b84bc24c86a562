"""The HTTP sender against a real local receiver: it connects to the checked address with the
URL's host kept in the Host header, follows no redirect, stops at its time limit, reads only
the first KiB of the answer, and refuses internal addresses unless the test-only switch is on."""

from __future__ import annotations

import ipaddress
from typing import Any

from livepledge.webhooks.sender import AddressPolicy, HttpSender
from tests.webhooks.test_webhook_delivery import Receiver, serve


class Answering(Receiver):
    """Answers each request with a scripted (status, headers, body)."""

    def __init__(self, *answers: tuple[int, list[tuple[bytes, bytes]], bytes]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.hosts: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.hosts.append(dict(scope["headers"]).get(b"host", b"").decode())
        while (await receive()).get("more_body"):
            pass
        status, headers, body = self.answers.pop(0)
        if status == 0:  # hang
            await self.release.wait()
            status = 200
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def sender(timeout: float = 2.0, **policy: Any) -> HttpSender:
    return HttpSender(timeout_seconds=timeout, policy=AddressPolicy(**policy))


async def test_a_redirect_is_not_followed_and_counts_as_its_status() -> None:
    receiver = Answering((302, [(b"location", b"http://127.0.0.1:1/elsewhere")], b""))
    async with serve(receiver) as url:
        http = sender(allow_private=True)
        outcome = await http.send(url, {"webhook-id": "msg_1"}, b"{}")
        await http.close()
    assert (outcome.status_code, outcome.error) == (302, None)
    assert len(receiver.hosts) == 1


async def test_only_the_first_kib_of_the_answer_is_kept() -> None:
    receiver = Answering((500, [], b"x" * 100_000))
    async with serve(receiver) as url:
        http = sender(allow_private=True)
        outcome = await http.send(url, {}, b"{}")
        await http.close()
    assert outcome.status_code == 500 and outcome.excerpt == "x" * 1024
    assert outcome.retry_after is None


async def test_retry_after_is_read() -> None:
    receiver = Answering((503, [(b"retry-after", b"120")], b"busy"))
    async with serve(receiver) as url:
        http = sender(allow_private=True)
        outcome = await http.send(url, {}, b"{}")
        await http.close()
    assert (outcome.status_code, outcome.retry_after, outcome.excerpt) == (503, 120.0, "busy")


async def test_a_hanging_receiver_is_a_timeout() -> None:
    receiver = Answering((0, [], b""))
    async with serve(receiver) as url:
        http = sender(timeout=0.5, allow_private=True)
        outcome = await http.send(url, {}, b"{}")
        await http.close()
    assert outcome.status_code is None and "timed out" in (outcome.error or "")
    assert outcome.duration_ms >= 500


async def test_the_host_header_names_the_url_host_while_the_checked_address_is_dialled() -> None:
    receiver = Answering((204, [], b""))

    async def resolver(host: str, port: int) -> list[Any]:
        assert host == "hooks.shop.test"
        return [ipaddress.ip_address("127.0.0.1")]

    async with serve(receiver) as url:
        port = url.split(":")[2].split("/")[0]
        http = HttpSender(timeout_seconds=2, policy=AddressPolicy(allow_private=True),
                          resolver=resolver)
        outcome = await http.send(f"http://hooks.shop.test:{port}/hooks", {}, b"{}")
        await http.close()
    assert outcome.status_code == 204
    assert receiver.hosts == [f"hooks.shop.test:{port}"]


async def test_internal_addresses_are_refused_before_connecting() -> None:
    receiver = Answering((200, [], b""))
    async with serve(receiver) as url:
        http = sender()
        outcome = await http.send(url, {}, b"{}")
        await http.close()
    assert outcome.status_code is None and "127.0.0.1" in (outcome.error or "")
    assert receiver.hosts == []
