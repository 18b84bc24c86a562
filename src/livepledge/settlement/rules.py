"""The ledger's posting rules (pure): which postings an event makes, given the order's money
state and the shop's deposit (docs/money.md, "Posting rules").

The live consumer and `ledger verify` call the same functions, so a rebuild from the event
history gives the same ledger. Amounts are integer fen; a posting's amount is signed, debit
positive and credit negative, and each transaction's postings sum to zero."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

MAX_AMOUNT = 100_000_000_00  # ¥100,000,000: larger payouts or top-ups are refused
BASIS_POINTS = 10_000
DEFAULT_PROVIDER = "sandbox"

# Events that may move money; the others never make a posting.
POSTED = frozenset({"OrderPaid", "OrderCancelled", "PriceProtectionRefunded", "CaseRefunded",
                    "OrderCompensated", "EscrowReleased", "DepositToppedUp", "PayoutPaid",
                    "RedPacketFunded", "RedPacketSharePaid", "RedPacketReturned"})
REFUNDS = frozenset({"OrderCancelled", "PriceProtectionRefunded", "CaseRefunded"})


def clearing(provider: str) -> str:
    return f"provider:{provider}:clearing"


def escrow(shop_id: int) -> str:
    return f"shop:{shop_id}:escrow"


def available(shop_id: int) -> str:
    return f"shop:{shop_id}:available"


def deposit(shop_id: int) -> str:
    return f"shop:{shop_id}:deposit"


def red_packets(shop_id: int) -> str:
    """Cash a shop put into red packets not yet grabbed (docs/fans.md, "Red packets")."""
    return f"shop:{shop_id}:red_packets"


COMMISSION_REVENUE = "platform:commission_revenue"


def account_kind(code: str) -> str:
    """`escrow`, `available`, `deposit`, `clearing`, `commission_revenue`, ..."""
    return code.rsplit(":", 1)[1]


def account_shop(code: str) -> int | None:
    parts = code.split(":")
    return int(parts[1]) if parts[0] == "shop" else None


@dataclass(frozen=True)
class Fact:
    """What the rules read of an event."""

    event_id: int
    type: str
    shop_id: int | None
    order_id: int | None
    payload: Mapping[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class Line:
    account: str
    amount: int  # debit positive, credit negative


@dataclass(frozen=True)
class Transaction:
    event_id: int
    kind: str  # the event type
    shop_id: int | None
    order_id: int | None
    occurred_at: datetime
    lines: tuple[Line, ...]

    @property
    def balances(self) -> bool:
        return sum(line.amount for line in self.lines) == 0


@dataclass(frozen=True)
class OrderMoney:
    """One order's money as the ledger sees it."""

    order_id: int
    shop_id: int
    provider: str = DEFAULT_PROVIDER
    paid: int = 0
    held: int = 0  # in escrow now
    released: bool = False
    released_base: int = 0  # what was released (the base of the commission)
    commission: int = 0
    refunded_after: int = 0  # refunded after release, cumulatively
    commission_reversed: int = 0


def commission(amount: int, rate_bp: int) -> int:
    """The commission on `amount` fen at `rate_bp` basis points, rounded half up."""
    return (amount * rate_bp + BASIS_POINTS // 2) // BASIS_POINTS


def refund_paid(payload: Mapping[str, Any]) -> int:
    """What an `OrderCancelled` itself paid back (events before `refund_paid` existed: the
    after-sales closing carried the case's refund, already posted from `CaseRefunded`)."""
    if "refund_paid" in payload:
        return int(payload["refund_paid"])
    if payload.get("reason") == "refund before shipping":
        return 0
    return int(payload.get("refunded") or 0)


def amount_of(fact: Fact) -> int:
    if fact.type == "OrderCancelled":
        return refund_paid(fact.payload)
    return int(fact.payload.get("amount") or 0)


def _tx(fact: Fact, shop_id: int | None, lines: list[Line]) -> Transaction | None:
    kept = tuple(line for line in lines if line.amount != 0)
    if not kept:
        return None
    return Transaction(fact.event_id, fact.type, shop_id, fact.order_id, fact.occurred_at, kept)


def post(fact: Fact, order: OrderMoney | None, *,
         deposit_held: int = 0) -> tuple[Transaction | None, OrderMoney | None]:
    """The transaction an event makes (None: no money moves) and the order's money after it.
    `order`: the order's state before the event (None if the ledger never saw it paid);
    `deposit_held`: what the shop's deposit holds (fen, ≥ 0 when in credit)."""
    if fact.type not in POSTED:
        return None, order
    if fact.type == "EscrowReleased":  # all that is held: no amount in the event
        return _released(fact, order)
    amount = amount_of(fact)
    if amount <= 0:
        return None, order
    if fact.type == "OrderPaid":
        return _paid(fact, order, amount)
    if fact.type in REFUNDS:
        return _refund(fact, order, amount)
    if fact.type == "OrderCompensated":
        return _compensated(fact, order, amount, deposit_held)
    shop_id = int(fact.shop_id or 0)
    provider = str(fact.payload.get("provider") or DEFAULT_PROVIDER)
    if fact.type == "DepositToppedUp":
        return _tx(fact, shop_id, [Line(clearing(provider), amount),
                                   Line(deposit(shop_id), -amount)]), order
    if fact.type == "RedPacketFunded":  # the shop paid the red packet in
        return _tx(fact, shop_id, [Line(clearing(provider), amount),
                                   Line(red_packets(shop_id), -amount)]), order
    if fact.type == "RedPacketSharePaid":  # a fan's share, transferred to the fan
        return _tx(fact, shop_id, [Line(red_packets(shop_id), amount),
                                   Line(clearing(provider), -amount)]), order
    if fact.type == "RedPacketReturned":  # not grabbed in time: back to the shop's balance
        return _tx(fact, shop_id, [Line(red_packets(shop_id), amount),
                                   Line(available(shop_id), -amount)]), order
    # PayoutPaid
    return _tx(fact, shop_id, [Line(available(shop_id), amount),
                               Line(clearing(provider), -amount)]), order


def _paid(fact: Fact, order: OrderMoney | None,
          amount: int) -> tuple[Transaction | None, OrderMoney]:
    shop_id = int(fact.shop_id or (order.shop_id if order else 0))
    provider = str(fact.payload.get("provider") or DEFAULT_PROVIDER)
    assert fact.order_id is not None
    before = order or OrderMoney(order_id=fact.order_id, shop_id=shop_id, provider=provider)
    after = replace(before, provider=provider, paid=before.paid + amount,
                    held=before.held + amount)
    return _tx(fact, shop_id, [Line(clearing(provider), amount),
                               Line(escrow(shop_id), -amount)]), after


def _refund(fact: Fact, order: OrderMoney | None,
            amount: int) -> tuple[Transaction | None, OrderMoney | None]:
    if order is None:  # a refund of money the ledger never saw paid: nothing to take it from
        return None, None
    if not order.released:
        taken = min(amount, order.held)
        after = replace(order, held=order.held - taken)
        return _tx(fact, order.shop_id, [Line(escrow(order.shop_id), taken),
                                         Line(clearing(order.provider), -taken)]), after
    refunded = min(order.released_base, order.refunded_after + amount)
    taken = refunded - order.refunded_after
    reversed_total = order.commission * refunded // order.released_base \
        if order.released_base else 0
    given_back = reversed_total - order.commission_reversed
    after = replace(order, refunded_after=refunded, commission_reversed=reversed_total)
    return _tx(fact, order.shop_id, [Line(available(order.shop_id), taken - given_back),
                                     Line(COMMISSION_REVENUE, given_back),
                                     Line(clearing(order.provider), -taken)]), after


def _compensated(fact: Fact, order: OrderMoney | None, amount: int,
                 deposit_held: int) -> tuple[Transaction | None, OrderMoney | None]:
    shop_id = int(fact.shop_id or (order.shop_id if order else 0))
    provider = order.provider if order else DEFAULT_PROVIDER
    from_deposit = max(0, min(amount, deposit_held))
    return _tx(fact, shop_id, [Line(deposit(shop_id), from_deposit),
                               Line(available(shop_id), amount - from_deposit),
                               Line(clearing(provider), -amount)]), order


def _released(fact: Fact, order: OrderMoney | None) -> tuple[Transaction | None,
                                                             OrderMoney | None]:
    if order is None or order.released:
        return None, order
    rate = int(fact.payload.get("commission_bp") or 0)
    base = order.held
    cut = commission(base, rate)
    after = replace(order, held=0, released=True, released_base=base, commission=cut)
    return _tx(fact, order.shop_id, [Line(escrow(order.shop_id), base),
                                     Line(available(order.shop_id), -(base - cut)),
                                     Line(COMMISSION_REVENUE, -cut)]), after


def deducted_from_deposit(tx: Transaction) -> int:
    """What a compensation took from the shop's deposit (for the shop's notice)."""
    return sum(line.amount for line in tx.lines if account_kind(line.account) == "deposit")


@dataclass
class Books:
    """A whole ledger in memory: what `ledger verify` rebuilds and property tests check."""

    orders: dict[int, OrderMoney] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)
    transactions: list[Transaction] = field(default_factory=list)

    def held_in_deposit(self, shop_id: int | None) -> int:
        return -self.balances.get(deposit(int(shop_id or 0)), 0)

    def apply(self, fact: Fact) -> Transaction | None:
        order = self.orders.get(fact.order_id) if fact.order_id is not None else None
        tx, after = post(fact, order, deposit_held=self.held_in_deposit(
            fact.shop_id if fact.shop_id is not None else (order.shop_id if order else None)))
        if after is not None and fact.order_id is not None:
            self.orders[fact.order_id] = after
        if tx is not None:
            self.transactions.append(tx)
            for line in tx.lines:
                self.balances[line.account] = self.balances.get(line.account, 0) + line.amount
        return tx


def owed(balance: int) -> int:
    """A liability's balance as the shop sees it: what the platform owes it."""
    return -balance


def payout_error(amount: int) -> str | None:
    if not 1 <= amount <= MAX_AMOUNT:
        return f"金额须为 1–{MAX_AMOUNT} 分 / the amount must be 1-{MAX_AMOUNT} fen"
    return None
