"""Request and response models of the compliance HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CheckItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | int | None = None
    text: str = Field(description="要检查的文本 / text to check")
    category: str = Field("general", description="商品类目 / product category")
    context: str = Field("script", description="speech | script | listing | chat")
    facts: dict[str, Any] | None = Field(None,
                                         description="平台掌握的事实 / facts the platform holds")


class CheckRequest(BaseModel):
    """Either one text (`text`, `category`, `context`, `facts`) or a batch in `items`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [  # as service checks
        {"required": ["text"],
         "properties": {"text": {"type": "string"}, "items": {"type": "null"}}},
        {"required": ["items"],
         "properties": {"items": {"type": "array"}, "text": {"type": "null"}}},
    ]})

    text: str | None = None
    category: str = "general"
    context: str = "script"
    facts: dict[str, Any] | None = None
    items: list[CheckItem] | None = Field(None, max_length=1000)


class FindingOut(BaseModel):
    span: tuple[int, int]
    text: str
    rule_id: str
    family: str
    severity: str
    title: str
    legal_basis: str
    suggestion: str
    note: str


class CheckOut(BaseModel):
    id: str | int | None = None
    violation: bool
    findings: list[FindingOut]


class CheckResponse(BaseModel):
    violation: bool
    findings: list[FindingOut] = []
    results: list[CheckOut] | None = None
