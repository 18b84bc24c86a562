"""Webhook rules: which addresses a webhook may go to, URL forms, the retry schedule, the
payloads, and the Standard Webhooks signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livepledge.webhooks import rules, signature

ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("fd00::1", "private"),  # ULA
    ("fc12:3456::1", "private"),
    ("169.254.169.254", "link_local"),  # cloud metadata
    ("169.254.1.1", "link_local"),
    ("fe80::1", "link_local"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("100.64.0.1", "not_global"),  # shared address space (CGNAT)
    ("203.0.113.7", "private"),  # documentation (TEST-NET-3)
    ("2001:db8::1", "private"),  # documentation
    # IPv6 carrying an IPv4 address is judged by the IPv4 address too
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.1.2.3", "private"),
    ("::ffff:169.254.169.254", "link_local"),
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ("2002:a00:1::1", "private"),  # 6to4 of 10.0.0.1
    # allowed: public addresses
    ("93.184.216.34", None),
    ("8.8.8.8", None),
    ("2606:4700:4700::1111", None),
    ("::ffff:93.184.216.34", None),
]


@pytest.mark.parametrize(("address", "problem"), ADDRESSES)
def test_address_classification(address: str, problem: str | None) -> None:
    assert rules.address_problem(ipaddress.ip_address(address)) == problem


def test_operator_blocked_networks_are_refused() -> None:
    blocked = [ipaddress.ip_network("93.184.216.0/24")]
    assert rules.address_problem(ipaddress.ip_address("93.184.216.34"), blocked) == "blocked"
    assert rules.address_problem(ipaddress.ip_address("::ffff:93.184.216.34"),
                                 blocked) == "blocked"
    assert rules.address_problem(ipaddress.ip_address("8.8.8.8"), blocked) is None


URLS = [
    ("https://hooks.example.com/lp", False, None),
    ("http://hooks.example.com/lp", False, None),
    ("http://hooks.example.com/lp", True, "https is required in production"),
    ("ftp://hooks.example.com/lp", False, "only http and https"),
    ("javascript:alert(1)", False, "only http and https"),
    ("https://user:pw@hooks.example.com/", False, "must not contain credentials"),
    ("https://user@hooks.example.com/", False, "must not contain credentials"),
    ("https://hooks.example.com/a#frag", False, "#fragment"),
    ("https:///path", False, "has no host"),
    ("https://localhost/x", False, "localhost"),
    ("https://api.localhost/x", False, "localhost"),
    ("https://hooks.example.com:99999/", False, "malformed URL"),
    ("https://hooks.example.com:0/", False, "port 0"),
    ("https://hooks.example.com/a b", False, "spaces"),
    ("https://" + "a" * 2000 + ".com/", False, "URL must be 1-2000 chars"),
    ("", False, "URL must be 1-2000 chars"),
]


@pytest.mark.parametrize(("url", "https_only", "error"), URLS)
def test_url_forms(url: str, https_only: bool, error: str | None) -> None:
    target, problem = rules.parse_url(url, require_https=https_only)
    if error is None:
        assert problem is None and target is not None
    else:
        assert target is None and problem is not None and error in problem


def test_url_targets_carry_the_port_and_the_ip_literal() -> None:
    target, _ = rules.parse_url("https://[::1]:8443/x", require_https=True)
    assert target == rules.Target("https", "::1", 8443, ipaddress.ip_address("::1"))
    target, _ = rules.parse_url("http://Hooks.Example.com./x", require_https=False)
    assert target == rules.Target("http", "hooks.example.com", 80, None)


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_retry_schedule_without_jitter_is_documented_table() -> None:
    # jitter 0.5 -> factor 1.0: the table in docs/fans.md
    assert [rules.retry_delay(n, 0.5) for n in range(1, 12)] == [
        timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2),
        timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2),
        timedelta(hours=4), timedelta(hours=8), timedelta(hours=8), timedelta(hours=8)]


def test_a_delivery_failing_for_ever_is_tried_until_its_window_ends_then_expires() -> None:
    expires = T0 + rules.DELIVERY_WINDOW
    now, failures, times = T0, 0, [T0]
    while True:
        failures += 1
        nxt = rules.next_attempt(failures, now=now, expires_at=expires, jitter=0.5)
        if nxt is None:
            break
        times.append(nxt)
        now = nxt
    assert [t - T0 for t in times[:4]] == [timedelta(0), timedelta(seconds=5),
                                           timedelta(seconds=35), timedelta(seconds=155)]
    assert times[-1] == expires  # the last attempt at the window's end
    assert len(times) == 12


@given(failures=st.integers(1, 60), jitter=st.floats(0, 1, exclude_max=True),
       elapsed=st.integers(0, 30 * 3600))
def test_retries_are_never_past_the_window_and_never_sooner_than_80_percent(
        failures: int, jitter: float, elapsed: int) -> None:
    expires = T0 + rules.DELIVERY_WINDOW
    now = T0 + timedelta(seconds=elapsed)
    nxt = rules.next_attempt(failures, now=now, expires_at=expires, jitter=jitter)
    if now >= expires:
        assert nxt is None
        return
    assert nxt is not None and now < nxt <= expires
    base = rules.RETRY_DELAYS[min(failures, len(rules.RETRY_DELAYS)) - 1]
    assert nxt == expires or base * 0.8 <= nxt - now <= base * 1.2


@pytest.mark.parametrize(("status", "acknowledged"), [
    (200, True), (201, True), (204, True), (299, True), (199, False), (301, False),
    (302, False), (404, False), (410, False), (500, False), (None, False)])
def test_only_2xx_acknowledges(status: int | None, acknowledged: bool) -> None:
    assert rules.is_acknowledged(status) is acknowledged


def test_payloads_are_versioned_and_carry_no_personal_data() -> None:
    body = rules.payload("OrderPaid", shop_id=3, session_id=7, order_id=11,
                         fields={"amount": 9900, "provider": "sandbox", "buyer_id": 5},
                         occurred_at=T0)
    assert body == {"type": "order.paid", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
                    "data": {"shop_id": 3, "order_id": 11, "session_id": 7, "amount": 9900,
                             "provider": "sandbox"}}
    refund = rules.payload("CaseRefunded", shop_id=3, session_id=None, order_id=11,
                           fields={"case_id": 4, "amount": 500}, occurred_at=T0)
    assert refund["type"] == "order.refunded"
    assert refund["data"] == {"shop_id": 3, "order_id": 11, "case_id": 4, "amount": 500,
                              "cause": "aftersales"}
    fan = rules.payload("FanJoined", shop_id=3, session_id=None, order_id=None,
                        fields={"fan_id": 8, "level": 1, "phone": "13800138000",
                                "display_name": "张三"}, occurred_at=T0)
    assert fan["data"] == {"shop_id": 3, "fan_id": 8, "level": 1}


def test_the_catalogue_offers_the_issue_events() -> None:
    assert set(rules.CATALOGUE) == {
        "order.paid", "order.shipped", "order.received", "order.cancelled", "order.refunded",
        "case.opened", "case.decided", "lottery.drawn", "fan.joined", "coupon.claimed",
        "campaign.sent"}
    assert {"FanJoined", "CouponClaimed", "OrderPaid", "LotteryDrawn"} <= set(
        rules.TYPE_OF_EVENT)
    assert rules.event_types_error([]) is not None
    assert "order.exploded" in (rules.event_types_error(["order.paid", "order.exploded"]) or "")
    assert rules.event_types_error(["order.paid"]) is None


# --- signatures ------------------------------------------------------------------------------

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"type":"order.paid","data":{"order_id":1}}'


def test_signature_follows_the_standard_webhooks_scheme() -> None:
    # computed independently: HMAC-SHA256(base64-decoded secret, "id.timestamp.body")
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"msg_1.1700000000." + BODY,
                                         hashlib.sha256).digest()).decode()
    assert signature.signature(SECRET, "msg_1", 1700000000, BODY) == "v1," + expected


def test_the_standard_webhooks_test_vector() -> None:
    # the reference libraries' own test vector (standard-webhooks, libraries/*/tests)
    assert signature.signature(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
        b'{"test": 2432232314}') == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _headers(secret: str = SECRET, body: bytes = BODY, ts: int = 1700000000) -> dict[str, str]:
    return signature.headers([secret], "msg_1", ts, body)


def _verify(headers: dict[str, str], *, secret: str = SECRET, body: bytes = BODY,
            now: float = 1700000000) -> bool:
    return signature.verify(secret, webhook_id=headers["webhook-id"],
                            webhook_timestamp=headers["webhook-timestamp"],
                            webhook_signature=headers["webhook-signature"], body=body, now=now)


def test_a_genuine_delivery_verifies_within_the_tolerance() -> None:
    assert _verify(_headers())
    assert _verify(_headers(), now=1700000000 + 300)
    assert _verify(_headers(), now=1700000000 - 300)


def test_tampering_wrong_secret_and_stale_timestamps_fail() -> None:
    headers = _headers()
    assert not _verify(headers, body=BODY.replace(b"1", b"2"))  # tampered body
    assert not _verify(headers, secret=signature.new_secret())  # wrong secret
    assert not _verify(headers, now=1700000000 + 301)  # old timestamp (a replay)
    assert not _verify(headers, now=1700000000 - 301)  # from the future
    assert not _verify({**headers, "webhook-id": "msg_2"})  # another message's signature
    assert not _verify({**headers, "webhook-timestamp": "1700000001"})
    assert not _verify({**headers, "webhook-timestamp": "soon"})
    assert not _verify({**headers, "webhook-signature": "v1a," + headers[
        "webhook-signature"][3:]})
    assert not _verify(headers, secret="not-a-secret!")


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = signature.new_secret(), signature.new_secret()
    headers = signature.headers([new, old], "msg_1", 1700000000, BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert _verify(headers, secret=new) and _verify(headers, secret=old)
    assert not _verify(headers, secret=signature.new_secret())


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    secret = signature.new_secret()
    assert secret.startswith("whsec_")
    assert len(signature.secret_key(secret)) == 32
    assert secret != signature.new_secret()


@pytest.mark.parametrize(("retry_after", "expected"), [
    (None, timedelta(seconds=5)), (2.0, timedelta(seconds=5)), (120.0, timedelta(minutes=2)),
    (86_400.0, timedelta(hours=1)), (0.0, timedelta(seconds=5))])
def test_a_longer_retry_after_is_honoured_up_to_an_hour(
        retry_after: float | None, expected: timedelta) -> None:
    nxt = rules.next_attempt(1, now=T0, expires_at=T0 + rules.DELIVERY_WINDOW, jitter=0.5,
                             retry_after=retry_after)
    assert nxt == T0 + expected


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0), (" 7 ", 7.0), ("", None), (None, None), ("soon", None), ("-5", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", None)])
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert rules.retry_after_seconds(header) == seconds
