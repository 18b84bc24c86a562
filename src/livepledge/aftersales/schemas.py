from __future__ import annotations

from typing import Literal

from pydantic import Field

from livepledge.accounts.schemas import AddressRequest, Strict


class CaseOpen(Strict):
    type: Literal["refund_only", "return_refund", "promise_breach", "counterfeit"]
    reason: Literal["not_shipped", "not_received", "no_reason", "quality", "promise",
                    "counterfeit"]
    quantity: int | None = Field(default=None, ge=1, le=1000,
                                 description="units concerned; default: all kept")
    amount: int | None = Field(default=None, ge=1, le=2**53,
                               description="fen asked for; default: all that is refundable")
    promise_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                   description="the frozen promise a breach names")
    text: str = Field(default="", max_length=1000)


class MerchantAction(Strict):
    action: Literal["approve", "refuse", "offer"]
    text: str = Field(default="", max_length=1000, description="required to refuse (reason)")
    amount: int | None = Field(default=None, ge=1, le=2**53, description="a partial offer, fen")
    return_address: AddressRequest | None = Field(
        default=None, description="where the goods go back (approving a return)")


class BuyerAction(Strict):
    action: Literal["accept_offer", "decline_offer", "ship_return", "withdraw"]
    carrier: str | None = Field(default=None, max_length=64)
    tracking_number: str | None = Field(default=None, max_length=64)


class ClockAdvance(Strict):
    advance_seconds: int = Field(ge=1, le=365 * 86400)


class Escalation(Strict):
    text: str = Field(default="", max_length=1000, description="why the refusal is wrong")


class Ruling(Strict):
    decision: Literal["buyer", "shop"]
    text: str = Field(min_length=1, max_length=1000, description="the reason (shown to all)")
    amount: int | None = Field(default=None, ge=1, le=2**53,
                               description="for the buyer: fen refunded (default: all asked)")


class MessageIn(Strict):
    text: str = Field(min_length=1, max_length=1000)
