from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from livepledge.accounts.schemas import Strict

Kind = Literal["price_protection", "gift", "shipping_deadline", "counterfeit_compensation",
               "warranty", "no_reason_return", "commitment"]


class Scope(Strict):
    type: Literal["shop", "product", "sku", "lineup_item"]
    id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                           description="the shop, product, SKU or lineup item; for `shop`, "
                                       "defaults to the shop in the path")


class PromiseCreate(Strict):
    kind: Kind
    terms: dict[str, Any] = Field(
        description="per kind (docs/promises.md): price_protection {days 1-90, "
                    "excludes_flash_sale?}; gift {sku_id | name, quantity 1-20}; "
                    "shipping_deadline {hours 1-720}; counterfeit_compensation {multiple 1-10}; "
                    "warranty {months 1-120}; no_reason_return {days 7-90} or {exempt, reason}; "
                    "commitment {text}")
    scope: Scope
    starts_at: AwareDatetime | None = Field(default=None, description="default: now")
    ends_at: AwareDatetime | None = None


class PromiseRevision(Strict):
    terms: dict[str, Any]
    ends_at: AwareDatetime | None = None
