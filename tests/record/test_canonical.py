"""The session record's canonical JSON is exactly RFC 8785 (`rfc8785`, an independent
implementation), on both of its paths: orjson for values whose keys are all ASCII, `rfc8785`
itself otherwise — and what an entry may not hold is refused on both."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from livepledge.record.canonical import MAX_SAFE_INTEGER, CanonicalError, canonical

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # no lone surrogates
ascii_keys = st.text(st.characters(max_codepoint=0x7F), max_size=8)
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | text


def values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(keys, inner, max_size=5), max_leaves=20)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(ascii_keys, values(ascii_keys), max_size=8))
def test_the_fast_path_is_rfc8785(value: dict[str, Any]) -> None:
    assert canonical(value) == rfc8785.dumps(value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(text, values(text), max_size=6))
def test_any_keys_are_rfc8785(value: dict[str, Any]) -> None:
    assert canonical(value) == rfc8785.dumps(value)


def test_keys_are_sorted_by_utf16_code_units_not_code_points() -> None:
    # U+FFFF sorts after U+1F600 in UTF-16 (0xFFFF > 0xD83D) but before it by code point
    assert canonical({"\uffff": 1, "😀": 2, "a": 3}) == \
        '{"a":3,"😀":2,"\uffff":1}'.encode()


def test_typical_entry_bytes() -> None:
    entry = {"type": "order", "t": "2026-12-06T02:53:03.744273Z", "order_id": 7,
             "unit_price": 9900, "text": "加微信\x01\u2028😀\"\\/", "ok": True, "none": None,
             "lines": [1, -2, 0]}
    assert canonical(entry) == (
        b'{"lines":[1,-2,0],"none":null,"ok":true,"order_id":7,'
        b'"t":"2026-12-06T02:53:03.744273Z","text":"\xe5\x8a\xa0\xe5\xbe\xae\xe4\xbf\xa1'
        b'\\u0001\xe2\x80\xa8\xf0\x9f\x98\x80\\"\\\\/","type":"order","unit_price":9900}')


@pytest.mark.parametrize("bad", [{"x": 1.5}, {"x": 2**53}, {"x": -(2**53)}, {1: "a"},
                                 {"x": "\ud800"}, {"\ud800": 1}, {"x": {"y": object()}},
                                 {"x": [1, {"z": 0.0}]}])
def test_what_an_entry_may_not_hold_is_refused(bad: dict[Any, Any]) -> None:
    with pytest.raises(CanonicalError):
        canonical(bad)
