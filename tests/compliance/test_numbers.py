"""Chinese numerals as people say them in a live room."""

from __future__ import annotations

import pytest

from livepledge.compliance.rules import _parse_chinese


@pytest.mark.parametrize(("text", "value"), [
    ("三", 3), ("十", 10), ("十五", 15), ("一百", 100), ("两百九十九", 299), ("两千", 2000),
    ("一千零一", 1001), ("三千零五", 3005), ("三万五千", 35000), ("一万", 10000),
    ("一万三", 13000), ("三千五", 3500), ("两百五", 250), ("一亿二", 120_000_000),
])
def test_chinese_numerals(text: str, value: int) -> None:
    assert _parse_chinese(text) == value
