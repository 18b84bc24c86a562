"""Request bodies of the fan club's routes (never tables)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

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


Days = Annotated[int, Field(ge=0, le=3650)]
Count = Annotated[int, Field(ge=0, le=10**6)]
Fen = Annotated[int, Field(ge=0, le=10**12)]
Tag = Annotated[str, Field(min_length=1, max_length=16)]


class SegmentFilterIn(Strict):
    """A segment's conditions; every one given must hold. Money in fen, net of refunds."""

    members_only: bool = Field(default=False, description="fan club members only")
    recency_days_max: Days | None = Field(default=None, description="bought within N days")
    recency_days_min: Days | None = Field(default=None, description="not bought for N days")
    orders_min: Count | None = Field(default=None, description="paid orders, at least")
    orders_max: Count | None = None
    net_min_fen: Fen | None = Field(default=None, description="net spend (fen), at least")
    net_max_fen: Fen | None = None
    level_min: int | None = Field(default=None, ge=1, le=20, description="fan level")
    level_max: int | None = Field(default=None, ge=1, le=20)
    streak_min: int | None = Field(default=None, ge=1, le=3650,
                                   description="current check-in streak, days")
    bought_in_session: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                          description="bought in this live session")
    tags_any: list[Tag] = Field(default_factory=list, max_length=20)
    tags_all: list[Tag] = Field(default_factory=list, max_length=20)


class SegmentIn(Strict):
    name: str = Field(min_length=1, max_length=40)
    filter: SegmentFilterIn


class CampaignIn(Strict):
    segment_id: int = Field(ge=1, le=2**63 - 1, description="a saved segment of the shop")
    title: str = Field(min_length=1, max_length=40)
    body: str = Field(min_length=1, max_length=500)
    coupon_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                  description="a coupon of the shop to claim")
    send_at: AwareDatetime | None = Field(default=None, description="default: now")
    on_session_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                      description="instead of a time: when this scheduled "
                                                  "session goes live")


class PostIn(Strict):
    kind: Literal["news", "arrival", "schedule", "coupon"] = Field(
        default="news", description="news: 动态; arrival: 上新; schedule: 直播预告; coupon: 发券")
    body: str = Field(min_length=1, max_length=1000,
                      description="checked by the compliance engine like a live script")
    coupon_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                  description="one of the shop's coupons, to claim from the post")
    session_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                   description="one of the shop's live sessions")


class CommentIn(Strict):
    body: str = Field(min_length=1, max_length=300,
                      description="checked like chat: leading buyers off the platform is held")
