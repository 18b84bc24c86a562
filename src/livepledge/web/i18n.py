"""User-facing strings: Chinese first, English available (`?lang=en` or the lp_lang cookie)."""

from __future__ import annotations

LANGS = ("zh-CN", "en")

STRINGS: dict[str, tuple[str, str]] = {
    "brand": ("所播即所得", "What you see is what you get"),
    "api_docs": ("API 文档", "API documentation"),
    "api_docs_missing": ("接口文档页面需要前端依赖包 swagger-ui-dist，尚未安装"
                         "（运行 ./dev setup 或 npm ci）。机器可读的接口说明仍可下载：",
                         "The API documentation page needs the swagger-ui-dist front-end package, "
                         "which is not installed (run ./dev setup or npm ci). The machine-readable "
                         "description can still be downloaded:"),
    "home": ("首页", "Home"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "register": ("注册", "Sign up"),
    "console": ("商家后台", "Merchant console"),
    "my_orders": ("我的订单", "My orders"),
    "live_now": ("正在直播", "Live now"),
    "upcoming": ("即将开播", "Upcoming"),
    "ended": ("已结束", "Ended"),
    "no_sessions": ("暂无直播", "No live sessions yet"),
    "login_name": ("用户名", "Login"),
    "password": ("密码", "Password"),
    "display_name": ("昵称", "Display name"),
    "role": ("身份", "Role"),
    "role_buyer": ("买家", "Buyer"),
    "role_merchant": ("商家", "Merchant"),
    "role_anchor": ("主播", "Anchor"),
    "role_agency": ("MCN 机构", "MCN agency"),
    "seller": ("经营者", "Seller"),
    "license": ("营业执照", "Business licence"),
    "viewers": ("人在看", "watching"),
    "likes": ("赞", "likes"),
    "like": ("点赞", "Like"),
    "chat_placeholder": ("说点什么…", "Say something…"),
    "send": ("发送", "Send"),
    "buy": ("立即抢购", "Buy now"),
    "sold_out": ("已售罄", "Sold out"),
    "not_started": ("未开售", "Not on sale yet"),
    "sale_ended": ("已结束", "Sale ended"),
    "stock_left": ("剩余", "left"),
    "ends_in": ("距结束", "Ends in"),
    "starts_in": ("距开售", "Starts in"),
    "limit": ("每人限购", "Limit per buyer"),
    "list_price": ("店铺标价", "Shop list price"),
    "live_price": ("直播价", "Live price"),
    "no_video": ("本场未提供视频流", "No video stream for this session"),
    "video_failed": ("视频暂时无法播放，商品与下单不受影响",
                     "The video cannot play right now; the product card and buying still work"),
    "no_pinned": ("主播还未上链接", "Nothing pinned yet"),
    "login_to_buy": ("登录后购买", "Log in to buy"),
    "ordered": ("下单成功，请在时限内支付", "Order placed — pay before it expires"),
    "pay": ("支付", "Pay"),
    "paid": ("已支付", "Paid"),
    "quantity": ("数量", "Quantity"),
    "products": ("商品", "Products"),
    "sessions": ("直播场次", "Live sessions"),
    "orders": ("订单", "Orders"),
    "lineup": ("直播商品", "Lineup"),
    "create_shop": ("开店", "Open a shop"),
    "shop_name": ("店铺名称", "Shop name"),
    "legal_name": ("经营主体", "Legal entity"),
    "license_no": ("统一社会信用代码", "Licence number"),
    "title": ("标题", "Title"),
    "category": ("类目", "Category"),
    "sku_name": ("规格", "SKU"),
    "price_yuan": ("价格（元）", "Price (yuan)"),
    "stock": ("库存", "Stock"),
    "create": ("创建", "Create"),
    "archive": ("归档", "Archive"),
    "anchor": ("主播", "Anchor"),
    "add_anchor": ("添加主播（用户名）", "Add anchor (login)"),
    "add": ("添加", "Add"),
    "schedule": ("排期", "Schedule"),
    "start_live": ("开播", "Go live"),
    "end_live": ("下播", "End live"),
    "pin": ("上链接", "Pin"),
    "unpin": ("下链接", "Unpin"),
    "open_room": ("打开直播间", "Open live room"),
    "allocated": ("分配库存", "Allocated"),
    "sale_window_min": ("售卖时长（分钟）", "Sale length (minutes)"),
    "ship": ("发货", "Ship"),
    "carrier": ("快递公司", "Carrier"),
    "tracking": ("运单号", "Tracking no."),
    "cancel": ("取消", "Cancel"),
    "cancel_reason": ("取消原因（必填）", "Reason (required)"),
    "receive": ("确认收货", "Confirm receipt"),
    "status": ("状态", "Status"),
    "amount": ("金额", "Amount"),
    "status_pending_payment": ("待支付", "Awaiting payment"),
    "status_paid": ("已支付", "Paid"),
    "status_shipped": ("已发货", "Shipped"),
    "status_received": ("已收货", "Received"),
    "status_cancelled": ("已取消", "Cancelled"),
    "status_expired": ("已超时", "Expired"),
    "new_orders": ("实时订单", "Orders in real time"),
    "no_shop": ("你还没有店铺", "You have no shop yet"),
    "playback_url": ("播放地址（可选，HLS/WebRTC/MP4）", "Playback URL (optional)"),
    "script_check": ("开播前话术脚本检查", "Check the script before going live"),
    "script_placeholder": ("粘贴话术脚本…", "Paste the script…"),
    "check": ("检查", "Check"),
    "no_findings": ("未发现问题", "No findings"),
    "alerts": ("合规提醒（直播转写）", "Compliance alerts (live transcript)"),
    "record_correction": ("记录口播更正", "Record on-air correction"),
    "correction_prompt": ("主播在直播中如何更正的？", "How did the anchor correct it on air?"),
    "corrected": ("已更正", "Corrected"),
    "publish": ("发布", "Publish"),
    "status_draft": ("未发布（待整改）", "Draft (fix to publish)"),
    "status_active": ("已发布", "Published"),
    "status_archived": ("已归档", "Archived"),
    "violation": ("违规", "Violation"),
    "warning": ("需核实", "Needs evidence"),
    "audit_report": ("数据审计报告（刷单 / 退款 / 观众）", "Integrity audit report"),
    "held": ("消息未发出：", "Message held: "),
    "safety": ("平台提醒：请勿添加私人联系方式或站外交易，谨防诈骗。",
               "Platform notice: never pay or trade off-platform."),
    # addresses, checkout, order detail
    "addresses": ("收货地址", "Addresses"),
    "add_address": ("新增收货地址", "Add an address"),
    "edit": ("编辑", "Edit"),
    "save": ("保存", "Save"),
    "remove": ("删除", "Remove"),
    "set_default": ("设为默认", "Make default"),
    "default": ("默认", "Default"),
    "recipient": ("收货人", "Recipient"),
    "phone": ("手机号", "Phone"),
    "province": ("省份", "Province"),
    "city": ("城市", "City"),
    "district": ("区县", "District"),
    "detail": ("详细地址", "Street address"),
    "choose_province": ("请选择省份", "Choose a province"),
    "no_addresses": ("还没有收货地址", "No address yet"),
    "confirm_remove_address": ("删除这个地址？已下的订单不受影响。",
                               "Remove this address? Orders keep their own copy."),
    "checkout": ("确认订单", "Checkout"),
    "ship_to": ("收货地址", "Ship to"),
    "order_summary": ("订单信息", "Order"),
    "to_pay": ("应付金额", "Amount due"),
    "pay_now": ("立即支付", "Pay now"),
    "go_pay": ("去支付", "Go to payment"),
    "pay_within": ("请在 {t} 内完成支付，超时订单自动取消",
                   "Pay within {t}; unpaid orders are cancelled"),
    "payment_expired": ("订单已超时未支付，已自动取消，库存已释放",
                        "The payment window has passed; the order was cancelled"),
    "payment_done": ("支付成功，商家将尽快发货", "Paid — the shop will ship soon"),
    "order_cancelled": ("订单已取消", "The order was cancelled"),
    "cancel_order": ("取消订单", "Cancel order"),
    "confirm_cancel_order": ("确定取消这个订单？", "Cancel this order?"),
    "confirm_receive": ("确认已收到货？确认后货款将结算给商家。",
                        "Confirm you received it? The payment is then released to the shop."),
    "change_address": ("修改地址", "Change address"),
    "order_detail": ("订单详情", "Order details"),
    "order_no": ("订单号", "Order no."),
    "placed_at": ("下单时间", "Placed"),
    "timeline": ("订单进度", "Progress"),
    "promises_title": ("本单承诺", "Promises on this order"),
    "promises_none": ("本单无额外承诺（法定权益不受影响）",
                      "No extra promises on this order (your statutory rights apply)"),
    "promise_enforced": ("平台自动执行", "Enforced by the platform"),
    "promise_recorded": ("仅记录，不自动执行", "Recorded, not enforced automatically"),
    "promise_frozen": ("下单时锁定，之后不会改变", "Frozen when you ordered; never changes"),
    "money_title": ("退款与赔付", "Refunds and compensation"),
    "refund_reason_order_cancelled": ("取消退款", "Refund on cancellation"),
    "refund_reason_price_protection": ("保价退款", "Price protection refund"),
    "refund_reason_compensation": ("赔付", "Compensation"),
    "refunded_total": ("已退款合计", "Refunded in total"),
    "compensated_total": ("已赔付合计", "Compensation paid"),
    "cooling_title": ("冷静期", "Cooling-off"),
    "cooling_choice": ("下单冷静期", "Cooling-off period"),
    "cooling_none": ("不需要", "None"),
    "cooling_minutes": ("{n} 分钟", "{n} minutes"),
    "cooling_help": ("冷静期内商家不会发货，你可一键取消并全额退款",
                     "The shop will not ship during it; one tap cancels for a full refund"),
    "cooling_until": ("冷静期至 {t}，期间可一键取消、全额退款",
                      "Cooling-off until {t}: one tap cancels for a full refund"),
    "cooling_cancel": ("冷静期内取消（全额退款）", "Cancel during cooling-off (full refund)"),
    "confirm_cooling_cancel": ("确定取消这笔订单？货款将全额原路退回。",
                               "Cancel this order? Everything you paid is refunded."),
    "notices": ("通知", "Notices"),
    "notices_empty": ("暂无通知", "No notices yet"),
    "mark_all_read": ("全部标为已读", "Mark all read"),
    "unread": ("未读", "Unread"),
    "step_placed": ("已下单", "Placed"),
    "step_paid": ("已支付", "Paid"),
    "step_address_changed": ("买家修改了收货地址", "Buyer changed the address"),
    "step_shipped": ("已发货", "Shipped"),
    "step_received": ("已确认收货", "Receipt confirmed"),
    "step_cancelled": ("已取消", "Cancelled"),
    "step_expired": ("超时未支付，已关闭", "Closed: not paid in time"),
    "cancelled_by_merchant": ("商家取消", "Cancelled by the shop"),
    "cancelled_by_buyer": ("买家取消", "Cancelled by the buyer"),
    "cancelled_by_system": ("系统取消", "Cancelled by the system"),
    "reason": ("原因", "Reason"),
    "colon": ("：", ": "),
    "refunded": ("已退款", "Refunded"),
    "seller_info": ("商家", "Seller"),
    "unit_price": ("单价", "Unit price"),
    "view": ("查看", "View"),
    "packing_slip": ("发货单", "Packing slip"),
    "print": ("打印", "Print"),
    "no_orders": ("还没有订单", "No orders yet"),
    "yes": ("确定", "OK"),
    "no": ("再想想", "Not now"),
}

# the live room and the upcoming-lives page (kept in their own module)
from livepledge.web.i18n_cases import CASE_STRINGS  # noqa: E402
from livepledge.web.i18n_coupons import COUPON_STRINGS  # noqa: E402
from livepledge.web.i18n_fans import FAN_STRINGS  # noqa: E402
from livepledge.web.i18n_lottery import LOTTERY_STRINGS  # noqa: E402
from livepledge.web.i18n_room import ROOM_STRINGS  # noqa: E402

STRINGS.update(ROOM_STRINGS)
STRINGS.update(LOTTERY_STRINGS)
STRINGS.update(CASE_STRINGS)
STRINGS.update(FAN_STRINGS)
STRINGS.update(COUPON_STRINGS)


def pick_lang(query_lang: str | None, cookie_lang: str | None, _accept: str | None) -> str:
    for candidate in (query_lang, cookie_lang):
        if candidate in LANGS:
            return candidate  # type: ignore[return-value]
    # Chinese first: English only when the viewer asks for it (the toggle sets the cookie).
    return "zh-CN"


def translator(lang: str):  # type: ignore[no-untyped-def]
    index = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = STRINGS.get(key)
        return pair[index] if pair else key

    return t


def bundle(lang: str) -> dict[str, str]:
    index = 1 if lang == "en" else 0
    return {key: pair[index] for key, pair in STRINGS.items()}
