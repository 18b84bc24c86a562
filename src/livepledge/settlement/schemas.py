from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

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
    deposit_withdrawals_pending: int = Field(
        description="deposit withdrawals requested and not yet posted (fen)")
    deposit_withdrawable: int = Field(
        description="what a deposit withdrawal may take now (fen): the deposit less pending "
                    "withdrawals, less the deployment's minimum while the shop has money in "
                    "escrow, an open after-sales case or a scheduled or live session")
    deposit_minimum: int = Field(description="the deposit a shop needs to go live (fen)")


class WithdrawalRequest(Strict):
    amount: int = Field(ge=1, le=MAX_AMOUNT,
                        description="fen of the deposit to pay back (≤ deposit_withdrawable)")


class PartyPayout(BaseModel):
    id: int
    party_id: int
    amount: int
    provider: str
    provider_ref: str
    created_at: str


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


# --- anchors' and agencies' agreements, MCN contracts (settlement/agreements.py) -------------

class AgreementRequest(Strict):
    party_id: int = Field(ge=1, le=2**63 - 1, description="the anchor's or MCN agency's user id")
    commission_bp: int = Field(default=0, ge=0, le=10_000,
                               description="commission on net sales, basis points (0–100 %)")
    slot_fee: int = Field(default=0, ge=0, le=MAX_AMOUNT,
                          description="坑位费, fen, collected from the shop at once")
    session_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                   description="one live session; or anchor_id with a period")
    anchor_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                  description="the sessions this anchor hosts in the period")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    sandbox_outcome: Literal["decline"] | None = Field(
        default=None, description="sandbox provider only: simulate a declined charge")


class Agreement(BaseModel):
    id: int
    shop_id: int
    party_id: int
    party_kind: Literal["anchor", "agency"]
    session_id: int | None
    anchor_id: int | None
    starts_at: str | None
    ends_at: str | None
    commission_bp: int
    slot_fee: int
    provider: str | None
    provider_ref: str | None
    created_by: int
    created_at: str
    ended_at: str | None


class ContractRequest(Strict):
    agency_id: int = Field(ge=1, le=2**63 - 1, description="the MCN agency's user id")
    anchor_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                  description="only this anchor's sessions (default: all)")
    starts_at: datetime
    ends_at: datetime
    fee: int = Field(ge=1, le=MAX_AMOUNT, description="the agency's fee, fen, held in escrow")
    guaranteed_roi_bp: int = Field(ge=1, le=10_000_000, description="guaranteed ROI = net sales "
                                   "÷ fee, in basis points (30000: 3×)")
    sandbox_outcome: Literal["decline"] | None = Field(
        default=None, description="sandbox provider only: simulate a declined charge")


class Contract(BaseModel):
    id: int
    shop_id: int
    agency_id: int
    anchor_id: int | None
    starts_at: str
    ends_at: str
    fee: int
    guaranteed_roi_bp: int
    status: Literal["funded", "settled"]
    provider: str
    provider_ref: str
    created_by: int
    created_at: str
    settled_at: str | None
    outcome: dict[str, Any] | None = Field(
        description="the computation once settled: orders, gross, refunded, brushed orders "
                    "left out, net sales, ROI, whether the guarantee was met, what the agency "
                    "and the shop received, and the per-order lines")


class PartyLine(BaseModel):
    at: str
    amount: int = Field(description="fen, positive: owed to the party")
    event_id: int
    event: str
    shop_id: int | None
    order_id: int | None


class Earnings(BaseModel):
    user_id: int
    currency: Literal["CNY"]
    owed: int = Field(description="what the platform owes the anchor or agency (fen; below 0 "
                              "when commissions paid out were reversed by later refunds)")
    payouts_pending: int = Field(description="payouts requested and not yet posted (fen)")
    payable: int = Field(description="what a payout may take now: owed − pending, ≥ 0 (fen)")
    lines: list[PartyLine]
class IncomeFigures(BaseModel):
    """One period's income statement, in fen (docs/money.md, "Income statements")."""

    orders: int = Field(description="订单数量: orders paid in the period")
    gross_sales: int = Field(description="销售收入总额: buyers' payments")
    refunds: int = Field(description="退款（退货）金额: refunds paid in the period")
    refunds_cancelled: int
    refunds_aftersales: int
    refunds_price_protection: int
    net_sales: int = Field(description="销售净额 = gross_sales − refunds")
    compensation_paid: int
    platform_commission: int = Field(description="向平台支付的佣金, net of reversals")
    commissions_paid: int
    slot_fees_paid: int
    mcn_fees_paid: int
    commission_income: int
    commission_reversed: int
    slot_fee_income: int
    mcn_fee_income: int
    other_income: int
    income_total: int
    income_net: int
    released: int
    payouts: int


class IncomeMonth(BaseModel):
    period: str
    figures: IncomeFigures


class IncomeStatement(BaseModel):
    period: str = Field(description="2026-11 (a month) or 2026Q4 (a quarter), Asia/Shanghai")
    kind: Literal["month", "quarter"]
    start: str
    end: str
    currency: Literal["CNY"]
    party_type: str = Field(description="merchant, anchor, mcn_agency or party")
    party_ref: str = Field(description="shop:{id} or user:{id}")
    name: str
    shop_name: str
    tax_id: str = Field(description="统一社会信用代码 (the shop's licence number) or 未采集")
    id_document: str
    figures: IncomeFigures
    months: list[IncomeMonth] = Field(description="a quarter's months; empty for a month")


class IncomeRow(BaseModel):
    period: str
    party_type: str
    party_ref: str
    name: str
    shop_name: str
    tax_id: str
    id_document: str
    figures: IncomeFigures


class Mismatch(BaseModel):
    where: Literal["orders", "provider", "ledger"] = Field(
        description="orders: payment rows ≠ postings; provider: a provider record without its "
                    "posting; ledger: a posting without its provider record")
    ref: str = Field(description="order:{id}, payout:{id}, top_up:{id} or a provider reference")
    message: str
    category: str
    payments: int | None = None
    ledger: int | None = None
    amount: int | None = None


class Reconciliation(BaseModel):
    period: str | None
    ties: bool = Field(description="true only when nothing is listed in mismatches")
    orders_checked: int
    ledger_movements: int
    provider_checked: bool = Field(description="false when no provider records are available")
    provider_records: int
    voided: int = Field(description="charges refunded at once because the order was not paid")
    ledger_behind: int = Field(description="events written that the ledger has not read yet: "
                                           "their money is not posted, and shows as mismatches")
    mismatches: list[Mismatch]
