from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from livepledge.catalog import service
from livepledge.catalog.schemas import ProductCreate, ProductUpdate, SkuUpdate
from livepledge.deps import PrincipalDep, RuntimeDep
from livepledge.infra.db import row_dict

router = APIRouter(prefix="/api/v1", tags=["catalog"])


@router.post("/shops/{shop_id}/products", status_code=201)
async def create_product(shop_id: int, body: ProductCreate, principal: PrincipalDep,
                         rt: RuntimeDep) -> dict[str, Any]:
    product_id = await service.create_product(
        rt.db, principal, shop_id, title=body.title, description=body.description,
        category=body.category,
        new_skus=[service.NewSku(s.name, s.price, s.stock) for s in body.skus], now=rt.now())
    async with rt.db.read() as conn:
        return await service.product_view(conn, product_id)


@router.get("/shops/{shop_id}/products")
async def list_products(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                        include_archived: bool = False) -> list[dict[str, Any]]:
    return await service.list_products(rt.db, principal, shop_id,
                                       include_archived=include_archived)


@router.get("/products/{product_id}")
async def get_product(product_id: int, rt: RuntimeDep) -> dict[str, Any]:
    async with rt.db.read() as conn:
        return await service.product_view(conn, product_id)


@router.patch("/products/{product_id}")
async def update_product(product_id: int, body: ProductUpdate, principal: PrincipalDep,
                         rt: RuntimeDep) -> dict[str, Any]:
    await service.update_product(rt.db, principal, product_id,
                                 changes=body.model_dump(exclude_none=True), now=rt.now())
    async with rt.db.read() as conn:
        return await service.product_view(conn, product_id)


@router.post("/products/{product_id}/archive")
async def archive_product(product_id: int, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, Any]:
    await service.archive_product(rt.db, principal, product_id, now=rt.now())
    async with rt.db.read() as conn:
        return await service.product_view(conn, product_id)


@router.post("/products/{product_id}/publish")
async def publish_product(product_id: int, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, Any]:
    await service.publish_product(rt.db, principal, product_id, now=rt.now())
    async with rt.db.read() as conn:
        return await service.product_view(conn, product_id)


@router.patch("/skus/{sku_id}")
async def update_sku(sku_id: int, body: SkuUpdate, principal: PrincipalDep,
                     rt: RuntimeDep) -> dict[str, Any]:
    await service.update_sku(rt.db, principal, sku_id, price=body.price,
                             stock_delta=body.stock_delta, now=rt.now())
    async with rt.db.read() as conn:
        return row_dict(await service.access_sku(conn, sku_id))


@router.get("/skus/{sku_id}/price-history")
async def price_history(sku_id: int, rt: RuntimeDep) -> list[dict[str, Any]]:
    return await service.price_history_of(rt.db, sku_id)
