from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from livepledge.accounts.rules import PROVINCES

# Every id and count fits a signed 64-bit integer in SQLite and PostgreSQL; a bigger number is
# refused as input (422) instead of overflowing in the database.
MAX_INT = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_INT)]
Int64 = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]


Province = Literal[PROVINCES]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterRequest(Strict):
    login: str = Field(max_length=64)
    password: str = Field(max_length=256)
    display_name: str = Field(max_length=64)
    role: str = "buyer"


class LoginRequest(Strict):
    login: str = Field(max_length=64)
    password: str = Field(max_length=256)


class TokenResponse(BaseModel):
    token: str
    user_id: int


class ShopRequest(Strict):
    name: str = Field(max_length=200)
    legal_name: str = Field(max_length=400)
    license_no: str = Field(max_length=128)


class MemberRequest(Strict):
    login: str = Field(max_length=64)
    role: str = "staff"


class AddressRequest(Strict):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    recipient: str = Field(min_length=1, max_length=20, description="收货人")
    phone: str = Field(min_length=5, max_length=24,
                       description="中国大陆手机号（11 位，可带 +86）或带区号的固话")
    province: Province = Field(description="省级行政区全称")
    city: str = Field(min_length=1, max_length=40)
    district: str = Field(min_length=1, max_length=40)
    detail: str = Field(min_length=4, max_length=120, description="街道、门牌号")
    is_default: bool = False

    def fields(self) -> dict[str, str]:
        return self.model_dump(exclude={"is_default"})


class AddressResponse(BaseModel):
    id: int
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    is_default: bool
    created_at: datetime


class CoolingOffSetting(Strict):
    minutes: int | None = Field(ge=0, le=1440,
                                description="cooling-off minutes after each live purchase "
                                            "(冷静期); 0 or null: none")

