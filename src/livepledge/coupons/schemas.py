from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from livepledge.accounts.schemas import Strict
from livepledge.coupons import rules


class CouponCreate(Strict):
    title: str = Field(min_length=1, max_length=60, pattern=r"\S",
                       description="shown to buyers, e.g. 满 100 减 10")
    kind: Literal["threshold", "percent", "no_threshold"] = Field(
        description="threshold: 满减 (amount_off from threshold); percent: 折扣 (percent_off, "
                    "optional threshold and cap); no_threshold: 无门槛 (amount_off)")
    threshold: int = Field(default=0, ge=0, le=rules.MAX_AMOUNT,
                           description="fen; the order must reach it (0: none)")
    amount_off: int | None = Field(default=None, ge=0, le=rules.MAX_AMOUNT, description="fen")
    percent_off: int | None = Field(default=None, ge=0, le=100,
                                    description="1–99: the share of the price taken off")
    cap: int | None = Field(default=None, ge=0, le=rules.MAX_AMOUNT,
                            description="fen; the most a percent coupon takes off")
    budget: int = Field(ge=-(2**31), le=2**31 - 1, description="coupons that may be issued in all")
    per_buyer_limit: int = Field(default=1, ge=-(2**31), le=2**31 - 1)
    claim_starts_at: AwareDatetime
    claim_ends_at: AwareDatetime
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    valid_days: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1,
                                   description="usable for this many days after the claim")
    session_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                   description="claimable only while this live session is on")
    stackable: bool = Field(default=False, description="may be used with another coupon")
    min_fan_level: int | None = Field(default=None, ge=1, le=20,
                                      description="claimable only by fans of this level or "
                                                  "above (粉丝团等级)")
    segment_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                   description="claimable only by fans in this saved segment "
                                               "of the shop")
    points_price: int | None = Field(default=None, ge=1, le=10_000_000,
                                     description="offered for this many points (积分兑换): "
                                                 "redeemed, never claimed free")

    def terms(self) -> rules.Terms:
        return rules.Terms(
            kind=self.kind, threshold=self.threshold, amount_off=self.amount_off,
            percent_off=self.percent_off, cap=self.cap, budget=self.budget,
            per_buyer_limit=self.per_buyer_limit, claim_starts_at=self.claim_starts_at,
            claim_ends_at=self.claim_ends_at, valid_from=self.valid_from,
            valid_until=self.valid_until, valid_days=self.valid_days)


class CouponStatusChange(Strict):
    action: Literal["pause", "resume", "end"]


class RedPacketCreate(Strict):
    total_amount: int = Field(default=0, ge=-(2**31), le=2**31 - 1,
                              description="fen, charged to the shop through the provider "
                                          "(a cash red packet)")
    coupon_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                  description="a coupon red packet: one of this shop's coupons, "
                                              "one to each of the first `shares` fans "
                                              "(total_amount and split are then ignored)")
    shares: int = Field(ge=-(2**31), le=2**31 - 1,
                        description="how many fans get a share (each at least 1 fen)")
    split: Literal["even", "random"] = Field(
        default="random", description="even: equal shares; random: the documented seeded split")
    sandbox_outcome: str | None = Field(
        default=None, max_length=16,
        description="sandbox only: 'decline' simulates a declined payment")
