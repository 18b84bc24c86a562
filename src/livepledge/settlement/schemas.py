from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from livepledge.accounts.schemas import Strict
from livepledge.settlement.rules import MAX_AMOUNT


class PayoutRequest(Strict):
    amount: int = Field(ge=1, le=MAX_AMOUNT, description="fen to pay out (≤ the payable balance)")


class TopUpRequest(Strict):
    amount: int = Field(ge=1, le=MAX_AMOUNT, description="fen to add to the deposit (保证金)")
    sandbox_outcome: Literal["decline"] | None = Field(
        default=None, description="sandbox provider only: simulate a declined charge")


class Balances(BaseModel):
    shop_id: int
    currency: Literal["CNY"]
    held: int = Field(description="待结算: paid orders' money in escrow (fen)")
    available: int = Field(description="可提现余额: released, net of commission, refunds after "
                                       "release and payouts (fen; below 0 when the shop owes)")
    payouts_pending: int = Field(description="payouts requested and not yet posted (fen)")
    payable: int = Field(description="what a payout may take now: available − pending, ≥ 0")
    deposit: int = Field(description="保证金 (fen)")


class MoneyMovement(BaseModel):
    id: int
    shop_id: int
    amount: int
    provider: str
    provider_ref: str
    created_at: str


class AccountPeriod(BaseModel):
    opening: int
    closing: int
    by_event: dict[str, int] = Field(description="the period's movement per event type (fen, "
                                                 "positive: to the shop)")


class StatementLine(BaseModel):
    at: str
    account: Literal["escrow", "available", "deposit"]
    amount: int = Field(description="fen, positive: to the shop")
    event_id: int
    event: str = Field(description="the source event's type (docs/events.md)")
    order_id: int | None
    session_id: int | None
    case_id: int | None = None
    payout_id: int | None = None
    top_up_id: int | None = None
    cause: str | None = None
    commission_bp: int | None = None


class Statement(BaseModel):
    shop_id: int
    currency: Literal["CNY"]
    start: str
    end: str
    accounts: dict[str, AccountPeriod]
    lines_total: int
    lines: list[StatementLine]
