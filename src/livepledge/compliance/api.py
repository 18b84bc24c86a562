"""Compliance HTTP API (issue #3): parse, call the service, return."""

from fastapi import APIRouter

from livepledge.compliance import service
from livepledge.compliance.schemas import CheckRequest, CheckResponse
from livepledge.openapi import errors

router = APIRouter(prefix="/api/v1/compliance", tags=["compliance"])


@router.post("/check", response_model=CheckResponse, response_model_exclude_none=True,
             responses=errors(413, 429))
def check(body: CheckRequest) -> dict:
    """检查文本是否合规 / Check text (or a batch in `items`) against the rule catalogue."""
    return service.check_request(body.model_dump(exclude_unset=True))
