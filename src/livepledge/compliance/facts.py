"""Facts the platform knows about the product and the sale, used to judge claims (F17).

Every field is optional: a claim that can only be judged with a fact that is missing is reported
as a warning asking for evidence, never as a violation.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

_INT_FIELDS = ("current_price_fen", "lowest_price_7d_fen", "lowest_price_30d_fen",
               "stock_remaining", "sales_count", "sale_seconds_left")
_BOOL_FIELDS = ("has_health_food_approval", "price_rise_scheduled")
_TUPLE_FIELDS = ("special_cosmetic_uses", "approved_health_functions", "verified_honours",
                 "brand_names", "registered_uses")


@dataclass(frozen=True, slots=True)
class Facts:
    # Special-use cosmetics registration (特证, 国妆特字): the registered uses,
    # e.g. ("美白", "防晒").
    # None: unknown; (): an ordinary (filed, 备案) cosmetic with no special use.
    special_cosmetic_uses: tuple[str, ...] | None = None
    # Health food approval (蓝帽子): None unknown; the approved functions as printed on it.
    has_health_food_approval: bool | None = None
    approved_health_functions: tuple[str, ...] = ()
    # Price history (F6/F11), integer fen.
    current_price_fen: int | None = None
    lowest_price_7d_fen: int | None = None
    lowest_price_30d_fen: int | None = None
    # Whether a price rise after the live is actually scheduled.
    price_rise_scheduled: bool | None = None
    # Real stock left, real sales count, real time left in the sale window.
    stock_remaining: int | None = None
    sales_count: int | None = None
    sale_seconds_left: int | None = None
    # Honours and certificates the merchant has proven; None: not checked.
    verified_honours: tuple[str, ...] | None = None
    # Registered brand and model names (trademarks may contain words like 第一, 极致).
    brand_names: tuple[str, ...] = ()
    # Medical devices: the intended uses on the registration or filing certificate (适用范围 /
    # 预期用途), e.g. ("用于缓解肌肉疼痛",). None: not known.
    registered_uses: tuple[str, ...] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Facts | None:
        """Build from untrusted JSON; raises ValueError naming the bad field."""
        if data is None:
            return None
        if not isinstance(data, dict):
            raise ValueError("facts 必须是对象 / facts must be an object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"facts 含未知字段 / unknown facts fields: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if value is None:
                continue
            values[name] = _coerce(name, value)
        return cls(**values)


def _coerce(name: str, value: Any) -> Any:
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"facts.{name} 必须是非负整数 / must be a non-negative integer")
        return value
    if name in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise ValueError(f"facts.{name} 必须是布尔值 / must be true or false")
        return value
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"facts.{name} 必须是字符串列表 / must be a list of strings")
    return tuple(value)
