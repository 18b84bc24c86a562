"""Pure coupon decisions: terms validation, claim windows, validity, the discount and its split
across an order's units. No I/O, no clock: `now` is an argument (docs/fans.md, "Coupons")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

KINDS = ("threshold", "percent", "no_threshold")
STATUSES = ("active", "paused", "ended")
MAX_BUDGET = 10_000_000
MAX_PER_BUYER = 100
MAX_AMOUNT = 100_000_000  # fen: 1,000,000 元
MAX_VALID_DAYS = 366
# The least an order with a coupon costs: a payment always happens (and can be refunded), so a
# coupon never makes an order free (docs/fans.md, "Price rules").
MIN_PAYABLE = 1

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "pause": (frozenset({"active"}), "paused"),
    "resume": (frozenset({"paused"}), "active"),
    "end": (frozenset({"active", "paused"}), "ended"),
}


@dataclass(frozen=True, kw_only=True)
class Terms:
    """What a coupon takes off, and when it may be claimed and used."""

    kind: str
    threshold: int = 0
    amount_off: int | None = None
    percent_off: int | None = None
    cap: int | None = None
    budget: int = 1
    per_buyer_limit: int = 1
    claim_starts_at: datetime
    claim_ends_at: datetime
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None


def _amount_errors(t: Terms) -> list[str]:
    errors = []
    if not 0 <= t.threshold <= MAX_AMOUNT:
        errors.append(f"门槛须在 0–{MAX_AMOUNT} 分之间 / threshold must be 0..{MAX_AMOUNT} fen")
    if t.kind in ("threshold", "no_threshold"):
        if t.amount_off is None or not 1 <= t.amount_off <= MAX_AMOUNT:
            errors.append("减免金额须为正整数（分）/ amount_off must be a positive number of fen")
        elif t.kind == "threshold" and t.amount_off >= t.threshold:
            errors.append("减免金额须小于使用门槛 / amount_off must be less than the threshold")
        if t.kind == "no_threshold" and t.threshold:
            errors.append("无门槛券不能设门槛 / a no-threshold coupon has no threshold")
        if t.percent_off is not None or t.cap is not None:
            errors.append("满减券不设折扣或封顶 / percent_off and cap are for percent coupons")
    if t.kind == "percent":
        if t.percent_off is None or not 1 <= t.percent_off <= 99:
            errors.append("折扣须在 1–99 之间 / percent_off must be 1..99")
        if t.cap is not None and not 1 <= t.cap <= MAX_AMOUNT:
            errors.append("封顶金额须为正整数（分）/ cap must be a positive number of fen")
        if t.amount_off is not None:
            errors.append("折扣券不设减免金额 / a percent coupon has no amount_off")
    return errors


def _window_errors(t: Terms, now: datetime) -> list[str]:
    errors = []
    if t.claim_ends_at <= t.claim_starts_at:
        errors.append("领取结束时间须晚于开始时间 / claim_ends_at must be after claim_starts_at")
    if t.claim_ends_at <= now:
        errors.append("领取结束时间已过 / claim_ends_at is in the past")
    fixed = t.valid_from is not None or t.valid_until is not None
    if fixed == (t.valid_days is not None):
        errors.append("有效期须为固定日期（valid_from 与 valid_until）或领取后天数"
                      "（valid_days）之一 / give either valid_from and valid_until, or valid_days")
    elif fixed:
        if t.valid_from is None or t.valid_until is None:
            errors.append("固定有效期须同时给出起止 / give both valid_from and valid_until")
        elif t.valid_until <= t.valid_from:
            errors.append("有效期结束须晚于开始 / valid_until must be after valid_from")
        elif t.valid_until <= t.claim_starts_at:
            errors.append("有效期须在领取开始后结束 / valid_until must be after claim_starts_at")
    elif t.valid_days is not None and not 1 <= t.valid_days <= MAX_VALID_DAYS:
        errors.append(f"领取后有效天数须为 1–{MAX_VALID_DAYS} / valid_days must be "
                      f"1..{MAX_VALID_DAYS}")
    return errors


def terms_errors(t: Terms, now: datetime) -> list[str]:
    """Everything wrong with a new coupon's terms (empty: acceptable)."""
    if t.kind not in KINDS:
        return [f"未知券类型 / unknown kind: {t.kind}; one of {', '.join(KINDS)}"]
    errors = _amount_errors(t)
    if not 1 <= t.budget <= MAX_BUDGET:
        errors.append(f"发放总量须为 1–{MAX_BUDGET} / budget must be 1..{MAX_BUDGET}")
    if not 1 <= t.per_buyer_limit <= MAX_PER_BUYER:
        errors.append(f"每人限领须为 1–{MAX_PER_BUYER} / per_buyer_limit must be "
                      f"1..{MAX_PER_BUYER}")
    return errors + _window_errors(t, now)


def next_status(status: str, action: str) -> str | None:
    starts, target = TRANSITIONS[action]
    return target if status in starts else None


def claim_state(*, status: str, starts_at: datetime, ends_at: datetime, now: datetime) -> str:
    """open | upcoming | ended | paused: whether the coupon may be claimed now."""
    if status == "ended" or now > ends_at:
        return "ended"
    if status == "paused":
        return "paused"
    if now < starts_at:
        return "upcoming"
    return "open"


def validity(*, claimed_at: datetime, valid_from: datetime | None,
             valid_until: datetime | None, valid_days: int | None) -> tuple[datetime, datetime]:
    """The (from, until) a claimed coupon may be used in: fixed dates, or N days from the
    claim."""
    if valid_days is not None:
        return claimed_at, claimed_at + timedelta(days=valid_days)
    assert valid_from is not None and valid_until is not None
    return valid_from, valid_until


def discount(*, kind: str, threshold: int, amount_off: int | None, percent_off: int | None,
             cap: int | None, amount: int) -> int:
    """Fen taken off an order of `amount` fen; 0 when the order is below the threshold. Never
    leaves less than MIN_PAYABLE to pay (and never negative)."""
    if amount < max(threshold, MIN_PAYABLE) or amount <= MIN_PAYABLE:
        return 0
    if kind == "percent":
        assert percent_off is not None
        off = amount * percent_off // 100  # rounded down: the buyer never gets more than said
        if cap is not None:
            off = min(off, cap)
    else:
        assert amount_off is not None
        off = amount_off
    return max(0, min(off, amount - MIN_PAYABLE))


def usable_error(*, status: str, claim_shop_id: int, order_shop_id: int,
                 valid_from: datetime, valid_until: datetime, now: datetime) -> str | None:
    """Why a claimed coupon cannot be applied to an order now (None: it can)."""
    if claim_shop_id != order_shop_id:
        return "该券不属于此订单的店铺 / the coupon is not of this order's shop"
    if status != "unused":
        return "该券已使用 / the coupon has been used"
    if now < valid_from:
        return "该券尚未生效 / the coupon is not valid yet"
    if now >= valid_until:
        return "该券已过期 / the coupon has expired"
    return None


def split(total: int, weights: list[int]) -> list[int]:
    """Split `total` fen across parts in proportion to `weights` (largest remainder): the parts
    sum to `total` exactly; ties go to the earlier part. Used to spread an order's discount over
    its units, so that a refund of some units never exceeds what was paid for them."""
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("weights must sum to a positive number")
    floors = [total * w // whole for w in weights]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def paid_per_unit(*, unit_price: int, quantity: int, discount: int) -> list[int]:
    """What the buyer paid for each unit of an order: the unit price less the unit's share of
    the discount (shares by largest remainder, so they sum to the discount exactly)."""
    shares = split(discount, [unit_price] * quantity)
    return [unit_price - s for s in shares]


def paid_for_units(*, unit_price: int, quantity: int, discount: int, units: int) -> int:
    """What the buyer paid for `units` of the order's units (the last ones first: the units
    refunded first are those that carried the smallest discount share)."""
    per_unit = paid_per_unit(unit_price=unit_price, quantity=quantity, discount=discount)
    return sum(per_unit[quantity - units:]) if units else 0


# --- red packets (红包) ------------------------------------------------------------------------

SPLITS = ("even", "random")
MAX_SHARES = 10_000
MAX_RED_PACKET = 20_000_000  # fen: ¥200,000
RED_PACKET_HOURS = 24  # what is not grabbed by then goes back to the shop


def red_packet_error(*, total: int, shares: int, split_mode: str) -> str | None:
    if split_mode not in SPLITS:
        return f"未知分配方式 / unknown split: {split_mode}; one of {', '.join(SPLITS)}"
    if not 1 <= shares <= MAX_SHARES:
        return f"份数须为 1–{MAX_SHARES} / shares must be 1..{MAX_SHARES}"
    if not 1 <= total <= MAX_RED_PACKET:
        return f"金额须为 1–{MAX_RED_PACKET} 分 / the amount must be 1..{MAX_RED_PACKET} fen"
    if total < shares:
        return "每份至少 0.01 元：金额（分）不能少于份数 / every share is at least 1 fen: the " \
               "amount (fen) must be at least the number of shares"
    return None


def _draw(seed: bytes, index: int) -> int:
    """The index-th 64-bit draw of the seed: the first 8 bytes of SHA-256(seed ‖ index as 4
    bytes big-endian), read big-endian."""
    digest = hashlib.sha256(seed + index.to_bytes(4, "big")).digest()
    return int.from_bytes(digest[:8], "big")


def split_red_packet(total: int, shares: int, mode: str, seed: bytes = b"") -> list[int]:
    """The red packet's shares in grab order (docs/fans.md, "Red packets"): each at least 1 fen,
    summing to `total` exactly.

    even: `total // shares` each, the remainder's fen one each to the first shares.
    random (double mean, 二倍均值): with `left` shares and `rest` fen still to hand out, share i
    (all but the last) is `1 + draw(seed, i) mod cap`, where
    `cap = max(1, min(2 * rest // left, rest - (left - 1)))` (at most twice the mean of what is
    left, and leaving every later share its 1 fen); the last share is what is left."""
    if red_packet_error(total=total, shares=shares, split_mode=mode):
        raise ValueError(red_packet_error(total=total, shares=shares, split_mode=mode))
    if mode == "even":
        base, extra = divmod(total, shares)
        return [base + 1 if i < extra else base for i in range(shares)]
    parts = []
    rest, left = total, shares
    for i in range(shares - 1):
        cap = max(1, min(2 * rest // left, rest - (left - 1)))
        share = 1 + _draw(seed, i) % cap
        parts.append(share)
        rest -= share
        left -= 1
    parts.append(rest)
    return parts
