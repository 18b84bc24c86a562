"""The live room's fan-club strip (粉丝团) strings (zh-CN, en), merged into i18n.STRINGS."""

from __future__ import annotations

FAN_STRINGS: dict[str, tuple[str, str]] = {
    "fan_join": ("加入粉丝团", "Join fan club"),
    "fan_joined": ("已加入粉丝团", "You joined the fan club"),
    "fan_checkin": ("打卡", "Check in"),
    "fan_checked_in": ("今日已打卡", "Checked in today"),
    "fan_checkin_done": ("打卡成功：连续 {streak} 天，亲密度 +{affinity}，积分 +{points}",
                         "Checked in: {streak}-day streak, affinity +{affinity}, "
                         "points +{points}"),
    "fan_level": ("{name} Lv{level}", "{name} Lv{level}"),
    "fan_stat": ("亲密度 {affinity} · 积分 {points}", "Affinity {affinity} · Points {points}"),
    "fan_members": ("{n} 位粉丝", "{n} fans"),
    "my_fan_clubs": ("我的粉丝团", "My fan clubs"),
    "no_fan_clubs": ("还没有加入粉丝团。在直播间点「加入粉丝团」即可加入。",
                     "No fan clubs yet. Join one from a live room."),
    "affinity_word": ("亲密度", "affinity"),
    "points_word": ("积分", "points"),
    "streak_word": ("连续打卡天数", "day streak"),
    "next_level": ("再获得 {left} 亲密度升到「{name}」", "{left} more affinity to reach {name}"),
    "top_level": ("已是最高等级", "Top level reached"),
    "affinity_history": ("亲密度明细", "Affinity history"),
    "points_history": ("积分明细", "Points history"),
    "history_empty": ("暂无记录", "Nothing yet"),
    "points_checkin": ("打卡", "Check-in"),
    "points_purchase": ("购物", "Purchase"),
    "points_refund": ("退款扣回", "Refund"),
    "points_spend": ("使用", "Spent"),
    "points_test": ("调整", "Adjustment"),
    "campaigns_ok": ("接收店铺活动消息", "Receive the shop's campaigns"),
    "fan_leave": ("退出粉丝团", "Leave"),
    "fan_leave_confirm": ("退出后亲密度、等级和打卡记录将被删除，积分保留。确定退出？",
                          "Leaving deletes your affinity, level and streak; points stay. Leave?"),
    "fan_data": ("我的粉丝数据", "My fan data"),
    "fan_data_hint": ("依《个人信息保护法》，你可以导出或删除粉丝团数据"
                      "（亲密度、积分、观看时长等）；订单等依法须保存的记录不受影响。",
                      "Under the PIPL you may export or delete your fan data (affinity, points, "
                      "watch minutes); orders and records the law requires are kept."),
    "fan_export": ("导出（JSON）", "Export (JSON)"),
    "fan_delete": ("删除我的粉丝数据", "Delete my fan data"),
    "fan_delete_confirm": ("将删除你在所有店铺的粉丝团数据，包括积分，且无法恢复。确定删除？",
                           "This deletes your fan data in every shop, points included, for good. "
                           "Delete?"),
    "fan_deleted": ("已删除", "Deleted"),
    "unsubscribe": ("退订此店铺的营销消息", "Unsubscribe from this shop's campaigns"),
    "unsubscribed": ("已退订", "Unsubscribed"),
    "campaign_open": ("去看看", "Open"),
}
