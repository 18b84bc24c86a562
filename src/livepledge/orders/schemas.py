from __future__ import annotations

from typing import Literal

from pydantic import Field

from livepledge.accounts.schemas import Strict
from livepledge.orders.rules import MAX_QUANTITY


class BuyRequest(Strict):
    quantity: int = Field(ge=1, le=MAX_QUANTITY, description="units to buy; 1..per-buyer limit")


class PayRequest(Strict):
    address_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1,
        description="which of my addresses to ship to; omitted: my default address")
    sandbox_outcome: str | None = Field(
        default=None, description="sandbox only: 'decline' simulates a declined payment")
    cooling_off_minutes: int | None = Field(
        default=None, ge=0, le=1440,
        description="a cooling-off period (冷静期) for this order: not shipped before it ends, "
                    "cancellable by me with one tap for a full refund until then; 0: none; "
                    "omitted: my account's setting")
    claim_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1,
        description="one of my claimed coupons of this order's shop to apply (GET "
                    "/api/v1/me/coupons?usable=true); the charge is the amount less its discount")


class ShipRequest(Strict):
    # As rules.shipping_error checks them (stripped): a carrier name, 4–64 letters, digits, '-'.
    carrier: str = Field(min_length=1, max_length=200, pattern=r"\S")
    tracking_number: str = Field(max_length=200, pattern=r"^\s*[A-Za-z0-9-]{4,64}\s*$")
    gift_included: bool | None = Field(
        default=None, description="the order's frozen gift went in this parcel (a missing-gift "
                                  "claim on an order shipped without saying so cannot be "
                                  "refused)")


class CancelRequest(Strict):
    reason_code: Literal["out_of_stock", "buyer_asked", "address_unreachable",
                         "suspected_fraud", "other"] | None = Field(
        default=None, description="required when the shop cancels; the buyer cancelling their "
                                  "own unpaid order gives none")
    reason: str | None = Field(default=None, max_length=2000,
                               description="words; required with `other`")


class OrderAddressRequest(Strict):
    address_id: int = Field(ge=1, le=2**63 - 1, description="one of my addresses")
