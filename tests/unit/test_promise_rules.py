"""Promise terms per kind, their words, the window and the content hash (table-driven)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livepledge.promises import rules

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("kind", "terms", "clean"), [
    ("price_protection", {"days": 30}, {"days": 30, "excludes_flash_sale": False}),
    ("price_protection", {"days": 1, "excludes_flash_sale": True},
     {"days": 1, "excludes_flash_sale": True}),
    ("gift", {"sku_id": 7, "quantity": 1}, {"sku_id": 7, "quantity": 1}),
    ("gift", {"name": " 茶杯 ", "quantity": 2}, {"name": "茶杯", "quantity": 2}),
    ("shipping_deadline", {"hours": 48}, {"hours": 48}),
    ("counterfeit_compensation", {"multiple": 10}, {"multiple": 10}),
    ("warranty", {"months": 12}, {"months": 12}),
    ("no_reason_return", {"days": 7}, {"days": 7}),
    ("no_reason_return", {"exempt": "perishable", "reason": "鲜茶叶，拆封即变质"},
     {"exempt": "perishable", "reason": "鲜茶叶，拆封即变质"}),
    ("commitment", {"text": " 直播间下单再送一包试饮装 "}, {"text": "直播间下单再送一包试饮装"}),
])
def test_valid_terms_are_normalised(kind: str, terms: dict, clean: dict) -> None:
    assert rules.normalize_terms(kind, terms) == clean


@pytest.mark.parametrize(("kind", "terms", "says"), [
    ("price_protection", {"days": 0}, "1–90"),
    ("price_protection", {"days": 10_000}, "1–90"),
    ("price_protection", {"days": "30"}, "整数"),
    ("price_protection", {"days": True}, "整数"),
    ("price_protection", {"days": 30, "excludes_flash_sale": "yes"}, "true/false"),
    ("price_protection", {"days": 30, "forever": True}, "unknown terms: forever"),
    ("gift", {"quantity": 1}, "gift name"),
    ("gift", {"sku_id": 0, "quantity": 1}, "sku_id"),
    ("gift", {"sku_id": 3, "quantity": 0}, "1–20"),
    ("shipping_deadline", {"hours": 0}, "1–720"),
    ("counterfeit_compensation", {"multiple": 0}, "1–10"),
    ("warranty", {}, "整数"),
    ("no_reason_return", {"days": 3}, "at least 7 by law"),
    ("no_reason_return", {"exempt": "cosmetics", "reason": "x"}, "the law allows"),
    ("no_reason_return", {"exempt": "perishable"}, "reason"),
    ("no_reason_return", {"exempt": "perishable", "reason": "x", "days": 7}, "no days"),
    ("no_reason_return", {"days": 7, "reason": "x"}, "exemption"),
    ("commitment", {"text": "   "}, "1–500"),
    ("commitment", {"text": "x" * 501}, "1–500"),
    ("lifetime_happiness", {}, "unknown promise kind"),
])
def test_bad_terms_are_refused_with_words(kind: str, terms: dict, says: str) -> None:
    with pytest.raises(rules.TermsError) as error:
        rules.normalize_terms(kind, terms)
    assert says in str(error.value)


def test_terms_must_be_an_object() -> None:
    with pytest.raises(rules.TermsError, match="object"):
        rules.normalize_terms("warranty", [12])


@pytest.mark.parametrize(("starts", "ends", "error"), [
    (NOW, None, None),
    (NOW - timedelta(seconds=30), None, None),  # clock skew between client and server
    (NOW - timedelta(minutes=5), None, "past"),
    (NOW, NOW, "after the start"),
    (NOW + timedelta(hours=1), NOW + timedelta(minutes=30), "after the start"),
    (NOW + timedelta(days=400), None, "within a year"),
])
def test_window(starts: datetime, ends: datetime | None, error: str | None) -> None:
    found = rules.window_error(starts, ends, NOW)
    assert (found is None) if error is None else (error in (found or ""))


def test_in_force_includes_the_start_and_excludes_the_end() -> None:
    end = NOW + timedelta(hours=1)
    assert [rules.in_force(NOW, end, t) for t in (NOW - timedelta(seconds=1), NOW,
                                                  end - timedelta(seconds=1), end)] == [
        False, True, True, False]
    assert rules.in_force(NOW, None, NOW + timedelta(days=3650))


@pytest.mark.parametrize(("kind", "terms", "zh", "en"), [
    ("price_protection", {"days": 30, "excludes_flash_sale": False}, "30天保价",
     "30-day price protection"),
    ("counterfeit_compensation", {"multiple": 3}, "假一赔3", "3× if counterfeit"),
    ("shipping_deadline", {"hours": 48}, "48小时发货", "Ships within 48 h"),
    ("no_reason_return", {"exempt": "perishable", "reason": "x"}, "不支持7天无理由退货",
     "No 7-day no-reason return"),
    ("commitment", {"text": "x"}, "商家承诺", "Merchant commitment"),
])
def test_labels(kind: str, terms: dict, zh: str, en: str) -> None:
    assert rules.label(kind, terms) == (zh, en)


def test_descriptions_say_exactly_what_the_terms_say() -> None:
    plain = rules.describe("price_protection", {"days": 15, "excludes_flash_sale": False})
    excluded = rules.describe("price_protection", {"days": 15, "excludes_flash_sale": True})
    assert "15 天" in plain[0] and "秒杀" not in plain[0] and "flash" not in plain[1]
    assert "限量秒杀价不在保价范围内" in excluded[0]
    assert "flash-sale prices are excluded" in excluded[1]
    free = rules.describe("commitment", {"text": "再送试饮装"})
    assert "不自动执行" in free[0] and "not enforced" in free[1]


def test_the_hash_covers_the_terms_but_not_the_end() -> None:
    record = {"shop_id": 1, "kind": "warranty", "terms": {"months": 12}, "scope_type": "shop",
              "scope_id": 1, "version": 1, "starts_at": NOW, "ends_at": None}
    base = rules.content_hash(record)
    assert len(base) == 64
    assert rules.content_hash({**record, "ends_at": NOW + timedelta(days=1)}) == base
    for change in ({"terms": {"months": 6}}, {"version": 2}, {"scope_id": 2},
                   {"starts_at": NOW + timedelta(seconds=1)}, {"kind": "gift"}):
        assert rules.content_hash({**record, **change}) != base


@settings(max_examples=300, deadline=None)
@given(unit=st.integers(1, 10**7), quantity=st.integers(1, 50), data=st.data())
def test_price_protection_refunds_the_lowest_offer_once_never_beyond_the_payment(
        unit: int, quantity: int, data: st.DataObject) -> None:
    returned = data.draw(st.integers(0, quantity))
    other = data.draw(st.integers(0, unit * quantity))  # refunded for other reasons
    prices = data.draw(st.lists(st.integers(1, 2 * 10**7), min_size=1, max_size=12))
    amount = unit * quantity
    protected = 0
    for price in prices + prices[:3]:  # some offers seen again (a repeated event)
        add = rules.protection_refund(unit_price=unit, offer_price=price, quantity=quantity,
                                      returned=returned, already=protected,
                                      refunded_total=protected + other, amount=amount)
        assert add >= 0
        protected += add
        assert protected + other <= amount
    owed = max(0, unit - min(prices)) * (quantity - returned)
    assert protected == min(owed, amount - other)


@pytest.mark.parametrize(("paid", "days", "offered", "inside"), [
    (NOW, 30, NOW, True),
    (NOW, 30, NOW + timedelta(days=30), True),
    (NOW, 30, NOW + timedelta(days=30, seconds=1), False),
    (NOW, 7, NOW - timedelta(seconds=1), False),  # an offer before payment
])
def test_protection_window(paid: datetime, days: int, offered: datetime, inside: bool) -> None:
    assert rules.in_protection_window(paid, days, offered) is inside


def test_the_longest_applicable_protection_wins_and_exclusions_are_as_written() -> None:
    frozen = [{"kind": "price_protection", "terms": {"days": 7, "excludes_flash_sale": False}},
              {"kind": "price_protection", "terms": {"days": 30, "excludes_flash_sale": True}},
              {"kind": "warranty", "terms": {"months": 12}}]
    assert rules.protection_days(frozen, flash_sale=False) == 30
    assert rules.protection_days(frozen, flash_sale=True) == 7
    assert rules.protection_days(frozen[1:], flash_sale=True) is None
    assert rules.protection_days([], flash_sale=False) is None
