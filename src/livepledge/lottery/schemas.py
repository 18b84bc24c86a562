from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from livepledge.accounts.schemas import Strict
from livepledge.lottery import rules


class WatchedCondition(Strict):
    type: Literal["watched"]
    minutes: int = Field(ge=1, le=rules.MAX_WATCH_MINUTES,
                         description="watched this session's room at least this long in all")


class ChatCondition(Strict):
    type: Literal["chat"] = Field(description="sent a chat message shown in this room")


class BoughtCondition(Strict):
    type: Literal["bought"] = Field(description="bought in this session (paid)")


Condition = Annotated[WatchedCondition | ChatCondition | BoughtCondition,
                      Field(discriminator="type")]


class LotteryCreate(Strict):
    title: str = Field(min_length=1, max_length=60, description="e.g. 福袋：红茶礼盒")
    sku_id: int = Field(ge=1, le=2**63 - 1, description="the prize SKU, of this shop")
    prize_quantity: int = Field(default=1, ge=1, le=rules.MAX_PRIZE_QUANTITY,
                                description="units per winner")
    winners: int = Field(ge=1, le=rules.MAX_WINNERS)
    opens_at: AwareDatetime | None = Field(default=None, description="default: now")
    closes_at: AwareDatetime
    conditions: list[Condition] = Field(default_factory=list, max_length=3)
    ship_within_hours: int = Field(default=rules.DEFAULT_SHIP_HOURS, ge=1,
                                   le=rules.MAX_SHIP_HOURS,
                                   description="the shop ships a prize this long after the "
                                               "winner gives an address, or compensates")


class PrizeAddress(Strict):
    address_id: int = Field(ge=1, le=2**63 - 1, description="one of the winner's addresses")
