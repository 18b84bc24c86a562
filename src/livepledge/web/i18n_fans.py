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
}
