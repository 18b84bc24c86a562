from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Every id and count fits a signed 64-bit integer in SQLite and PostgreSQL; a bigger number is
# refused as input (422) instead of overflowing in the database.
MAX_INT = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_INT)]
Int64 = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]


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
