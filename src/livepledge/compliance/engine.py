"""The checker: `check(text, category, context, facts) -> list[Finding]`. Pure, no I/O.

One Aho-Corasick pass over the normalised text finds candidate terms and exemption terms at once;
only around a candidate are the cheap context checks run: word boundaries, cue words, exemption
prefixes and suffixes, negation, quotation, self-comparison, anti-fraud warnings, dated and sourced
facts, and finally the facts the platform holds (F17).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from livepledge.compliance.catalogue import (
    CATEGORIES,
    CONTEXTS,
    SHIELD,
    Catalogue,
    ContextWords,
    Rule,
    get_catalogue,
)
from livepledge.compliance.facts import Facts
from livepledge.compliance.normalize import (
    NOISE,
    QUOTE,
    REMOVED,
    SENTENCE_END,
    WEAK,
    NormalizedText,
    normalize,
    normalize_pattern,
)
from livepledge.compliance.rules import VERIFIERS, Claim

_STRIP = {ord(c): None for c in REMOVED}
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


class _Hit:
    """One candidate match and lazily computed context around it."""

    __slots__ = ("_after", "_before", "_sentence", "key", "nend", "nstart", "oend", "ostart",
                 "rule", "view")

    def __init__(self, view: NormalizedText, nstart: int, nend: int, rule: Rule, key: str):
        self.view, self.nstart, self.nend, self.rule, self.key = view, nstart, nend, rule, key
        self.ostart, self.oend = view.original_span(nstart, nend)
        self._before: str | None = None
        self._after: str | None = None
        self._sentence: str | None = None

    @property
    def before(self) -> str:
        """Normalised text of the clause before the match (up to a comma or sentence end)."""
        if self._before is None:
            segment = self.view.folded[max(0, self.ostart - _CONTEXT_CHARS):self.ostart]
            cut = max(segment.rfind(WEAK), segment.rfind(SENTENCE_END))
            self._before = segment[cut + 1:].translate(_STRIP)
        return self._before

    @property
    def after(self) -> str:
        if self._after is None:
            segment = self.view.folded[self.oend:self.oend + _CONTEXT_CHARS]
            cuts = [i for i in (segment.find(WEAK), segment.find(SENTENCE_END)) if i >= 0]
            self._after = segment[:min(cuts)] if cuts else segment
            self._after = self._after.translate(_STRIP)
        return self._after

    @property
    def sentence_before(self) -> str:
        segment = self.view.folded[max(0, self.ostart - _SENTENCE_CHARS):self.ostart]
        return segment[segment.rfind(SENTENCE_END) + 1:].translate(_STRIP)

    @property
    def sentence_after(self) -> str:
        segment = self.view.folded[self.oend:self.oend + _SENTENCE_CHARS]
        end = segment.find(SENTENCE_END)
        return (segment if end < 0 else segment[:end]).translate(_STRIP)

    @property
    def sentence(self) -> str:
        """Normalised sentence around the match (up to 。！？ or a line break)."""
        if self._sentence is None:
            matched = self.view.folded[self.ostart:self.oend].translate(_STRIP)
            self._sentence = self.sentence_before + matched + self.sentence_after
        return self._sentence


# --- context checks ------------------------------------------------------------------------

def _found(pattern: re.Pattern[str] | None, text: str) -> bool:
    return pattern is not None and pattern.search(text) is not None


def _is_latin(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _joined(view: NormalizedText, left: int, right: int) -> bool:
    return view.index is None or view.index[right] - view.index[left] == 1


def _boundary_ok(view: NormalizedText, nstart: int, nend: int) -> bool:
    """Latin patterns must not sit inside a longer word (vx in 'vxyz'), nor digits in numbers."""
    norm = view.norm
    first, last = norm[nstart], norm[nend - 1]
    if first >= "\u3400" and last >= "\u3400":
        return True  # Chinese on both edges: no word-boundary question
    if nstart > 0 and _joined(view, nstart - 1, nstart):
        previous = norm[nstart - 1]
        if (_is_latin(first) and _is_latin(previous)) or (first.isdigit() and previous.isdigit()):
            return False
    if nend < len(norm) and _joined(view, nend - 1, nend):
        following = norm[nend]
        if (_is_latin(last) and _is_latin(following)) or (last.isdigit() and following.isdigit()):
            return False
    return True


_HANDLE = re.compile(r"[a-z0-9_-]{4,}")


def _cues_ok(hit: _Hit) -> bool:
    rule = hit.rule
    if not rule.cues_before and not rule.cues_after:
        return True
    if (rule.handle_after and _HANDLE.match(hit.after)) or (rule.clause_end_cue and not hit.after):
        return True
    window = rule.cue_window
    if rule.cue_scope == "sentence":
        before, after = hit.sentence_before[-window:], hit.sentence_after[:window]
    else:
        before, after = hit.before[-window:], hit.after[:window]
    if rule.cues_before_re is not None and rule.cues_before_re.search(before):
        return True
    return rule.cues_after_re is not None and rule.cues_after_re.search(after) is not None


def _exempt_nearby(hit: _Hit) -> bool:
    rule = hit.rule
    return (hit.before.endswith(rule.exempt_prefixes)
            or hit.after.startswith(rule.exempt_suffixes)
            or (rule.exempt_clause_re is not None
                and rule.exempt_clause_re.search(hit.before) is not None))


def _negated(hit: _Hit) -> bool:
    pattern = hit.rule.negation_pattern
    if pattern is None:
        return False
    tail = hit.before[-(hit.rule.negation_window + 8):]
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
    before = folded[max(0, hit.ostart - 3):hit.ostart]
    after = folded[hit.oend:hit.oend + 4]
    if QUOTE not in before or QUOTE not in after:
        return False
    return _found(words.meta_words_re, hit.sentence)


def _self_comparison(hit: _Hit, words: ContextWords) -> bool:
    before = hit.before[-12:]
    near = any(len(before) - m.end() <= 3 for m in words.self_scope_re.finditer(before)) \
        if words.self_scope_re else False
    return near and not _found(words.market_scope_re, hit.sentence)


def _brand_name(hit: _Hit, facts: Facts | None) -> bool:
    following = hit.view.original[hit.oend:hit.oend + 1]
    if following in ("®", "™"):
        return True
    if not facts or not facts.brand_names:
        return False
    norm = hit.view.norm
    for brand in facts.brand_names:
        name = normalize_pattern(brand)
        start = norm.find(name, max(0, hit.nstart - len(name)))
        if name and 0 <= start < hit.nend and start + len(name) > hit.nstart:
            return True
    return False


def _is_exempt(hit: _Hit, words: ContextWords, facts: Facts | None) -> bool:
    rule = hit.rule
    if not rule.detector and (not _cues_ok(hit) or _exempt_nearby(hit)):
        return True
    if rule.negatable and _negated(hit):
        return True
    if rule.warning_context and _found(words.warning_words_re, hit.sentence):
        return True
    if rule.quote_ok and _quoted(hit, words):
        return True
    if rule.self_comparison_ok and _self_comparison(hit, words):
        return True
    return _brand_name(hit, facts)


def _severity(hit: _Hit, words: ContextWords, category: str, context: str,
              facts: Facts | None) -> tuple[str, str] | None:
    rule = hit.rule
    severity, note = rule.severity, ""
    if rule.verify:
        claim = Claim(key=hit.key, category=category,
                      after=hit.view.original[hit.oend:hit.oend + 16], sentence=hit.sentence)
        verdict = VERIFIERS[rule.verify](claim, facts)
        if verdict is None:
            return None
        severity, note = verdict.severity, verdict.note
    if rule.sourced_ok and severity == "violation" and _DATE.search(hit.sentence) \
            and _found(words.source_words_re, hit.sentence):
        severity = "warning"
        note = "已注明时间和出处，请保存证明材料 / Dated and sourced: keep the evidence"
    if context == "chat" and rule.chat_severity and severity == "violation":
        severity = rule.chat_severity
        note = note or "弹幕中的宣称，作为提醒 / A claim in chat, reported as a warning"
    return severity, note


def _judge(hit: _Hit, words: ContextWords, category: str, context: str,
           facts: Facts | None) -> Finding | None:
    if hit.rule.verify in _NUMBER_VERIFIERS and not _NUMBER_AHEAD.match(hit.view.original,
                                                                       hit.oend):
        return None  # 最后一天发货, 还有吗: no figure, so no claim to check
    if not _boundary_ok(hit.view, hit.nstart, hit.nend) or _is_exempt(hit, words, facts):
        return None
    verdict = _severity(hit, words, category, context, facts)
    if verdict is None:
        return None
    rule = hit.rule
    return Finding(
        start=hit.ostart, end=hit.oend, text=hit.view.original[hit.ostart:hit.oend],
        rule_id=rule.id, family=rule.family, severity=verdict[0], title=rule.title,
        legal_basis=rule.legal_basis, suggestion=rule.suggestion, note=verdict[1])


# --- scanning ------------------------------------------------------------------------------

def _scan(catalogue: Catalogue, view: NormalizedText,
          applicable: frozenset[int]) -> list[_Hit]:
    candidates: list[tuple[int, int, int, str]] = []
    shields: list[tuple[int, int, int]] = []
    for end, (length, entries) in catalogue.automaton.iter(view.norm):
        for kind, rule_index, key in entries:
            if rule_index not in applicable:
                continue
            if kind == SHIELD:
                shields.append((end - length + 1, end + 1, rule_index))
            else:
                candidates.append((end - length + 1, end + 1, rule_index, key))
    if not candidates:
        return []
    rules = catalogue.rules
    candidates.sort(key=lambda c: c[0] - c[1])  # longest first
    kept: dict[str, list[tuple[int, int]]] = {}
    hits = []
    for start, end, rule_index, key in candidates:
        if shields and any(r == rule_index and s < end and start < e for s, e, r in shields):
            continue
        rule = rules[rule_index]
        spans = kept.setdefault(rule.family, [])
        if any(s <= start and end <= e and (s, e) != (start, end) for s, e in spans):
            continue  # a longer match of the same family covers it
        spans.append((start, end))
        hits.append(_Hit(view, start, end, rule, key))
    return hits


def _number_hits(catalogue: Catalogue, view: NormalizedText,
                 applicable: frozenset[int]) -> list[_Hit]:
    hits = []
    for rule_index in catalogue.detectors:
        if rule_index not in applicable:
            continue
        rule = catalogue.rules[rule_index]
        for match in _DIGITISH.finditer(view.norm):
            if _is_contact_number(view.norm, match, rule):
                hits.append(_Hit(view, match.start(), match.end(), rule, "number"))
    return hits


def _is_contact_number(norm: str, match: re.Match[str], rule: Rule) -> bool:
    run = match.group()
    digits = run.translate(_CN_TO_DIGIT)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    before = norm[max(0, match.start() - 8):match.start()]
    if any(word in before for word in rule.exempt_before):
        return False
    if norm.startswith(_NUMBER_UNITS, match.end()):
        return False
    is_mobile = len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"
    is_cued = any(cue in before[-4:] for cue in rule.cues_before)
    return is_mobile or (is_cued and len(digits) <= 12)


def _resolve(findings: list[tuple[Finding, Rule]], text: str) -> list[Finding]:
    overriders = [(f, r) for f, r in findings if r.overrides]
    if overriders:
        findings = [(f, r) for f, r in findings if not any(
            f.family in o_rule.overrides and f.start < o.end and o.start < f.end
            for o, o_rule in overriders)]
    ordered = sorted((f for f, _ in findings),
                     key=lambda f: (_SEVERITY_RANK[f.severity], f.start - f.end, f.start))
    kept: list[Finding] = []
    for finding in ordered:
        for i, k in enumerate(kept):
            if k.family == finding.family and k.start < finding.end and finding.start < k.end:
                start, end = min(k.start, finding.start), max(k.end, finding.end)
                kept[i] = replace(k, start=start, end=end, text=text[start:end])
                break
        else:
            kept.append(finding)
    return sorted(kept, key=lambda f: (f.start, f.end, f.rule_id))


def check(text: str, category: str, context: str, facts: Facts | None = None, *,
          catalogue: Catalogue | None = None) -> list[Finding]:
    """Findings for `text`, judged for the product `category` and the `context` it appears in."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    if context not in CONTEXTS:
        raise ValueError(f"unknown context {context!r}")
    catalogue = catalogue or get_catalogue()
    view = normalize(text)
    applicable = catalogue.applicable(category, context)
    hits = _scan(catalogue, view, applicable)
    if catalogue.detectors and _DIGITISH.search(view.norm):
        hits += _number_hits(catalogue, view, applicable)
    if not hits:
        return []
    words = catalogue.words
    findings = []
    for hit in hits:
        finding = _judge(hit, words, category, context, facts)
        if finding is not None:
            findings.append((finding, hit.rule))
    return _resolve(findings, text)


__all__ = ["NOISE", "Finding", "check"]
