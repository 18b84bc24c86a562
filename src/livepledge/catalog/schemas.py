from __future__ import annotations

from typing import Annotated

from pydantic import Field

from livepledge.accounts.schemas import Int64, Strict


class SkuIn(Strict):
    name: str = Field(max_length=200)
    price: Int64 = Field(description="price in fen")
    stock: Int64


class ProductCreate(Strict):
    title: str = Field(max_length=500)
    description: str = Field(default="", max_length=20000)
    category: str = "general"
    skus: list[SkuIn] = Field(max_length=50)


class ProductUpdate(Strict):
    title: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=20000)
    category: str | None = None


class SkuUpdate(Strict):
    price: Int64 | None = None
    stock_delta: Int64 | None = None


class ImageOrder(Strict):
    image_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        min_length=1, max_length=9, description="every current picture of the product, once")
