"""User-facing strings: Chinese first, English available (`?lang=en` or the lp_lang cookie)."""

from __future__ import annotations

LANGS = ("zh-CN", "en")

STRINGS: dict[str, tuple[str, str]] = {
    "brand": ("所播即所得", "What you see is what you get"),
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
}


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
