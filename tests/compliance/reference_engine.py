"""A frozen copy of compliance/engine.py as it was before the speed work of issue #16 item 1:
the reference the optimised engine is compared with on random texts
(test_engine_equivalence.py). Do not edit: it defines the findings expected. (One adaptation:
the automaton's values became key ids, so `_scan` reads a key's length and entries from
`catalogue.keys`.)"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import chain
from typing import Any

import rjieba

from livepledge.compliance.catalogue import (
    CATEGORIES,
    CONTEXTS,
    NEGATION_AFTER_WINDOW,
    SHIELD,
    Catalogue,
    ContextWords,
    Rule,
    alternation,
    get_catalogue,
)
from livepledge.compliance.facts import Facts
from livepledge.compliance.normalize import (
    EXPAND,
    NOISE,
    QUOTE,
    SENTENCE_END,
    WEAK,
    NormalizedText,
    expand,
    fold,
    normalize_pattern,
    strip,
)
from livepledge.compliance.rules import FACTLESS_BY_KEY, VERIFIERS, Claim, Verdict

_CLAUSE_ENDS = (WEAK, SENTENCE_END)
_CONTEXT_CHARS = 24
_SENTENCE_CHARS = 48
_NON_NEGATING = ("不错", "不少", "不仅", "不只", "不但", "不用说", "不停", "不断", "不同", "不一样",
                 "没错", "无论", "非常", "别人", "别家", "别的", "不愧", "不管", "不过", "不止",
                 "没想到", "不知道", "不要太", "不要错过", "别错过", "不到", "不可思议", "不得了",
                 "没得说", "没话说", "非要")
_DATE = re.compile(r"(19|20)\d{2}年|\d{1,2}月|上半年|下半年|季度|年度|(19|20)\d{2}")
_DIGITISH = re.compile(r"[0-9〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖]{5,}")
_CN_TO_DIGIT = str.maketrans("〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖", "001234567891123456789")
_NUMBER_UNITS = ("元", "块", "件", "单", "人", "万", "次", "年", "月", "日", "ml", "g", "克", "斤",
                 "米",
                 "cm", "个", "份", "天", "小时", "分", "秒", "%", "w", "k", "瓶", "盒", "mah", "mm",
                 "毫", "公斤", "kg", "千", "百", "位", "粒", "片", "支", "包", "箱", "度", "寸")
_CATEGORIES = frozenset(CATEGORIES)
_CONTEXTS = frozenset(CONTEXTS)
_SEVERITY_RANK = {"violation": 0, "warning": 1}
_NUMBER_VERIFIERS = frozenset({"sales_claim", "stock_claim", "countdown_claim", "reference_price"})
_NUMBER_AHEAD = re.compile(r".{0,6}?[0-9０-９零〇一二两三四五六七八九十百千壹贰叁肆伍陆柒捌玖]",
                           re.S)
# A figure shortly before the claim word (两千单都卖出去了): the sales verifier reads it too.
_NUMBER_BEHIND = re.compile(r"[0-9０-９零〇一二两三四五六七八九十百千万壹贰叁肆伍陆柒捌玖]")
_BEHIND_VERIFIERS = frozenset({"sales_claim"})
# Words that look like a negation after a claim but assert it (全网最低不是吹的, 是最好的不是吗).
_NOT_NEGATING_AFTER = ("不是吹", "不是盖", "不是吗", "不是么", "不是嘛", "不是开玩笑", "不是假",
                       "不是说说", "不是我吹", "不算夸张", "不算过分", "不算吹", "不夸张", "不算贵",
                       "不是一般", "不是一点", "不是随便", "不是梦", "不是问题", "不是难事",
                       "不是事", "不是传说", "不是空话", "不是白叫")
# A shop word followed by these owns the product instead of scoping the comparison (我们家的面霜).
_POSSESSIVE = ("的", "这款", "这个", "这件", "这支", "这瓶", "这台")
# An earlier clause ending in one of these names the range a comparison is made in (…里，).
_RANGE_ENDS = ("里", "里面", "里头", "中", "当中", "之中")
_SEGMENT_CHARS = 4  # characters on each side of a candidate that word segmentation looks at
# Overlaps among a few candidates or findings (a chat line) are resolved pairwise, which is the
# cheapest when they are few; beyond this many pairs, with maps from positions, which keeps the
# work linear in the text however dense the matches (issue #16).
_PAIRWISE_MAX = 64


@dataclass(frozen=True, slots=True)
class Finding:
    start: int  # [start, end) in the original text, in code points
    end: int
    text: str
    rule_id: str
    family: str
    severity: str  # "violation" | "warning"
    title: str
    legal_basis: str
    suggestion: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "span": [self.start, self.end], "text": self.text, "rule_id": self.rule_id,
            "family": self.family, "severity": self.severity, "title": self.title,
            "legal_basis": self.legal_basis, "suggestion": self.suggestion, "note": self.note,
        }


@dataclass(slots=True)
class _Draft:
    """A mutable twin of Finding with the same slots, in the same order.

    A frozen dataclass sets each field through object.__setattr__, which makes building a
    Finding cost about 1 µs; the twin is filled with plain slot stores and then becomes a Finding
    by assigning its class (allowed between classes with the same slot layout). The result is an
    ordinary, frozen Finding.
    """

    start: int
    end: int
    text: str
    rule_id: str
    family: str
    severity: str
    title: str
    legal_basis: str
    suggestion: str
    note: str = ""


if _Draft.__slots__ != Finding.__slots__:  # pragma: no cover - guards the layout assumption
    raise TypeError("_Draft must have the slots of Finding, in the same order")


def _finding(text: str, start: int, end: int, rule: Rule, severity: str, note: str) -> Finding:
    draft = _Draft(start, end, text[start:end], rule.id, rule.family, severity, rule.title,
                   rule.basis, rule.suggestion, note)
    draft.__class__ = Finding  # type: ignore[assignment]
    return draft  # type: ignore[return-value]


class _Hit:
    """One candidate match, the clause around it (computed at once: nearly every rule reads it)
    and the sentence around it (computed when asked for)."""

    __slots__ = ("_sentence", "after", "before", "key", "nend", "nstart", "oend", "ostart",
                 "rule", "view")

    def __init__(self, view: NormalizedText, nstart: int, nend: int, ostart: int, oend: int,
                 rule: Rule, key: str) -> None:
        self.view, self.nstart, self.nend, self.rule, self.key = view, nstart, nend, rule, key
        self.ostart, self.oend = ostart, oend
        folded = view.folded
        self._sentence: str | None = None
        # before: the clause before the match (after the last comma or sentence end).
        segment = folded[ostart - _CONTEXT_CHARS if ostart > _CONTEXT_CHARS else 0:ostart]
        before = segment.rpartition(WEAK)[2].rpartition(SENTENCE_END)[2]
        # after: the clause after the match (up to the next comma or sentence end).
        after = folded[oend:oend + _CONTEXT_CHARS].partition(WEAK)[0].partition(SENTENCE_END)[0]
        if view.norm is not folded:  # strip noise and quotes (a clause holds no WEAK)
            if NOISE in before:
                before = before.replace(NOISE, "")
            if QUOTE in before:
                before = before.replace(QUOTE, "")
            if NOISE in after:
                after = after.replace(NOISE, "")
            if QUOTE in after:
                after = after.replace(QUOTE, "")
        self.before, self.after = before, after

    @property
    def sentence_before(self) -> str:
        ostart = self.ostart
        start = ostart - _SENTENCE_CHARS if ostart > _SENTENCE_CHARS else 0
        segment = self.view.folded[start:ostart]
        return strip(segment[segment.rfind(SENTENCE_END) + 1:])

    @property
    def sentence_after(self) -> str:
        segment = self.view.folded[self.oend:self.oend + _SENTENCE_CHARS]
        end = segment.find(SENTENCE_END)
        if end >= 0:
            segment = segment[:end]
        return strip(segment)

    def word_at(self, offset: int) -> tuple[int, int] | None:
        """The word (start, end) holding the one character at `offset` of the clause around the
        match, in offsets from the start of the match (negative before it); None when that
        character is a word of its own.

        The clause (up to _SEGMENT_CHARS each side) is cut into words with the dictionary only
        (no HMM guessing of new words), and only when the character forms a dictionary word with
        a neighbour: otherwise no cut can join it to anything."""
        before = self.before[-_SEGMENT_CHARS:]
        text = before + self.view.norm[self.nstart:self.nend] + self.after[:_SEGMENT_CHARS]
        i = len(before) + offset
        if not (i > 0 and rjieba.has_word(text[i - 1:i + 1])) \
                and not rjieba.has_word(text[i:i + 2]):
            return None
        start = -len(before)
        for word in rjieba.cut(text, False):
            end = start + len(word)
            if offset < end:
                return (start, end) if offset >= start and end - start > 1 else None
            start = end
        return None

    def is_word(self, offset: int) -> bool:
        """The one character at `offset` (from the start of the match) is a word of its own, or
        forms a word only with characters of the match itself (看 in 最好看, 吃 in 最好吃)."""
        word = self.word_at(offset)
        if word is None:
            return True
        start, end = word
        length = self.nend - self.nstart
        left = start == offset or (start >= 0 and offset <= length)
        right = end == offset + 1 or (offset + 1 >= 0 and end <= length)
        return left and right

    @property
    def sentence(self) -> str:
        """Normalised sentence around the match (up to 。！？ or a line break)."""
        if self._sentence is None:
            matched = strip(self.view.folded[self.ostart:self.oend])
            self._sentence = self.sentence_before + matched + self.sentence_after
        return self._sentence


# [start, end, rule, severity, note]: a finding before overlaps are resolved (a list: merging
# widens its span in place).
_Found = list[Any]


# --- context checks ------------------------------------------------------------------------

def _in_sentence(hit: _Hit, pattern: re.Pattern[str] | None) -> bool:
    """`pattern` (literal words, no anchors) occurs in the sentence around the hit.

    The sentence is a stretch of `norm`, so it is built only when `norm` has a match at all.
    """
    return (pattern is not None and hit.view.anywhere(pattern)
            and pattern.search(hit.sentence) is not None)


def _is_latin(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _boundary_ok(view: NormalizedText, nstart: int, nend: int) -> bool:
    """Latin patterns must not sit inside a longer word (vx in 'vxyz'), nor digits in numbers."""
    norm = view.norm
    first, last = norm[nstart], norm[nend - 1]
    if first >= "\u3400" and last >= "\u3400":
        return True  # Chinese on both edges: no word-boundary question
    gaps = view.gaps  # a removed character between two letters separates them
    if nstart > 0 and not _in_sorted(gaps, nstart):
        previous = norm[nstart - 1]
        if (_is_latin(first) and _is_latin(previous)) or (first.isdigit() and previous.isdigit()):
            return False
    if nend < len(norm) and not _in_sorted(gaps, nend):
        following = norm[nend]
        if (_is_latin(last) and _is_latin(following)) or (last.isdigit() and following.isdigit()):
            return False
    return True


def _in_sorted(values: list[int], value: int) -> bool:
    """`value in values` for a sorted list, in log time (gaps can be as long as the text)."""
    index = bisect_left(values, value)
    return index < len(values) and values[index] == value


_HANDLE = re.compile(r"[a-z0-9_-]{4,}")


def _cues_missing(hit: _Hit, rule: Rule) -> bool:
    """The rule needs a cue word near the term (是/都/的 around 最好) and there is none."""
    after = hit.after
    if (rule.handle_after and _HANDLE.match(after)) or (rule.clause_end_cue and not after):
        return False
    window = rule.cue_window
    if rule.cue_scope == "sentence":
        before, after = hit.sentence_before[-window:], hit.sentence_after[:window]
    elif rule.cue_scope == "after_sentence":
        before, after = hit.before[-window:], hit.sentence_after[:window]
    else:
        before, after = hit.before[-window:], after[:window]
    cues = rule.cues_before_re
    if cues is not None and cues.search(before) \
            and (not rule.word_cues or _word_cue(hit, cues, before, -len(before))):
        return False
    cues = rule.cues_after_re
    if cues is None or cues.search(after) is None:
        return True
    return rule.word_cues and not _word_cue(hit, cues, after, hit.nend - hit.nstart)


def _word_cue(hit: _Hit, cues: re.Pattern[str], window: str, offset: int) -> bool:
    """Some cue in `window` (which starts `offset` characters from the start of the match) is a
    word: a one-character cue must not be part of a longer word (来 in 来源, 看 in 看到)."""
    for match in cues.finditer(window):
        cue = match.group()
        if len(cue) > 1 or cue < "\u3400" or hit.is_word(offset + match.start()):
            return True
    return False


def _negated(hit: _Hit, rule: Rule) -> bool:
    pattern = rule.negation_pattern
    if pattern is None:
        return False
    tail = hit.before[-(rule.negation_window + 8):]
    match = pattern.search(tail)
    while match is not None:
        pos = match.start()
        if not tail.startswith(_NON_NEGATING, pos) and not tail[:pos].endswith("不得"):
            return True
        match = pattern.search(tail, pos + 1)
    return False


def _negated_after(hit: _Hit, rule: Rule) -> bool:
    """A negation or distancing cue just after the claim word: 全网最低不敢说, 最好用谈不上."""
    pattern = rule.negations_after_re
    if pattern is None:
        return False
    after = hit.after[:NEGATION_AFTER_WINDOW + 6]
    for char in rule.negations_after_chars:
        if char in after:
            break
    else:
        return False  # the common case: no character any negation is made of
    match = pattern.search(after, 0, NEGATION_AFTER_WINDOW + 6)
    while match is not None and match.start() <= NEGATION_AFTER_WINDOW:
        if not after.startswith(_NOT_NEGATING_AFTER, match.start()):
            return True
        match = pattern.search(after, match.start() + 1, NEGATION_AFTER_WINDOW + 6)
    return False


def _quoted(hit: _Hit, words: ContextWords) -> bool:
    """The term is mentioned, not used: 不能说"最好"这个词 / 广告法禁止"第一"等字眼."""
    if hit.after.startswith(words.meta_suffixes):
        return True
    folded = hit.view.folded
    ostart = hit.ostart
    if QUOTE not in folded[ostart - 3 if ostart > 3 else 0:ostart] \
            or QUOTE not in folded[hit.oend:hit.oend + 4]:
        return False
    return _in_sentence(hit, words.meta_words_re)


def _self_comparison(hit: _Hit, words: ContextWords) -> bool:
    """The comparison is limited to the seller's own shop, brand, range or session.

    A self-scope word (本店, 今天, 本场 …) right before the term counts when the sentence has no
    market-scope word; a shop or brand word (我们店里, 自家, 本品牌 …) anywhere earlier in the
    clause counts too (这是我们店里目前卖得最好的一款) when the sentence has none (全网那么多店里，
    我们家卖得最好 compares with the market), unless it owns the
    product instead (我们家的面霜是最好用的); so does an earlier clause of the sentence that names
    a range in the shop (本店上架的几十款里，这款口碑最好) when the sentence has none. Scope words
    are found overlapping, longest first.
    """
    scope, shop = words.self_scope_re, words.shop_scope_any_re
    if scope is None:
        return False
    before = hit.before
    in_clause = words.self_scope_any_re.search(before) is not None  # type: ignore[union-attr]
    if in_clause:
        tail = before[-12:]
        near = any(len(tail) - m.start() - len(m.group(1)) <= 3 for m in scope.finditer(tail))
        if near and not _in_sentence(hit, words.market_scope_re):
            return True
    if shop is None or not hit.view.anywhere(shop):
        return False  # the common case: no shop word anywhere
    return (in_clause and _shop_in_clause(hit, words)) or _shop_range_before(hit, words)


def _shop_in_clause(hit: _Hit, words: ContextWords) -> bool:
    shop = words.shop_scope_re
    if shop is None:
        return False
    before = hit.before
    for match in shop.finditer(before):
        between = before[match.start() + len(match.group(1)):]
        if not between.startswith(_POSSESSIVE) and "是" not in between:
            return not _in_sentence(hit, words.market_scope_re)
    return False


def _shop_range_before(hit: _Hit, words: ContextWords) -> bool:
    """An earlier clause of the sentence names a range in the shop: 自家这么多口味里，…"""
    shop = words.shop_scope_any_re
    if shop is None:
        return False
    ostart = hit.ostart
    segment = hit.view.folded[ostart - _SENTENCE_CHARS if ostart > _SENTENCE_CHARS else 0:ostart]
    clauses = segment[segment.rfind(SENTENCE_END) + 1:].split(WEAK)[:-1]
    for clause in clauses:
        clause = strip(clause)
        if clause.endswith(_RANGE_ENDS) and shop.search(clause) is not None:
            return not _in_sentence(hit, words.market_scope_re)
    return False


def _brand_name(hit: _Hit, facts: Facts) -> bool:
    norm = hit.view.norm
    for brand in facts.brand_names:
        name = _pattern(brand)
        # bounded: an occurrence starting at or after nend cannot overlap (no scan to the end)
        start = norm.find(name, max(0, hit.nstart - len(name)), hit.nend + len(name) - 1)
        if name and 0 <= start < hit.nend and start + len(name) > hit.nstart:
            return True
    return False


_MARKS = frozenset(("®", "™"))
_pattern = lru_cache(maxsize=1024)(normalize_pattern)


def _clause_exempt(hit: _Hit, rule: Rule) -> bool:
    """Cue words missing, or an exemption prefix, suffix or clause word around the term.

    Cues come first (the usual way out), except where they may need word segmentation: then the
    cheaper exemptions are tried first."""
    if rule.word_cues:
        return _word_exempt(hit, rule) or (
            bool(rule.cues_before or rule.cues_after) and _cues_missing(hit, rule))
    if (rule.cues_before or rule.cues_after) and _cues_missing(hit, rule):
        return True
    before = hit.before
    if rule.exempt_prefixes and before.endswith(rule.exempt_prefixes):
        return True
    if rule.exempt_suffixes and hit.after.startswith(rule.exempt_suffixes):
        return True
    clause = rule.exempt_clause_re
    return clause is not None and clause.search(before) is not None


def _word_exempt(hit: _Hit, rule: Rule) -> bool:
    """An exemption prefix, suffix (a one-character one only if it is a word) or clause word."""
    before = hit.before
    if rule.exempt_prefixes and before.endswith(rule.exempt_prefixes):
        return True
    if rule.exempt_suffixes and hit.after.startswith(rule.exempt_suffixes) \
            and _suffix_is_word(hit, rule):
        return True
    clause = rule.exempt_clause_re
    return clause is not None and clause.search(before) is not None


def _suffix_is_word(hit: _Hit, rule: Rule) -> bool:
    """The exempting suffix is not glued to the term: 看 in 最好看一下 is a verb (advice), in
    最好看的 it ends the word 好看 (a claim)."""
    after = hit.after
    if after[0] < "\u3400" or after.startswith(rule.long_suffixes):
        return True
    word = hit.word_at(hit.nend - hit.nstart)
    return word is None or word[0] >= hit.nend - hit.nstart


def _is_exempt(hit: _Hit, rule: Rule, words: ContextWords, facts: Facts | None) -> bool:
    if not rule.detector and _clause_exempt(hit, rule):
        return True
    if rule.negatable and (_negated(hit, rule) or _negated_after(hit, rule)):
        return True
    if rule.warning_context and _in_sentence(hit, words.warning_words_re):
        return True
    if rule.quote_ok and _quoted(hit, words):
        return True
    if rule.self_comparison_ok and _self_comparison(hit, words):
        return True
    if hit.view.original[hit.oend:hit.oend + 1] in _MARKS:
        return True  # 第一®: a registered brand name
    return facts is not None and bool(facts.brand_names) and _brand_name(hit, facts)


def _severity(hit: _Hit, rule: Rule, words: ContextWords, category: str, context: str,
              facts: Facts | None) -> tuple[str, str] | None:
    severity, note = rule.severity, ""
    if rule.verify:
        verdict = _verify(hit, rule.verify, category, facts)
        if verdict is None:
            return None
        severity, note = verdict.severity, verdict.note
    if rule.sourced_ok and severity == "violation" and _in_sentence(hit, _DATE) \
            and _in_sentence(hit, words.source_words_re):
        severity = "warning"
        note = "已注明时间和出处，请保存证明材料 / Dated and sourced: keep the evidence"
    if context == "chat" and rule.chat_severity and severity == "violation":
        severity = rule.chat_severity
        note = note or "弹幕中的宣称，作为提醒 / A claim in chat, reported as a warning"
    return severity, note


def _verify(hit: _Hit, verify: str, category: str, facts: Facts | None) -> Verdict | None:
    if facts is None and verify in FACTLESS_BY_KEY:
        return _factless_verdict(verify, hit.key, category)
    original, ostart = hit.view.original, hit.ostart
    claim = Claim(hit.key, category, original[hit.oend:hit.oend + 16], lambda: hit.sentence,
                  original[ostart - 16 if ostart > 16 else 0:ostart])
    return VERIFIERS[verify](claim, facts)


@lru_cache(maxsize=4096)
def _factless_verdict(verify: str, key: str, category: str) -> Verdict | None:
    """The verdict of a verifier that, without facts, looks at nothing but key and category."""
    return VERIFIERS[verify](Claim(key, category, "", ""), None)


def _judge(hit: _Hit, words: ContextWords, category: str, context: str,
           facts: Facts | None) -> _Found | None:
    rule = hit.rule
    if rule.verify in _NUMBER_VERIFIERS and not _figure_near(hit, rule.verify):
        return None  # 最后一天发货, 还有吗: no figure, so no claim to check
    end = hit.oend
    if rule.follows_re is not None:
        shape = rule.follows_re.match(hit.after)
        if shape is None:
            return None  # 最 not followed by a word and 的/了: not this rule's claim
        if shape.lastindex:  # widen the span over the word: 最抗冻
            end = hit.view.original_span(hit.nstart, hit.nend + len(shape.group(1)))[1]
    norm = hit.view.norm
    if (norm[hit.nstart] < "\u3400" or norm[hit.nend - 1] < "\u3400") \
            and not _boundary_ok(hit.view, hit.nstart, hit.nend):
        return None
    if _is_exempt(hit, rule, words, facts):
        return None
    verdict = _severity(hit, rule, words, category, context, facts)
    if verdict is None:
        return None
    return [hit.ostart, end, rule, verdict[0], verdict[1]]


def _figure_near(hit: _Hit, verify: str) -> bool:
    original = hit.view.original
    if _NUMBER_AHEAD.match(original, hit.oend):
        return True
    ostart = hit.ostart
    return verify in _BEHIND_VERIFIERS and _NUMBER_BEHIND.search(
        original, ostart - 8 if ostart > 8 else 0, ostart) is not None


# --- scanning ------------------------------------------------------------------------------

def _longest_first(candidate: tuple[int, int, int, str]) -> int:
    return candidate[0] - candidate[1]


def _scan(catalogue: Catalogue, norm: str, applicable: frozenset[int]
          ) -> list[tuple[int, int, int, str]] | None:
    """Candidates of the applicable rules not under a shield of their rule (最近 for 最), longest
    first; None when there are none, so a line whose every candidate is shielded costs no more
    than a line without any."""
    candidates: list[tuple[int, int, int, str]] = []
    shields: list[tuple[int, int, int]] = []
    for end, key_id in catalogue.automaton.iter(norm):
        length, entries = catalogue.keys[key_id]
        for kind, rule_index, key in entries:
            if rule_index in applicable:
                if kind == SHIELD:
                    shields.append((end - length + 1, end + 1, rule_index))
                else:
                    candidates.append((end - length + 1, end + 1, rule_index, key))
    if shields and candidates:
        if len(shields) * len(candidates) <= _PAIRWISE_MAX:  # a chat line: a few of each
            candidates = [c for c in candidates if not _shielded(shields, c[0], c[1], c[2])]
        else:
            candidates = _unshielded(candidates, shields)
    if not candidates:
        return None
    if len(candidates) > 1:
        candidates.sort(key=_longest_first)  # stable: longest first, then in scan order
    return candidates


def _keep(catalogue: Catalogue, view: NormalizedText,
          candidates: list[tuple[int, int, int, str]]) -> list[_Hit]:
    """Drop candidates inside a longer match of their family."""
    rules = catalogue.rules
    gaps = view.gaps
    if len(candidates) == 1:  # the common case: one candidate, nothing to drop
        start, end, rule_index, key = candidates[0]
        if gaps:
            return [_Hit(view, start, end, start + bisect_right(gaps, start),
                         end + bisect_right(gaps, end - 1), rules[rule_index], key)]
        return [_Hit(view, start, end, start, end, rules[rule_index], key)]
    if len(candidates) * len(candidates) <= _PAIRWISE_MAX:
        return _keep_pairwise(rules, view, candidates)
    # per family: for each position p, the best kept span over p, as (end, -start) packed in
    # one int (end * width - start); a kept span contains [start, end) without being it exactly
    # when the best one over `start` ends later, or at `end` but starts earlier.
    width = len(view.norm) + 1
    kept: dict[str, dict[int, int]] = {}
    hits = []
    for start, end, rule_index, key in candidates:
        rule = rules[rule_index]
        best = kept.get(rule.family)
        if best is None:
            best = kept[rule.family] = {}
        elif best.get(start, -1) > end * width - start:
            continue  # a longer match of the same family covers it
        packed = end * width - start
        for position in range(start, end):
            if best.get(position, -1) < packed:
                best[position] = packed
        if gaps:
            hits.append(_Hit(view, start, end, start + bisect_right(gaps, start),
                             end + bisect_right(gaps, end - 1), rule, key))
        else:
            hits.append(_Hit(view, start, end, start, end, rule, key))
    return hits


def _keep_pairwise(rules: tuple[Rule, ...], view: NormalizedText,
                   candidates: list[tuple[int, int, int, str]]) -> list[_Hit]:
    """_keep for a few candidates: each is compared with the kept spans of its family."""
    gaps = view.gaps
    kept: dict[str, list[tuple[int, int]]] = {}
    hits = []
    for start, end, rule_index, key in candidates:
        rule = rules[rule_index]
        spans = kept.get(rule.family)
        if spans is None:
            kept[rule.family] = [(start, end)]
        elif _covered(spans, start, end):
            continue  # a longer match of the same family covers it
        else:
            spans.append((start, end))
        if gaps:
            hits.append(_Hit(view, start, end, start + bisect_right(gaps, start),
                             end + bisect_right(gaps, end - 1), rule, key))
        else:
            hits.append(_Hit(view, start, end, start, end, rule, key))
    return hits


def _covered(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    for s, e in spans:  # noqa: SIM110 - a plain loop is cheaper than any() on a generator
        if s <= start and end <= e and (s != start or e != end):
            return True
    return False


def _shielded(shields: list[tuple[int, int, int]], start: int, end: int, rule_index: int) -> bool:
    for s, e, r in shields:  # noqa: SIM110 - a plain loop is cheaper than any() on a generator
        if r == rule_index and s < end and start < e:
            return True
    return False


def _unshielded(candidates: list[tuple[int, int, int, str]],
                shields: list[tuple[int, int, int]]) -> list[tuple[int, int, int, str]]:
    """The candidates that overlap no shield of their own rule.

    The positions each rule's shields cover are collected in a set, so a candidate is tested in
    as many steps as it has characters, whatever the number of shields (linear, not pairwise).
    """
    covers: dict[int, set[int]] = {}
    for start, end, rule_index in shields:
        cover = covers.get(rule_index)
        if cover is None:
            covers[rule_index] = set(range(start, end))
        else:
            cover.update(range(start, end))
    kept = []
    for candidate in candidates:
        cover = covers.get(candidate[2])
        if cover is None or cover.isdisjoint(range(candidate[0], candidate[1])):
            kept.append(candidate)
    return kept


def _number_hits(catalogue: Catalogue, view: NormalizedText,
                 applicable: frozenset[int]) -> list[_Hit]:
    hits = []
    for rule_index in catalogue.detectors:
        if rule_index not in applicable:
            continue
        rule = catalogue.rules[rule_index]
        for match in _DIGITISH.finditer(view.norm):
            if _is_contact_number(view.norm, match, rule):
                start, end = match.start(), match.end()
                ostart, oend = view.original_span(start, end)
                hits.append(_Hit(view, start, end, ostart, oend, rule, "number"))
    return hits


def _is_contact_number(norm: str, match: re.Match[str], rule: Rule) -> bool:
    run = match.group()
    digits = run if run.isascii() else run.translate(_CN_TO_DIGIT)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    before = norm[max(0, match.start() - 8):match.start()]
    exempt = _words_re(rule.exempt_before)
    if exempt is not None and exempt.search(before):
        return False
    if norm.startswith(_NUMBER_UNITS, match.end()):
        return False
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
        return True  # a mobile number
    cues = _words_re(rule.cues_before)
    return cues is not None and cues.search(before[-4:]) is not None and len(digits) <= 12


@lru_cache(maxsize=64)
def _words_re(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for "any of these words occurs" (None for no words)."""
    return alternation(words)


def _resolve(found: list[_Found], text: str) -> list[Finding]:
    """Drop findings overridden by another family, merge overlapping ones of one family."""
    if len(found) == 1:
        rule = found[0][2]
        if rule.family not in rule.overrides:  # a finding cannot override itself
            return [_finding(text, *found[0])]
    if len(found) * len(found) <= _PAIRWISE_MAX:
        return _resolve_pairwise(found, text)
    overriders = [f for f in found if f[2].overrides]
    if overriders:
        found = _not_overridden(found, overriders)
    found.sort(key=lambda f: (_SEVERITY_RANK[f[3]], f[0] - f[1], f[0]))
    kept = _merged(found)
    kept.sort(key=lambda f: (f[0], f[1], f[2].id))
    return [_finding(text, *f) for f in kept]


def _not_overridden(found: list[_Found], overriders: list[_Found]) -> list[_Found]:
    """The findings that overlap no finding of a family overriding theirs."""
    overridden: dict[str, set[int]] = {}  # family -> the positions its overriders cover
    for o in overriders:
        for family in o[2].overrides:
            cover = overridden.get(family)
            if cover is None:
                overridden[family] = set(range(o[0], o[1]))
            else:
                cover.update(range(o[0], o[1]))
    return [f for f in found if (cover := overridden.get(f[2].family)) is None
            or cover.isdisjoint(range(f[0], f[1]))]


def _merged(found: list[_Found]) -> list[_Found]:
    """Findings in resolution order -> the kept ones, overlapping ones of a family merged."""
    # Each finding merges into the earliest kept finding of its family that it overlaps (which
    # widens in place), or is kept. `owner[family][p]` is the index in `kept` of the earliest
    # kept finding of the family covering position p: a finding is placed in as many steps as
    # it has characters, plus the characters a widening adds, whatever the number of findings.
    kept: list[_Found] = []
    owner: dict[str, dict[int, int]] = {}
    for finding in found:
        start, end, family = finding[0], finding[1], finding[2].family
        cover = owner.get(family)
        if cover is None:
            cover = owner[family] = {}
        first = -1
        for position in range(start, end):
            index = cover.get(position, -1)
            if index >= 0 and (first < 0 or index < first):
                first = index
        if first < 0:
            index = len(kept)
            for position in range(start, end):
                cover[position] = index
            kept.append(finding)
            continue
        k = kept[first]
        old_start, old_end = k[0], k[1]
        k[0], k[1] = min(old_start, start), max(old_end, end)
        for position in chain(range(k[0], old_start), range(old_end, k[1])):
            if cover.get(position, first) >= first:
                cover[position] = first
    return kept


def _resolve_pairwise(found: list[_Found], text: str) -> list[Finding]:
    """_resolve for a few findings: each is compared with the others (cheapest when few)."""
    overriders = [f for f in found if f[2].overrides]
    if overriders:
        found = [f for f in found if not any(
            f[2].family in o[2].overrides and f[0] < o[1] and o[0] < f[1] for o in overriders)]
    found.sort(key=lambda f: (_SEVERITY_RANK[f[3]], f[0] - f[1], f[0]))
    kept: list[_Found] = []
    for finding in found:
        start, end, family = finding[0], finding[1], finding[2].family
        for k in kept:
            if k[2].family == family and k[0] < end and start < k[1]:
                k[0], k[1] = min(k[0], start), max(k[1], end)
                break
        else:
            kept.append(finding)
    kept.sort(key=lambda f: (f[0], f[1], f[2].id))
    return [_finding(text, *f) for f in kept]


def check(text: str, category: str, context: str, facts: Facts | None = None, *,
          catalogue: Catalogue | None = None) -> list[Finding]:
    """Findings for `text`, judged for the product `category` and the `context` it appears in."""
    if category not in _CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    if context not in _CONTEXTS:
        raise ValueError(f"unknown context {context!r}")
    catalogue = catalogue or get_catalogue()
    folded = fold(text)
    if EXPAND in folded:  # an emoji standing for a word (🐧 → 企鹅): check the text written out
        return _check_expanded(text, category, context, facts, catalogue)
    norm = strip(folded)
    applicable = catalogue.applicable(category, context)
    scanned = _scan(catalogue, norm, applicable)
    digits = catalogue.detectors and _DIGITISH.search(norm) is not None
    if scanned is None and not digits:
        return []  # the common case for chat: one pass, no offset map, no context
    view = NormalizedText(text, folded, norm)
    hits = _keep(catalogue, view, scanned) if scanned is not None else []
    if digits:
        hits += _number_hits(catalogue, view, applicable)
    if not hits:
        return []
    words = catalogue.words
    found = []
    for hit in hits:
        finding = _judge(hit, words, category, context, facts)
        if finding is not None:
            found.append(finding)
    return _resolve(found, text) if found else []


def _check_expanded(text: str, category: str, context: str, facts: Facts | None,
                    catalogue: Catalogue) -> list[Finding]:
    expansion = expand(text)
    findings = []
    for finding in check(expansion.text, category, context, facts, catalogue=catalogue):
        start, end = expansion.original_span(finding.start, finding.end)
        findings.append(replace(finding, start=start, end=end, text=text[start:end]))
    return findings


__all__ = ["NOISE", "Finding", "check"]
