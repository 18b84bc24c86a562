"""The checker: `check(text, category, context, facts) -> list[Finding]`. Pure, no I/O.

One Aho-Corasick pass over the normalised text finds candidate terms and exemption terms at once;
only around a candidate are the cheap context checks run: word boundaries, cue words, exemption
prefixes and suffixes, negation, quotation, self-comparison, anti-fraud warnings, dated and sourced
facts, and finally the facts the platform holds (F17).

Speed (bench/compliance.py): a line without any lexicon term costs one folding pass, one automaton
pass and one digit-run search, with no offset map and no context built. Around a candidate the
clause before and after is cut once; the sentence is built only when a check needs it, and never
when the word list that check looks for is absent from the whole text. Verifier verdicts that
without facts depend only on key and category are computed once per key and category.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from livepledge.compliance.catalogue import (
    CATEGORIES,
    CONTEXTS,
    SHIELD,
    Catalogue,
    ContextWords,
    Rule,
    alternation,
    get_catalogue,
)
from livepledge.compliance.facts import Facts
from livepledge.compliance.normalize import (
    NOISE,
    QUOTE,
    SENTENCE_END,
    WEAK,
    NormalizedText,
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
    if nstart > 0 and nstart not in gaps:
        previous = norm[nstart - 1]
        if (_is_latin(first) and _is_latin(previous)) or (first.isdigit() and previous.isdigit()):
            return False
    if nend < len(norm) and nend not in gaps:
        following = norm[nend]
        if (_is_latin(last) and _is_latin(following)) or (last.isdigit() and following.isdigit()):
            return False
    return True


_HANDLE = re.compile(r"[a-z0-9_-]{4,}")


def _cues_missing(hit: _Hit, rule: Rule) -> bool:
    """The rule needs a cue word near the term (是/都/的 around 最好) and there is none."""
    after = hit.after
    if (rule.handle_after and _HANDLE.match(after)) or (rule.clause_end_cue and not after):
        return False
    window = rule.cue_window
    if rule.cue_scope == "sentence":
        before, after = hit.sentence_before[-window:], hit.sentence_after[:window]
    else:
        before, after = hit.before[-window:], after[:window]
    if rule.cues_before_re is not None and rule.cues_before_re.search(before):
        return False
    return rule.cues_after_re is None or rule.cues_after_re.search(after) is None


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


def _quoted(hit: _Hit, words: ContextWords) -> bool:
    """The term is mentioned, not used: 不能说"最好"这个词 / 广告法禁止"第一"等字眼."""
    if hit.after.startswith(words.meta_suffixes):
        return True
    folded = hit.view.folded
    if QUOTE not in folded:
        return False
    ostart = hit.ostart
    if QUOTE not in folded[ostart - 3 if ostart > 3 else 0:ostart] \
            or QUOTE not in folded[hit.oend:hit.oend + 4]:
        return False
    return _in_sentence(hit, words.meta_words_re)


def _self_comparison(hit: _Hit, words: ContextWords) -> bool:
    scope = words.self_scope_re
    if scope is None:
        return False
    before = hit.before[-12:]
    if scope.search(before) is None:
        return False  # the common case: no self-scope word at all
    near = any(len(before) - m.end() <= 3 for m in scope.finditer(before))
    return near and not _in_sentence(hit, words.market_scope_re)


def _brand_name(hit: _Hit, facts: Facts) -> bool:
    norm = hit.view.norm
    for brand in facts.brand_names:
        name = _pattern(brand)
        start = norm.find(name, max(0, hit.nstart - len(name)))
        if name and 0 <= start < hit.nend and start + len(name) > hit.nstart:
            return True
    return False


_MARKS = frozenset(("®", "™"))
_pattern = lru_cache(maxsize=1024)(normalize_pattern)


def _clause_exempt(hit: _Hit, rule: Rule) -> bool:
    """Cue words missing, or an exemption prefix, suffix or clause word around the term."""
    if (rule.cues_before or rule.cues_after) and _cues_missing(hit, rule):
        return True
    before = hit.before
    if rule.exempt_prefixes and before.endswith(rule.exempt_prefixes):
        return True
    if rule.exempt_suffixes and hit.after.startswith(rule.exempt_suffixes):
        return True
    clause = rule.exempt_clause_re
    return clause is not None and clause.search(before) is not None


def _is_exempt(hit: _Hit, rule: Rule, words: ContextWords, facts: Facts | None) -> bool:
    if not rule.detector and _clause_exempt(hit, rule):
        return True
    if rule.negatable and _negated(hit, rule):
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
    claim = Claim(hit.key, category, hit.view.original[hit.oend:hit.oend + 16],
                  lambda: hit.sentence)
    return VERIFIERS[verify](claim, facts)


@lru_cache(maxsize=4096)
def _factless_verdict(verify: str, key: str, category: str) -> Verdict | None:
    """The verdict of a verifier that, without facts, looks at nothing but key and category."""
    return VERIFIERS[verify](Claim(key, category, "", ""), None)


def _judge(hit: _Hit, words: ContextWords, category: str, context: str,
           facts: Facts | None) -> _Found | None:
    rule = hit.rule
    if rule.verify in _NUMBER_VERIFIERS and not _NUMBER_AHEAD.match(hit.view.original, hit.oend):
        return None  # 最后一天发货, 还有吗: no figure, so no claim to check
    norm = hit.view.norm
    if (norm[hit.nstart] < "\u3400" or norm[hit.nend - 1] < "\u3400") \
            and not _boundary_ok(hit.view, hit.nstart, hit.nend):
        return None
    if _is_exempt(hit, rule, words, facts):
        return None
    verdict = _severity(hit, rule, words, category, context, facts)
    if verdict is None:
        return None
    return [hit.ostart, hit.oend, rule, verdict[0], verdict[1]]


# --- scanning ------------------------------------------------------------------------------

def _longest_first(candidate: tuple[int, int, int, str]) -> int:
    return candidate[0] - candidate[1]


def _scan(catalogue: Catalogue, norm: str, applicable: frozenset[int]
          ) -> tuple[list[tuple[int, int, int, str]], list[tuple[int, int, int]]] | None:
    """Candidates and shields of the applicable rules, longest first; None when there are none."""
    candidates: list[tuple[int, int, int, str]] = []
    shields: list[tuple[int, int, int]] = []
    for end, (length, entries) in catalogue.automaton.iter(norm):
        for kind, rule_index, key in entries:
            if rule_index in applicable:
                if kind == SHIELD:
                    shields.append((end - length + 1, end + 1, rule_index))
                else:
                    candidates.append((end - length + 1, end + 1, rule_index, key))
    if not candidates:
        return None
    if len(candidates) > 1:
        candidates.sort(key=_longest_first)  # stable: longest first, then in scan order
    return candidates, shields


def _keep(catalogue: Catalogue, view: NormalizedText,
          candidates: list[tuple[int, int, int, str]],
          shields: list[tuple[int, int, int]]) -> list[_Hit]:
    """Drop candidates under a shield of their rule, or inside a longer match of their family."""
    rules = catalogue.rules
    gaps = view.gaps
    if len(candidates) == 1 and not shields:  # the common case: one candidate, nothing to drop
        start, end, rule_index, key = candidates[0]
        if gaps:
            return [_Hit(view, start, end, start + bisect_right(gaps, start),
                         end + bisect_right(gaps, end - 1), rules[rule_index], key)]
        return [_Hit(view, start, end, start, end, rules[rule_index], key)]
    kept: dict[str, list[tuple[int, int]]] = {}
    hits = []
    for start, end, rule_index, key in candidates:
        if shields and _shielded(shields, start, end, rule_index):
            continue
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


def _shielded(shields: list[tuple[int, int, int]], start: int, end: int, rule_index: int) -> bool:
    for s, e, r in shields:  # noqa: SIM110 - a plain loop is cheaper than any() on a generator
        if r == rule_index and s < end and start < e:
            return True
    return False


def _covered(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    for s, e in spans:  # noqa: SIM110 - a plain loop is cheaper than any() on a generator
        if s <= start and end <= e and (s != start or e != end):
            return True
    return False


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
    norm = strip(folded)
    applicable = catalogue.applicable(category, context)
    scanned = _scan(catalogue, norm, applicable)
    digits = catalogue.detectors and _DIGITISH.search(norm) is not None
    if scanned is None and not digits:
        return []  # the common case for chat: one pass, no offset map, no context
    view = NormalizedText(text, folded, norm)
    hits = _keep(catalogue, view, *scanned) if scanned is not None else []
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


__all__ = ["NOISE", "Finding", "check"]
