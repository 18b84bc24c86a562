"""The ledger's posting rules (pure), exact cases and properties over random money histories:
every transaction balances, all balances sum to zero, money is never created, escrow and deposit
are never overdrawn, a fully refunded order gives all its commission back, and replaying the
events gives the same ledger (docs/money.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livepledge.settlement import rules
from tests.unit.ledger_ops import PARTIES, SHOPS, facts, histories, shop_of

AT = datetime(2026, 3, 1, tzinfo=UTC)


def fact(event_id: int, type_: str, order_id: int | None = 7, shop_id: int = 3,
         **payload: object) -> rules.Fact:
    return rules.Fact(event_id, type_, shop_id, order_id, payload, AT)


def lines(tx: rules.Transaction | None) -> list[tuple[str, int]]:
    assert tx is not None
    return [(line.account, line.amount) for line in tx.lines]


def test_a_payment_is_held_and_released_net_of_commission_rounded_half_up() -> None:
    books = rules.Books()
    assert lines(books.apply(fact(1, "OrderPaid", amount=9900, provider="sandbox"))) == [
        ("provider:sandbox:clearing", 9900), ("shop:3:escrow", -9900)]
    assert lines(books.apply(fact(2, "EscrowReleased", commission_bp=250))) == [
        ("shop:3:escrow", 9900), ("shop:3:available", -9652),
        ("platform:commission_revenue", -248)]  # 247.5 rounds up
    assert books.apply(fact(3, "EscrowReleased", commission_bp=250)) is None  # once only


def test_refunds_after_release_give_commission_back_cumulatively_without_drift() -> None:
    books = rules.Books()
    books.apply(fact(1, "OrderPaid", amount=1000, provider="sandbox"))
    books.apply(fact(2, "EscrowReleased", commission_bp=333))  # 33.3 -> 33
    refunds = [lines(books.apply(fact(3 + n, "CaseRefunded", amount=1))) for n in range(3)]
    assert refunds[0] == [("shop:3:available", 1), ("provider:sandbox:clearing", -1)]
    rest = books.apply(fact(9, "PriceProtectionRefunded", amount=997))
    assert lines(rest) == [("shop:3:available", 964), ("platform:commission_revenue", 33),
                           ("provider:sandbox:clearing", -997)]
    assert books.balances["platform:commission_revenue"] == 0
    assert books.balances["shop:3:available"] == 0


def test_compensation_comes_from_the_deposit_first_then_the_available_balance() -> None:
    books = rules.Books()
    books.apply(fact(1, "DepositToppedUp", order_id=None, amount=1000, provider="alipay"))
    books.apply(fact(2, "OrderPaid", amount=5000, provider="sandbox"))
    tx = books.apply(fact(3, "OrderCompensated", amount=1500, cause="late_shipment"))
    assert lines(tx) == [("shop:3:deposit", 1000), ("shop:3:available", 500),
                         ("provider:sandbox:clearing", -1500)]
    assert tx is not None and rules.deducted_from_deposit(tx) == 1000
    assert lines(books.apply(fact(4, "OrderCompensated", amount=200))) == [
        ("shop:3:available", 200), ("provider:sandbox:clearing", -200)]


def test_a_cancellation_posts_only_what_it_paid_back_itself() -> None:
    books = rules.Books()
    books.apply(fact(1, "OrderPaid", amount=9900, provider="sandbox"))
    books.apply(fact(2, "CaseRefunded", amount=9900))
    # the after-sales closing: `refunded` is the case's refund, posted already
    assert books.apply(fact(3, "OrderCancelled", refunded=9900, refund_paid=0)) is None
    assert books.apply(fact(4, "OrderCancelled", refunded=9900,
                            reason="refund before shipping")) is None  # before refund_paid
    assert books.balances["shop:3:escrow"] == 0


def test_events_that_move_no_money_post_nothing() -> None:
    books = rules.Books()
    for n, type_ in enumerate(("OrderPlaced", "OrderShipped", "OrderReceived", "OrderExpired",
                               "CaseClosed", "OrderCancelled")):
        assert books.apply(fact(n, type_, amount=100, refunded=0)) is None
    assert books.apply(fact(9, "CaseRefunded", amount=100)) is None  # never paid: nothing held
    assert books.balances == {} and books.orders == {}


@settings(max_examples=300, deadline=None)
@given(histories)
def test_every_transaction_balances_and_all_balances_sum_to_zero(history: list) -> None:  # type: ignore[type-arg]
    made, _ = facts(history)
    books = rules.Books()
    for f in made:
        books.apply(f)
    assert all(tx.balances and all(line.amount != 0 for line in tx.lines)
               for tx in books.transactions)
    assert sum(books.balances.values()) == 0
    event_ids = [tx.event_id for tx in books.transactions]
    assert len(event_ids) == len(set(event_ids))


@settings(max_examples=300, deadline=None)
@given(histories)
def test_money_is_never_created(history: list) -> None:  # type: ignore[type-arg]
    made, flows = facts(history)
    books = rules.Books()
    for f in made:
        books.apply(f)
    # each provider's clearing account holds exactly what came in minus what went out
    for provider in flows.into.keys() | flows.out.keys():
        assert books.balances.get(rules.clearing(provider), 0) == \
            flows.into.get(provider, 0) - flows.out.get(provider, 0)
    for shop in SHOPS:
        held = sum(paid - flows.refunded.get(o, 0) for o, paid in flows.paid.items()
                   if shop_of(o) == shop and o not in flows.released)
        assert rules.owed(books.balances.get(rules.escrow(shop), 0)) == held
        assert rules.owed(books.balances.get(rules.deposit(shop), 0)) >= 0  # never overdrawn
    revenue = rules.owed(books.balances.get(rules.COMMISSION_REVENUE, 0))
    assert revenue == sum(o.commission - o.commission_reversed for o in books.orders.values())
    for order in books.orders.values():
        assert 0 <= order.commission_reversed <= order.commission
        # the platform's and the parties' cuts never exceed what the order released
        assert order.commission + sum(a for _, a, _ in order.parties) <= order.released_base
        for _, accrued, reversed_ in order.parties:
            assert 0 <= reversed_ <= accrued
        if order.released and order.refunded_after == order.released_base:
            assert order.commission_reversed == order.commission
            assert all(r == a for _, a, r in order.parties)
    # what a party is owed: its commissions net of reversals, plus slot fees and MCN fees,
    # less what it was paid out
    for party_id in PARTIES:
        owed = sum(a - r for o in books.orders.values() for p, a, r in o.parties
                   if p == party_id)
        owed += sum(int(tx_fact.payload["amount"]) for tx_fact in made
                    if tx_fact.type == "SlotFeePaid" and tx_fact.payload["party_id"] == party_id)
        owed += sum(int(tx_fact.payload["to_agency"]) for tx_fact in made
                    if tx_fact.type == "McnContractSettled"
                    and tx_fact.payload["agency_id"] == party_id)
        owed -= sum(int(tx_fact.payload["amount"]) for tx_fact in made
                    if tx_fact.type == "PartyPayoutPaid"
                    and tx_fact.payload["party_id"] == party_id)
        assert rules.owed(books.balances.get(rules.party(party_id), 0)) == owed
    # a settled contract's escrow is empty
    assert all(balance == 0 for code, balance in books.balances.items()
               if code.startswith("contract:"))


@settings(max_examples=200, deadline=None)
@given(histories)
def test_replaying_the_events_gives_the_same_ledger(history: list) -> None:  # type: ignore[type-arg]
    made, _ = facts(history)
    first, second = rules.Books(), rules.Books()
    for f in made:
        first.apply(f)
    for f in made:
        second.apply(f)
    assert (first.transactions, first.balances, first.orders) == (
        second.transactions, second.balances, second.orders)


@given(fee=st.integers(1, 10**10), net=st.integers(-10**6, 10**12),
       guarantee=st.integers(1, 10**7))
def test_an_mcn_settlement_is_exact_and_pays_the_agency_in_proportion(fee: int, net: int,
                                                                      guarantee: int) -> None:
    out = rules.settle_contract(fee=fee, net_sales=net, guaranteed_roi_bp=guarantee)
    assert out.to_agency + out.to_shop == fee
    assert 0 <= out.to_shop <= fee
    assert out.met == (max(0, net) * 10_000 // fee >= guarantee)
    if out.met:
        assert out.to_agency == fee
    else:
        # the agency's part ≈ fee × ROI ÷ guarantee, never more
        assert out.to_agency * guarantee <= max(0, net) * 10_000


@pytest.mark.parametrize(("fee", "net", "guarantee", "expected"), [
    (10_000, 9_900, 30_000, (9_900, False, 3_300, 6_700)),   # ROI 0.99 of 3: a third of it
    (3_000, 9_900, 30_000, (33_000, True, 3_000, 0)),        # ROI 3.3 ≥ 3: all of it
    (10_000, 0, 30_000, (0, False, 0, 10_000)),              # nothing sold: all back
    (10_000, 30_000, 30_000, (30_000, True, 10_000, 0)),     # exactly met
    (10_000, -500, 30_000, (0, False, 0, 10_000)),           # net below zero counts as zero
])
def test_mcn_settlement_table(fee: int, net: int, guarantee: int,
                              expected: tuple[int, bool, int, int]) -> None:
    out = rules.settle_contract(fee=fee, net_sales=net, guaranteed_roi_bp=guarantee)
    assert (out.roi_bp, out.met, out.to_agency, out.to_shop) == expected


def test_party_shares_are_cut_to_what_the_shop_receives() -> None:
    named = [{"party_id": 7, "commission_bp": 6000}, {"party_id": 8, "commission_bp": 6000}]
    assert rules.party_shares(10_000, 9_500, named) == [(7, 6000), (8, 3500)]
    assert rules.party_shares(10_000, 9_500, []) == []
    assert rules.party_shares(0, 0, named) == []
