"""What the text itself says around the claims, judged outside the matching engine.

Two general mechanisms, both linear in the text and independent of the rule patterns:

- **Stated facts.** When a cosmetic's text says it is an ordinary (filed, not registered)
  cosmetic — 普通化妆品, 妆字号, 普通备案, 非特殊化妆品, 没有特证 — and no `facts` say otherwise,
  that statement is taken as the fact ``special_cosmetic_uses = ()``: a special-use effect claimed
  in the same text is then a violation, not a request for evidence. The statement itself is
  masked before matching, so its own negation (没有特证) does not read as negating the claim.
- **Stated prices and offers.** A reference price (原价, 吊牌价 …) that the same sentence says
  was never charged (从来没卖过这个价) is a violation, not a request for the price history; an offer
  limited to the first N orders (只有前100单送) in a text that says every order gets it (每一单都送)
  is false scarcity.
- **Warnings to buyers.** A contact or payment term (diversion, fabricated data) in a clause that
  opens with a prohibition addressed to the buyer (不要…, 请勿…, 切勿…, 拒绝…, 谨防…) is the shop
  warning against private deals, however far the term stands from the prohibition in that
  clause; the clause ends at ，。！？； (not at 、, which joins a list under one prohibition).
- **Codes and labels.** A ranking word that is part of an identifier — after a label word
  (色号, 型号, 货号, 款号, 编号, 序号, 链接) in its clause, or followed by 号 or by a dash and more
  code (TOP1-X200) — names a shade, model or link, not a rank.
- **Statements of the rules.** A finding in a sentence that states a rule or a prohibition before
  the term (不得宣称…, 严禁…, …均为违法, 广告法规定…) is a mention of the rule, not a claim, unless
  a contrast (但/但是/可是/不过) comes between the statement and the term; so is a finding in a
  sentence that reports a case (被罚款, 涉嫌, 立案, 违反《…》).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable

from livepledge.compliance.catalogue import get_catalogue
from livepledge.compliance.engine import Finding
from livepledge.compliance.facts import Facts

_ORDINARY_COSMETIC = re.compile(
    r"普通化妆品|妆字号|普通备案|备案的普通|非特殊(?:用途)?化妆品"
    r"|(?:没有|没|无|不是|未取得)(?:特证|特殊化妆品注册证|特字号|国妆特字|特殊化妆品)")
_RULE_TALK = re.compile(
    r"不得|严禁|禁止|均为违法|均属违法|属于违法|是违法的|违法行为|(?:法|条例|办法|规定)(?:规定|明确|要求)"
    r"|不允许宣称|不能宣称|不可宣称|的界定")
# A report of a case: enforcement words, which are regulators' and news wording, never a seller's
# pitch; anywhere in the sentence they make its claims the subject of the report.
_CASE_REPORT = re.compile(
    r"被罚|罚款|处罚|立案|责令|没收|涉嫌|构成虚假|属于虚假|违反了?《|违反.{0,12}(?:法|规定|条例)")
_CONTRAST = re.compile(r"但|可是|不过|然而")
_SENTENCE_END = re.compile(r"[。！？!?\n]")


_PROHIBITIVE = re.compile(
    r"(?:请|千万|一定|务必)?(?:不要|别|请勿|切勿|勿|拒绝|谨防|警惕|严禁|禁止|不可以|不可)")
_OWN_HANDLE = re.compile(r"我|主播|本人|小编")
_WARNING_FAMILIES = frozenset({"diversion", "fabricated_data"})
_CLAUSE_BREAK = re.compile(r"[，,；;。！？!?\n]")


_ID_LABEL = re.compile(r"(?:色号|型号|货号|款号|编号|序号|批号|链接|规格型号)\s*[：:#＃]?\s*$")
_ID_TAIL = re.compile(r"^(?:号|\s*[-_/－][0-9A-Za-z])")


def is_code(text: str, finding: Finding) -> bool:
    """An absolute-family term that is part of a shade, model or link identifier."""
    if finding.family != "absolute":
        return False
    start = 0
    for match in _CLAUSE_BREAK.finditer(text, 0, finding.start):
        start = match.end()
    head = text[start:finding.start]
    return bool(_ID_LABEL.search(head) or _ID_TAIL.match(text[finding.end:finding.end + 3]))


def warns_buyer(text: str, finding: Finding) -> bool:
    """The finding's clause opens with a prohibition addressed to the buyer."""
    if finding.family not in _WARNING_FAMILIES:
        return False
    start = 0
    for match in _CLAUSE_BREAK.finditer(text, 0, finding.start):
        start = match.end()
    head = text[start:finding.start]
    head = head.lstrip(" 　")
    opening = _PROHIBITIVE.match(head)
    # 别在这拍加我微信: the speaker offers their own handle, which is no warning.
    return (bool(opening) and not _CONTRAST.search(head)
            and not _OWN_HANDLE.search(head, opening.end()))


def _sentence_bounds(text: str, position: int) -> tuple[int, int]:
    start = 0
    for match in _SENTENCE_END.finditer(text, 0, position):
        start = match.end()
    end_match = _SENTENCE_END.search(text, position)
    return start, end_match.start() if end_match else len(text)


def states_rule(text: str, finding: Finding) -> bool:
    """The finding's sentence states a rule before the term, with no contrast in between."""
    start, end = _sentence_bounds(text, finding.start)
    if _CASE_REPORT.search(text, start, end):
        return True
    head = text[start:finding.start]
    talks = list(_RULE_TALK.finditer(head))
    talk = talks[-1] if talks else None
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
    if "妆" not in text and "特" not in text and "备案" not in text:  # each statement holds one
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


_NEVER_CHARGED = re.compile(
    r"(?:从来|从|一直|之前|以前|向来)?(?:都)?(?:没|没有|未|未曾|从未)(?:有)?(?:按|以|用)?"
    r"(?:这个|那个|该)?(?:原价|吊牌价|划线价|专柜价|市场价|价格|价)?(?:卖|售|销售|成交|买)过"
    r"|(?:原价|吊牌价|划线价)(?:只是|就是|都是)?(?:虚标|标着玩|摆设|参考)")
_PRICE_FIGURE = re.compile(r"[0-9０-９]+(?:\.[0-9]+)?\s*(?:元|块|￥)?|[¥￥]\s*[0-9]+")
_LIMITED_OFFER = re.compile(
    r"(?:只有|仅限|只限|限|仅)?前\s*[0-9一二三四五六七八九十百千两]+\s*(?:单|名|位|份)")
_EVERY_ORDER = re.compile(
    r"每一?(?:单|位|个人|份|个订单)都|所有(?:订单|人|下单的人?|买的人?)都|人人都有|拍了都有"
    r"|都有份|全部都送|买了都送")
_CLAUSE_END = re.compile(r"[，,；;。！？!?\n]")


def _never_charged(text: str, finding: Finding) -> bool:
    _, end = _sentence_bounds(text, finding.start)
    tail = text[finding.end:end]
    match = _NEVER_CHARGED.search(tail)
    return bool(match and len(_PRICE_FIGURE.findall(tail[:match.start()])) <= 1
                and not _CONTRAST.search(tail[:match.start()]))


def _false_limited_offers(text: str) -> list[Finding]:
    if "前" not in text:
        return []
    limited = [m for m in _LIMITED_OFFER.finditer(text)
               if not _RULE_TALK.search(text[slice(*_sentence_bounds(text, m.start()))])]
    every = [m.start() for m in _EVERY_ORDER.finditer(text)]
    limited = [m for m in limited
               if any(_CLAUSE_END.search(text, min(m.start(), e), max(m.end(), e)) for e in every)]
    if not limited:
        return []
    rule = get_catalogue().rule("FC-003")
    return [Finding(m.start(), m.end(), m.group(), rule.id, rule.family, "violation", rule.title,
                    rule.legal_basis, rule.suggestion,
                    "文本自述每单都有，\"前N单\"是虚假紧迫 / the text says every order gets it")
            for m in limited]


_DEVICE_REGISTRATION = re.compile(
    r"医疗器械(?:注册证|备案凭证|注册|备案)|械注[准进许]|械备|[一二三Ⅰ-Ⅲ]类医疗器械")
_STATED_USE = re.compile(r"(?:适用范围|预期用途|适用于|用于)[：:\s]*([^。！？!?\n]{2,80})")


def stated_device(text: str, category: str, facts: Facts | None) -> tuple[str, Facts | None]:
    """A text that names a medical-device registration and states the intended use (医疗器械注册证
    …，适用范围：…) is judged as a medical device whose registered use is the one it states."""
    if category in ("cosmetics", "medical_device") or (
            facts is not None and facts.registered_uses is not None):
        return category, facts
    if "械" not in text or _DEVICE_REGISTRATION.search(text) is None:
        return category, facts
    uses = tuple(m.group(1) for m in _STATED_USE.finditer(text))
    if not uses:
        return category, facts
    return "medical_device", dataclasses.replace(facts or Facts(), registered_uses=uses)


def check_in_context(check: Callable[[str, str, str, Facts | None], Iterable[Finding]],
                     text: str, category: str, context: str,
                     facts: Facts | None) -> list[Finding]:
    category, facts = stated_device(text, category, facts)
    matched, facts = stated_facts(text, category, facts)
    findings: list[Finding] = []
    for finding in check(matched, category, context, facts):
        if states_rule(text, finding) or warns_buyer(text, finding) or is_code(text, finding):
            continue
        if matched is not text:
            finding = dataclasses.replace(finding, text=text[finding.start:finding.end])
        if (finding.rule_id == "PRC-003" and finding.severity == "warning"
                and _never_charged(text, finding)):
            finding = dataclasses.replace(
                finding, severity="violation",
                note="文本自述该价格从未成交 / the text says this price was never charged")
        findings.append(finding)
    if not any(f.rule_id == "FC-003" for f in findings):
        findings += _false_limited_offers(text)
        findings.sort(key=lambda f: (f.start, f.end))
    return findings
