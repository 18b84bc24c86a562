"""Pure order rules: quantities, idempotency keys, status transitions, expiry."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

MAX_QUANTITY = 1000
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "pay": (frozenset({"pending_payment"}), "paid"),
    "ship": (frozenset({"paid"}), "shipped"),
    "receive": (frozenset({"shipped"}), "received"),
    "buyer_cancel": (frozenset({"pending_payment"}), "cancelled"),
    # a paid order, by its buyer, during the cooling-off period they chose (冷静期)
    "cooling_cancel": (frozenset({"paid"}), "cancelled"),
    # refunded in full before shipping (after-sales 仅退款 on an unshipped order)
    "refunded_cancel": (frozenset({"paid"}), "cancelled"),
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


COOLING_OFF_MAX_MINUTES = 1440


def cooling_off_error(minutes: int | None) -> str | None:
    if minutes is not None and not 0 <= minutes <= COOLING_OFF_MAX_MINUTES:
        return (f"冷静期须为 0–{COOLING_OFF_MAX_MINUTES} 分钟 / a cooling-off period is "
                f"0-{COOLING_OFF_MAX_MINUTES} minutes")
    return None


def cooling(cooling_off_until: datetime | None, now: datetime) -> bool:
    return cooling_off_until is not None and now < cooling_off_until


def cancel_reason_error(reason: str | None) -> str | None:
    if reason is None or not 4 <= len(reason.strip()) <= 300:
        return "取消须说明原因（4–300 字）/ a cancellation needs a reason (4-300 chars)"
    return None


# Why a shop may cancel an order: a fixed list, so that cancellations can be counted and the
# buyer compensated unless they asked for it themselves.
CANCEL_CODES = {
    "out_of_stock": ("缺货", "out of stock"),
    "buyer_asked": ("买家要求取消", "the buyer asked"),
    "address_unreachable": ("地址无法送达", "address unreachable"),
    "suspected_fraud": ("疑似欺诈", "suspected fraud"),
    "other": ("其他", "other"),
}


def merchant_cancel_error(code: str | None, text: str | None) -> str | None:
    if code is None:
        return ("商家取消须选择原因 / a shop cancelling an order picks a reason: "
                + ", ".join(CANCEL_CODES))
    if code not in CANCEL_CODES:
        return f"未知取消原因 / unknown reason: {code}"
    if code == "other" and (text is None or not 4 <= len(text.strip()) <= 300):
        return "选择“其他”须说明原因（4–300 字）/ 'other' needs a reason in words (4-300 chars)"
    if text is not None and len(text.strip()) > 300:
        return "原因说明最多 300 字 / the reason is at most 300 chars"
    return None


def cancel_label(code: str | None, text: str | None) -> dict[str, str]:
    """The reason in words, zh-CN and en: the code's name, and the shop's words if any."""
    text = (text or "").strip()
    if code not in CANCEL_CODES:
        return {"zh-CN": text, "en": text}
    zh, en = CANCEL_CODES[code]
    return {"zh-CN": f"{zh}（{text}）" if text else zh, "en": f"{en} ({text})" if text else en}


def compensation(amount: int, *, percent: int, floor: int, cap: int) -> int:
    """What a buyer gets for a cancellation they did not ask for, or a promised shipping time
    missed: a share of the order's amount, at least `floor`, at most `cap` (fen). Never zero."""
    return max(1, min(cap, max(floor, amount * percent // 100)))


def shipping_error(carrier: str, tracking_number: str) -> str | None:
    if not 1 <= len(carrier.strip()) <= 64:
        return "快递公司须为 1–64 个字符 / carrier must be 1-64 chars"
    if not re.fullmatch(r"[A-Za-z0-9-]{4,64}", tracking_number.strip()):
        return "运单号须为 4–64 位字母数字 / tracking number must be 4-64 letters/digits"
    return None


# --- what an order shows ----------------------------------------------------------------------

def staff_address(address: dict[str, str] | None) -> dict[str, str] | None:
    """The address as shop staff see it in lists and details: the phone masked. The packing slip
    shows it whole."""
    if address is None:
        return None
    from livepledge.accounts.rules import mask_phone

    return {**address, "phone": mask_phone(address["phone"])}


def timeline(order: Any, *, refunded: int, paid: int | None = None) -> list[dict[str, Any]]:
    """What happened to an order, in order: placed, paid (`paid`: what was charged, less than
    the amount with a coupon), address set or changed, shipped, received, cancelled (by whom,
    why, what was refunded) or expired. `order` is the stored row; times stay UTC (pages show
    them in Asia/Shanghai)."""
    steps: list[dict[str, Any]] = [{"step": "placed", "at": order.created_at,
                                    "amount": order.amount}]
    if order.paid_at is not None:
        steps.append({"step": "paid", "at": order.paid_at,
                      "amount": order.amount if paid is None else paid,
                      **({"coupon_discount": order.amount - paid}
                         if paid is not None and paid < order.amount else {})})
    if order.address_set_at is not None and order.address_set_at != order.paid_at:
        steps.append({"step": "address_changed", "at": order.address_set_at})
    if order.shipped_at is not None:
        steps.append({"step": "shipped", "at": order.shipped_at, "carrier": order.carrier,
                      "tracking_number": order.tracking_number})
    if order.received_at is not None:
        steps.append({"step": "received", "at": order.received_at})
    if order.status == "cancelled":
        steps.append({"step": "cancelled", "at": order.closed_at, "by": order.cancelled_by,
                      "reason": order.cancel_reason, "refunded": refunded})
    elif order.status == "expired":
        steps.append({"step": "expired", "at": order.closed_at})
    return sorted(steps, key=lambda step: step["at"])


CSV_COLUMNS = (("id", "订单号"), ("created_at", "下单时间"), ("status", "状态"),
               ("buyer_login", "买家"), ("product", "商品"), ("sku", "规格"),
               ("quantity", "数量"), ("unit_price", "单价(元)"), ("amount", "金额(元)"),
               ("session_id", "直播场次"), ("recipient", "收货人"), ("phone", "电话"),
               ("address", "收货地址"), ("carrier", "快递公司"),
               ("tracking_number", "运单号"), ("cancel_reason", "取消原因"))
STATUS_WORDS = {"pending_payment": "待支付", "paid": "待发货", "shipped": "已发货",
                "received": "已收货", "cancelled": "已取消", "expired": "已超时"}


def _local(iso: str | None, zone: Any) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _csv_row(order: dict[str, Any], zone: Any) -> list[str]:
    address = order.get("shipping_address") or {}
    snapshot = order.get("snapshot") or {}
    values = {
        **order, "created_at": _local(order.get("created_at"), zone),
        "status": STATUS_WORDS.get(order["status"], order["status"]),
        "product": snapshot.get("product_title", ""), "sku": snapshot.get("sku_name", ""),
        "unit_price": f"{order['unit_price'] / 100:.2f}", "amount": f"{order['amount'] / 100:.2f}",
        "recipient": address.get("recipient", ""), "phone": address.get("phone", ""),
        "address": " ".join(address.get(k, "") for k in ("province", "city", "district",
                                                         "detail")).strip(),
    }
    cells = ["" if values.get(key) is None else str(values[key]) for key, _ in CSV_COLUMNS]
    # A cell starting with = + - @ is a formula to a spreadsheet: quote it as text.
    return ["'" + cell if cell[:1] in ("=", "+", "-", "@") else cell for cell in cells]


def orders_csv(page: list[dict[str, Any]], *, tz: str) -> str:
    import csv
    import io
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in CSV_COLUMNS])
    for order in page:
        writer.writerow(_csv_row(order, zone))
    return out.getvalue()
