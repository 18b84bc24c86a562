from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
