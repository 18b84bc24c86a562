from __future__ import annotations

from typing import Annotated

from pydantic import Field

from livepledge.accounts.schemas import Strict


class MarkRead(Strict):
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        default=None, max_length=500, description="the notices to mark read; omitted: all")
