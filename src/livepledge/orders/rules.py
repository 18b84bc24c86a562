"""Pure order rules: quantities, idempotency keys, status transitions, expiry."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

MAX_QUANTITY = 1000
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "pay": (frozenset({"pending_payment"}), "paid"),
    "ship": (frozenset({"paid"}), "shipped"),
    "receive": (frozenset({"shipped"}), "received"),
    "buyer_cancel": (frozenset({"pending_payment"}), "cancelled"),
    "merchant_cancel": (frozenset({"pending_payment", "paid"}), "cancelled"),
    "expire": (frozenset({"pending_payment"}), "expired"),
}
# Orders whose units are still spoken for; cancelling or expiring them gives units back.
HOLDS_STOCK = frozenset({"pending_payment", "paid", "shipped", "received"})


def quantity_error(quantity: int) -> str | None:
    if quantity <= 0:
        return "数量须至少为 1 / quantity must be at least 1"
    if quantity > MAX_QUANTITY:
        return f"数量不能超过 {MAX_QUANTITY} / quantity must be at most {MAX_QUANTITY}"
    return None


def idempotency_key_error(key: str | None) -> str | None:
    if not key:
        return "请求头须带 Idempotency-Key / the Idempotency-Key header is required"
    if not IDEMPOTENCY_KEY.match(key):
        return "Idempotency-Key 须为 1–128 个可见 ASCII 字符 / Idempotency-Key must be 1-128 " \
               "visible ASCII characters"
    return None


def next_status(status: str, action: str) -> str | None:
    allowed_from, target = TRANSITIONS[action]
    return target if status in allowed_from else None


def expires_at(created_at: datetime, timeout_seconds: int) -> datetime:
    return created_at + timedelta(seconds=timeout_seconds)


def is_expired(*, status: str, expires: datetime, now: datetime) -> bool:
    return status == "pending_payment" and now >= expires


def cancel_reason_error(reason: str | None) -> str | None:
    if reason is None or not 4 <= len(reason.strip()) <= 300:
        return "取消须说明原因（4–300 字）/ a cancellation needs a reason (4-300 chars)"
    return None


def shipping_error(carrier: str, tracking_number: str) -> str | None:
    if not 1 <= len(carrier.strip()) <= 64:
        return "快递公司须为 1–64 个字符 / carrier must be 1-64 chars"
    if not re.fullmatch(r"[A-Za-z0-9-]{4,64}", tracking_number.strip()):
        return "运单号须为 4–64 位字母数字 / tracking number must be 4-64 letters/digits"
    return None
