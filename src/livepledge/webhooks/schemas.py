from __future__ import annotations

from pydantic import Field

from livepledge.accounts.schemas import Strict


class EndpointCreate(Strict):
    url: str = Field(min_length=1, max_length=2000,
                     description="https://… (http:// outside production); no credentials, no "
                                 "internal or private addresses")
    event_types: list[str] = Field(min_length=1, max_length=20,
                                   description="webhook types from GET /api/v1/webhook-types")
    description: str | None = Field(default=None, max_length=200)
    enabled: bool = True


class EndpointUpdate(Strict):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=20)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None
