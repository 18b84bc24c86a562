"""Compliance HTTP API (issue #3): parse, call the service, return.

`POST /check` is open to anyone, so it is bounded (docs/security.md): at most
`compliance_check_max_chars` characters per request, all texts of a batch together (413), and at
most `compliance_checks_per_address` requests per client address per window (429 with
Retry-After), counted in the runtime's throttle (shared by every worker when scaled out). The
check itself runs in a worker thread, off the event loop."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from livepledge.compliance import service
from livepledge.compliance.schemas import CheckRequest, CheckResponse
from livepledge.deps import RuntimeDep, client_address
from livepledge.infra.problems import Problem
from livepledge.openapi import errors

router = APIRouter(prefix="/api/v1/compliance", tags=["compliance"])



def _characters(body: CheckRequest) -> int:
    """Characters to check in the request: the text, or every item's text."""
    return len(body.text or "") + sum(len(item.text) for item in body.items or ())


@router.post("/check", response_model=CheckResponse, response_model_exclude_none=True,
             responses=errors(413, 429))
async def check(body: CheckRequest, request: Request, rt: RuntimeDep) -> dict[str, Any]:
    """检查文本是否合规 / Check text (or a batch in `items`) against the rule catalogue.

    每次最多 `LIVEPLEDGE_COMPLIANCE_CHECK_MAX_CHARS` 字符（批量时合计），每个地址限频 /
    At most LIVEPLEDGE_COMPLIANCE_CHECK_MAX_CHARS characters per request (a batch's texts
    together; more is 413), and a per-address rate limit (429 with Retry-After)."""
    settings = rt.settings
    limit = settings.compliance_check_max_chars
    size = _characters(body)
    if size > limit:
        raise Problem("payload_too_large",
                      f"待检查文本共 {size} 字符，超过每次 {limit} 字符的上限，请分段提交 / "
                      f"{size} characters to check, more than the limit of {limit} per request; "
                      "split the text and send the parts separately", max_chars=limit)
    if rt.throttle is not None:
        wait = await rt.throttle.hit(f"compliance:addr:{client_address(request)}",
                                     limit=settings.compliance_checks_per_address,
                                     window=settings.compliance_check_window_seconds)
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            raise Problem("rate_limited",
                          f"检查过于频繁，请 {seconds} 秒后再试 / too many checks from this "
                          f"address; try again in {seconds} s", retry_after=wait)
    return await run_in_threadpool(service.check_request, body.model_dump(exclude_unset=True))
