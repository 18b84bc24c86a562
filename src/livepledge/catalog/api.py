from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.formparsers import MultiPartException

from livepledge.catalog import service
from livepledge.catalog.schemas import ImageOrder, ProductCreate, ProductUpdate, SkuUpdate
from livepledge.deps import PrincipalDep, RuntimeDep
from livepledge.infra.db import row_dict
from livepledge.infra.problems import Problem
from livepledge.openapi import errors

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


@router.patch("/products/{product_id}", responses=errors(409))
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


@router.post("/products/{product_id}/publish", responses=errors(409))
async def publish_product(product_id: int, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, Any]:
    await service.publish_product(rt.db, principal, product_id, now=rt.now())
    async with rt.db.read() as conn:
        return await service.product_view(conn, product_id)


@router.patch("/skus/{sku_id}", responses=errors(409))
async def update_sku(sku_id: int, body: SkuUpdate, principal: PrincipalDep,
                     rt: RuntimeDep) -> dict[str, Any]:
    await service.update_sku(rt.db, principal, sku_id, price=body.price,
                             stock_delta=body.stock_delta, now=rt.now())
    async with rt.db.read() as conn:
        return row_dict(await service.access_sku(conn, sku_id))


@router.get("/skus/{sku_id}/price-history")
async def price_history(sku_id: int, rt: RuntimeDep) -> list[dict[str, Any]]:
    return await service.price_history_of(rt.db, sku_id)


# --- product images ---------------------------------------------------------------------------

@router.post("/products/{product_id}/images", status_code=201,
             responses=errors(400, 409, 413, 415),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "multipart/form-data": {"schema": {
                     "type": "object", "required": ["file"],
                     "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
async def add_image(product_id: int, request: Request, principal: PrincipalDep,
                    rt: RuntimeDep) -> dict[str, Any]:
    """Upload a picture (JPEG, PNG or WebP; up to LIVEPLEDGE_UPLOAD_MAX_BYTES, 10 MiB by
    default) as multipart field `file`. It is re-encoded without metadata (EXIF, GPS), turned
    upright, resized to 1600 px and a 400 px thumbnail, and stored by content hash."""
    data = await _upload(request)
    return await service.add_product_image(rt.db, rt.media, principal, product_id, data,
                                           now=rt.now())


@router.delete("/products/{product_id}/images/{image_id:int}", status_code=204,
               responses=errors(409))
async def remove_image(product_id: int, image_id: int, principal: PrincipalDep,
                       rt: RuntimeDep) -> Response:
    await service.remove_product_image(rt.db, principal, product_id, image_id, now=rt.now())
    return Response(status_code=204)


@router.put("/products/{product_id}/images/order", responses=errors(409))
async def order_images(product_id: int, body: ImageOrder, principal: PrincipalDep,
                       rt: RuntimeDep) -> list[dict[str, Any]]:
    """The pictures in display order; the first is the cover."""
    return await service.order_product_images(rt.db, principal, product_id, body.image_ids)


async def _upload(request: Request) -> bytes:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem("unsupported_media_type",
                      "请以 multipart/form-data 上传，字段名 file / upload as multipart/form-data "
                      "with a field named file")
    try:
        form = await request.form(max_files=1, max_fields=4)
    except (MultiPartException, ValueError) as exc:
        raise Problem("invalid_request", f"上传格式错误 / malformed upload: {exc}") from exc
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise Problem("validation_failed", "缺少文件字段 file / the field `file` is missing",
                      errors=[{"field": "file", "message": "required"}])
    data = await upload.read()
    await form.close()
    if not data:
        raise Problem("validation_failed", "文件为空 / the file is empty",
                      errors=[{"field": "file", "message": "empty"}])
    return data
