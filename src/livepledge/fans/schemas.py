"""Request bodies of the fan club's routes (never tables)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from livepledge.accounts.schemas import Strict


class LevelIn(Strict):
    name: str = Field(min_length=1, max_length=8, description="等级名称, 1-8 characters")
    threshold: int = Field(ge=0, le=10**9, description="affinity (亲密度) that reaches it")


class LevelsUpdate(Strict):
    levels: list[LevelIn] = Field(
        min_length=1, max_length=20,
        description="1-20 levels; thresholds strictly increasing, the first 0")


class TagsUpdate(Strict):
    tags: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        max_length=20, description="the merchant's tags for this fan (segments)")


class CampaignsOptOut(Strict):
    opt_out: bool = Field(description="true: send me none of this shop's campaigns")
