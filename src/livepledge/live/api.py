from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from livepledge.deps import OptionalPrincipalDep, PrincipalDep, RuntimeDep, principal_for
from livepledge.infra.problems import Problem
from livepledge.live import chat, oversight, service
from livepledge.live.room import CLOSE, Client, DirectClient, Room
from livepledge.live.schemas import (
    ChatRequest,
    CorrectionRequest,
    LineupCreate,
    LineupUpdate,
    ModerationRequest,
    MuteRequest,
    PinRequest,
    ScriptRequest,
    SessionCreate,
    SlowModeRequest,
    TranscriptRequest,
)
from livepledge.live.wsserver import EXTENSION
from livepledge.openapi import errors

log = logging.getLogger("livepledge.live.api")
router = APIRouter(tags=["live"])
API = "/api/v1"


@router.post(API + "/shops/{shop_id}/sessions", status_code=201)
async def schedule(shop_id: int, body: SessionCreate, principal: PrincipalDep,
                   rt: RuntimeDep) -> dict[str, Any]:
    session_id = await service.schedule_session(
        rt.db, principal, shop_id, title=body.title, anchor_id=body.anchor_id,
        scheduled_at=body.scheduled_at, playback_url=body.playback_url, now=rt.now())
    return await _view(rt, session_id)


@router.get(API + "/shops/{shop_id}/sessions")
async def list_sessions(shop_id: int, rt: RuntimeDep) -> list[dict[str, Any]]:
    return await service.list_sessions(rt.db, shop_id)


@router.get(API + "/sessions/{session_id}")
async def get_session(session_id: int, rt: RuntimeDep) -> dict[str, Any]:
    return await _view(rt, session_id)


async def _view(rt: RuntimeDep, session_id: int) -> dict[str, Any]:
    async with rt.db.read() as conn:
        return await service.session_view(conn, session_id, rt.now())


@router.post(API + "/sessions/{session_id}/lineup", status_code=201, responses=errors(409))
async def add_item(session_id: int, body: LineupCreate, principal: PrincipalDep,
                   rt: RuntimeDep) -> dict[str, Any]:
    item_id = await service.add_lineup_item(
        rt.db, rt.notifier, principal, session_id, sku_id=body.sku_id,
        live_price=body.live_price, stock_allocated=body.stock_allocated,
        per_buyer_limit=body.per_buyer_limit, sale_starts_at=body.sale_starts_at,
        sale_ends_at=body.sale_ends_at, now=rt.now())
    view = await _view(rt, session_id)
    return next(i for i in view["lineup"] if i["id"] == item_id)


@router.patch(API + "/sessions/{session_id}/lineup/{item_id}", responses=errors(409))
async def update_item(session_id: int, item_id: int, body: LineupUpdate,
                      principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    await service.update_lineup_item(rt.db, rt.notifier, principal, session_id, item_id,
                                     live_price=body.live_price, sale_ends_at=body.sale_ends_at,
                                     now=rt.now())
    rt.facts.invalidate([item_id])
    view = await _view(rt, session_id)
    return next(i for i in view["lineup"] if i["id"] == item_id)


@router.post(API + "/sessions/{session_id}/start", responses=errors(409))
async def start(session_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    await service.start_session(rt.db, rt.notifier, principal, session_id, rt.now(),
                                min_deposit=rt.settings.min_deposit_fen)
    return await _view(rt, session_id)


@router.post(API + "/sessions/{session_id}/end", responses=errors(409))
async def end(session_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    await service.end_session(rt.db, rt.notifier, principal, session_id, rt.now())
    return await _view(rt, session_id)


@router.post(API + "/sessions/{session_id}/pin", responses=errors(409))
async def pin(session_id: int, body: PinRequest, principal: PrincipalDep,
              rt: RuntimeDep) -> dict[str, Any]:
    await service.pin_item(rt.db, rt.notifier, principal, session_id, body.item_id, rt.now())
    return await _view(rt, session_id)


@router.post(API + "/sessions/{session_id}/unpin", responses=errors(409))
async def unpin(session_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    await service.pin_item(rt.db, rt.notifier, principal, session_id, None, rt.now())
    return await _view(rt, session_id)


@router.post(API + "/sessions/{session_id}/chat", status_code=201, responses=errors(409, 429))
async def post_chat(session_id: int, body: ChatRequest, principal: PrincipalDep,
                    rt: RuntimeDep) -> dict[str, Any]:
    return await chat.post_chat(rt.chat, principal, session_id, body.text, rt.now())


@router.get(API + "/sessions/{session_id}/chat")
async def list_chat(session_id: int, rt: RuntimeDep) -> list[dict[str, Any]]:
    async with rt.db.read() as conn:
        await service.access_session(conn, session_id)
    return await chat.recent_chat(rt.db, session_id, limit=100)


@router.post(API + "/sessions/{session_id}/chat/{chat_id}/remove")
async def remove_chat(session_id: int, chat_id: int, body: ModerationRequest,
                      principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    await chat.remove_chat(rt.db, rt.notifier, principal, session_id, chat_id,
                           reason=body.reason, now=rt.now())
    return {"id": chat_id, "status": "removed"}


@router.post(API + "/sessions/{session_id}/mutes")
async def mute(session_id: int, body: MuteRequest, principal: PrincipalDep,
               rt: RuntimeDep) -> dict[str, Any]:
    await chat.set_mute(rt.db, principal, session_id, body.user_id, muted=body.muted,
                        now=rt.now())
    return {"user_id": body.user_id, "muted": body.muted}


@router.post(API + "/sessions/{session_id}/slow-mode")
async def slow_mode(session_id: int, body: SlowModeRequest, principal: PrincipalDep,
                    rt: RuntimeDep) -> dict[str, Any]:
    await chat.set_slow_mode(rt.db, principal, session_id, body.seconds, rt.now())
    return {"slow_mode_seconds": body.seconds}


@router.get(API + "/sessions/{session_id}/viewers")
async def viewers(session_id: int, rt: RuntimeDep, _p: OptionalPrincipalDep) -> dict[str, int]:
    async with rt.db.read() as conn:
        await service.access_session(conn, session_id)  # an unknown session is 404, not 0
    return {"viewers": await rt.presence.count(session_id)}


@router.post(API + "/sessions/{session_id}/scripts", status_code=201)
async def check_script(session_id: int, body: ScriptRequest, principal: PrincipalDep,
                       rt: RuntimeDep) -> dict[str, Any]:
    """Pre-live review: check the anchor's script (话术脚本); kept on record. A session whose
    latest script has violations cannot go live until a fixed script passes."""
    return await oversight.submit_script(rt.db, principal, session_id, body.text, now=rt.now())


@router.post(API + "/sessions/{session_id}/transcript", status_code=201,
             responses=errors(409))
async def push_transcript(session_id: int, body: TranscriptRequest, principal: PrincipalDep,
                          rt: RuntimeDep) -> dict[str, Any]:
    """A live transcript segment from any speech-to-text system; findings alert the console."""
    return await oversight.push_transcript(rt.db, rt.notifier, principal, session_id, body.text,
                                           spoken_at=body.spoken_at, source=body.source,
                                           now=rt.now())


@router.post(API + "/sessions/{session_id}/corrections", status_code=201)
async def record_correction(session_id: int, body: CorrectionRequest, principal: PrincipalDep,
                            rt: RuntimeDep) -> dict[str, Any]:
    """Record a correction made on air (更正记录)."""
    return await oversight.record_correction(rt.db, rt.notifier, principal, session_id,
                                             text=body.text, segment_id=body.segment_id,
                                             now=rt.now())


@router.get(API + "/sessions/{session_id}/oversight")
async def oversight_log(session_id: int, principal: PrincipalDep,
                        rt: RuntimeDep) -> dict[str, Any]:
    """Scripts checked, transcript segments with findings, and corrections, in order."""
    return await oversight.oversight_log(rt.db, principal, session_id)


# --- WebSocket: the live room ---------------------------------------------------------------

async def _snapshot(rt: RuntimeDep, room: Room) -> dict[str, Any]:
    """From the room's memory: no database query per join (live/room.py)."""
    return room.snapshot(rt.now())


async def _sender(websocket: WebSocket, client: Client) -> None:
    while True:
        data = await client.queue.get()
        if data is CLOSE:
            await websocket.close(code=1013, reason="slow consumer")
            return
        await websocket.send_text(data.decode())


@router.websocket("/ws/sessions/{session_id}")
async def room_socket(websocket: WebSocket, session_id: int) -> None:
    rt = websocket.app.state.runtime
    try:
        principal = await principal_for(websocket, check_csrf=False)
        if session_id not in rt.rooms.rooms:  # an open room proves the session exists
            async with rt.db.read() as conn:
                await service.access_session(conn, session_id)
    except Problem as problem:
        await websocket.close(code=4404 if problem.status == 404 else 4401,
                              reason=problem.code)
        return
    await websocket.accept()
    device = websocket.query_params.get("device") or secrets.token_hex(8)
    viewer_key = f"u:{principal.user_id}" if principal else f"a:{device[:64]}"
    # The server's frame path (live/wsserver.py) when it offers one; ASGI sends otherwise.
    protocol = websocket.scope.get("extensions", {}).get(EXTENSION) \
        if rt.settings.room_direct_frames else None
    # Subscribe first, then snapshot: nothing announced in between is lost.
    try:
        room, client = await rt.rooms.join(session_id, viewer_key,
                                           principal.user_id if principal else None, protocol)
    except Exception as exc:  # the room could not be opened (e.g. a pool timeout)
        log.warning("room %s: a viewer could not join (%s: %s); closed with 1013",
                    session_id, type(exc).__name__, exc)
        await websocket.close(code=1013, reason="try again later")
        return
    sender: asyncio.Task[None] | None = None
    try:
        # The snapshot goes first; events that arrive while it is built wait for it.
        try:
            snapshot = await _snapshot(rt, room)
        except Exception as exc:
            log.warning("room %s: snapshot for a viewer failed (%s: %s); closed with 1013",
                        session_id, type(exc).__name__, exc)
            await websocket.close(code=1013, reason="try again later")
            return
        if isinstance(client, DirectClient):
            client.start(orjson.dumps(snapshot))
        else:
            await websocket.send_text(orjson.dumps(snapshot).decode())
            sender = asyncio.create_task(_sender(websocket, client))
        while True:
            raw = await _receive_text(websocket)
            if raw is None:
                return
            reply = await _handle(rt, room, principal, viewer_key, raw)
            if reply is not None:
                client.offer(orjson.dumps(reply), critical=True)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
        await rt.rooms.leave(room, client)


async def _receive_text(websocket: WebSocket) -> str | None:
    """The next text message; None once the socket is closed. A binary frame is not part of
    the protocol: the socket is closed with 1003 (unsupported data) and one line is logged."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        log.warning("%s: binary frame from a client; closed with 1003", websocket.url.path)
        await websocket.close(code=1003, reason="text frames only")
        return None
    return text


async def _handle(rt: RuntimeDep, room: Room, principal: Any, viewer_key: str,
                  raw: str) -> dict[str, Any] | None:
    try:
        message = orjson.loads(raw)
        if not isinstance(message, dict):
            raise ValueError
    except ValueError:
        return _error(Problem("malformed_json",
                              "消息须为 JSON 对象 / message must be a JSON object"))
    kind = message.get("type")
    try:
        if kind == "heartbeat":
            await rt.presence.beat(room.session_id, viewer_key)
            if principal is not None:
                room.heartbeats.add(principal.user_id)
            return None
        if principal is None:
            raise Problem("unauthenticated", "登录后才能互动 / log in to chat or like")
        if kind == "chat":
            result = await chat.post_chat(rt.chat, principal, room.session_id,
                                          message.get("text"), rt.now())
            return {**result, "type": "chat_held"} if result["status"] == "held" else None
        if kind == "like":
            count = message.get("count", 1)
            if not isinstance(count, int) or not 1 <= count <= chat.MAX_LIKES_PER_MESSAGE:
                raise Problem("validation_failed", "点赞数须为 1–10 / like count must be 1-10")
            if await rt.limiter.allow(f"like:{room.session_id}:{principal.user_id}", 0.1):
                return None  # likes faster than 10/s are dropped silently
            rt.rooms.like(room, principal.user_id, count)
            return None
        raise Problem("validation_failed", f"未知消息类型 / unknown message type: {kind!r}")
    except Problem as problem:
        return _error(problem)


def _error(problem: Problem) -> dict[str, Any]:
    return {"type": "error", "problem": problem.body()}


@router.websocket("/ws/shops/{shop_id}")
async def shop_socket(websocket: WebSocket, shop_id: int) -> None:
    """The merchant console's live feed: orders arriving, payments, alerts."""
    rt = websocket.app.state.runtime
    try:
        principal = await principal_for(websocket, check_csrf=False)
    except Problem:
        principal = None
    if principal is None or not principal.can_manage(shop_id):
        await websocket.close(code=4403, reason="forbidden")
        return
    await websocket.accept()
    client = Client(f"u:{principal.user_id}", principal.user_id, rt.settings.room_client_queue)
    channel = f"shop:{shop_id}"

    def forward(_channel: str, data: bytes) -> None:
        client.offer(data, critical=True)

    await rt.broker.subscribe(channel, forward)
    sender = asyncio.create_task(_sender(websocket, client))
    try:
        while await _receive_text(websocket) is not None:
            pass
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        await rt.broker.unsubscribe(channel, forward)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
