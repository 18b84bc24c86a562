"""The benchmark's baselines (bench/audit_baselines.py) compute the same thing as the product.

bench/audit.py compares the DuckDB detector with the best pandas and Polars versions we could
write; a ratio only means something if all three compute the definition. Each engine runs on a
small random Parquet file and must equal the brute force (brute.py), brushing shops only — the
baselines' contract. Windows start at whole multiples of the step (the official reading, which
the benchmark uses)."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livepledge.audit.brute import brute_force

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from audit_baselines import ENGINES

EPOCH = 1_772_323_200  # 2026-03-01 00:00:00 UTC, as the synthetic export


def _write(path: Path, rows: list[tuple[str, str, int]]) -> str:
    table = pa.table({
        "order_id": [str(i) for i in range(len(rows))],
        "shop_id": [r[0] for r in rows],
        "buyer_id": [r[1] for r in rows],
        "t": pa.array([(EPOCH + r[2]) * 1_000_000 for r in rows], type=pa.int64()),
    })
    pq.write_table(table, path)
    return str(path)


def _expected(rows, window: int, threshold: Fraction, step: int) -> dict[str, str]:
    result = brute_force([(s, b, Fraction(EPOCH + t)) for s, b, t in rows], Fraction(window),
                         threshold, step=Fraction(step))
    return {shop: buyers for shop, buyers in result.items() if buyers != "0"}


rows_strategy = st.lists(
    st.tuples(st.sampled_from(["1", "2", "30"]),
              st.sampled_from(["1", "2", "3", "10", "11", "12", "13", "14"]),
              st.integers(min_value=0, max_value=40)),
    min_size=1, max_size=24,
)


@pytest.mark.parametrize("engine", sorted(ENGINES))
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, window=st.integers(min_value=0, max_value=15),
       threshold=st.sampled_from([Fraction(3, 2), Fraction(2), Fraction(5, 2), Fraction(3),
                                  Fraction(4, 3)]),
       step=st.sampled_from([1, 2, 3]))
def test_baseline_equals_brute_force(engine, tmp_path, rows, window, threshold, step):
    path = _write(tmp_path / "orders.parquet", rows)
    result, _ = ENGINES[engine](path, window, threshold, step)
    assert result == _expected(rows, window, threshold, step)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_baseline_window_between_orders(engine, tmp_path):
    # x at 0, a at 1 and 11, y at 12 (W = 10): only the window [1, 11] holds {a, a} alone
    # (ratio 2); it starts on the 1 s grid, not on the 2 s grid.
    rows = [("s", "x", 0), ("s", "a", 1), ("s", "a", 11), ("s", "y", 12)]
    path = _write(tmp_path / "orders.parquet", rows)
    assert ENGINES[engine](path, 10, Fraction(2), 1)[0] == {"s": "a"}
    assert ENGINES[engine](path, 10, Fraction(2), 2)[0] == {}
