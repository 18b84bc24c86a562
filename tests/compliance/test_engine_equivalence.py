"""The engine's findings are pinned (issue #16 item 1: making the check faster must not change a
single finding).

`engine_digests.json` holds, per group of checks, the number of findings and the sha256 of their
canonical JSON, recorded with the engine as it was before the speed work (commit of this test).
Groups: every corpus line (as labelled, in every context without facts, in every category), the
corpus run together into long scripts, the benchmark's adversarial text (bench/compliance.py, a
frozen copy of its generator) at a few seeds and sizes, 1 MiB included, and noisy adversarial
text (padding, quotes, punctuation, full-width and upper-case letters, traditional characters,
digits, emoji that stand for words) with and without facts.

Re-record only for an intended change of findings:
    .venv/bin/python -m tests.compliance.test_engine_equivalence --record
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livepledge.compliance import engine
from livepledge.compliance.catalogue import CATEGORIES, CONTEXTS, get_catalogue
from livepledge.compliance.engine import check
from livepledge.compliance.facts import Facts
from tests.compliance import reference_engine

ROOT = Path(__file__).resolve().parents[2]
DIGESTS = Path(__file__).with_name("engine_digests.json")

Check = tuple[str, str, str, Facts | None]

RICH_FACTS = Facts(
    special_cosmetic_uses=("防晒",), has_health_food_approval=True,
    approved_health_functions=("辅助降血脂",), current_price_fen=9900,
    lowest_price_7d_fen=9900, lowest_price_30d_fen=8800, price_rise_scheduled=False,
    stock_remaining=5, sales_count=1200, sale_seconds_left=600,
    verified_honours=("国家级非遗",), brand_names=("第一", "极致", "顶级", "NO.1"))
EMPTY_FACTS = Facts()


def _corpus(folder: str) -> list[tuple[str, list[dict[str, Any]]]]:
    files = []
    for file in sorted((ROOT / "corpus" / folder).glob("*.jsonl")):
        items = [orjson.loads(line) for line in file.read_bytes().splitlines() if line.strip()]
        files.append((f"{folder}/{file.stem}", items))
    return files


def _corpus_checks(items: list[dict[str, Any]]) -> list[Check]:
    checks: list[Check] = []
    for item in items:
        text, category, context = item["text"], item["category"], item["context"]
        checks.append((text, category, context, Facts.from_dict(item.get("facts"))))
        checks += [(text, category, other, None) for other in CONTEXTS]
        checks += [(text, other, context, None) for other in CATEGORIES]
        checks.append((text, category, context, RICH_FACTS))
    return checks


def adversarial_text(catalogue: Any, size_bytes: int, seed: int = 16) -> str:
    """A frozen copy of bench/compliance.py's generator (dense overlapping matches)."""
    terms = sorted(k for k in catalogue.lexicon if any(ch >= "\u3400" for ch in k))
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < size_bytes:
        part = rng.choice(terms) if rng.random() < 0.7 else "全网最低价加微信"
        if rng.random() < 0.05:
            part += rng.choice("，。！ ")
        if rng.random() < 0.02:
            part += "13800138000"
        parts.append(part)
        size += len(part.encode())
    text = "".join(parts)
    while len(text.encode()) > size_bytes:
        text = text[:-1]
    return text


_NOISE = (" ", "  ", "🔥", "❤", "，", "、", "“", "”", "「", "」", "\"", "。", "！", "？", "\n",
          "\u200b", "*", "-", "~", "：", ":", "®", "™", "…", "\u3000")
_WORDS = ("本店", "我们家", "全网", "不是", "不敢说", "不能说", "这个词", "广告法", "2023年",
          "据统计", "来源", "数据", "别人家", "今天", "本场", "里", "当中", "的", "了", "是", "都",
          "最", "看", "来", "一下", "吗", "VX", "WeiXin", "ＶＸ", "Ｖ信", "薇❤信", "全網最低價",
          "最優惠", "第一®", "zui好", "zuihao", "1380013800", "13800138000",
          "一三八零零一三八零零零", "8613800138000", "100元", "99块", "3万单", "两千单都",
          "仅剩3件", "倒计时5分钟",
          "只剩10秒", "原价999", "涨价", "🐧", "📞", "💯", "🍑", "🆅🆇", "qq", "q群", "abcd_1234",
          "v x", "🐧号")


def noisy_text(catalogue: Any, chars: int, seed: int, *, emoji_words: bool) -> str:
    """Lexicon terms (Latin and pinyin keys too) padded and broken with noise, among context
    words and figures; emoji that stand for words only when `emoji_words`."""
    terms = sorted(catalogue.lexicon)
    words = [w for w in _WORDS if emoji_words or w not in ("🐧", "📞", "💯", "🐧号")]
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < chars:
        roll = rng.random()
        if roll < 0.5:
            part = rng.choice(terms)
            if len(part) > 1 and rng.random() < 0.2:  # padded inside: 最 好, 薇❤信
                cut = rng.randrange(1, len(part))
                part = part[:cut] + rng.choice(_NOISE) + part[cut:]
            if rng.random() < 0.1:
                part = part.upper()
        elif roll < 0.8:
            part = rng.choice(words)
        else:
            part = rng.choice(_NOISE)
        parts.append(part)
        size += len(part)
    return "".join(parts)


def _groups() -> Iterator[tuple[str, list[Check]]]:
    catalogue = get_catalogue()
    everything: list[str] = []
    for name, items in _corpus("compliance") + _corpus("external"):
        yield name, _corpus_checks(items)
        everything += [item["text"] for item in items]
    for separator, label in (("", "run-on"), ("，", "commas"), ("。", "sentences"),
                             ("\n", "lines")):
        script = separator.join(everything)
        yield f"corpus-joined/{label}", [
            (script, "general", "script", None), (script, "cosmetics", "chat", None),
            (script, "health_food", "listing", RICH_FACTS)]
    for seed in (1, 2, 3):
        for size in (2_000, 30_000, 150_000):
            text = adversarial_text(catalogue, size, seed)
            yield f"adversarial/seed{seed}/{size}", [
                (text, "general", "script", None), (text, "cosmetics", "chat", None),
                (text, "food", "speech", EMPTY_FACTS), (text, "health_food", "listing",
                                                       RICH_FACTS)]
    yield "adversarial/seed16/1048576", [
        (adversarial_text(catalogue, 1_048_576, 16), "general", "script", None)]
    for seed in (1, 2, 3, 4):
        for chars in (300, 5_000, 60_000):
            for emoji_words in (False, True):
                text = noisy_text(catalogue, chars, seed, emoji_words=emoji_words)
                yield f"noisy/seed{seed}/{chars}/{'emoji' if emoji_words else 'plain'}", [
                    (text, "general", "script", None), (text, "cosmetics", "chat", None),
                    (text, "medical_device", "speech", EMPTY_FACTS),
                    (text, "health_food", "listing", RICH_FACTS)]


def _digest(checks: list[Check]) -> dict[str, Any]:
    hasher = hashlib.sha256()
    count = 0
    for text, category, context, facts in checks:
        findings = [f.to_dict() for f in check(text, category, context, facts)]
        count += len(findings)
        hasher.update(orjson.dumps(findings, option=orjson.OPT_SORT_KEYS))
        hasher.update(b"\n")
    return {"checks": len(checks), "findings": count, "sha256": hasher.hexdigest()}


def _recorded() -> dict[str, dict[str, Any]]:
    return orjson.loads(DIGESTS.read_bytes())


_GROUPS = dict(_groups())


@pytest.mark.parametrize("name", sorted(_GROUPS))
def test_findings_are_those_recorded(name: str):
    assert _digest(_GROUPS[name]) == _recorded()[name]


def test_every_recorded_group_is_checked():
    assert sorted(_recorded()) == sorted(_GROUPS)


# --- random texts, against the frozen pre-optimisation engine ---------------------------------

_PIECES = st.one_of(st.sampled_from(sorted(get_catalogue().lexicon)), st.sampled_from(_WORDS),
                    st.sampled_from(_NOISE), st.text(max_size=3))
_FACTS = st.sampled_from([None, EMPTY_FACTS, RICH_FACTS])


def _same_as_reference(text: str, category: str, context: str, facts: Facts | None) -> None:
    expected = [f.to_dict() for f in reference_engine.check(text, category, context, facts)]
    assert [f.to_dict() for f in check(text, category, context, facts)] == expected


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=12), st.sampled_from(CATEGORIES),
       st.sampled_from(CONTEXTS), _FACTS)
def test_short_texts_match_the_reference_engine(pieces, category, context, facts):
    _same_as_reference("".join(pieces), category, context, facts)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, min_size=20, max_size=400), st.sampled_from(CATEGORIES),
       st.sampled_from(CONTEXTS), _FACTS)
def test_long_texts_match_the_reference_engine(pieces, category, context, facts):
    _same_as_reference("".join(pieces), category, context, facts)


@contextmanager
def _long_text(threshold: int):
    """Force the engine's choice between the short-text and the long-text path."""
    saved = engine._LONG_TEXT
    engine._LONG_TEXT = threshold
    try:
        yield
    finally:
        engine._LONG_TEXT = saved


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=60), st.sampled_from(CATEGORIES),
       st.sampled_from(CONTEXTS), _FACTS)
def test_both_paths_match_the_reference_engine(pieces, category, context, facts):
    text = "".join(pieces)
    for threshold in (0, 10**9):  # always the long-text path; always the short-text one
        with _long_text(threshold):
            _same_as_reference(text, category, context, facts)


def test_the_automaton_reports_the_matches_ending_at_one_position_longest_first():
    # the long-text path keeps the longest candidate of each family at each end on this order
    catalogue = get_catalogue()
    for text in (adversarial_text(catalogue, 30_000, 5),
                 noisy_text(catalogue, 30_000, 5, emoji_words=False)):
        matches = list(catalogue.automaton.iter(text))
        lengths = [catalogue.keys[key_id][0] for _, key_id in matches]
        for i in range(1, len(matches)):
            if matches[i][0] == matches[i - 1][0]:
                assert lengths[i] < lengths[i - 1]


def _record() -> None:
    digests = {name: _digest(checks) for name, checks in _GROUPS.items()}
    DIGESTS.write_bytes(orjson.dumps(digests, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
                        + b"\n")
    total = sum(d["findings"] for d in digests.values())
    sys.stdout.write(f"{len(digests)} groups, {total} findings recorded in {DIGESTS}\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python -m tests.compliance.test_engine_equivalence --record")
    _record()
