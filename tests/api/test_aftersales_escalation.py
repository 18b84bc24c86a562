"""Messages and photos through the case, escalation to the platform's operators, and the one
timeline everyone sees (tests/api/test_aftersales.py has the transitions of the first step)."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from PIL import Image

from livepledge.accounts.service import make_operator
from tests.api.aftersales_support import open_case, paid, runtime, snapshot
from tests.api.world import World, assert_problem, auth, build_world

GPS_TAG, ORIENTATION_TAG = 0x8825, 0x0112


def jpeg_with_exif(colour: tuple[int, int, int] = (200, 30, 40)) -> bytes:
    picture = Image.new("RGB", (800, 600), colour)
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6
    exif[GPS_TAG] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 9.0, 0.0)}
    out = io.BytesIO()
    picture.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def noise_png(width: int = 1800, height: int = 1200) -> bytes:
    """A real PNG larger than 5 MB (noise does not compress)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "PNG")
    return out.getvalue()


async def operator(client: httpx.AsyncClient, login: str = "operator1") -> str:
    await make_operator(runtime(client).db, login=login, password="platform-judge-2026",
                        display_name="平台客服", now=datetime.now(UTC))
    made = await client.post("/api/v1/tokens", json={"login": login,
                                                     "password": "platform-judge-2026"})
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


async def message(w: World, token: str, case_id: int, text: str = "",
                  photos: list[bytes] = ()) -> httpx.Response:  # type: ignore[assignment]
    url = f"/api/v1/cases/{case_id}/messages"
    if not photos:
        return await w.client.post(url, headers=auth(token), json={"text": text})
    files = [("photos", (f"p{n}.jpg", data, "image/jpeg")) for n, data in enumerate(photos)]
    return await w.client.post(url, headers=auth(token), data={"text": text}, files=files)


def media_files(client: httpx.AsyncClient) -> list[Path]:
    return sorted(p for p in Path(runtime(client).media.root).rglob("*") if p.is_file())


async def _refused_case(w: World, token: str) -> tuple[int, int]:
    order_id = await paid(w, token, ship=True, receive=True)
    case = (await open_case(w, token, order_id, type="return_refund", reason="quality",
                            text="杯子有裂纹")).json()
    refused = await w.client.post(f"/api/v1/cases/{case['id']}/merchant",
                                  headers=auth(w.merchant),
                                  json={"action": "refuse", "text": "发货前检查过没有裂纹"})
    assert refused.json()["status"] == "refused"
    return order_id, int(case["id"])


async def test_messages_go_through_the_case_and_diversion_is_held(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    buyer = w.buyers[0]
    order_id = await paid(w, buyer, ship=True)
    case = (await open_case(w, buyer, order_id, type="refund_only", reason="not_received")).json()
    cid = case["id"]

    said = await message(w, buyer, cid, "快递显示签收，但我没收到")
    assert said.status_code == 201, said.text
    assert said.json()["message"] == {"held": False, "reason": None, "photos": []}
    before = (await app_client.get(f"/api/v1/cases/{cid}", headers=auth(buyer))).json()["record"]

    held = await message(w, w.merchant, cid, "亲，加微信私聊 wx: tea_shop_88 给你退")
    assert held.status_code == 201, held.text
    assert held.json()["message"]["held"] is True
    assert "off-platform" in held.json()["message"]["reason"]
    op = await operator(app_client)
    views = {who: (await app_client.get(f"/api/v1/cases/{cid}", headers=auth(token))).json()
             for who, token in (("buyer", buyer), ("merchant", w.merchant), ("operator", op))}
    # the other side never sees it; the sender does, and is told why; so do the operators
    assert views["buyer"]["record"] == before
    assert views["merchant"]["record"][:-1] == before
    assert views["merchant"]["record"][-1]["data"]["held"] is True
    assert views["operator"]["record"] == views["merchant"]["record"]
    # what the buyer saw before is still there, unchanged: nothing is edited or deleted
    reply = await message(w, w.merchant, cid, "已联系快递核实，请稍候")
    after = (await app_client.get(f"/api/v1/cases/{cid}", headers=auth(buyer))).json()["record"]
    assert after[:len(before)] == before and after[-1]["text"] == "已联系快递核实，请稍候"
    assert reply.json()["message"]["held"] is False

    # bad messages change nothing
    state = await snapshot(w, buyer, [order_id], [cid])
    assert_problem(await message(w, buyer, cid, ""), 422, "validation_failed")
    assert_problem(await message(w, buyer, cid, "长" * 1001), 422, "validation_failed")
    other = await build_world(app_client, buyers=1, prefix="x-")
    assert_problem(await message(w, other.merchant, cid, "你好"), 404, "not_found")
    assert_problem(await message(w, other.buyers[0], cid, "你好"), 404, "not_found")
    assert await snapshot(w, buyer, [order_id], [cid]) == state


async def test_photos_are_cleaned_stored_by_hash_and_bad_ones_store_nothing(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    buyer = w.buyers[0]
    order_id = await paid(w, buyer, ship=True, receive=True)
    cid = (await open_case(w, buyer, order_id, type="return_refund", reason="quality")).json()["id"]
    photo = jpeg_with_exif()
    sent = await message(w, buyer, cid, "裂纹见图", [photo, photo])
    assert sent.status_code == 201, sent.text
    photos = sent.json()["message"]["photos"]
    assert len(photos) == 2 and photos[0] == photos[1]  # the same picture, one file
    assert (photos[0]["width"], photos[0]["height"]) == (600, 800)  # turned upright
    stored = media_files(app_client)
    assert len(stored) == 2  # large + thumbnail, once
    for path in stored:
        with Image.open(path) as picture:
            assert picture.format == "WEBP" and dict(picture.getexif()) == {}
    served = await app_client.get(photos[0]["large"])
    assert served.status_code == 200
    assert served.content in {path.read_bytes() for path in stored}
    assert sent.json()["record"][-1]["data"]["photos"] == photos

    state = await snapshot(w, buyer, [order_id], [cid])
    refusals = [
        ([b"%PDF-1.4 not a picture"], 415, "unsupported_media_type"),
        ([jpeg_with_exif((1, 2, 3)), b"GIF89a\x01\x00\x01\x00"], 415, "unsupported_media_type"),
        ([noise_png()], 413, "payload_too_large"),
        ([jpeg_with_exif((n, 0, 0)) for n in range(7)], 422, "validation_failed"),
    ]
    for photos_sent, status, code in refusals:
        assert_problem(await message(w, buyer, cid, "更多照片", photos_sent), status, code)
    assert media_files(app_client) == stored  # nothing stored
    assert await snapshot(w, buyer, [order_id], [cid]) == state


async def test_a_refused_case_escalated_and_ruled_for_the_buyer_is_final(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    buyer = w.buyers[0]
    order_id, cid = await _refused_case(w, buyer)
    op = await operator(app_client)
    url = f"/api/v1/cases/{cid}"
    assert_problem(await app_client.get("/api/v1/operator/cases", headers=auth(buyer)), 403,
                   "forbidden")
    assert (await app_client.get("/api/v1/operator/cases", headers=auth(op))).json() == []

    escalated = await app_client.post(url + "/escalate", headers=auth(buyer),
                                      json={"text": "照片可见裂纹"})
    assert escalated.status_code == 200, escalated.text
    assert (escalated.json()["status"], escalated.json()["turn"]) == ("escalated", "operator")
    assert escalated.json()["deadline"] is not None
    queue = (await app_client.get("/api/v1/operator/cases", headers=auth(op))).json()
    assert [c["id"] for c in queue] == [cid]

    # only an operator rules, only with a reason, only on an escalated case
    state = await snapshot(w, buyer, [order_id], [cid])
    for token in (buyer, w.merchant):
        assert_problem(await app_client.post(url + "/ruling", headers=auth(token), json={
            "decision": "buyer", "text": "我说了算的"}), 403, "forbidden")
    assert_problem(await app_client.post(url + "/ruling", headers=auth(op), json={
        "decision": "buyer", "text": "好"}), 422, "validation_failed")
    assert_problem(await app_client.post(url + "/ruling", headers=auth(op), json={
        "decision": "buyer", "amount": 9901, "text": "照片可见裂纹"}), 422, "validation_failed")
    assert_problem(await app_client.post(url + "/escalate", headers=auth(buyer), json={}), 409,
                   "invalid_transition")
    assert await snapshot(w, buyer, [order_id], [cid]) == state

    ruled = await app_client.post(url + "/ruling", headers=auth(op), json={
        "decision": "buyer", "text": "照片可见裂纹，支持退款"})
    assert ruled.status_code == 200, ruled.text
    case = ruled.json()
    assert (case["status"], case["refunded"]) == ("closed", 9900)
    assert [e["kind"] for e in case["record"]] == [
        "opened", "refused", "escalated", "ruling", "refunded"]
    ruling = case["record"][3]
    assert (ruling["actor"], ruling["text"], ruling["data"]["final"]) == (
        "operator", "照片可见裂纹，支持退款", True)
    # one timeline, the same for the buyer, the shop and the operator
    views = [(await app_client.get(url, headers=auth(t))).json() for t in (buyer, w.merchant, op)]
    assert views[0] == views[1] == views[2]
    # final: no second ruling, no new case of the same kind on the order
    assert_problem(await app_client.post(url + "/ruling", headers=auth(op), json={
        "decision": "shop", "text": "改判一下试试"}), 409, "invalid_transition")
    order = (await app_client.get(f"/api/v1/orders/{order_id}", headers=auth(buyer))).json()
    assert order["refunded_total"] == 9900


async def test_a_ruling_for_the_shop_closes_the_case_and_cannot_be_reopened(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    buyer = w.buyers[0]
    order_id, cid = await _refused_case(w, buyer)
    op = await operator(app_client)
    await app_client.post(f"/api/v1/cases/{cid}/escalate", headers=auth(buyer), json={})
    ruled = (await app_client.post(f"/api/v1/cases/{cid}/ruling", headers=auth(op), json={
        "decision": "shop", "text": "照片与订单商品不符"})).json()
    assert (ruled["status"], ruled["refunded"], ruled["outcome"]) == (
        "closed", 0, "平台裁定支持商家 / the platform ruled for the shop")
    state = await snapshot(w, buyer, [order_id], [cid])
    assert_problem(await open_case(w, buyer, order_id, type="return_refund", reason="quality"),
                   409, "case_decided")
    assert await snapshot(w, buyer, [order_id], [cid]) == state


async def test_an_escalation_the_platform_lets_lapse_refunds_the_buyer(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    _, cid = await _refused_case(w, w.buyers[0])
    escalated = (await app_client.post(f"/api/v1/cases/{cid}/escalate",
                                       headers=auth(w.buyers[0]), json={})).json()
    due = datetime.fromisoformat(escalated["deadline"])
    deadlines = runtime(app_client).deadlines
    await deadlines.run_once(due - timedelta(seconds=1))
    assert (await app_client.get(f"/api/v1/cases/{cid}",
                                 headers=auth(w.buyers[0]))).json()["status"] == "escalated"
    await deadlines.run_once(due + timedelta(seconds=1))
    case = (await app_client.get(f"/api/v1/cases/{cid}", headers=auth(w.buyers[0]))).json()
    assert (case["status"], case["refunded"]) == ("closed", 9900)


def test_operator_add_from_the_command_line(tmp_path: Path) -> None:
    from tests.conftest import lp_env, run_cli

    env = lp_env(f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}")
    made = run_cli(["operator", "add", "judge.li", "--password-stdin"], env,
                   input_text="platform-judge-2026\n")
    assert "created" in made.stdout
    run_cli(["operator", "add", "judge.li"], env, input_text="")  # already there: granted
    assert run_cli(["operator", "list"], env).stdout.split("\t")[1] == "judge.li"
    assert "no longer" in run_cli(["operator", "remove", "judge.li"], env).stdout
    assert run_cli(["operator", "list"], env).stdout == ""
    refused = run_cli(["operator", "remove", "judge.li"], env, check=False)
    assert refused.returncode == 1
    weak = run_cli(["operator", "add", "judge.wang", "--password-stdin"], env,
                   input_text="short\n", check=False)
    assert weak.returncode == 2 and "password" in weak.stderr.lower()


async def test_the_operator_page_lists_escalations_with_their_record(
        app_client: httpx.AsyncClient):
    w = await build_world(app_client, buyers=1)
    _, cid = await _refused_case(w, w.buyers[0])
    op = await operator(app_client)
    await app_client.post(f"/api/v1/cases/{cid}/escalate", headers=auth(w.buyers[0]),
                          json={"text": "照片可见裂纹"})
    page = await app_client.get("/operator", headers=auth(op))
    assert page.status_code == 200, page.text
    assert f'data-case-id="{cid}"' in page.text and "照片可见裂纹" in page.text
    assert "发货前检查过没有裂纹" in page.text  # the shop's refusal, on the same record
    assert (await app_client.get("/operator", headers=auth(w.buyers[0]))).status_code == 403
