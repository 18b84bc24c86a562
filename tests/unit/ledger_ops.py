"""Random money histories for the ledger's property tests: sequences of pay, refund (before or
after release: cancellation, after-sales, price protection), compensation, release, payout,
top-up, anchors' and agencies' payouts and deposit withdrawals, turned into the events the
platform would record — refunds never above what is left of a payment, payouts never above the
balance they are taken from (the API enforces both)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from livepledge.settlement import rules

SHOPS = (1, 2)
PARTIES = (101, 102, 103)  # anchors and agencies
ORDERS = tuple(range(1, 7))
PROVIDERS = ("sandbox", "alipay")
START = datetime(2026, 1, 1, tzinfo=UTC)

amounts = st.integers(min_value=1, max_value=200_000)
op = st.one_of(
    st.tuples(st.just("pay"), st.sampled_from(ORDERS), amounts, st.sampled_from(PROVIDERS)),
    st.tuples(st.just("refund"), st.sampled_from(ORDERS), amounts,
              st.sampled_from(("CaseRefunded", "PriceProtectionRefunded", "OrderCancelled"))),
    st.tuples(st.just("compensate"), st.sampled_from(ORDERS), st.integers(1, 20_000)),
    st.tuples(st.just("release"), st.sampled_from(ORDERS), st.integers(0, 10_000),
              st.lists(st.integers(0, 10_000), max_size=3)),  # anchors' and agencies' rates
    st.tuples(st.just("slotfee"), st.sampled_from(SHOPS), amounts),
    st.tuples(st.just("mcn"), st.sampled_from(SHOPS), amounts, st.integers(0, 200_000)),
    st.tuples(st.just("payout"), st.sampled_from(SHOPS), amounts),
    st.tuples(st.just("topup"), st.sampled_from(SHOPS), amounts, st.sampled_from(PROVIDERS)),
    st.tuples(st.just("partypayout"), st.sampled_from(PARTIES), amounts),
    st.tuples(st.just("withdraw"), st.sampled_from(SHOPS), amounts),
)
histories = st.lists(op, max_size=40)


def shop_of(order_id: int) -> int:
    return SHOPS[order_id % len(SHOPS)]


@dataclass
class Flows:
    """What went in and out at each provider, counted from the operations themselves."""

    into: dict[str, int] = field(default_factory=dict)
    out: dict[str, int] = field(default_factory=dict)
    paid: dict[int, int] = field(default_factory=dict)
    refunded: dict[int, int] = field(default_factory=dict)
    released: set[int] = field(default_factory=set)

    def add(self, provider: str, amount: int, *, incoming: bool) -> None:
        book = self.into if incoming else self.out
        book[provider] = book.get(provider, 0) + amount


def facts(history: list[tuple], *, first_id: int = 1) -> tuple[list[rules.Fact], Flows]:  # type: ignore[type-arg]
    """The events of a history (skipping what the platform would refuse), and its flows."""
    books = rules.Books()
    flows = Flows()
    providers: dict[int, str] = {}
    made: list[rules.Fact] = []

    def emit(type_: str, shop_id: int, order_id: int | None, payload: dict) -> None:  # type: ignore[type-arg]
        fact = rules.Fact(event_id=first_id + len(made), type=type_, shop_id=shop_id,
                          order_id=order_id, payload=payload,
                          occurred_at=START + timedelta(minutes=len(made)))
        made.append(fact)
        books.apply(fact)

    for kind, target, *rest in history:
        if kind in ("slotfee", "mcn"):
            _party_money(kind, target, rest, flows, emit, len(made) + 1)
        elif kind == "pay" and target not in flows.paid:
            amount, provider = rest
            flows.paid[target] = amount
            providers[target] = provider
            flows.add(provider, amount, incoming=True)
            emit("OrderPaid", shop_of(target), target, {"amount": amount, "provider": provider})
        elif kind == "refund" and target in flows.paid:
            amount = min(rest[0], flows.paid[target] - flows.refunded.get(target, 0))
            if amount <= 0:
                continue
            flows.refunded[target] = flows.refunded.get(target, 0) + amount
            flows.add(providers[target], amount, incoming=False)
            payload = {"refund_paid": amount, "refunded": amount} \
                if rest[1] == "OrderCancelled" else {"amount": amount}
            emit(rest[1], shop_of(target), target, payload)
        elif kind == "compensate" and target in flows.paid:
            flows.add(providers[target], rest[0], incoming=False)
            emit("OrderCompensated", shop_of(target), target,
                 {"amount": rest[0], "cause": "late_shipment"})
        elif kind == "release" and target in flows.paid and target not in flows.released:
            flows.released.add(target)
            emit("EscrowReleased", shop_of(target), target, _release(rest[0], rest[1]))
        elif kind in ("payout", "partypayout", "withdraw"):
            _money_out(kind, target, rest[0], books, flows, emit, len(made) + 1)
        elif kind == "topup":
            amount, provider = rest
            flows.add(provider, amount, incoming=True)
            emit("DepositToppedUp", target, None, {"amount": amount, "provider": provider,
                                                   "top_up_id": len(made) + 1})
    return made, flows


def _money_out(kind: str, target: int, asked: int, books: rules.Books, flows: Flows,
               emit: Any, next_id: int) -> None:
    """A payout of a shop's available balance, of what a party is owed, or of a deposit —
    never above that balance (the API's rule)."""
    account, event, ref, shop = {
        "payout": (rules.available(target), "PayoutPaid", "payout_id", target),
        "partypayout": (rules.party(target), "PartyPayoutPaid", "party_payout_id", 0),
        "withdraw": (rules.deposit(target), "DepositWithdrawn", "withdrawal_id", target),
    }[kind]
    amount = min(asked, rules.owed(books.balances.get(account, 0)))
    if amount <= 0:
        return
    flows.add("sandbox", amount, incoming=False)
    payload = {"amount": amount, "provider": "sandbox", ref: next_id}
    if kind == "partypayout":
        payload["party_id"] = target
    emit(event, shop, None, payload)


def _party_money(kind: str, shop: int, rest: list[int], flows: Flows, emit: Any,
                 next_id: int) -> None:
    """A slot fee owed to an anchor, or an MCN contract's fee paid in and settled."""
    if kind == "slotfee":
        flows.add("sandbox", rest[0], incoming=True)
        emit("SlotFeePaid", shop, None, {"agreement_id": next_id, "party_id": PARTIES[0],
                                         "amount": rest[0], "provider": "sandbox"})
        return
    fee, net = rest
    flows.add("sandbox", fee, incoming=True)
    emit("McnFeePaid", shop, None, {"contract_id": next_id, "agency_id": PARTIES[2],
                                    "amount": fee, "provider": "sandbox"})
    result = rules.settle_contract(fee=fee, net_sales=net, guaranteed_roi_bp=30_000)
    emit("McnContractSettled", shop, None, {
        "contract_id": next_id, "agency_id": PARTIES[2], "amount": fee,
        "to_agency": result.to_agency, "to_shop": result.to_shop})


def _release(commission_bp: int, party_rates: list[int]) -> dict[str, Any]:
    payload: dict[str, Any] = {"commission_bp": commission_bp}
    if party_rates:
        payload["commissions"] = [
            {"agreement_id": n + 1, "party_id": PARTIES[n], "commission_bp": bp}
            for n, bp in enumerate(party_rates)]
    return payload
