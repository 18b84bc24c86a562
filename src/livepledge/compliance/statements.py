"""What the text itself says around the claims, judged outside the matching engine.

Two general mechanisms, both linear in the text and independent of the rule patterns:

- **Stated facts.** When a cosmetic's text says it is an ordinary (filed, not registered)
  cosmetic — 普通化妆品, 妆字号, 普通备案, 非特殊化妆品, 没有特证 — and no `facts` say otherwise,
  that statement is taken as the fact ``special_cosmetic_uses = ()``: a special-use effect claimed
  in the same text is then a violation, not a request for evidence. The statement itself is
  masked before matching, so its own negation (没有特证) does not read as negating the claim.
- **Statements of the rules.** A finding in a sentence that states a rule or a prohibition before
  the term (不得宣称…, 严禁…, …均为违法, 广告法规定…) is a mention of the rule, not a claim, unless
  a contrast (但/但是/可是/不过) comes between the statement and the term.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable

from livepledge.compliance.engine import Finding
from livepledge.compliance.facts import Facts

_ORDINARY_COSMETIC = re.compile(
    r"普通化妆品|妆字号|普通备案|备案的普通|非特殊(?:用途)?化妆品"
    r"|(?:没有|没|无|不是|未取得)(?:特证|特殊化妆品注册证|特字号|国妆特字|特殊化妆品)")
_RULE_TALK = re.compile(
    r"不得|严禁|禁止|均为违法|均属违法|属于违法|是违法的|违法行为|(?:法|条例|办法|规定)(?:规定|明确|要求)"
    r"|不允许宣称|不能宣称|不可宣称|的界定")
_CONTRAST = re.compile(r"但|可是|不过|然而")
_SENTENCE_END = re.compile(r"[。！？!?\n]")


def _sentence_bounds(text: str, position: int) -> tuple[int, int]:
    start = 0
    for match in _SENTENCE_END.finditer(text, 0, position):
        start = match.end()
    end_match = _SENTENCE_END.search(text, position)
    return start, end_match.start() if end_match else len(text)


def states_rule(text: str, finding: Finding) -> bool:
    """The finding's sentence states a rule before the term, with no contrast in between."""
    start, _ = _sentence_bounds(text, finding.start)
    head = text[start:finding.start]
    talk = None
    for talk in _RULE_TALK.finditer(head):
        pass
    if talk is None:
        # A rule stated after the term in the same clause: 杀菌抑菌等功效均为违法.
        _, end = _sentence_bounds(text, finding.start)
        tail = text[finding.end:end]
        after = _RULE_TALK.search(tail)
        return bool(after and re.match(r"[^，,；;]*$", tail[:after.start()])
                    and not _CONTRAST.search(tail[:after.start()]))
    return not _CONTRAST.search(head[talk.end():])


def stated_facts(text: str, category: str, facts: Facts | None) -> tuple[str, Facts | None]:
    """The text to match (stated-fact phrases masked) and the facts, completed from the text."""
    if category != "cosmetics" or (facts is not None and facts.special_cosmetic_uses is not None):
        return text, facts
    spans = [m.span() for m in _ORDINARY_COSMETIC.finditer(text)
             if not _RULE_TALK.search(text[slice(*_sentence_bounds(text, m.start()))])]
    if not spans:
        return text, facts
    masked = list(text)
    for start, end in spans:
        masked[start:end] = "，" * (end - start)
    completed = dataclasses.replace(facts or Facts(), special_cosmetic_uses=())
    return "".join(masked), completed


def check_in_context(check: Callable[[str, str, str, Facts | None], Iterable[Finding]],
                     text: str, category: str, context: str,
                     facts: Facts | None) -> list[Finding]:
    matched, facts = stated_facts(text, category, facts)
    findings = []
    for finding in check(matched, category, context, facts):
        if states_rule(text, finding):
            continue
        if matched is not text:
            finding = dataclasses.replace(finding, text=text[finding.start:finding.end])
        findings.append(finding)
    return findings
