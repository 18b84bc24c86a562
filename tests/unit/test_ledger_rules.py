"""The ledger's posting rules (pure), exact cases and properties over random money histories:
every transaction balances, all balances sum to zero, money is never created, escrow and deposit
are never overdrawn, a fully refunded order gives all its commission back, and replaying the
events gives the same ledger (docs/money.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings

from livepledge.settlement import rules
from tests.unit.ledger_ops import SHOPS, facts, histories, shop_of

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
        if order.released and order.refunded_after == order.released_base:
            assert order.commission_reversed == order.commission


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
