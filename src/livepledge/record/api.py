"""The session record's public routes (no login): the latest signed checkpoint, every signed
checkpoint with consistency proofs, entries by index range, inclusion and consistency proofs,
the log key; and the evidence bundle of an order (its buyer and the shop's staff)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from livepledge.deps import PrincipalDep, Runtime, RuntimeDep
from livepledge.openapi import errors
from livepledge.record import service

API = "/api/v1"
router = APIRouter(tags=["session record (public)"])
TEXT = {200: {"content": {"text/plain": {"schema": {"type": "string"}}}}}
Index = Annotated[int, Query(ge=0, le=2**53)]


def _key(rt: Runtime) -> service.LogKey:
    assert rt.log_key is not None
    return rt.log_key


@router.get("/.well-known/livepledge/log-key", response_class=PlainTextResponse,
            responses=TEXT)
async def log_key(rt: RuntimeDep) -> PlainTextResponse:
    """The deployment's log verifier key (C2SP signed-note vkey: name+keyid+base64(0x01‖key)):
    every session log's checkpoints are signed with it."""
    return PlainTextResponse(_key(rt).vkey + "\n")


@router.get(API + "/sessions/{session_id}/record/checkpoint", response_class=PlainTextResponse,
            responses=TEXT)
async def latest_checkpoint(session_id: int, rt: RuntimeDep) -> PlainTextResponse:
    """The session log's latest signed checkpoint (C2SP tlog-checkpoint in a signed note:
    origin, tree size, base64 root hash; a blank line; the signature line)."""
    return PlainTextResponse(await service.latest_checkpoint(rt.db, session_id))


@router.get(API + "/sessions/{session_id}/record/checkpoints")
async def checkpoint_chain(session_id: int, rt: RuntimeDep) -> dict[str, Any]:
    """Every signed checkpoint of the session log, oldest first, with a consistency proof
    between each pair (`livepledge verify` checks the saved file offline)."""
    return await service.checkpoint_chain(rt.db, _key(rt), session_id)


@router.get(API + "/sessions/{session_id}/record/entries", responses=errors(400))
async def entries(session_id: int, rt: RuntimeDep, start: Index = 0,
                  end: Index | None = None) -> dict[str, Any]:
    """Entries [start, end) of the session log (canonical JSON text and leaf hash), at most
    1000 per page; `end` defaults to a full page."""
    return await service.list_entries(rt.db, session_id, start, end)


@router.get(API + "/sessions/{session_id}/record/proof/inclusion", responses=errors(400))
async def inclusion_proof(session_id: int, rt: RuntimeDep, index: Index,
                          size: Index) -> dict[str, Any]:
    """The RFC 6962 inclusion proof of entry `index` in the tree of `size` entries; with the
    checkpoint signed at that size and a C2SP tlog-proof, when there is one."""
    return await service.inclusion(rt.db, session_id, index, size)


@router.get(API + "/sessions/{session_id}/record/proof/consistency", responses=errors(400))
async def consistency_proof(session_id: int, rt: RuntimeDep, first: Index,
                            second: Index) -> dict[str, Any]:
    """The RFC 6962 consistency proof that the tree of `first` entries is a prefix of the tree
    of `second` entries."""
    return await service.consistency(rt.db, session_id, first, second)


@router.get(API + "/orders/{order_id}/evidence", responses=errors(409))
async def evidence(order_id: int, principal: PrincipalDep, rt: RuntimeDep) -> Response:
    """The order's evidence bundle (livepledge-evidence/v1, docs/record.md): its session-log
    entry and the entries in force when it was placed, each with a C2SP tlog proof against one
    signed checkpoint. For the buyer and the shop's staff; 409 until the order is in a signed
    checkpoint (seconds after it was placed)."""
    import orjson

    bundle = await service.evidence_bundle(rt.db, _key(rt), principal, order_id)
    return Response(orjson.dumps(bundle, option=orjson.OPT_INDENT_2),
                    media_type="application/json", headers={
                        "Content-Disposition":
                            f'attachment; filename="order-{order_id}.evidence.json"'})
