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
                    "SlotFeePaid", "McnFeePaid", "McnContractSettled",
                    "RedPacketFunded", "RedPacketSharePaid", "RedPacketReturned",
                    "PartyPayoutPaid", "DepositWithdrawn"})
# Money paid out of an account that was reserved on it when requested: the posting releases the
# reservation (`reserved_account`).
RESERVING = frozenset({"PayoutPaid", "PartyPayoutPaid", "DepositWithdrawn"})
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


def party(user_id: int) -> str:
    """What the platform owes an anchor or an MCN agency: commissions, slot fees, MCN fees."""
    return f"party:{user_id}:payable"


def contract_escrow(contract_id: int) -> str:
    """An MCN contract's fee, held until the platform has computed its ROI."""
    return f"contract:{contract_id}:escrow"


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
    # Commissions to anchors and MCN agencies on this order (their agreements, at release):
    # (party user id, accrued fen, reversed fen), in the order the release named them.
    parties: tuple[tuple[int, int, int], ...] = ()


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
    return _shop_money(fact, amount), order


def reserved_account(fact: Fact) -> str:
    """The account a payout's reservation was made on (a `RESERVING` event)."""
    if fact.type == "PartyPayoutPaid":
        return party(int(fact.payload["party_id"]))
    if fact.type == "DepositWithdrawn":
        return deposit(int(fact.shop_id or 0))
    return available(int(fact.shop_id or 0))


def _shop_money(fact: Fact, amount: int) -> Transaction | None:
    """Money that is no order's: deposits, payouts, slot and MCN fees, red packets."""
    shop_id = int(fact.shop_id or 0)
    provider = str(fact.payload.get("provider") or DEFAULT_PROVIDER)
    if fact.type == "PartyPayoutPaid":  # an anchor or agency is paid what the platform owes them
        return _tx(fact, fact.shop_id, [Line(party(int(fact.payload["party_id"])), amount),
                                        Line(clearing(provider), -amount)])
    if fact.type == "DepositWithdrawn":  # part of the deposit paid back to the shop
        return _tx(fact, shop_id, [Line(deposit(shop_id), amount),
                                   Line(clearing(provider), -amount)])
    if fact.type == "DepositToppedUp":
        return _tx(fact, shop_id, [Line(clearing(provider), amount),
                                   Line(deposit(shop_id), -amount)])
    if fact.type == "SlotFeePaid":  # the shop pays an anchor's or agency's 坑位费
        return _tx(fact, shop_id, [Line(clearing(provider), amount),
                                   Line(party(int(fact.payload["party_id"])), -amount)])
    if fact.type == "McnFeePaid":  # into the contract's escrow until its ROI is known
        return _tx(fact, shop_id, [
            Line(clearing(provider), amount),
            Line(contract_escrow(int(fact.payload["contract_id"])), -amount)])
    if fact.type == "McnContractSettled":
        to_agency = int(fact.payload["to_agency"])
        return _tx(fact, shop_id, [
            Line(contract_escrow(int(fact.payload["contract_id"])), amount),
            Line(party(int(fact.payload["agency_id"])), -to_agency),
            Line(available(shop_id), -(amount - to_agency))])
    if fact.type == "RedPacketFunded":  # the shop paid the red packet in
        return _tx(fact, shop_id, [Line(clearing(provider), amount),
                                   Line(red_packets(shop_id), -amount)])
    if fact.type == "RedPacketSharePaid":  # a fan's share, transferred to the fan
        return _tx(fact, shop_id, [Line(red_packets(shop_id), amount),
                                   Line(clearing(provider), -amount)])
    if fact.type == "RedPacketReturned":  # not grabbed in time: back to the shop's balance
        return _tx(fact, shop_id, [Line(red_packets(shop_id), amount),
                                   Line(available(shop_id), -amount)])
    # PayoutPaid
    return _tx(fact, shop_id, [Line(available(shop_id), amount),
                               Line(clearing(provider), -amount)])


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
    reversed_total = pro_rata(order.commission, refunded, order.released_base)
    given_back = reversed_total - order.commission_reversed
    # anchors' and agencies' commissions are reversed in the same proportion
    parties: list[tuple[int, int, int]] = []
    party_lines: list[Line] = []
    for party_id, accrued, reversed_before in order.parties:
        reversed_now = pro_rata(accrued, refunded, order.released_base)
        parties.append((party_id, accrued, reversed_now))
        party_lines.append(Line(party(party_id), reversed_now - reversed_before))
    parties_back = sum(line.amount for line in party_lines)
    after = replace(order, refunded_after=refunded, commission_reversed=reversed_total,
                    parties=tuple(parties))
    return _tx(fact, order.shop_id, [
        Line(available(order.shop_id), taken - given_back - parties_back),
        Line(COMMISSION_REVENUE, given_back), *party_lines,
        Line(clearing(order.provider), -taken)]), after


def pro_rata(accrued: int, refunded: int, base: int) -> int:
    """The part of a commission `accrued` on `base` that a cumulative refund of `refunded`
    takes back (rounded down, so all of it exactly when all is refunded)."""
    return accrued * refunded // base if base else 0


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
    shares = party_shares(base, base - cut, fact.payload.get("commissions") or ())
    after = replace(order, held=0, released=True, released_base=base, commission=cut,
                    parties=tuple((p, amount, 0) for p, amount in shares))
    return _tx(fact, order.shop_id, [
        Line(escrow(order.shop_id), base),
        Line(available(order.shop_id), -(base - cut - sum(a for _, a in shares))),
        Line(COMMISSION_REVENUE, -cut),
        *(Line(party(p), -amount) for p, amount in shares)]), after


def party_shares(base: int, cap: int, named: Any) -> list[tuple[int, int]]:
    """Anchors' and agencies' commissions on a released order: each agreement's rate on the
    order's net amount `base` (what was paid, less refunds before release), in the order
    named, never more in all than `cap`, what the shop receives after the platform's
    commission (a later share is cut to what is left)."""
    left = cap
    out: list[tuple[int, int]] = []
    for entry in named:
        amount = min(left, commission(base, int(entry["commission_bp"])))
        if amount > 0:
            out.append((int(entry["party_id"]), amount))
            left -= amount
    return out


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


# --- agreements and MCN contracts (docs/money.md, "Anchors and agencies") ---------------------

MAX_RATE_BP = BASIS_POINTS  # 100 %
MAX_ROI_BP = 1_000 * BASIS_POINTS  # a guaranteed ROI above 1000× is not a contract


def agreement_error(*, commission_bp: int, slot_fee: int, session_id: int | None,
                    anchor_id: int | None, starts_at: datetime | None,
                    ends_at: datetime | None) -> str | None:
    """Why an anchor's or agency's agreement with a shop cannot stand (None: it can). It
    covers one live session, or the sessions one anchor hosts in a period."""
    if not 0 <= commission_bp <= MAX_RATE_BP:
        return "佣金比例须在 0–100% / the commission rate must be 0-100 %"
    if not 0 <= slot_fee <= MAX_AMOUNT:
        return f"坑位费须为 0–{MAX_AMOUNT} 分 / the slot fee must be 0-{MAX_AMOUNT} fen"
    if commission_bp == 0 and slot_fee == 0:
        return "佣金与坑位费不能都为 0 / a commission or a slot fee is needed"
    if session_id is not None:
        if anchor_id is not None or starts_at is not None or ends_at is not None:
            return "指定场次时不再指定主播或期间 / a session, or an anchor and a period, not both"
        return None
    if anchor_id is None or starts_at is None or ends_at is None:
        return "须指定场次，或主播与起止时间 / name a session, or an anchor with a period"
    if starts_at >= ends_at:
        return "开始时间须早于结束时间 / the period must start before it ends"
    return None


def contract_error(*, fee: int, guaranteed_roi_bp: int, starts_at: datetime,
                   ends_at: datetime) -> str | None:
    if not 1 <= fee <= MAX_AMOUNT:
        return f"服务费须为 1–{MAX_AMOUNT} 分 / the fee must be 1-{MAX_AMOUNT} fen"
    if not 1 <= guaranteed_roi_bp <= MAX_ROI_BP:
        return "保底 ROI 须大于 0 且不超过 1000 / the guaranteed ROI must be above 0, at most 1000"
    if starts_at >= ends_at:
        return "开始时间须早于结束时间 / the period must start before it ends"
    return None


@dataclass(frozen=True)
class McnOutcome:
    """An MCN contract's settlement: ROI on net sales against the guarantee."""

    net_sales: int
    roi_bp: int  # net sales ÷ fee, in basis points (rounded down)
    met: bool
    to_agency: int
    to_shop: int


def settle_contract(*, fee: int, net_sales: int, guaranteed_roi_bp: int) -> McnOutcome:
    """The fee is the agency's when net sales reach the guaranteed ROI; otherwise it keeps the
    part the ROI reached (pro rata, rounded down) and the shop gets the rest back. Exact:
    to_agency + to_shop == fee."""
    net = max(0, net_sales)
    roi_bp = net * BASIS_POINTS // fee
    if roi_bp >= guaranteed_roi_bp:
        return McnOutcome(net, roi_bp, True, fee, 0)
    # fee × (net ÷ fee) ÷ guarantee = net ÷ guarantee, computed exactly on integers
    to_agency = min(fee, net * BASIS_POINTS // guaranteed_roi_bp)
    return McnOutcome(net, roi_bp, False, to_agency, fee - to_agency)
