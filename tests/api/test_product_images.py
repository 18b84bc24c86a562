"""Product pictures: only real JPEG/PNG/WebP, cleaned of metadata, upright, resized, stored by
content hash; limits; and refusals that store nothing."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.api.world import assert_problem, auth, build_world, register
from tests.conftest import make_app_client

GPS_TAG = 0x8825
ORIENTATION_TAG = 0x0112


def jpeg_with_exif(width: int = 2400, height: int = 1200, rotate: int = 6) -> bytes:
    """A camera photo: EXIF with a GPS position and 'rotate 90° clockwise to view'."""
    picture = Image.new("RGB", (width, height), (200, 30, 40))
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = rotate
    exif[GPS_TAG] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 9.0, 0.0)}
    out = io.BytesIO()
    picture.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 0).save(out, format="PNG", optimize=True)
    return out.getvalue()


async def upload(client: httpx.AsyncClient, token: str, product_id: int, data: bytes,
                 name: str = "photo.jpg") -> httpx.Response:
    return await client.post(f"/api/v1/products/{product_id}/images", headers=auth(token),
                             files={"file": (name, data, "image/jpeg")})


def media_files(client: httpx.AsyncClient) -> list[Path]:
    root = client.app.state.runtime.media.root  # type: ignore[attr-defined]
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


async def product(client: httpx.AsyncClient, product_id: int) -> dict:  # type: ignore[type-arg]
    return (await client.get(f"/api/v1/products/{product_id}")).json()  # type: ignore[no-any-return]


async def test_a_photo_is_cleaned_turned_upright_resized_and_served(
        app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)

    response = await upload(app_client, world.merchant, world.product_id, jpeg_with_exif())

    assert response.status_code == 201, response.text
    image = response.json()
    assert (image["width"], image["height"]) == (1200, 2400)  # upright: EXIF said rotate
    large = await app_client.get(image["url"])
    thumb = await app_client.get(image["thumb_url"])
    assert large.headers["content-type"] == "image/webp"
    assert "immutable" in large.headers["cache-control"]
    with Image.open(io.BytesIO(large.content)) as stored:
        assert stored.format == "WEBP"
        assert stored.size == (800, 1600)  # long edge 1600
        assert dict(stored.getexif()) == {}  # no metadata: no GPS, no orientation
        assert "exif" not in stored.info
    with Image.open(io.BytesIO(thumb.content)) as small:
        assert small.size == (200, 400)
    assert (await product(app_client, world.product_id))["images"] == [image]


async def test_the_same_picture_is_stored_once(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)
    data = jpeg_with_exif(800, 600, rotate=1)
    first = (await upload(app_client, world.merchant, world.product_id, data)).json()
    second = (await upload(app_client, world.merchant, world.product_id, data)).json()
    assert first["url"] == second["url"] and first["id"] != second["id"]
    assert len(media_files(app_client)) == 2  # one large, one thumbnail


@pytest.mark.parametrize(("data", "name", "status", "words"), [
    (b"not a picture at all", "x.jpg", 415, "不是可识别的图片"),
    (b"GIF89a" + b"\x00" * 64, "x.gif", 415, "不是可识别的图片"),
    (png(8000, 6000), "bomb.png", 415, "像素过多"),
])
async def test_refused_uploads_store_nothing(app_client: httpx.AsyncClient, data: bytes,
                                             name: str, status: int, words: str):
    world = await build_world(app_client, buyers=0)
    response = await upload(app_client, world.merchant, world.product_id, data, name)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert (await product(app_client, world.product_id))["images"] == []
    assert media_files(app_client) == []


async def test_an_upload_over_the_limit_is_413_and_stores_nothing(sqlite_url: str):
    async with make_app_client(sqlite_url, upload_max_bytes=65_536) as client:
        world = await build_world(client, buyers=0)
        response = await upload(client, world.merchant, world.product_id,
                                jpeg_with_exif(3000, 3000, rotate=1) + b"\x00" * 70_000)
        assert_problem(response, 413, "payload_too_large")
        assert (await product(client, world.product_id))["images"] == []
        assert media_files(client) == []


async def test_only_the_shops_staff_upload_and_at_most_nine(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=1)
    _, stranger = await register(app_client, "other-merchant", "merchant")
    data = jpeg_with_exif(64, 64, rotate=1)
    assert_problem(await upload(app_client, world.buyers[0], world.product_id, data),
                   403, "forbidden")
    assert_problem(await upload(app_client, stranger, world.product_id, data), 403, "forbidden")
    for n in range(9):
        picture = Image.new("RGB", (64, 64), (n * 20, 0, 0))
        out = io.BytesIO()
        picture.save(out, format="PNG")
        assert (await upload(app_client, world.merchant, world.product_id,
                             out.getvalue())).status_code == 201
    tenth = await upload(app_client, world.merchant, world.product_id, data)
    assert_problem(tenth, 422, "validation_failed")
    assert len((await product(app_client, world.product_id))["images"]) == 9


async def test_reorder_and_remove(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)
    ids = []
    for shade in (10, 20, 30):
        out = io.BytesIO()
        Image.new("RGB", (32, 32), (shade, shade, shade)).save(out, format="WEBP")
        ids.append((await upload(app_client, world.merchant, world.product_id,
                                 out.getvalue(), "a.webp")).json()["id"])
    url = f"/api/v1/products/{world.product_id}/images"

    partial = await app_client.put(url + "/order", headers=auth(world.merchant),
                                   json={"image_ids": [ids[2], ids[0]]})
    assert_problem(partial, 422, "validation_failed")
    assert [i["id"] for i in (await product(app_client, world.product_id))["images"]] == ids
    reordered = await app_client.put(url + "/order", headers=auth(world.merchant),
                                     json={"image_ids": [ids[2], ids[0], ids[1]]})
    assert [i["id"] for i in reordered.json()] == [ids[2], ids[0], ids[1]]
    removed = await app_client.delete(f"{url}/{ids[0]}", headers=auth(world.merchant))
    again = await app_client.delete(f"{url}/{ids[0]}", headers=auth(world.merchant))
    assert removed.status_code == 204
    assert_problem(again, 404, "not_found")
    assert [i["id"] for i in (await product(app_client, world.product_id))["images"]] == [
        ids[2], ids[1]]


async def test_an_order_shows_the_cover_it_was_bought_with(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=1)
    cover = (await upload(app_client, world.merchant, world.product_id,
                          jpeg_with_exif(300, 300, rotate=1))).json()
    order = (await world.buy(world.buyers[0])).json()
    assert order["snapshot"]["image"] == cover["thumb_url"]


async def test_not_multipart_is_415(app_client: httpx.AsyncClient):
    world = await build_world(app_client, buyers=0)
    response = await app_client.post(f"/api/v1/products/{world.product_id}/images",
                                     headers=auth(world.merchant), content=b"raw bytes")
    assert_problem(response, 415, "unsupported_media_type")
