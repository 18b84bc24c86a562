from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query

from livepledge.deps import PrincipalDep, RuntimeDep
from livepledge.openapi import errors
from livepledge.webhooks import service
from livepledge.webhooks.schemas import EndpointCreate, EndpointUpdate

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


@router.get("/webhook-types")
async def webhook_types() -> list[dict[str, Any]]:
    """The events a webhook endpoint can subscribe to (docs/fans.md, "Webhooks")."""
    return service.catalogue()


@router.get("/shops/{shop_id}/webhooks")
async def list_endpoints(shop_id: int, principal: PrincipalDep,
                         rt: RuntimeDep) -> list[dict[str, Any]]:
    """The shop's webhook endpoints (shop staff). Secrets are not shown again, only a hint."""
    return await service.list_endpoints(rt.db, principal, shop_id)


@router.post("/shops/{shop_id}/webhooks", status_code=201)
async def create_endpoint(shop_id: int, body: EndpointCreate, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, Any]:
    """Register an endpoint. The answer holds its signing secret (`whsec_…`), shown this once.
    URLs that are not http(s), carry credentials or reach internal addresses are refused."""
    return await service.create_endpoint(
        rt.db, principal, shop_id, url=body.url, event_types=body.event_types,
        description=body.description, enabled=body.enabled,
        policy=service.url_policy(rt.settings), now=rt.now())


@router.get("/webhooks/{endpoint_id}")
async def get_endpoint(endpoint_id: int, principal: PrincipalDep,
                       rt: RuntimeDep) -> dict[str, Any]:
    """One endpoint (its shop's staff; 404 for anyone else)."""
    return await service.get_endpoint(rt.db, principal, endpoint_id)


@router.patch("/webhooks/{endpoint_id}")
async def update_endpoint(endpoint_id: int, body: EndpointUpdate, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, Any]:
    """Change the URL, event types or description; `enabled: false` disables it (no new
    deliveries; pending ones wait, and expire after their 24 h)."""
    return await service.update_endpoint(
        rt.db, principal, endpoint_id, body.model_dump(exclude_unset=True),
        policy=service.url_policy(rt.settings), now=rt.now())


@router.post("/webhooks/{endpoint_id}/secret")
async def rotate_secret(endpoint_id: int, principal: PrincipalDep,
                        rt: RuntimeDep) -> dict[str, Any]:
    """A new signing secret, shown this once; the previous one also signs for 24 h."""
    return await service.rotate_secret(rt.db, principal, endpoint_id, now=rt.now())


@router.get("/webhooks/{endpoint_id}/deliveries")
async def deliveries(endpoint_id: int, principal: PrincipalDep, rt: RuntimeDep,
                     limit: int = Query(default=20, ge=1, le=100),
                     before: int | None = Query(default=None, ge=1, le=2**63 - 1),
                     status: Literal["pending", "delivered", "expired"] | None = None,
                     ) -> dict[str, Any]:
    """The endpoint's deliveries, newest first, each with its payload and attempts (status
    code or error, duration, the first bytes of the answer). Page with `before=next_before`."""
    return await service.delivery_log(rt.db, principal, endpoint_id, limit=limit,
                                      before=before, status=status)


@router.post("/webhook-deliveries/{delivery_id}/replay", status_code=201,
             responses=errors(409))
async def replay(delivery_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """Send a delivery again: a new delivery with the same body and `webhook-id` (receivers
    that dedupe by it see the same message), its own attempts and 24 h."""
    return await service.replay(rt.db, principal, delivery_id, now=rt.now())
