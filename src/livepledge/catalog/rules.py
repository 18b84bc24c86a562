"""Pure catalog rules."""

from __future__ import annotations

CATEGORIES = (
    "general", "apparel", "cosmetics", "food", "health_food", "infant_formula", "appliance",
    "digital", "jewelry", "home", "medical_device",
)
MAX_PRICE = 100_000_000_00  # ¥100 million in fen: anything above is a typo, not a price
MAX_STOCK = 10_000_000


def price_error(price: int) -> str | None:
    if not 1 <= price <= MAX_PRICE:
        return f"价格须为 1–{MAX_PRICE} 分 / price must be 1-{MAX_PRICE} fen"
    return None


def stock_error(stock: int) -> str | None:
    if not 0 <= stock <= MAX_STOCK:
        return f"库存须为 0–{MAX_STOCK} / stock must be 0-{MAX_STOCK}"
    return None
