"""Overlap resolution in the engine (issue #16 item 1): the position-map resolution equals the
simple pairwise one it replaced, on random inputs, and the whole check does work linear in the
text: counted in executed lines of the engine, not timed."""

from __future__ import annotations

import copy
import sys
from contextlib import contextmanager
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from livepledge.compliance import engine
from livepledge.compliance.normalize import NormalizedText

# --- the pairwise reference (the engine before issue #16) ----------------------------------

_RANK = {"violation": 0, "warning": 1}


def ref_unshielded(candidates, shields):
    return [c for c in candidates
            if not any(r == c[2] and s < c[1] and c[0] < e for s, e, r in shields)]


def ref_keep(rules, candidates):
    kept: dict[str, list[tuple[int, int]]] = {}
    out = []
    for start, end, rule_index, key in candidates:
        spans = kept.setdefault(rules[rule_index].family, [])
        if any(s <= start and end <= e and (s, e) != (start, end) for s, e in spans):
            continue
        spans.append((start, end))
        out.append((start, end, rule_index, key))
    return out


def ref_resolve(found):
    overriders = [f for f in found if f[2].overrides]
    found = [f for f in found if not any(
        f[2].family in o[2].overrides and f[0] < o[1] and o[0] < f[1] for o in overriders)]
    found.sort(key=lambda f: (_RANK[f[3]], f[0] - f[1], f[0]))
    kept: list[list] = []
    for finding in found:
        start, end, family = finding[0], finding[1], finding[2].family
        for k in kept:
            if k[2].family == family and k[0] < end and start < k[1]:
                k[0], k[1] = min(k[0], start), max(k[1], end)
                break
        else:
            kept.append(finding)
    kept.sort(key=lambda f: (f[0], f[1], f[2].id))
    return [(f[0], f[1], f[2].id, f[3], f[4]) for f in kept]


class _Rule:
    def __init__(self, index: int, family: str, overrides: frozenset[str]) -> None:
        self.id, self.family, self.overrides = f"R-{index:02d}", family, overrides
        self.title = self.basis = self.suggestion = ""

    def __deepcopy__(self, memo):
        return self  # rules are shared, like the catalogue's


_FAMILIES = ("a", "b", "c")
_RULES = [_Rule(i, family, overrides) for i, (family, overrides) in enumerate(
    [("a", frozenset()), ("a", frozenset()), ("b", frozenset()), ("b", frozenset({"a"})),
     ("c", frozenset({"a", "b"})), ("c", frozenset({"c"})), ("a", frozenset())])]
_TEXT = "字" * 64


@st.composite
def spans(draw, rules=len(_RULES)):
    start = draw(st.integers(0, 40))
    return start, start + draw(st.integers(1, 12)), draw(st.integers(0, rules - 1))


@contextmanager
def _pairwise_max(value: int):
    """Force the engine's choice between pairwise and position-map resolution."""
    saved = engine._PAIRWISE_MAX
    engine._PAIRWISE_MAX = value
    try:
        yield
    finally:
        engine._PAIRWISE_MAX = saved


_BOTH_WAYS = (0, 10**9)  # always the position maps; always pairwise


@settings(max_examples=400, deadline=None)
@given(st.lists(spans(), max_size=30), st.lists(spans(), max_size=15))
def test_shield_filter_equals_the_pairwise_one(candidates, shields):
    candidates = [(s, e, r, f"k{i}") for i, (s, e, r) in enumerate(candidates)]
    expected = ref_unshielded(candidates, shields)

    assert engine._unshielded(candidates, shields) == expected
    assert [c for c in candidates if not engine._shielded(shields, c[0], c[1], c[2])] == expected


@settings(max_examples=400, deadline=None)
@given(st.lists(spans(), min_size=2, max_size=40))
def test_family_cover_equals_the_pairwise_one(raw):
    candidates = sorted([(s, e, r, f"k{i}") for i, (s, e, r) in enumerate(raw)],
                        key=engine._longest_first)  # as _scan hands them over
    catalogue = type("C", (), {"rules": _RULES})()
    expected = ref_keep(_RULES, candidates)

    for pairwise_max in _BOTH_WAYS:
        with _pairwise_max(pairwise_max):
            hits = engine._keep(catalogue, NormalizedText(_TEXT, _TEXT, _TEXT), candidates)

        assert [(h.nstart, h.nend, _RULES.index(h.rule), h.key) for h in hits] == expected


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(spans(), st.sampled_from(["violation", "warning"]),
                          st.sampled_from(["", "n"])), min_size=1, max_size=30))
def test_resolution_equals_the_pairwise_one(raw):
    found = [[s, e, _RULES[r], severity, note] for (s, e, r), severity, note in raw]

    expected = ref_resolve(copy.deepcopy(found))

    for pairwise_max in _BOTH_WAYS:
        with _pairwise_max(pairwise_max):
            resolved = engine._resolve(copy.deepcopy(found), _TEXT)

        assert [(f.start, f.end, f.rule_id, f.severity, f.note) for f in resolved] == expected
        assert all(f.text == _TEXT[f.start:f.end] for f in resolved)


# --- linear work -------------------------------------------------------------------------------

_ENGINE = str(Path(engine.__file__).resolve())


class _Budget(Exception):
    pass


def _engine_lines(text: str, budget: int) -> int:
    """Lines of engine.py executed by one check of `text` (stops once over `budget`)."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
            if count > budget:
                raise _Budget
        return local

    def calls(frame, event, arg):
        return local if frame.f_code.co_filename == _ENGINE else None

    sys.settrace(calls)
    try:
        engine.check(text, "general", "script")
    except _Budget:
        return count
    finally:
        sys.settrace(None)
    return count


def test_the_check_does_work_linear_in_the_text():
    # dense, overlapping matches of several families (diversion, price, absolute terms) that
    # made the pairwise resolution quadratic: 4 times the text must cost about 4 times the work
    unit = "全网最低价加微信"
    engine.check(unit, "general", "script")  # the catalogue is compiled outside the count
    small = _engine_lines(unit * 100, budget=10**9)
    large = _engine_lines(unit * 400, budget=5 * small)

    assert small > 1000
    assert large <= 4.2 * small, (small, large)
