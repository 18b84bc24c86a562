"""Coupon strings of the checkout page and the live room (zh-CN, en), merged into
i18n.STRINGS."""

from __future__ import annotations

COUPON_STRINGS: dict[str, tuple[str, str]] = {
    "coupon": ("优惠券", "Coupon"),
    "no_coupon": ("不使用优惠券", "No coupon"),
    "no_usable_coupons": ("暂无可用优惠券", "No coupon can be used on this order"),
    "coupon_off": ("优惠 −¥{amount}", "Coupon −¥{amount}"),
    "coupon_option": ("{title}（−¥{amount}）", "{title} (−¥{amount})"),
    "list_amount": ("商品金额", "Items"),
    "coupons_button": ("领券", "Coupons"),
    "coupons_title": ("直播间优惠券", "Coupons in this live"),
    "claim_coupon": ("领取", "Claim"),
    "coupon_claimed": ("领取成功，结算时可用", "Claimed: use it at checkout"),
    "coupon_held": ("已领 {n} 张", "You hold {n}"),
    "coupons_left": ("剩 {n} 张", "{n} left"),
    "coupon_gone": ("已领完", "All claimed"),
    "coupon_upcoming": ("未开始", "Not yet"),
    "no_room_coupons": ("本场暂无优惠券", "No coupons in this live"),
    "coupon_threshold": ("满 ¥{threshold} 减 ¥{off}", "¥{off} off ¥{threshold}"),
    "coupon_no_threshold": ("无门槛 减 ¥{off}", "¥{off} off, no minimum"),
    "coupon_percent": ("{percent}% 折扣", "{percent}% off"),
    "red_packet": ("红包", "Red packet"),
    "red_packet_terms": ("¥{amount} 共 {shares} 份", "¥{amount} in {shares} shares"),
    "red_packet_left": ("剩 {n} 份", "{n} left"),
    "grab": ("抢", "Grab"),
    "grabbed_amount": ("抢到 ¥{amount}", "You got ¥{amount}"),
    "red_packet_closed": ("已结束", "Ended"),
    "coupon_packet_terms": ("优惠券 共 {shares} 张", "{shares} coupons"),
    "grabbed_coupon": ("抢到优惠券，结算时可用", "You got a coupon: use it at checkout"),
}
