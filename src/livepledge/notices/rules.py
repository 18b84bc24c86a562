"""What a notice says, in zh-CN and en, from its kind and parameters (pure)."""

from __future__ import annotations

from typing import Any

from livepledge.orders.rules import cancel_label

CANCEL_BY = {"merchant": ("商家", "the shop"), "system": ("平台", "the platform"),
             "buyer": ("你", "you")}


def yuan(fen: int) -> str:
    return f"¥{fen / 100:.2f}"


def render(kind: str, p: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{"title": {zh-CN, en}, "body": {zh-CN, en}}."""
    order = f"#{p.get('order_id')}"
    if kind == "order_cancelled":
        who_zh, who_en = CANCEL_BY.get(p.get("by", ""), CANCEL_BY["merchant"])
        reason = cancel_label(p.get("code"), p.get("reason"))
        refund_zh = f"，已原路退款 {yuan(p['refunded'])}" if p.get("refunded") else ""
        refund_en = f"; {yuan(p['refunded'])} refunded to your payment method" \
            if p.get("refunded") else ""
        if p.get("compensated"):
            refund_zh += f"，并已赔付你 {yuan(p['compensated'])}"
            refund_en += f", and {yuan(p['compensated'])} paid to you in compensation"
        return {"title": {"zh-CN": f"订单 {order} 已被{who_zh}取消",
                          "en": f"Order {order} was cancelled by {who_en}"},
                "body": {"zh-CN": f"原因：{reason['zh-CN'] or '未说明'}{refund_zh}。",
                         "en": f"Reason: {reason['en'] or 'not given'}{refund_en}."}}
    if kind == "order_shipped":
        return {"title": {"zh-CN": f"订单 {order} 已发货", "en": f"Order {order} has shipped"},
                "body": {"zh-CN": f"{p.get('carrier', '')} 运单号 {p.get('tracking_number', '')}",
                         "en": f"{p.get('carrier', '')} tracking no. "
                               f"{p.get('tracking_number', '')}"}}
    if kind == "order_expired":
        return {"title": {"zh-CN": f"订单 {order} 未付款，已自动关闭",
                          "en": f"Order {order} was closed: not paid in time"},
                "body": {"zh-CN": "商品已释放给其他买家，你可以重新下单。",
                         "en": "The units went back on sale; you can order again."}}
    if kind == "order_compensated" and p.get("cause") == "counterfeit":
        return {"title": {"zh-CN": f"订单 {order} 假一赔N，已赔付 {yuan(p['amount'])}",
                          "en": f"Order {order}: {yuan(p['amount'])} paid to you under the "
                                "counterfeit promise"},
                "body": {"zh-CN": "你的假货投诉成立，除退款外，平台已按商家的假一赔N承诺赔付。",
                         "en": "Your counterfeit claim was upheld: besides the refund, the "
                               "platform paid you what the shop's promise says."}}
    if kind == "deposit_deducted":
        causes = {"merchant_cancel": ("商家取消订单", "a cancellation by the shop"),
                  "late_shipment": ("超时未发货", "a missed shipping promise"),
                  "counterfeit": ("假一赔N", "an upheld counterfeit claim")}
        why_zh, why_en = causes.get(p.get("cause") or "", ("赔付", "compensation"))
        return {"title": {"zh-CN": f"订单 {order} 赔付 {yuan(p['amount'])} 由店铺承担",
                          "en": f"Order {order}: {yuan(p['amount'])} compensation charged to "
                                "your shop"},
                "body": {"zh-CN": f"因{why_zh}，平台已向买家赔付 {yuan(p['amount'])}，其中 "
                                  f"{yuan(p.get('from_deposit', 0))} 从保证金扣除，其余从可提现"
                                  f"余额扣除；保证金余额 {yuan(p.get('deposit_left', 0))}。",
                         "en": f"For {why_en}, the platform paid the buyer "
                               f"{yuan(p['amount'])}: {yuan(p.get('from_deposit', 0))} from your "
                               "deposit, the rest from your available balance; deposit left: "
                               f"{yuan(p.get('deposit_left', 0))}."}}
    if kind == "order_compensated":
        return {"title": {"zh-CN": f"订单 {order} 超时未发货，已赔付 {yuan(p['amount'])}",
                          "en": f"Order {order} did not ship in time: {yuan(p['amount'])} paid "
                                "to you"},
                "body": {"zh-CN": f"商家承诺付款后 {p.get('hours')} 小时内发货，已超时，"
                                  "平台已按规则自动赔付。",
                         "en": f"The shop promised to ship within {p.get('hours')} hours of "
                               "payment and did not; the platform compensated you "
                               "automatically."}}
    if kind == "price_protection_refund":
        offer_zh = "直播价" if p.get("offer_type") == "live_price" else "标价"
        offer_en = "a live price" if p.get("offer_type") == "live_price" else "the list price"
        return {"title": {"zh-CN": f"保价退款 {yuan(p['amount'])}（订单 {order}）",
                          "en": f"Price protection: {yuan(p['amount'])} refunded (order {order})"},
                "body": {"zh-CN": f"本店{offer_zh}降至 {yuan(p['offer_price'])}，低于你的成交价 "
                                  f"{yuan(p['unit_price'])}，差价已按保价承诺自动原路退回，无需申请。",
                         "en": f"The shop now offers this item at {offer_en} of "
                               f"{yuan(p['offer_price'])}, below the {yuan(p['unit_price'])} you "
                               "paid: the difference was refunded automatically under the price "
                               "protection promise."}}
    if kind == "session_live":
        return {"title": {"zh-CN": f"你预约的「{p.get('title', '')}」开播了",
                          "en": f"\"{p.get('title', '')}\" is live now"},
                "body": {"zh-CN": f"{p.get('shop_name', '')} 正在直播，点击进入直播间。",
                         "en": f"{p.get('shop_name', '')} is live: open the room to watch."}}
    if kind == "lottery_won":
        return {"title": {"zh-CN": f"恭喜中奖：{p.get('title', '')}",
                          "en": f"You won: {p.get('title', '')}"},
                "body": {"zh-CN": f"奖品订单 {order} 已生成，请确认收货地址，商家将按时发货。",
                         "en": f"Your prize order {order} is ready: confirm the shipping "
                               "address and the shop ships it on time."}}
    if kind == "campaign":  # the shop's own words, the same in both languages
        shop = p.get("shop_name", "")
        coupon_zh = "（附优惠券，进店领取）" if p.get("coupon_id") else ""
        coupon_en = " (with a coupon to claim)" if p.get("coupon_id") else ""
        return {"title": {"zh-CN": f"{shop}：{p.get('title', '')}",
                          "en": f"{shop}: {p.get('title', '')}"},
                "body": {"zh-CN": f"{p.get('body', '')}{coupon_zh}",
                         "en": f"{p.get('body', '')}{coupon_en}"}}
    return {"title": {"zh-CN": "通知", "en": "Notice"}, "body": {"zh-CN": "", "en": ""}}


KINDS = ("order_cancelled", "order_shipped", "order_expired", "order_compensated",
         "price_protection_refund", "session_live", "deposit_deducted", "lottery_won",
         "campaign")
