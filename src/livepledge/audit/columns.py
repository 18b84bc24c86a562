"""Canonical columns of the audit inputs, `--map` parsing and column resolution.

Every analysis works on canonical column names. An export from another platform is mapped onto
them with `--map CANONICAL=SOURCE`; columns already named canonically (or with a well-known alias,
see `ALIASES`) need no mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from livepledge.audit.errors import AuditInputError

# kind: id (text), time (timestamp), money (fen), int (count)
ORDER_COLUMNS: dict[str, str] = {
    "order_id": "id",
    "shop_id": "id",
    "buyer_id": "id",
    "created_at": "time",
    "session_id": "id",
    "anchor_id": "id",
    "sku_id": "id",
    "quantity": "int",
    "amount": "money",
    "status": "id",
    "refunded_at": "time",
    "refund_amount": "money",
    "paid_at": "time",
    "address_hash": "id",
    "device_id": "id",
    "ip": "id",
    "payment_account": "id",
    # Display names, only for the report ("shop 1" → the shop's name).
    "shop_name": "id",
    "anchor_name": "id",
    "session_title": "id",
}
ORDER_REQUIRED = ("order_id", "shop_id", "buyer_id", "created_at")

VIEWER_COLUMNS: dict[str, str] = {
    "session_id": "id",
    "viewer_id": "id",
    "joined_at": "time",
    "left_at": "time",
    "chat_count": "int",
    "like_count": "int",
    "order_count": "int",
    "shop_id": "id",
    "anchor_id": "id",
    "device_id": "id",
    "ip": "id",
}
VIEWER_REQUIRED = ("session_id", "viewer_id", "joined_at")

# Per-minute viewer exports (what most dashboards give): one row per session and minute.
# `count` = non-negative whole number (a negative or fractional count is a bad value).
MINUTE_COLUMNS: dict[str, str] = {
    "session_id": "id",
    "minute": "time",
    "viewers": "count",
    "chats": "count",
    "likes": "count",
    "orders": "count",
    "enter": "count",
    "shop_id": "id",
    "anchor_id": "id",
}
MINUTE_REQUIRED = ("session_id", "minute", "viewers")
MINUTE_ENGAGEMENT = ("chats", "likes", "orders")

# Every name `--map` accepts for a viewer file (the kind is detected from the columns).
ANY_VIEWER_COLUMNS: dict[str, str] = {**VIEWER_COLUMNS, **MINUTE_COLUMNS}
VIEWER_FORMATS = ("auto", "visits", "minutes")

# Well-known source names (lower-cased) for canonical columns; `--map` always wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "order_id": ("orderid", "order_no", "订单号", "订单编号", "id"),
    "shop_id": ("shopid", "store_id", "店铺id", "店铺编号", "商家id"),
    "buyer_id": ("userid", "user_id", "customer_id", "买家id", "用户id"),
    "created_at": ("event_time", "order_time", "created", "下单时间", "创建时间"),
    "amount": ("gmv", "price", "金额", "订单金额", "实付金额"),
    "refunded_at": ("refund_time", "退款时间"),
    "refund_amount": ("退款金额",),
    "paid_at": ("pay_time", "支付时间"),
    "session_id": ("live_id", "room_id", "直播场次", "场次id"),
    "anchor_id": ("streamer_id", "主播id"),
    "status": ("order_status", "订单状态"),
    "shop_name": ("store_name", "店铺名称", "店铺名"),
    "anchor_name": ("streamer_name", "主播昵称", "主播名称", "主播名"),
    "session_title": ("live_title", "room_title", "直播标题", "场次名称", "直播间标题"),
    "viewer_id": ("viewer_key", "user_id", "userid", "观众id"),
    "joined_at": ("join_time", "enter_time", "进入时间"),
    "left_at": ("leave_time", "exit_time", "离开时间"),
    "minute": ("time", "ts", "timestamp", "datetime", "时间", "分钟", "时间点"),
    "viewers": ("online", "online_count", "online_users", "viewer_count", "concurrent_viewers",
                "在线人数", "在线观众"),
    "chats": ("chat_count", "comments", "comment_count", "评论数", "弹幕数"),
    "likes": ("like_count", "点赞数"),
    "orders": ("order_count", "成交订单数", "订单数"),
    "enter": ("enters", "joins", "enter_count", "进入人数", "进场人数"),
}


def parse_mapping(items: list[str] | None, canonical: dict[str, str]) -> dict[str, str]:
    """Parse repeated `CANONICAL=SOURCE` options into {canonical: source}."""
    mapping: dict[str, str] = {}
    for item in items or []:
        name, sep, source = item.partition("=")
        name, source = name.strip(), source.strip()
        if not sep or not name or not source:
            raise AuditInputError(
                f"--map 需要 CANONICAL=SOURCE 形式，收到 {item!r} / "
                f"--map expects CANONICAL=SOURCE, got {item!r}"
            )
        if name not in canonical:
            raise AuditInputError(
                f"--map 中的 {name!r} 不是规范列名；可用：{', '.join(canonical)} / "
                f"{name!r} in --map is not a canonical column; known: {', '.join(canonical)}"
            )
        mapping[name] = source
    return mapping


@dataclass(frozen=True)
class Resolved:
    """Canonical column name → source column name, for the columns the file provides."""

    columns: dict[str, str]

    def has(self, name: str) -> bool:
        return name in self.columns


def resolve_columns(
    available: list[str],
    mapping: dict[str, str],
    canonical: dict[str, str],
    required: tuple[str, ...],
) -> Resolved:
    """Match canonical columns to the file's columns: explicit map, then exact name, then alias.

    Raises AuditInputError naming every missing required column and listing what the file has.
    """
    by_lower = {col.lower(): col for col in available}
    resolved: dict[str, str] = {}
    problems: list[str] = []
    for name in canonical:
        if name in mapping:
            source = mapping[name]
            if source in available:
                resolved[name] = source
            elif source.lower() in by_lower:
                resolved[name] = by_lower[source.lower()]
            else:
                problems.append(f"{name}={source}")
            continue
        found = _find_by_name(name, by_lower)
        if found is not None and found not in resolved.values():
            resolved[name] = found
    missing = [name for name in required if name not in resolved and name not in mapping]
    if problems or missing:
        parts = []
        if problems:
            parts.append(
                "映射的源列不存在 / mapped source columns not found: " + ", ".join(problems)
            )
        if missing:
            parts.append("缺少必需列 / missing required columns: " + ", ".join(missing))
        parts.append("文件中的列 / columns in the file: " + ", ".join(available))
        parts.append("用 --map CANONICAL=SOURCE 指定 / map them with --map CANONICAL=SOURCE")
        raise AuditInputError("\n".join(parts))
    return Resolved(resolved)


def _find_by_name(name: str, by_lower: dict[str, str]) -> str | None:
    if name in by_lower:
        return by_lower[name]
    for alias in ALIASES.get(name, ()):
        if alias in by_lower:
            return by_lower[alias]
    return None


def detect_viewer_format(available: list[str], mapping: dict[str, str],
                         requested: str = "auto") -> str:
    """`visits` (one row per visit) or `minutes` (one row per session and minute).

    `requested` other than `auto` wins. Otherwise a `--map` naming a column of only one kind
    decides, then which kind's required columns the file has. Raises AuditInputError when
    neither kind fits, naming what each kind misses and listing the file's columns.
    """
    if requested not in VIEWER_FORMATS:
        raise AuditInputError(
            f"--viewer-format 只能是 / must be one of {', '.join(VIEWER_FORMATS)}")
    if requested != "auto":
        return requested
    mapped = set(mapping)
    if mapped & (set(MINUTE_COLUMNS) - set(VIEWER_COLUMNS)):
        return "minutes"
    if mapped & (set(VIEWER_COLUMNS) - set(MINUTE_COLUMNS)):
        return "visits"
    by_lower = {col.lower(): col for col in available}
    lacks = {}
    for kind, required in (("visits", VIEWER_REQUIRED), ("minutes", MINUTE_REQUIRED)):
        lacks[kind] = [n for n in required if n not in mapping and _find_by_name(n, by_lower)
                       is None]
        if not lacks[kind]:
            return kind
    raise AuditInputError(
        "无法识别观众导出的类型 / cannot tell the kind of viewer export:\n"
        f"按访问（每次进出一行）缺少 / as per-visit rows it misses: {', '.join(lacks['visits'])}"
        f"\n按分钟（每场每分钟一行）缺少 / as per-minute counts it misses: "
        f"{', '.join(lacks['minutes'])}\n"
        "文件中的列 / columns in the file: " + ", ".join(available) + "\n"
        "用 --map CANONICAL=SOURCE 或 --viewer-format visits|minutes 指定 / map them with "
        "--map CANONICAL=SOURCE or choose --viewer-format visits|minutes")


def parse_threshold(text: str) -> Fraction:
    """Parse a threshold like `3`, `2.5` or `7/3` exactly (compared in integer arithmetic)."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise AuditInputError(
            f"阈值无法解析：{text!r} / threshold is not a number: {text!r}"
        ) from exc
    if value <= 0:
        raise AuditInputError(f"阈值必须大于 0：{text} / threshold must be > 0: {text}")
    return value
