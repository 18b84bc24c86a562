"""Order brushing: hand-built tricky windows and property tests against the brute force.

Two readings of "a one-hour window" (docs/audit.md): the default (step 1) is the official
Shopee Code League 2020 one — windows start at whole seconds, 00:00:00 ~ 01:00:00,
00:00:01 ~ 01:00:01, … both ends included; step 0 lets a window start anywhere.  The
hand-built continuous tests below pass step=0 explicitly."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livepledge.audit.brute import brute_force
from tests.audit.audit_helpers import detect

HOUR = 3600


def test_window_between_orders_that_no_order_anchored_window_sees():
    # Given x at 0, a at 5 and 8, y at 12, W = 10: only windows like (0, 10] hold {a, a}.
    rows = [("s", "x", 0), ("s", "a", 5), ("s", "a", 8), ("s", "y", 12)]
    # When / then: ratio 2 reaches T = 2, and a is the only suspicious buyer.
    assert detect(rows, 10, 2) == {"s": "a"}
    assert detect(rows, 10, Fraction(201, 100)) == {"s": "0"}


def test_orders_exactly_window_apart_share_a_window():
    rows = [("s", "a", 0), ("s", "a", 10), ("s", "b", 20)]
    assert detect(rows, 10, 2) == {"s": "a"}
    assert detect(rows, 9, 2) == {"s": "0"}


def test_sub_second_times_keep_both_ends_inclusive():
    rows = [("s", "a", 0.5), ("s", "a", 10.5), ("s", "b", 10.500001)]
    assert detect(rows, 10, 2, step=0) == {"s": "a"}
    assert detect(rows, 9.999999, 2, step=0) == {"s": "0"}
    # On whole-second starts no 10 s window holds both 0.5 and 10.5.
    # On whole-second starts no 10 s window holds both 0.5 and 10.5, and the 11 s windows
    # that do ([-1, 10] no; [0, 11] yes) also hold b: 3 / 2 < 2.
    assert detect(rows, 10, 2) == {"s": "0"}
    assert detect(rows, 11, 2) == {"s": "0"}


def test_whole_second_windows_need_a_whole_second_start_inside_the_gap():
    # a at 0.5 and 10.5 (W = 10): the only windows holding both start at exactly 0.5.
    rows = [("s", "a", 0.5), ("s", "a", 10.5)]
    assert detect(rows, 10, 2, step=0) == {"s": "a"}
    assert detect(rows, 10, 2) == {"s": "0"}
    assert detect(rows, 10, 2, step=Fraction(1, 2)) == {"s": "a"}
    assert detect(rows, 11, 2) == {"s": "a"}   # [0, 11] holds both


def test_ties_list_every_tied_buyer_in_numeric_order():
    rows = [("7", "10", 0), ("7", "10", 1), ("7", "2", 2), ("7", "2", 3)]
    assert detect(rows, 10, 2) == {"7": "2&10"}


def test_non_numeric_ids_are_sorted_lexicographically():
    rows = [("s", "b10", 0), ("s", "b10", 1), ("s", "b9", 2), ("s", "b9", 3)]
    assert detect(rows, 10, 2) == {"s": "b10&b9"}


def test_several_brushing_periods_count_together():
    # Period 1: a ×3 at 0..2; period 2 (a day later): b ×3 and a ×1.
    rows = [("s", "a", 0), ("s", "a", 1), ("s", "a", 2),
            ("s", "b", 86400), ("s", "b", 86401), ("s", "b", 86402), ("s", "a", 86403)]
    assert detect(rows, HOUR, 2) == {"s": "a"}


def test_orders_in_overlapping_windows_count_once():
    # Every order sits in many overlapping brushing windows ([0, 15], [-1, 14], (0, 15] …);
    # each counts once: a 3, b 3 (b's order at 9000 is in no window).
    rows = [("s", "a", 0), ("s", "a", 5), ("s", "a", 10), ("s", "b", 11), ("s", "b", 12),
            ("s", "b", 14), ("s", "b", 9000)]
    assert detect(rows, 15, Fraction(5, 2)) == {"s": "a&b"}


def test_worked_example_of_docs_whole_second_times():
    # docs/audit.md: W = 1 h, T = 3; x 10:00:00, u 10:00:01, 10:30:00, 11:00:00, y 11:00:01.
    ten = 10 * HOUR
    rows = [("s", "x", ten), ("s", "u", ten + 1), ("s", "u", ten + 1800),
            ("s", "u", ten + HOUR), ("s", "y", ten + HOUR + 1)]
    # Continuous: [10:00:00.5, 11:00:00.5] holds u ×3 only: 3 / 1 ≥ 3.
    assert detect(rows, HOUR, 3, step=0) == {"s": "u"}
    # Official: 10:00:00 ~ 11:00:00 holds x + u ×3 (4 / 2), 10:00:01 ~ 11:00:01 u ×3 + y
    # (4 / 2): no whole-second window reaches 3.
    assert detect(rows, HOUR, 3) == {"s": "0"}
    assert detect(rows, HOUR, 2) == {"s": "u"}


def test_worked_example_sub_second_times():
    # x 10:00:00.4, u 10:00:00.6, 10:30:00, 11:00:00.5, y 11:00:00.7.
    ten = Fraction(10 * HOUR)
    rows = [("s", "x", ten + Fraction(4, 10)), ("s", "u", ten + Fraction(6, 10)),
            ("s", "u", ten + 1800), ("s", "u", ten + HOUR + Fraction(1, 2)),
            ("s", "y", ten + HOUR + Fraction(7, 10))]
    assert detect(rows, HOUR, 3, step=0) == {"s": "u"}
    # Whole-second windows: the best hold two u and one other buyer (3 / 2).
    assert detect(rows, HOUR, 3) == {"s": "0"}
    assert detect(rows, HOUR, Fraction(3, 2)) == {"s": "u"}
    assert detect(rows, HOUR, Fraction(8, 5)) == {"s": "0"}


def test_step_larger_than_a_second_uses_fewer_starts():
    # a at 1 and 11 (W = 10): a start at 1 exists on the 1 s grid, not on the 2 s grid.
    rows = [("s", "x", 0), ("s", "a", 1), ("s", "a", 11), ("s", "y", 12)]
    assert detect(rows, 10, 2) == {"s": "a"}
    assert detect(rows, 10, 2, step=2) == {"s": "0"}
    assert detect(rows, 10, 2, step=0) == {"s": "a"}


def test_many_orders_in_the_same_second():
    rows = [("s", "a", 100)] * 4 + [("s", "b", 100)] * 2 + [("s", "c", 100)]
    assert detect(rows, 0, Fraction(7, 3)) == {"s": "a"}
    assert detect(rows, 0, Fraction(24, 10)) == {"s": "0"}


def test_shop_that_does_not_brush_gets_zero_or_no_row():
    rows = [("1", "a", 0), ("1", "b", 1), ("1", "c", 2), ("2", "a", 0), ("2", "a", 1)]
    assert detect(rows, HOUR, 2) == {"1": "0", "2": "a"}
    assert detect(rows, HOUR, 2, all_shops=False) == {"2": "a"}


def test_shops_are_independent():
    rows = [("1", "a", 0), ("2", "a", 1), ("1", "b", 2), ("2", "b", 3)]
    assert detect(rows, HOUR, 2) == {"1": "0", "2": "0"}


def test_shopee_style_hour_window_threshold_three():
    # u1's three orders span 3000 s and u2 ordered in between: at best 4 / 2 = 2 < 3.
    base = [("s", "u1", 0), ("s", "u1", 600), ("s", "u2", 1200), ("s", "u1", 3000)]
    assert detect(base, HOUR, 3) == {"s": "0"}
    # One more u1 order: [0, 3600] holds 5 / 2 = 2.5 < 3.
    assert detect([*base, ("s", "u1", 3300)], HOUR, 3) == {"s": "0"}
    # Two more: [0, 3600] holds 6 orders by 2 buyers = 3 ≥ 3; u1 has 5 of the 6.
    heavy = [*base, ("s", "u1", 3500), ("s", "u1", 3550)]
    assert detect(heavy, HOUR, 3) == {"s": "u1"}


def test_buyer_share_rule_uses_each_buyers_own_orders():
    # a: 3 orders in the period out of 10; b: 2 in the period out of 2.
    rows = [("s", "a", 0), ("s", "a", 1), ("s", "a", 2), ("s", "b", 3), ("s", "b", 4)]
    rows += [("s", "a", 100000 + 5000 * i) for i in range(7)]
    assert detect(rows, 10, Fraction(5, 2)) == {"s": "a"}
    assert detect(rows, 10, Fraction(5, 2), rule="buyer-share") == {"s": "b"}


def test_threshold_one_makes_every_shop_with_orders_brush():
    rows = [("s", "a", 0), ("s", "b", 100)]
    assert detect(rows, 10, 1) == {"s": "a&b"}


shop_rows = st.lists(
    st.tuples(st.sampled_from(["1", "2"]), st.sampled_from(["1", "2", "3", "10"]),
              st.integers(min_value=0, max_value=40)),
    min_size=1, max_size=14,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=shop_rows, window=st.integers(min_value=0, max_value=15),
       threshold=st.sampled_from([Fraction(1), Fraction(3, 2), Fraction(2), Fraction(5, 2),
                                  Fraction(3), Fraction(4, 3)]),
       rule=st.sampled_from(["period-share", "buyer-share"]),
       step=st.sampled_from([Fraction(0), Fraction(1), Fraction(2), Fraction(3)]))
def test_fast_detector_equals_brute_force(rows, window, threshold, rule, step):
    expected = brute_force([(s, b, Fraction(t)) for s, b, t in rows], Fraction(window),
                           threshold, rule, step)
    assert detect(rows, window, threshold, rule, step=step) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.just("1"), st.sampled_from(["a", "b", "c"]),
                               st.integers(min_value=0, max_value=200)),
                     min_size=1, max_size=12),
       window_tenths=st.integers(min_value=0, max_value=60),
       threshold=st.sampled_from([Fraction(3, 2), Fraction(2), Fraction(7, 3)]),
       step=st.sampled_from([Fraction(0), Fraction(1), Fraction(1, 2), Fraction(3, 10)]))
def test_fast_detector_equals_brute_force_on_sub_second_times(rows, window_tenths, threshold,
                                                               step):
    tenths = [(s, b, Fraction(t, 10)) for s, b, t in rows]
    expected = brute_force(tenths, Fraction(window_tenths, 10), threshold, step=step)
    assert detect(tenths, Fraction(window_tenths, 10), threshold, step=step) == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.just("1"), st.integers(min_value=1, max_value=25).map(str),
                               st.integers(min_value=0, max_value=60)),
                     min_size=1, max_size=30),
       window=st.integers(min_value=0, max_value=20),
       threshold=st.sampled_from([Fraction(6, 5), Fraction(3, 2), Fraction(2), Fraction(3)]),
       step=st.sampled_from([Fraction(0), Fraction(1), Fraction(2)]))
def test_fast_detector_equals_brute_force_with_many_single_buyers(rows, window, threshold,
                                                                  step):
    # Many buyers order once: exercises the hot-order and single-buyer filters.
    expected = brute_force([(s, b, Fraction(t)) for s, b, t in rows], Fraction(window),
                           threshold, step=step)
    assert detect(rows, window, threshold, step=step) == expected


def test_burst_inside_a_busy_shop_of_single_buyers():
    # 60 one-time buyers, one a minute; then buyer 999 orders 4 times in 30 s among them.
    rows = [("s", str(1000 + i), 60 * i) for i in range(60)]
    rows += [("s", "999", 1800 + 10 * i) for i in range(4)]
    # [1800, 1830] holds 999 ×4 and buyer 1030 (at 1800): 5 / 2; (1800, 1830] holds only
    # 999 ×3: 3 / 1 — the highest ratio any 30 s window reaches.
    assert detect(rows, 30, Fraction(5, 2), step=0) == {"s": "999"}
    assert detect(rows, 30, 3, step=0) == {"s": "999"}
    assert detect(rows, 30, Fraction(31, 10), step=0) == {"s": "0"}
    # Whole seconds: [1801, 1831] holds 999 ×3 alone too (1831 < 1860).
    assert detect(rows, 30, 3) == {"s": "999"}
    assert detect(rows, 30, Fraction(31, 10)) == {"s": "0"}
