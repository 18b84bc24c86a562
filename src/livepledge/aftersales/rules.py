"""After-sales rules (pure): what a buyer may open, what each step's deadline is, what happens
when it passes, and which refusals a frozen promise forbids (docs/aftersales.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

TYPES = ("refund_only", "return_refund", "promise_breach", "counterfeit")
REASONS = {
    "refund_only": ("not_shipped", "not_received"),
    "return_refund": ("no_reason", "quality"),
    "promise_breach": ("promise",),
    "counterfeit": ("counterfeit",),
}
OPEN_STATES = ("awaiting_merchant", "awaiting_buyer", "awaiting_return", "return_shipped",
               "refused", "escalated")
CLOSED = "closed"


@dataclass(frozen=True)
class Deadlines:
    """Platform defaults, modelled on the large platforms' published after-sales rules
    (docs/aftersales.md); settings LIVEPLEDGE_AFTERSALES_*_HOURS."""

    merchant_response_hours: int = 48
    buyer_answer_hours: int = 48
    buyer_ship_return_hours: int = 7 * 24
    merchant_confirm_return_hours: int = 7 * 24
    escalation_hours: int = 7 * 24
    operator_decision_hours: int = 72

    def hours(self, state: str) -> int:
        return {"awaiting_merchant": self.merchant_response_hours,
                "awaiting_buyer": self.buyer_answer_hours,
                "awaiting_return": self.buyer_ship_return_hours,
                "return_shipped": self.merchant_confirm_return_hours,
                "refused": self.escalation_hours,
                "escalated": self.operator_decision_hours}[state]

    def due(self, state: str, now: datetime) -> datetime | None:
        return None if state == CLOSED else now + timedelta(hours=self.hours(state))


# What happens when a state's deadline passes: (next state, outcome, who loses)
ON_DEADLINE = {
    "awaiting_merchant": ("decide_for_buyer", "the shop did not answer in time"),
    "awaiting_buyer": ("close", "the buyer did not answer the shop's offer in time"),
    "awaiting_return": ("close", "the buyer did not ship the return in time"),
    "return_shipped": ("refund", "the shop did not confirm the returned goods in time"),
    "refused": ("close", "the buyer did not escalate the refusal in time"),
    "escalated": ("decide_for_buyer", "the platform did not decide the escalation in time"),
}

# The state machine: in each state, who may do what, and where it leads ("deadline": the clock
# decides, ON_DEADLINE). Every state but closed has a deadline; every path ends closed.
TRANSITIONS: dict[str, dict[str, str]] = {
    "awaiting_merchant": {"approve_return": "awaiting_return", "approve": CLOSED,
                          "refuse": "refused", "offer": "awaiting_buyer", "withdraw": CLOSED,
                          "deadline": CLOSED},
    "awaiting_buyer": {"accept_offer": CLOSED, "decline_offer": "awaiting_merchant",
                       "withdraw": CLOSED, "deadline": CLOSED},
    "awaiting_return": {"ship_return": "return_shipped", "withdraw": CLOSED,
                        "deadline": CLOSED},
    "return_shipped": {"confirm_return": CLOSED, "withdraw": CLOSED, "deadline": CLOSED},
    "refused": {"escalate": "escalated", "withdraw": CLOSED, "deadline": CLOSED},
    "escalated": {"rule_for_buyer": CLOSED, "rule_for_shop": CLOSED, "withdraw": CLOSED,
                  "deadline": CLOSED},
    CLOSED: {},
}
WHO = {"awaiting_merchant": "merchant", "awaiting_buyer": "buyer", "awaiting_return": "buyer",
       "return_shipped": "merchant", "refused": "buyer", "escalated": "operator",
       CLOSED: None}

# Photos on a case and its messages (JPEG/PNG/WebP, re-encoded without EXIF, docs/aftersales.md)
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTOS_PER_MESSAGE = 6
PHOTOS_PER_CASE = 30
MESSAGE_MAX_CHARS = 1000


def photos_error(sizes: list[int], already: int) -> str | None:
    """Why these photos cannot be added to a case that already carries `already`."""
    if len(sizes) > PHOTOS_PER_MESSAGE:
        return (f"每条最多 {PHOTOS_PER_MESSAGE} 张照片 / at most {PHOTOS_PER_MESSAGE} photos "
                "a message")
    if already + len(sizes) > PHOTOS_PER_CASE:
        return (f"每个售后单最多 {PHOTOS_PER_CASE} 张照片 / at most {PHOTOS_PER_CASE} photos "
                "a case")
    for n, size in enumerate(sizes, 1):
        if size > PHOTO_MAX_BYTES:
            return (f"第 {n} 张照片超过 {PHOTO_MAX_BYTES // 1048576} MB / photo {n} is larger "
                    f"than {PHOTO_MAX_BYTES // 1048576} MB")
        if size == 0:
            return f"第 {n} 张照片为空 / photo {n} is empty"
    return None


def return_window_days(promises: list[dict[str, Any]]) -> int | None:
    """Days for a no-reason return from the frozen promises: the law's 7 unless a longer one
    was promised; None when the order's promises say the goods are lawfully exempt."""
    days = 7
    for p in promises:
        if p.get("kind") == "no_reason_return":
            if "exempt" in p["terms"]:
                return None
            days = max(days, int(p["terms"]["days"]))
    return days


def _type_error(case_type: str, reason: str, *, order_status: str,
                received_at: datetime | None, now: datetime, promises: list[dict[str, Any]],
                promise_id: int | None) -> str | None:
    if case_type == "refund_only":
        if reason == "not_shipped" and order_status != "paid":
            return "订单已发货，请选择未收到货或退货退款 / already shipped"
        if reason == "not_received" and order_status != "shipped":
            return "只有已发货未签收的订单可申请未收到货 / only a shipped, not received order"
        return None
    if case_type == "return_refund":
        if order_status not in ("shipped", "received"):
            return "尚未发货，请申请仅退款 / not shipped yet: ask for a refund only"
        if reason != "no_reason":
            return None
        days = return_window_days(promises)
        if days is None:
            return "本商品依法不适用七天无理由退货（见订单承诺）/ exempt from no-reason returns"
        if received_at is not None and now > received_at + timedelta(days=days):
            return f"已超过 {days} 天无理由退货期 / past the {days}-day no-reason window"
        return None
    kinds = {p.get("promise_id"): p.get("kind") for p in promises}
    if case_type == "counterfeit":
        if "counterfeit_compensation" not in kinds.values():
            return "本单没有假一赔N承诺 / this order carries no counterfeit promise"
    elif promise_id not in kinds:
        return "须指明本单冻结的承诺 / name a promise frozen into this order"
    return None


def open_error(*, case_type: str, reason: str, order_status: str, received_at: datetime | None,
               now: datetime, promises: list[dict[str, Any]], promise_id: int | None,
               amount: int, refundable: int, quantity: int, kept: int) -> str | None:
    """Why this case cannot be opened on this order now (None: it can)."""
    if case_type not in REASONS or reason not in REASONS[case_type]:
        return f"未知售后类型或原因 / unknown case type or reason: {case_type}/{reason}"
    if order_status in ("pending_payment", "cancelled", "expired"):
        return f"订单状态为 {order_status}，不能申请售后 / no after-sales on a {order_status} order"
    if not 1 <= quantity <= kept:
        return f"退货数量须为 1–{kept} / quantity must be 1-{kept}"
    if not 1 <= amount <= refundable:
        return f"申请金额须为 1–{refundable} 分 / the amount must be 1-{refundable} fen"
    return _type_error(case_type, reason, order_status=order_status, received_at=received_at,
                       now=now, promises=promises, promise_id=promise_id)


def refusal_error(case: dict[str, Any], *, promises: list[dict[str, Any]],
                  received_at: datetime | None, opened_at: datetime,
                  gift_shipped: bool | None = None, paid_at: datetime | None = None,
                  shipped_at: datetime | None = None, now: datetime | None = None) -> str | None:
    """A refusal that contradicts a frozen promise or the law is not allowed:
    a no-reason return inside its window; a refund of goods that never left; a missing-gift
    claim on an order whose shipment did not record the gift; a late-shipping claim on an order
    shipped (or still not shipped) after its promised time."""
    if case["type"] == "return_refund" and case["reason"] == "no_reason":
        days = return_window_days(promises)
        if days is not None and (received_at is None
                                 or opened_at <= received_at + timedelta(days=days)):
            return (f"订单享有 {days} 天无理由退货，申请在期限内，不能拒绝 / the order has a "
                    f"{days}-day no-reason return and the request is inside it: it cannot be "
                    "refused")
    if case["type"] == "refund_only" and case["reason"] == "not_shipped":
        return "未发货订单的仅退款不能拒绝 / a refund on an unshipped order cannot be refused"
    if case["type"] == "promise_breach":
        promise = next((p for p in promises if p.get("promise_id") == case.get("promise_id")),
                       None)
        kind = promise.get("kind") if promise else None
        if kind == "gift" and not gift_shipped:
            return ("发货时未登记赠品已随货寄出，不能拒绝赠品申诉 / the shipment did not "
                    "record the promised gift: a missing-gift claim cannot be refused")
        if kind == "shipping_deadline" and promise and paid_at is not None:
            due = paid_at + timedelta(hours=int(promise["terms"]["hours"]))
            sent = shipped_at or now
            if sent is not None and sent > due:
                return ("发货晚于承诺时限，不能拒绝 / shipped later than the frozen promise: a "
                        "late-shipping claim cannot be refused")
    return None


def counterfeit_award(amount: int, promises: list[dict[str, Any]]) -> int:
    """假一赔N when upheld: N × the amount, on top of the refund."""
    multiples = [int(p["terms"]["multiple"]) for p in promises
                 if p.get("kind") == "counterfeit_compensation"]
    return max(multiples, default=0) * amount
