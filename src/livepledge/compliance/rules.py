"""Pure decisions that compare a claim with the facts the platform holds (F17).

Each verifier gets the claim (the matched key and the text right before and after it) and the
facts, and
returns a `Verdict`: a severity with a note, or None when the claim is lawful or is not a claim at
all (e.g. 最后 followed by 一天发货 is no stock claim). No I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from livepledge.compliance.facts import Facts
from livepledge.compliance.normalize import normalize_pattern

# Below this many units, "马上售罄 / 库存告急" is taken as true.
LOW_STOCK = 20
# A countdown may round the real time left by this much.
COUNTDOWN_TOLERANCE_SECONDS = 60

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6,
              "柒": 7, "捌": 8, "玖": 9, "幺": 1}
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_LARGE = (("亿", 100_000_000), ("万", 10_000))
_CN_NUMBER = re.compile("[" + "".join(_CN_DIGITS) + "".join(_CN_UNITS) + "万亿]+")
_CN_DIGIT_RUN = re.compile("[" + "".join(_CN_DIGITS) + "]+")
_NUMBER = r"(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千壹贰叁肆伍陆柒捌玖拾佰仟]+)"
_FULLWIDTH_DIGITS = {0xFF10 + i: str(i) for i in range(10)} | {0xFF0E: "."}

_SALES = re.compile(_NUMBER + r"\s*(万|w|W|千|k|K)?\s*\+?\s*(多)?\s*"
                    r"(件|单|份|个|瓶|盒|套|台|支|包|箱|罐|袋|组|双|条|笔|人|位|家人|次)?")
_STOCK = re.compile(_NUMBER + r"\s*(件|单|份|个(?!小时|月|星期|工作日|钟)|瓶|盒|套|台|支|包|箱|"
                    r"罐|袋|组|双|条|张|把|只|"
                    r"斤|杯|桶|提|块表|块手表|位|名额)")
_TIME = re.compile(_NUMBER + r"\s*(个小时|小时|分钟|分|秒钟|秒)")
_PRICE = re.compile(_NUMBER + r"\s*(元|块|rmb|RMB|¥)?")
# A figure that ends right before the claim word: 三万多(个家庭), 10万(宝妈), 两千单都(卖出去了).
_LARGE_UNIT = r"(万|w|W|千|k|K|亿)?"
_FIGURE_BEFORE = (r"(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟]+)"
                  r"\s*" + _LARGE_UNIT + r"\s*\+?\s*(多|余|来)?\s*")
_SALES_BEFORE = re.compile(_FIGURE_BEFORE + r"(件|单|份|瓶|盒|套|台|支|包|箱|罐|袋|组|双|条|笔)\s*"
                           r"(?:都|已经|都已经|早就|早已|全|全都|全部|已|就|也|又)?\s*$")
_USERS_BEFORE = re.compile(_FIGURE_BEFORE + r"(个|位|名|户)?\s*$")
_CLAIM_LEAD = re.compile(
    r"^[\s:：是就都才仅只有了已经突破超过超达到近将足足整整约大概共计累计，,]{0,4}")


_DECIMAL = re.compile(r"\d+(?:\.\d+)?")
_FULLWIDTH = re.compile("[\uff10-\uff19\uff0e]")


def _half_width(text: str) -> str:
    """Full-width digits and point to ASCII (translated only when there are any)."""
    return text.translate(_FULLWIDTH_DIGITS) if _FULLWIDTH.search(text) else text


@dataclass(frozen=True, slots=True)
class Verdict:
    severity: str
    note: str


class Claim:
    """What a verifier judges: the matched key, the product category, the original text right
    after the match (≈ 16 characters), the normalised sentence around the match and the original
    text right before the match (≈ 16 characters). The sentence may be given as a function: it is
    then computed the first time a verifier reads it."""

    __slots__ = ("_sentence", "after", "before", "category", "key")

    def __init__(self, key: str, category: str, after: str,
                 sentence: str | Callable[[], str], before: str = "") -> None:
        self.key, self.category, self.after, self.before = key, category, after, before
        self._sentence = sentence

    @property
    def sentence(self) -> str:
        sentence = self._sentence
        if not isinstance(sentence, str):
            sentence = self._sentence = sentence()
        return sentence

    def __repr__(self) -> str:
        return (f"Claim(key={self.key!r}, category={self.category!r}, after={self.after!r}, "
                f"sentence={self.sentence!r})")


def parse_number(token: str) -> float | None:
    """'12.5' -> 12.5, '两百九十九' -> 299, '三万五千' -> 35000, '三' -> 3; None when unreadable."""
    token = _half_width(token)
    if _DECIMAL.fullmatch(token):
        return float(token)
    if _CN_NUMBER.fullmatch(token) is None:
        return None
    if _CN_DIGIT_RUN.fullmatch(token):  # 一三八 read digit by digit
        return float("".join(str(_CN_DIGITS[c]) for c in token))
    return _parse_chinese(token)


def _parse_chinese(token: str) -> float:
    """'三万五千' -> 35000, '两百九十九' -> 299 (亿 and 万 split the number into sections).
    A lone digit right after a unit is the next lower unit, as people say it: 一万三 -> 13000,
    三千五 -> 3500, 两百五 -> 250."""
    for char, value in _CN_LARGE:
        if char in token:
            head, _, tail = token.partition(char)
            high = _parse_chinese(head) if head else 1.0
            if len(tail) == 1 and tail in _CN_DIGITS:
                return high * value + _CN_DIGITS[tail] * value / 10
            return high * value + (_parse_chinese(tail) if tail else 0.0)
    total, current, last_unit, after_unit = 0, 0, 0, False
    for char in token:
        if char in _CN_DIGITS:
            current, after_unit = _CN_DIGITS[char], after_unit and current == 0 and char != "零"
        else:
            total += (current or 1) * _CN_UNITS[char]
            current, last_unit, after_unit = 0, _CN_UNITS[char], True
    if after_unit and last_unit >= 100:
        return float(total + current * last_unit // 10)
    return float(total + current)


def _leading(pattern: re.Pattern[str], after: str) -> re.Match[str] | None:
    text = _half_width(after)
    lead = _CLAIM_LEAD.match(text)
    return pattern.match(text, lead.end() if lead else 0)


def _multiplier(unit: str | None) -> int:
    scale = {"万": 10_000, "w": 10_000, "W": 10_000, "千": 1000, "k": 1000, "K": 1000}
    return scale.get(unit or "", 1)


def claimed_sales(after: str) -> int | None:
    match = _leading(_SALES, after)
    if match is None or not (match.group(2) or match.group(4)):
        return None  # a bare number is not a sales figure (could be a price)
    number = parse_number(match.group(1))
    return None if number is None else int(number * _multiplier(match.group(2)))


def _figure(match: re.Match[str]) -> int | None:
    number = parse_number(match.group(1))
    return None if number is None else int(number * _multiplier(match.group(2)))


def claimed_sales_before(before: str) -> int | None:
    """The sales figure that ends right before the claim word (两千单都 | 卖出去了)."""
    match = _SALES_BEFORE.search(_half_width(before))
    return None if match is None else _figure(match)


def claimed_users_before(before: str) -> int | None:
    """The head count that ends right before the claim word (三万多个 | 家庭都在用)."""
    match = _USERS_BEFORE.search(_half_width(before))
    return None if match is None else _figure(match)


def claimed_stock(after: str) -> int | None:
    match = _leading(_STOCK, after)
    number = parse_number(match.group(1)) if match else None
    return None if number is None else int(number)


def claimed_seconds(after: str) -> int | None:
    match = _leading(_TIME, after)
    number = parse_number(match.group(1)) if match else None
    if number is None or match is None:
        return None
    unit = match.group(2)
    scale = 3600 if "时" in unit else 60 if unit.startswith("分") else 1
    return int(number * scale)


def claimed_price_fen(after: str) -> int | None:
    match = _leading(_PRICE, after)
    number = parse_number(match.group(1)) if match else None
    return None if number is None else round(number * 100)


# --- verifiers -----------------------------------------------------------------------------

def _need(what: str) -> Verdict:
    return Verdict("warning", f"需要提供证据：{what} / Evidence needed: {what}")


def cosmetic_special_use(claim: Claim, facts: Facts | None) -> Verdict | None:
    uses = facts.special_cosmetic_uses if facts else None
    if uses is None:
        return _need(f"特殊化妆品注册证是否含\"{claim.key}\"用途")
    if any(claim.key in use or use in claim.key for use in uses):
        return None
    return Verdict("violation", f"注册用途不含\"{claim.key}\" / not a registered special use")


def health_function(claim: Claim, facts: Facts | None) -> Verdict | None:
    if claim.category != "health_food":
        return Verdict("violation",
                       "普通食品不得宣称保健功能 / ordinary food may claim no health function")
    approval = facts.has_health_food_approval if facts else None
    if approval is None:
        return _need(f"保健食品批准证书及其保健功能（\"{claim.key}\"）")
    if approval and facts and any(claim.key in f for f in facts.approved_health_functions):
        return None
    return Verdict("violation", f"批准的保健功能不含\"{claim.key}\" / not an approved function")


def registered_use(claim: Claim, facts: Facts | None) -> Verdict | None:
    """A medical device may claim what its registration states as its intended use, no more."""
    uses = facts.registered_uses if facts else None
    if uses is None:
        return _need(f"医疗器械注册证（备案凭证）的适用范围是否含\"{claim.key}\"")
    key = normalize_pattern(claim.key)
    if any(key in normalize_pattern(use) for use in uses):
        return None
    return Verdict("violation", f"注册的适用范围不含\"{claim.key}\" / beyond the registered use")


def sales_claim(claim: Claim, facts: Facts | None) -> Verdict | None:
    claimed = claimed_sales(claim.after)
    if claimed is None:
        claimed = claimed_sales_before(claim.before)
    if claimed is None:
        return None
    return _against_sales(claimed, "销量", facts)


def _against_sales(claimed: int, what: str, facts: Facts | None) -> Verdict | None:
    if facts is None or facts.sales_count is None:
        return _need(f"平台真实销量（宣称{what} {claimed}）")
    if claimed > facts.sales_count:
        return Verdict("violation", f"宣称{what} {claimed}，平台真实销量 {facts.sales_count} / "
                                    "the claim exceeds real sales")
    return None


_COUNT_UNITS = "万千百个位名户"


def user_count_claim(claim: Claim, facts: Facts | None) -> Verdict | None:
    """三万多个家庭都在用, 10万宝妈的选择: more users than real sales is a false claim."""
    key = claim.key
    lead = len(key) - len(key.lstrip(_COUNT_UNITS))  # a key may begin with the unit (万宝妈)
    claimed = claimed_users_before(claim.before + key[:lead])
    if claimed is None:
        return _need("用户数量的来源和统计口径")
    return _against_sales(claimed, "用户数", facts)


def stock_claim(claim: Claim, facts: Facts | None) -> Verdict | None:
    claimed = claimed_stock(claim.after)
    if claimed is None:
        return None
    if facts is None or facts.stock_remaining is None:
        return _need(f"实时库存（宣称仅剩 {claimed}）")
    if facts.stock_remaining > claimed:
        return Verdict("violation", f"宣称仅剩 {claimed}，真实库存 {facts.stock_remaining} / "
                                    "false scarcity")
    return None


def scarcity_claim(claim: Claim, facts: Facts | None) -> Verdict | None:
    if facts is None or facts.stock_remaining is None:
        return _need("实时库存")
    if facts.stock_remaining > LOW_STOCK:
        return Verdict("violation",
                       f"真实库存 {facts.stock_remaining}，并非即将售罄 / false scarcity")
    return None


def lowest_price_claim(claim: Claim, facts: Facts | None) -> Verdict | None:
    if facts is None or facts.current_price_fen is None or facts.lowest_price_30d_fen is None:
        return _need("当前价与近30日最低成交价")
    if facts.current_price_fen > facts.lowest_price_30d_fen:
        return Verdict("violation", f"当前价 {facts.current_price_fen} 分高于近30日最低价 "
                                    f"{facts.lowest_price_30d_fen} 分 / not the lowest price")
    return None


def reference_price(claim: Claim, facts: Facts | None) -> Verdict | None:
    claimed = claimed_price_fen(claim.after)
    if claimed is None:
        return None
    if facts is None or facts.lowest_price_7d_fen is None:
        return _need(f"前7日最低成交价（宣称原价 {claimed / 100:g} 元）")
    if claimed > facts.lowest_price_7d_fen:
        return Verdict("violation", f"宣称原价 {claimed / 100:g} 元，前7日最低成交价 "
                                    f"{facts.lowest_price_7d_fen / 100:g} 元 / "
                                    "invented reference price")
    return None


def price_rise_claim(claim: Claim, facts: Facts | None) -> Verdict | None:
    scheduled = facts.price_rise_scheduled if facts else None
    if scheduled is None:
        return _need("已设定的调价计划")
    return None if scheduled else Verdict("violation", "没有调价计划 / no price rise is scheduled")


def open_urgency(claim: Claim, facts: Facts | None) -> Verdict | None:
    """A rise or an end announced with no time: a violation, unless a rise is scheduled (then the
    time should be said, a warning)."""
    if facts is not None and facts.price_rise_scheduled:
        return _need("调价的具体时间")
    return Verdict("violation", "没有说明期限 / no time is stated")


def countdown_claim(claim: Claim, facts: Facts | None) -> Verdict | None:
    claimed = claimed_seconds(claim.after)
    if claimed is None:
        return None
    if facts is None or facts.sale_seconds_left is None:
        return _need(f"活动真实剩余时间（宣称 {claimed} 秒）")
    if facts.sale_seconds_left - claimed > COUNTDOWN_TOLERANCE_SECONDS:
        return Verdict("violation", f"宣称剩 {claimed} 秒，实际剩 {facts.sale_seconds_left} 秒 / "
                                    "fake countdown")
    return None


def honour_claim(claim: Claim, facts: Facts | None) -> Verdict | None:
    honours = facts.verified_honours if facts else None
    if honours is None:
        return _need("奖项或认证的名称、颁发机构、年份和证明")
    if any(normalize_pattern(honour) in claim.sentence for honour in honours):
        return None
    return Verdict("violation", "宣称的荣誉不在已核实列表中 / honour not verified")


# Verifiers whose verdict without facts (facts is None) depends on nothing but the claim's key and
# the category: the checker may reuse that verdict for every claim with the same key and category.
# A verifier that reads claim.after or claim.sentence before looking at the facts must not be here.
FACTLESS_BY_KEY: frozenset[str] = frozenset({
    "cosmetic_special_use", "health_function", "scarcity_claim", "lowest_price_claim",
    "price_rise_claim", "honour_claim", "open_urgency", "registered_use",
})

VERIFIERS: dict[str, Callable[[Claim, Facts | None], Verdict | None]] = {
    "cosmetic_special_use": cosmetic_special_use,
    "health_function": health_function,
    "sales_claim": sales_claim,
    "stock_claim": stock_claim,
    "scarcity_claim": scarcity_claim,
    "lowest_price_claim": lowest_price_claim,
    "reference_price": reference_price,
    "price_rise_claim": price_rise_claim,
    "countdown_claim": countdown_claim,
    "open_urgency": open_urgency,
    "registered_use": registered_use,
    "honour_claim": honour_claim,
    "user_count_claim": user_count_claim,
}
