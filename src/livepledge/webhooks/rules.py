"""Pure webhook decisions: the event catalogue and payloads, which URLs and addresses may be
called, and the retry schedule. No I/O, no clock (`now` and the jitter are arguments)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import SplitResult, urlsplit

PAYLOAD_VERSION = 1

# Webhook event types (Standard Webhooks style: dotted), each built from the domain events
# named beside it (docs/events.md), with the words the console shows.
CATALOGUE: dict[str, tuple[tuple[str, ...], str]] = {
    "order.paid": (("OrderPaid",), "订单已支付 / order paid"),
    "order.shipped": (("OrderShipped",), "订单已发货 / order shipped"),
    "order.received": (("OrderReceived",), "买家已收货 / order received"),
    "order.cancelled": (("OrderCancelled",), "订单已取消 / order cancelled"),
    "order.refunded": (("CaseRefunded", "PriceProtectionRefunded"),
                       "订单已退款 / order refunded"),
    "case.opened": (("CaseOpened",), "售后已发起 / after-sales case opened"),
    "case.decided": (("CaseClosed",), "售后已处理 / after-sales case decided"),
    "lottery.drawn": (("LotteryDrawn",), "福袋已开奖 / lottery drawn"),
    "fan.joined": (("FanJoined",), "新粉丝入团 / fan joined the fan club"),
    "coupon.claimed": (("CouponClaimed",), "优惠券被领取 / coupon claimed"),
    "campaign.sent": (("CampaignSent",), "营销消息已发送 / campaign sent"),
}
TYPE_OF_EVENT: dict[str, str] = {event: kind for kind, (events, _) in CATALOGUE.items()
                                 for event in events}
MAX_EVENT_TYPES = len(CATALOGUE)
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION = 200

# What each payload carries from its event (never the buyer's name, phone or address).
_FIELDS: dict[str, tuple[str, ...]] = {
    "OrderPaid": ("amount", "provider"),
    "OrderShipped": ("carrier", "tracking_number"),
    "OrderReceived": (),
    "OrderCancelled": ("by", "code", "reason", "refund_paid", "compensated"),
    "CaseRefunded": ("case_id", "amount"),
    "PriceProtectionRefunded": ("amount", "unit_price", "offer_price"),
    "CaseOpened": ("case_id", "type", "reason", "amount"),
    "CaseClosed": ("case_id", "outcome", "refunded"),
    "LotteryDrawn": ("lottery_id", "seed", "winners"),
    "CampaignSent": ("campaign_id", "audience", "delivered"),
}
_CAUSE = {"CaseRefunded": "aftersales", "PriceProtectionRefunded": "price_protection"}
# Events whose payloads other features define (fans): their fields pass through, minus these.
PERSONAL_KEYS = frozenset({"phone", "address", "recipient", "name", "display_name", "login",
                           "email", "wechat", "id_number"})


def event_types_error(kinds: Sequence[str]) -> str | None:
    if not kinds:
        return "请至少选择一种事件 / choose at least one event type"
    unknown = sorted(set(kinds) - set(CATALOGUE))
    if unknown:
        return (f"未知事件类型 / unknown event types: {', '.join(unknown)} "
                f"(可选 / offered: {', '.join(CATALOGUE)})")
    return None


def payload(event_type: str, *, shop_id: int, session_id: int | None, order_id: int | None,
            fields: Mapping[str, Any], occurred_at: datetime) -> dict[str, Any]:
    """The delivered JSON, version 1: `type`, `timestamp` (when the event happened), `version`
    and `data` (docs/fans.md lists every type's fields)."""
    kind = TYPE_OF_EVENT[event_type]
    data: dict[str, Any] = {"shop_id": shop_id}
    if order_id is not None:
        data["order_id"] = order_id
    if session_id is not None:
        data["session_id"] = session_id
    if event_type in _FIELDS:
        data.update({key: fields.get(key) for key in _FIELDS[event_type]})
    else:
        data.update({key: value for key, value in fields.items()
                     if key not in PERSONAL_KEYS and key not in data})
    if event_type in _CAUSE:
        data["cause"] = _CAUSE[event_type]
    stamp = occurred_at.isoformat().replace("+00:00", "Z")
    return {"type": kind, "timestamp": stamp, "version": PAYLOAD_VERSION, "data": data}


# --- where a webhook may go ------------------------------------------------------------------

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo server, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: Address, blocked: Iterable[ipaddress.IPv4Network
                                                    | ipaddress.IPv6Network] = ()) -> str | None:
    """Why a webhook may not be sent to this address, or None. Refused: loopback, private
    (RFC 1918, ULA), link-local (169.254.0.0/16 with the cloud metadata address, fe80::/10),
    unspecified, multicast, reserved, anything else not globally reachable (shared CGNAT space,
    documentation ranges), and the operator's `blocked` networks (the server's own public
    addresses). An IPv6 address that embeds an IPv4 one is judged by that one too."""
    inner = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if inner is not None and ((problem := address_problem(inner, blocked)) is not None
                              or inner == getattr(ip, "ipv4_mapped", None)):
        return problem  # a mapped address is the IPv4 address itself
    for network in blocked:
        if ip.version == network.version and ip in network:
            return "blocked"
    checks = (("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified),
              ("link_local", ip.is_link_local), ("multicast", ip.is_multicast),
              ("reserved", ip.is_reserved), ("private", ip.is_private),
              ("not_global", not ip.is_global))
    return next((name for name, hit in checks if hit), None)


PROBLEM_WORDS = {
    "loopback": "本机回环地址 / a loopback address",
    "unspecified": "未指定地址 / the unspecified address",
    "link_local": "链路本地地址（含云元数据地址）/ a link-local address (incl. cloud metadata)",
    "multicast": "组播地址 / a multicast address",
    "private": "内网地址 / a private network address",
    "reserved": "保留地址 / a reserved address",
    "not_global": "非公网地址 / an address not reachable from the internet",
    "blocked": "本平台自身的地址 / one of this server's own addresses",
}


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # a name, or an IP literal without brackets
    port: int
    ip: Address | None  # set when the host is an IP literal


def parse_url(url: str, *, require_https: bool) -> tuple[Target | None, str | None]:
    """Check a webhook URL's form: (target, None) or (None, what is wrong)."""
    if not url or len(url) > MAX_URL_LENGTH:
        return None, f"URL 须为 1–{MAX_URL_LENGTH} 个字符 / URL must be 1-{MAX_URL_LENGTH} chars"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None, "URL 不能含空白或控制字符 / URL must not contain spaces or control chars"
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError:
        return None, "URL 格式不正确 / malformed URL"
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        return None, "只支持 http 或 https 地址 / only http and https URLs are allowed"
    if require_https and scheme != "https":
        return None, "生产环境须使用 https / https is required in production"
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return None, "URL 不能包含用户名或密码 / URL must not contain credentials"
    if parts.fragment or url.endswith("#"):
        return None, "URL 不能包含 # 片段 / URL must not contain a #fragment"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return None, "URL 缺少主机名 / URL has no host"
    if port == 0:
        return None, "端口不能为 0 / port 0 is not allowed"
    if host == "localhost" or host.endswith(".localhost"):
        return None, f"不能指向{PROBLEM_WORDS['loopback']} / must not point at localhost"
    try:
        ip: Address | None = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    return Target(scheme, host, port or (443 if scheme == "https" else 80), ip), None


def refused_words(problem: str) -> str:
    return f"不能发往{PROBLEM_WORDS[problem]} / webhooks may not go to {PROBLEM_WORDS[problem]}"


# --- retries -----------------------------------------------------------------------------

DELIVERY_WINDOW = timedelta(hours=24)
# The wait after each failed attempt (the n-th failure waits RETRY_DELAYS[n-1]; then the last
# one again), each times a jitter factor in [0.8, 1.2), never past the window's end: the last
# attempt is made when the window ends, and if it fails too the delivery expires.
RETRY_DELAYS = (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2),
                timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1),
                timedelta(hours=2), timedelta(hours=4), timedelta(hours=8))


def retry_delay(failures: int, jitter: float) -> timedelta:
    """The wait after the `failures`-th failed attempt (1-based); `jitter` in [0, 1)."""
    base = RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]
    return base * (0.8 + 0.4 * jitter)


MAX_RETRY_AFTER = timedelta(hours=1)


def next_attempt(failures: int, *, now: datetime, expires_at: datetime, jitter: float,
                 retry_after: float | None = None) -> datetime | None:
    """When to try again after the `failures`-th failed attempt at `now`; None: expired. A
    receiver's `Retry-After` (seconds; a 429 or 503) is honoured when it asks for longer than
    the schedule, up to an hour."""
    if now >= expires_at:
        return None
    delay = retry_delay(failures, jitter)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return min(now + delay, expires_at)


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` header in seconds (the HTTP-date form is not used by receivers we
    know; it is ignored)."""
    if not value or not value.strip().isdigit():
        return None
    return float(value.strip())


def is_acknowledged(status: int | None) -> bool:
    return status is not None and 200 <= status < 300
