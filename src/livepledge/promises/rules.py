"""Promise kinds, their terms, and what each one says in words (pure: no storage, no clock).

A promise is what the merchant or the anchor commits to on air, stored as a record the platform
enforces itself (docs/promises.md). Its terms are validated here, per kind; its wording in both
languages is derived from the terms, so what the buyer reads is exactly what is enforced. The
content hash covers everything that decides what the buyer is owed, so an order's frozen copy
can be checked against the ledger at any time."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from livepledge.coupons import rules as coupon_rules

KINDS = ("price_protection", "gift", "shipping_deadline", "counterfeit_compensation",
         "warranty", "no_reason_return", "commitment")
SCOPES = ("shop", "product", "sku", "lineup_item")
# Goods the law exempts from the 7-day no-reason return (消费者权益保护法 第二十五条; 网络购买商品
# 七日无理由退货暂行办法 第六、七条). "confirmed" is the article 7 kind: exempt only when the
# buyer confirmed it at purchase, so the reason must say which goods and why.
RETURN_EXEMPTIONS = {
    "custom_made": ("消费者定作的商品", "made to the buyer's order"),
    "perishable": ("鲜活易腐的商品", "fresh or perishable goods"),
    "digital_unsealed": ("拆封的音像制品、计算机软件等数字化商品或在线下载商品",
                         "unsealed audio-visual products, software or downloads"),
    "periodicals": ("交付的报纸、期刊", "newspapers and periodicals once delivered"),
    "confirmed": ("经消费者在购买时确认不宜退货的商品", "goods the buyer confirmed at "
                  "purchase as unsuitable for return"),
}
LAW_RETURN_DAYS = 7
TEXT_MAX = 500


class TermsError(ValueError):
    """Terms that cannot be a promise; the message is shown to the user (zh-CN / en)."""


def _int(terms: dict[str, Any], name: str, low: int, high: int, zh: str, en: str) -> int:
    value = terms.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TermsError(f"{zh}须为整数 / {en} must be a whole number")
    if not low <= value <= high:
        raise TermsError(f"{zh}须在 {low}–{high} 之间 / {en} must be {low}-{high}")
    return value


def _only(terms: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(terms) - allowed)
    if unknown:
        raise TermsError(f"未知条款 / unknown terms: {', '.join(unknown)}")


def _text(value: Any, zh: str, en: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > TEXT_MAX:
        raise TermsError(f"{zh}须为 1–{TEXT_MAX} 个字符 / {en} must be 1-{TEXT_MAX} chars")
    return value.strip()


def _price_protection(t: dict[str, Any]) -> dict[str, Any]:
    _only(t, {"days", "excludes_flash_sale"})
    days = _int(t, "days", 1, 90, "保价天数", "days")
    excludes = t.get("excludes_flash_sale", False)
    if not isinstance(excludes, bool):
        raise TermsError("excludes_flash_sale 须为 true/false / must be true or false")
    return {"days": days, "excludes_flash_sale": excludes}


def _gift(t: dict[str, Any]) -> dict[str, Any]:
    _only(t, {"sku_id", "name", "quantity"})
    quantity = _int(t, "quantity", 1, 20, "赠品数量", "gift quantity")
    sku_id = t.get("sku_id")
    if sku_id is not None and (isinstance(sku_id, bool) or not isinstance(sku_id, int)
                               or sku_id < 1):
        raise TermsError("赠品 SKU 编号无效 / invalid gift sku_id")
    name = _text(t.get("name"), "赠品名称", "gift name", required=sku_id is None)
    if sku_id is None and not name:
        raise TermsError("赠品须指明 SKU 或名称 / a gift names a SKU or an item")
    out: dict[str, Any] = {"quantity": quantity}
    if sku_id is not None:
        out["sku_id"] = sku_id
    if name:
        out["name"] = name
    return out


def _shipping(t: dict[str, Any]) -> dict[str, Any]:
    _only(t, {"hours"})
    return {"hours": _int(t, "hours", 1, 720, "发货时限（小时）", "shipping hours")}


def _counterfeit(t: dict[str, Any]) -> dict[str, Any]:
    _only(t, {"multiple"})
    return {"multiple": _int(t, "multiple", 1, 10, "假一赔 N 的 N", "the N of 'N times'")}


def _warranty(t: dict[str, Any]) -> dict[str, Any]:
    _only(t, {"months"})
    return {"months": _int(t, "months", 1, 120, "保修月数", "warranty months")}


def _no_reason_return(t: dict[str, Any]) -> dict[str, Any]:
    _only(t, {"days", "exempt", "reason"})
    exempt = t.get("exempt")
    if exempt is not None:
        if exempt not in RETURN_EXEMPTIONS:
            raise TermsError("不适用七天无理由退货的类别须为法定类别之一 / the exemption must be "
                             f"one the law allows: {', '.join(RETURN_EXEMPTIONS)}")
        if "days" in t:
            raise TermsError("豁免时不能同时给出天数 / an exemption has no days")
        return {"exempt": exempt, "reason": _text(t.get("reason"), "不适用的理由", "reason")}
    if "reason" in t:
        raise TermsError("理由只用于豁免 / a reason belongs to an exemption")
    days = _int(t, "days", LAW_RETURN_DAYS, 90, "无理由退货天数（法定至少 7 天）",
                "no-reason return days (at least 7 by law)")
    return {"days": days}


def _commitment(t: dict[str, Any]) -> dict[str, Any]:
    _only(t, {"text"})
    return {"text": _text(t.get("text"), "承诺内容", "commitment text")}


VALIDATORS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "price_protection": _price_protection, "gift": _gift, "shipping_deadline": _shipping,
    "counterfeit_compensation": _counterfeit, "warranty": _warranty,
    "no_reason_return": _no_reason_return, "commitment": _commitment,
}
# Kinds the platform enforces by itself; a free-text commitment is recorded and shown, not
# enforced by machine (and says so).
ENFORCED = frozenset(KINDS) - {"commitment"}


def normalize_terms(kind: str, terms: Any) -> dict[str, Any]:
    """The terms in canonical form, or TermsError."""
    if kind not in VALIDATORS:
        raise TermsError(f"未知承诺类型 / unknown promise kind: {kind}")
    if not isinstance(terms, dict):
        raise TermsError("条款须为对象 / terms must be an object")
    return VALIDATORS[kind](terms)


def window_error(starts_at: datetime, ends_at: datetime | None, now: datetime) -> str | None:
    # A promise cannot be declared into the past: orders placed before it never carried it.
    if (now - starts_at).total_seconds() > 60:
        return "生效时间不能早于现在 / a promise cannot start in the past"
    if ends_at is not None and ends_at <= starts_at:
        return "结束时间须晚于开始时间 / the end must be after the start"
    if (starts_at - now).days > 366:
        return "生效时间须在一年之内 / a promise must start within a year"
    return None


def in_force(starts_at: datetime, ends_at: datetime | None, at: datetime) -> bool:
    return starts_at <= at and (ends_at is None or at < ends_at)


def label(kind: str, terms: dict[str, Any]) -> tuple[str, str]:
    """The badge: short words, zh-CN and en."""
    if kind == "price_protection":
        return f"{terms['days']}天保价", f"{terms['days']}-day price protection"
    if kind == "gift":
        return f"赠品×{terms['quantity']}", f"Free gift ×{terms['quantity']}"
    if kind == "shipping_deadline":
        return f"{terms['hours']}小时发货", f"Ships within {terms['hours']} h"
    if kind == "counterfeit_compensation":
        return f"假一赔{terms['multiple']}", f"{terms['multiple']}× if counterfeit"
    if kind == "warranty":
        return f"保修{terms['months']}个月", f"{terms['months']}-month warranty"
    if kind == "no_reason_return":
        if "exempt" in terms:
            return "不支持7天无理由退货", "No 7-day no-reason return"
        return f"{terms['days']}天无理由退货", f"{terms['days']}-day no-reason return"
    return "商家承诺", "Merchant commitment"


def describe(kind: str, terms: dict[str, Any], gift_name: str | None = None) -> tuple[str, str]:
    """The terms in full sentences, zh-CN and en: what the buyer is owed."""
    if kind == "price_protection":
        zh = (f"付款后 {terms['days']} 天内，本店同一 SKU 公开售价（标价或任一场直播的直播价）"
              "低于你的成交价时，平台自动退还差价 × 未退货件数，无需申请。")
        en = (f"For {terms['days']} days after payment, if this shop offers the same SKU "
              "publicly for less (list price or any live price), the difference × the units you "
              "kept is refunded automatically, without asking.")
        if terms["excludes_flash_sale"]:
            zh += "限量秒杀价不在保价范围内。"
            en += " Limited-quantity flash-sale prices are excluded."
        return zh, en
    if kind == "gift":
        what = gift_name or terms.get("name") or f"SKU {terms.get('sku_id')}"
        return (f"每笔订单随货赠送「{what}」× {terms['quantity']}；"
                "少发、错发可申请售后补发或赔付。",
                f"Each order comes with \"{what}\" × {terms['quantity']}; a missing or wrong gift "
                "is an after-sales case.")
    if kind == "shipping_deadline":
        return (f"付款后 {terms['hours']} 小时内发货；逾期平台自动按店铺赔付规则赔付。",
                f"Ships within {terms['hours']} hours of payment; if late, the shop's "
                "compensation is paid automatically.")
    if kind == "counterfeit_compensation":
        return (f"经鉴定为假货的，退还货款并另赔 {terms['multiple']} 倍货款。",
                f"If appraised counterfeit: full refund plus {terms['multiple']}× the amount "
                "paid.")
    if kind == "warranty":
        return (f"自签收起保修 {terms['months']} 个月。",
                f"{terms['months']}-month warranty from receipt.")
    if kind == "no_reason_return":
        if "exempt" in terms:
            zh_kind, en_kind = RETURN_EXEMPTIONS[terms["exempt"]]
            return (f"本商品属于{zh_kind}，依法不适用七天无理由退货：{terms['reason']}",
                    f"By law this item has no 7-day no-reason return ({en_kind}): "
                    f"{terms['reason']}")
        return (f"签收后 {terms['days']} 天内可无理由退货（商品完好）。",
                f"No-reason return within {terms['days']} days of receipt (item intact).")
    return (f"商家承诺（平台记录，不自动执行）：{terms['text']}",
            f"Merchant commitment (recorded, not enforced by the platform): {terms['text']}")


def content_hash(record: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of what decides what the buyer is owed. The end of the
    promise is left out: withdrawing it later changes when it applies to new orders, never what
    an order that carries it is owed."""
    fields = {k: record[k] for k in ("shop_id", "kind", "terms", "scope_type", "scope_id",
                                     "version", "starts_at")}
    if isinstance(fields["starts_at"], datetime):
        fields["starts_at"] = fields["starts_at"].isoformat()
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def protection_days(frozen: list[dict[str, Any]], *, flash_sale: bool) -> int | None:
    """The longest price protection an order's frozen promises give against this kind of
    offer (a limited flash-sale price is excluded only where the terms the buyer saw say so);
    None when none applies."""
    days = [p["terms"]["days"] for p in frozen if p.get("kind") == "price_protection"
            and not (flash_sale and p["terms"].get("excludes_flash_sale"))]
    return max(days) if days else None


def in_protection_window(paid_at: datetime, days: int, offered_at: datetime) -> bool:
    return paid_at <= offered_at <= paid_at + timedelta(days=days)


def protection_refund(*, unit_price: int, offer_price: int, quantity: int, returned: int,
                      already: int, refunded_total: int, amount: int, discount: int = 0) -> int:
    """What a price drop adds to an order's price-protection refunds: the difference × the
    units kept, less what earlier drops already refunded (successive drops refund only the new
    increment), never making the order's refunds exceed what was paid (`amount`), never
    negative. With a coupon (`discount`), each unit's difference is from what was paid for it
    (the discount split over the units pro rata, coupons/rules.py), so an offer above what the
    buyer paid refunds nothing."""
    kept = max(0, quantity - returned)
    if discount:
        paid = coupon_rules.paid_per_unit(unit_price=unit_price, quantity=quantity,
                                          discount=discount)
        target = sum(max(0, p - offer_price) for p in paid[:kept])
        return max(0, min(target - already, amount - refunded_total))
    target = max(0, unit_price - offer_price) * kept
    return max(0, min(target - already, amount - refunded_total))
