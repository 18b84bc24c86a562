"""The integrity audit on a shop's own sessions, for the merchant console."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from livepledge.accounts.service import access_shop
from livepledge.audit import service
from livepledge.audit.report import render_html
from livepledge.deps import PrincipalDep, RuntimeDep
from livepledge.infra.problems import Problem

router = APIRouter(prefix="/api/v1/shops/{shop_id}/audit", tags=["audit"])


def _check(window_seconds: int, threshold: int, step_seconds: int = 1) -> None:
    if not 1 <= window_seconds <= 7 * 86400 or not 2 <= threshold <= 1000:
        raise Problem("validation_failed", "window_seconds 须为 1–604800，threshold 须为 2–1000 / "
                      "window_seconds must be 1-604800 and threshold 2-1000")
    if not 0 <= step_seconds <= 86400:
        raise Problem("validation_failed", "step_seconds 须为 0–86400（0 = 任意起点）/ "
                      "step_seconds must be 0-86400 (0 = windows start anywhere)")


# The ranges `_check` enforces, declared so the OpenAPI document states them.
Window = Annotated[int, Query(ge=1, le=7 * 86400, description="brushing window, seconds")]
Threshold = Annotated[int, Query(ge=2, le=1000, description="orders in a window that flag it")]
Step = Annotated[int, Query(ge=0, le=86400, description="window start step, seconds; 0 = any")]


@router.get("")
async def audit_json(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                     window_seconds: Window = 3600, threshold: Threshold = 3,
                     step_seconds: Step = 1) -> dict[str, Any]:
    """Brushing, gross vs net sales and refunds, and viewer analyses of the shop's own data."""
    access_shop(principal, shop_id)
    _check(window_seconds, threshold, step_seconds)
    return await service.shop_report(rt.db, shop_id, window_seconds=window_seconds,
                                     threshold=threshold, step_seconds=step_seconds)


@router.get("/report.html", response_class=HTMLResponse)
async def audit_html(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                     window_seconds: Window = 3600, threshold: Threshold = 3,
                     step_seconds: Step = 1) -> HTMLResponse:
    """The same report as one self-contained HTML page (charts inline, no network needed)."""
    access_shop(principal, shop_id)
    _check(window_seconds, threshold, step_seconds)
    data = await service.shop_report(rt.db, shop_id, window_seconds=window_seconds,
                                     threshold=threshold, step_seconds=step_seconds)
    if data.get("empty"):
        return HTMLResponse("<!DOCTYPE html><meta charset=utf-8><p>暂无订单 / no orders yet</p>")
    return HTMLResponse(render_html(data))
