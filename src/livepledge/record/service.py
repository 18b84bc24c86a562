"""The session record's use cases: the appender (an event consumer, the single sequencer of
every session's log), signed checkpoints, public reads and proofs, evidence bundles per order,
and the self-audit.

One sequencer, no forks. Entries are appended only by the `record` consumer, which reads the
outbox in order with its checkpoint row locked (infra/consumers.py: one worker at a time) and
writes each entry, its tree nodes, the session's new head and its own checkpoint in one
transaction. Each head update is conditional on the size it read (`WHERE size = :old`), so
even a second writer that somehow ran at the same time could only fail and roll back, never
fork the log. An event maps to at most one entry per session (unique `(session_id,
event_id)`), so a replayed batch appends nothing twice.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.principal import Principal
from livepledge.infra.consumers import Event
from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.problems import Problem
from livepledge.record import merkle
from livepledge.record.canonical import canonical
from livepledge.record.entries import CONTEXT_TYPES, ENTRY_KINDS, EntryKind, entry_body
from livepledge.record.models import (
    record_alerts,
    record_checkpoints,
    record_entries,
    record_heads,
    record_nodes,
)
from livepledge.record.note import Checkpoint, Signer, TlogProof, parse_signer_key
from livepledge.record.verify import BUNDLE_KIND, CHAIN_KIND

log = logging.getLogger("livepledge.record")

MAX_PAGE = 1000  # entries per GET
MAX_BUNDLE_ENTRIES = 200
NODE_QUERY_CHUNK = 400
SPEECH_WINDOW_SECONDS = 900  # transcript, flags and corrections this long before an order
MAX_SPEECH_ENTRIES = 60


@dataclass(frozen=True)
class LogKey:
    """The deployment's log key: signs every session's checkpoints."""
    signer: Signer

    @property
    def vkey(self) -> str:
        return self.signer.verifier.vkey()

    def origin(self, session_id: int) -> str:
        return f"{self.signer.name}/session/{session_id}"


def load_log_key(path: Path, *, name: str, create: bool) -> LogKey:
    """The key in `path`; with `create` (development, demo), a new one is written there first
    if there is none. Production never generates one (settings refuse to start without it)."""
    if not path.exists():
        if not create:
            raise SystemExit(f"the session record's signing key {path} does not exist; create "
                             "one with `livepledge record-key` (docs/record.md)")
        _create_key(path, Signer.generate(name))
    return LogKey(parse_signer_key(path.read_text(encoding="ascii")))


def _create_key(path: Path, signer: Signer) -> None:
    """Write the key where none is; several workers starting at once keep the first one
    (the file appears whole or not at all: written aside, then hard-linked into place)."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, aside = tempfile.mkstemp(dir=path.parent, prefix=".record-key-")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(signer.private_key_text())
        os.link(aside, path)
        log.info("generated the session record's signing key %s (%s)", path,
                 signer.verifier.vkey())
    except FileExistsError:
        pass
    finally:
        os.unlink(aside)


# --- the appender ------------------------------------------------------------------------------

def _insert(conn: AsyncConnection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


async def _sessions_reached(conn: AsyncConnection, kind: EntryKind, event: Event) -> list[int]:
    if kind.reach == "session":
        sid = event.session_id if event.session_id is not None else \
            event.payload.get("session_id")
        return [int(sid)] if isinstance(sid, int) else []
    from livepledge.live.service import open_sessions_selling
    from livepledge.promises.service import open_sessions_of_promise

    if event.shop_id is None:
        return []
    if kind.reach == "sku" and isinstance(event.payload.get("sku_id"), int):
        return await open_sessions_selling(conn, event.shop_id, int(event.payload["sku_id"]),
                                           event.occurred_at)
    if kind.reach == "promise" and isinstance(event.payload.get("promise_id"), int):
        return await open_sessions_of_promise(conn, int(event.payload["promise_id"]),
                                              event.occurred_at)
    return []


class SessionRecorder:
    """The `record` consumer: appends each session event to its session's log."""

    name = "record"
    types = frozenset(ENTRY_KINDS)

    def __init__(self, salt: bytes) -> None:
        self.salt = salt
        # The right edge of each session's tree as of the last append, reused when the stored
        # head still has that size and root (else reloaded: a rolled-back batch, another worker).
        self._edges: dict[int, merkle.CompactRange] = {}

    async def handle(self, uow: UnitOfWork, event: Event) -> None:
        await self.handle_batch(uow, [event])

    async def handle_batch(self, uow: UnitOfWork, events: Sequence[Event]) -> None:
        """Each event's entries, grouped by session (in order), appended in bulk: one read of
        each session's head and edge, one insert of its entries and of its nodes, one move of
        its head per batch."""
        pending: dict[int, list[tuple[int, dict[str, Any], datetime]]] = {}
        for event in events:
            kind = ENTRY_KINDS[event.type]
            for session_id in await _sessions_reached(uow.conn, kind, event):
                body = entry_body(kind, event_type=event.type, event_id=event.id,
                                  session_id=session_id, occurred_at=event.occurred_at,
                                  payload=event.payload, order_id=event.order_id,
                                  salt=self.salt)
                pending.setdefault(session_id, []).append((event.id, body, event.occurred_at))
        for session_id, items in pending.items():
            await self.append_many(uow, session_id, items)

    async def append(self, uow: UnitOfWork, session_id: int, event_id: int,
                     body: dict[str, Any], now: datetime) -> int | None:
        """Append one entry; returns its index, or None if the event is already in the log."""
        added = await self.append_many(uow, session_id, [(event_id, body, now)])
        return added[0] if added else None

    async def append_many(self, uow: UnitOfWork, session_id: int,
                          items: Sequence[tuple[int, dict[str, Any], datetime]]) -> list[int]:
        """Append entries in order, skipping events already in the log; returns the indexes."""
        conn = uow.conn
        seen = set((await conn.execute(select(record_entries.c.event_id).where(
            record_entries.c.session_id == session_id,
            record_entries.c.event_id.in_([event_id for event_id, _, _ in items])))).scalars())
        fresh = [item for item in items if item[0] not in seen]
        if not fresh:
            return []
        edge = await self._edge(conn, session_id)
        first = edge.size
        rows, nodes = [], []
        for event_id, body, at in fresh:
            data = canonical(body)
            leaf = merkle.leaf_hash(data)
            index = edge.size
            nodes.extend({"session_id": session_id, "level": level, "idx": position,
                          "hash": value} for level, position, value in edge.append(leaf))
            rows.append({"session_id": session_id, "idx": index, "event_id": event_id,
                         "type": str(body["type"]),
                         "order_id": body.get("order_id") if body["type"] == "OrderPlaced"
                         else None, "body": data.decode("utf-8"), "leaf_hash": leaf,
                         "created_at": at})
        await conn.execute(insert(record_entries), rows)
        await conn.execute(insert(record_nodes), nodes)
        now = fresh[-1][2]
        if first == 0:
            await conn.execute(insert(record_heads).values(
                session_id=session_id, size=edge.size, root_hash=edge.root(),
                checkpointed_size=0, updated_at=now))
        else:
            moved = await conn.execute(update(record_heads).where(
                record_heads.c.session_id == session_id, record_heads.c.size == first)
                .values(size=edge.size, root_hash=edge.root(), updated_at=now))
            if moved.rowcount != 1:
                self._edges.pop(session_id, None)
                raise RuntimeError(f"session {session_id}'s log moved under its sequencer")
        return [row["idx"] for row in rows]

    async def _edge(self, conn: AsyncConnection, session_id: int) -> merkle.CompactRange:
        head = (await conn.execute(select(record_heads.c.size, record_heads.c.root_hash).where(
            record_heads.c.session_id == session_id))).first()
        if head is None:
            edge = merkle.CompactRange(0, [])
        else:
            cached = self._edges.get(session_id)
            if cached is not None and cached.size == head.size and \
                    cached.root() == bytes(head.root_hash):
                return cached
            nodes = merkle.CompactRange.edge(int(head.size))
            found = await _read_nodes(conn, session_id, nodes)
            edge = merkle.CompactRange(int(head.size), [found[n] for n in nodes])
        self._edges[session_id] = edge
        return edge


async def _read_nodes(conn: AsyncConnection, session_id: int,
                      nodes: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    wanted = sorted(set(nodes))
    found: dict[tuple[int, int], bytes] = {}
    for start in range(0, len(wanted), NODE_QUERY_CHUNK):
        by_level: dict[int, list[int]] = {}
        for level, index in wanted[start:start + NODE_QUERY_CHUNK]:
            by_level.setdefault(level, []).append(index)
        # one primary-key seek per (level, idx): SQLite plans a row-value IN list, or an OR of
        # levels, as a scan of the session's every node (200 ms in a million-entry log); a
        # UNION ALL of one select per level it plans as seeks
        rows = await conn.execute(union_all(*(
            select(record_nodes.c.level, record_nodes.c.idx, record_nodes.c.hash).where(
                record_nodes.c.session_id == session_id, record_nodes.c.level == level,
                record_nodes.c.idx.in_(indexes))
            for level, indexes in by_level.items())))
        found.update({(int(r.level), int(r.idx)): bytes(r.hash) for r in rows})
    if len(found) != len(wanted):
        raise RuntimeError(f"session {session_id}'s log is missing tree nodes")
    return found


# --- checkpoints -------------------------------------------------------------------------------

async def sign_checkpoints(db: Database, key: LogKey, now: datetime) -> int:
    """Sign a checkpoint for every session whose log grew since its last one. Several workers
    may run this at once: heads held by another are skipped, and a checkpoint is unique per
    (session, size) (Ed25519 signatures are deterministic: a repeat would be identical)."""
    async with db.write() as uow:
        conn = uow.conn
        query = select(record_heads).where(
            record_heads.c.size > record_heads.c.checkpointed_size).order_by(
            record_heads.c.session_id).limit(500)
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        heads = (await conn.execute(query)).all()
        for head in heads:
            checkpoint = Checkpoint(key.origin(int(head.session_id)), int(head.size),
                                    bytes(head.root_hash))
            await conn.execute(_insert(conn)(record_checkpoints).values(
                session_id=head.session_id, size=head.size, root_hash=head.root_hash,
                note=key.signer.sign(checkpoint.text()), created_at=now)
                .on_conflict_do_nothing(index_elements=["session_id", "size"]))
            await conn.execute(update(record_heads).where(
                record_heads.c.session_id == head.session_id).values(
                checkpointed_size=head.size))
        return len(heads)


# --- public reads ------------------------------------------------------------------------------

async def _head(conn: AsyncConnection, session_id: int) -> Any:
    head = (await conn.execute(select(record_heads).where(
        record_heads.c.session_id == session_id))).first()
    if head is None:
        raise Problem("not_found", f"场次 {session_id} 没有记录 / session {session_id} has no "
                                   "record")
    return head


async def latest_checkpoint(db: Database, session_id: int) -> str:
    async with db.read() as conn:
        row = (await conn.execute(select(record_checkpoints.c.note).where(
            record_checkpoints.c.session_id == session_id)
            .order_by(record_checkpoints.c.size.desc()).limit(1))).first()
        if row is None:
            raise Problem("not_found", f"场次 {session_id} 尚无签名检查点 / session "
                                       f"{session_id} has no signed checkpoint yet")
        return str(row.note)


async def checkpoint_at(conn: AsyncConnection, session_id: int, size: int) -> str | None:
    return (await conn.execute(select(record_checkpoints.c.note).where(
        record_checkpoints.c.session_id == session_id,
        record_checkpoints.c.size == size))).scalar_one_or_none()


def _bad(detail: str) -> Problem:
    return Problem("invalid_request", detail)


async def list_entries(db: Database, session_id: int, start: int,
                       end: int | None) -> dict[str, Any]:
    """Entries [start, end) of a session's log (at most MAX_PAGE), with their leaf hashes."""
    async with db.read() as conn:
        head = await _head(conn, session_id)
        size = int(head.size)
        end = min(size, start + MAX_PAGE) if end is None else end
        if start < 0 or end < start:
            raise _bad(f"范围无效 / bad range: start {start}, end {end}")
        if end > size:
            raise _bad(f"超出日志长度 / end {end} is beyond the log's size {size}")
        if end - start > MAX_PAGE:
            raise _bad(f"每页至多 {MAX_PAGE} 条 / at most {MAX_PAGE} entries per page")
        rows = await conn.execute(select(record_entries.c.idx, record_entries.c.body,
                                         record_entries.c.leaf_hash).where(
            record_entries.c.session_id == session_id, record_entries.c.idx >= start,
            record_entries.c.idx < end).order_by(record_entries.c.idx))
        return {"session_id": session_id, "tree_size": size, "start": start, "end": end,
                "entries": [{"index": int(r.idx), "entry": r.body,
                             "leaf_hash": bytes(r.leaf_hash).hex()} for r in rows]}


async def _proof(conn: AsyncConnection, session_id: int,
                 ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    found = await _read_nodes(conn, session_id, merkle.nodes_for(ranges))
    return merkle.proof_from_nodes(ranges, lambda level, index: found[(level, index)])


async def inclusion(db: Database, session_id: int, index: int, size: int) -> dict[str, Any]:
    async with db.read() as conn:
        head = await _head(conn, session_id)
        if not 0 <= index < size:
            raise _bad(f"序号须小于树大小 / index {index} must be in [0, {size})")
        if size > head.size:
            raise _bad(f"树大小超出日志 / size {size} is beyond the log's size {head.size}")
        proof = await _proof(conn, session_id, merkle.inclusion_ranges(index, size))
        leaf = (await conn.execute(select(record_entries.c.leaf_hash).where(
            record_entries.c.session_id == session_id,
            record_entries.c.idx == index))).scalar_one()
        note = await checkpoint_at(conn, session_id, size)
        view: dict[str, Any] = {"session_id": session_id, "index": index, "tree_size": size,
                                "leaf_hash": bytes(leaf).hex(),
                                "proof": [merkle_b64(h) for h in proof], "checkpoint": note}
        if note is not None:
            view["tlog_proof"] = TlogProof(index, proof, note).text()
        return view


async def consistency(db: Database, session_id: int, first: int, second: int) -> dict[str, Any]:
    async with db.read() as conn:
        head = await _head(conn, session_id)
        if not 0 <= first <= second:
            raise _bad(f"须 0 ≤ first ≤ second / need 0 ≤ first ≤ second: {first}, {second}")
        if second > head.size:
            raise _bad(f"树大小超出日志 / size {second} is beyond the log's size {head.size}")
        proof = await _proof(conn, session_id, merkle.consistency_ranges(first, second))
        return {"session_id": session_id, "first": first, "second": second,
                "proof": [merkle_b64(h) for h in proof]}


async def checkpoint_chain(db: Database, key: LogKey, session_id: int) -> dict[str, Any]:
    """Every signed checkpoint of a session with the consistency proof between each pair:
    the file `livepledge verify` checks offline."""
    async with db.read() as conn:
        await _head(conn, session_id)
        rows = (await conn.execute(select(record_checkpoints.c.size, record_checkpoints.c.note)
                                   .where(record_checkpoints.c.session_id == session_id)
                                   .order_by(record_checkpoints.c.size))).all()
        proofs = []
        for older, newer in itertools.pairwise(rows):
            ranges = merkle.consistency_ranges(int(older.size), int(newer.size))
            proofs.append([merkle_b64(h) for h in await _proof(conn, session_id, ranges)])
        return {"kind": CHAIN_KIND, "log_key": key.vkey, "origin": key.origin(session_id),
                "checkpoints": [r.note for r in rows], "consistency": proofs}


def merkle_b64(value: bytes) -> str:
    import base64

    return base64.b64encode(value).decode("ascii")


# --- evidence bundles --------------------------------------------------------------------------

async def evidence_bundle(db: Database, key: LogKey, principal: Principal,
                          order_id: int) -> dict[str, Any]:
    """The order's entry and the entries in force when it was placed, each with an inclusion
    proof against one signed checkpoint (docs/record.md, "Evidence bundle")."""
    from livepledge.orders.service import access_order

    async with db.read() as conn:
        order = await access_order(conn, principal, order_id)
        placed = (await conn.execute(select(record_entries).where(
            record_entries.c.order_id == order_id,
            record_entries.c.type == "OrderPlaced"))).first()
        pending = Problem("record_pending", "订单尚未写入场次记录，请稍后再试 / the order is not "
                                            "in a signed session record yet; try again shortly")
        if placed is None:
            raise pending
        session_id, index = int(placed.session_id), int(placed.idx)
        head = (await conn.execute(select(record_checkpoints.c.size, record_checkpoints.c.note)
                                   .where(record_checkpoints.c.session_id == session_id,
                                          record_checkpoints.c.size > index)
                                   .order_by(record_checkpoints.c.size.desc()).limit(1))).first()
        if head is None:
            raise pending
        return await bundle_of(conn, key, placed, int(head.size), str(head.note),
                               sku_id=int(order.sku_id))


async def bundle_of(conn: AsyncConnection, key: LogKey, placed: Any, size: int, note: str, *,
                    sku_id: int) -> dict[str, Any]:
    """The bundle of one `OrderPlaced` entry, proven against the checkpoint (size, note)."""
    session_id = int(placed.session_id)
    chosen = [*await _context(conn, session_id, placed, sku_id), ("order", placed)]
    ranges = {int(row.idx): merkle.inclusion_ranges(int(row.idx), size) for _, row in chosen}
    found = await _read_nodes(conn, session_id,
                              merkle.nodes_for(r for rs in ranges.values() for r in rs))
    entries = []
    for role, row in chosen:
        path = merkle.proof_from_nodes(ranges[int(row.idx)], lambda lv, i: found[(lv, i)])
        entries.append({"role": role, "index": int(row.idx), "entry": row.body,
                        "proof": TlogProof(int(row.idx), path, note).text()})
    return {"kind": BUNDLE_KIND, "log_key": key.vkey, "origin": key.origin(session_id),
            "order_id": placed.order_id, "session_id": session_id, "checkpoint": note,
            "entries": entries}


# SQLite, without statistics, prefers the (session_id, idx) key for `idx < n ORDER BY idx` and
# reads the whole session; `idx + 0` (not an indexed column) leaves it the (session_id, type,
# idx) index, which reads only the few entries of the types asked for
_unindexed_idx = record_entries.c.idx + 0


async def _context(conn: AsyncConnection, session_id: int, placed: Any,
                   sku_id: int) -> list[tuple[str, Any]]:
    """What was in force when the order was placed: the session's start, the item's lineup
    entries (price, stock, window), the pin in force, the SKU's list-price changes, every
    promise declared, revised or withdrawn, transcript flags and on-air corrections shortly
    before. Most recent MAX_BUNDLE_ENTRIES."""
    import json

    speech_types = ("SpeechTranscribed", "SpeechFlagged", "CorrectionRecorded")
    rows = (await conn.execute(select(record_entries).where(
        record_entries.c.session_id == session_id, _unindexed_idx < placed.idx,
        record_entries.c.type.in_(CONTEXT_TYPES - set(speech_types)))
        .order_by(_unindexed_idx))).all()
    since = placed.created_at - timedelta(seconds=SPEECH_WINDOW_SECONDS)
    speech = (await conn.execute(select(record_entries).where(
        record_entries.c.session_id == session_id, _unindexed_idx < placed.idx,
        record_entries.c.type.in_(speech_types), record_entries.c.created_at >= since)
        .order_by(_unindexed_idx.desc()).limit(MAX_SPEECH_ENTRIES))).all()
    item_id = json.loads(placed.body).get("item_id")
    chosen: list[tuple[str, Any]] = []
    pin: Any = None
    for row in rows:
        kind = row.type
        if kind in ("ItemPinned", "ItemUnpinned"):
            pin = row
        elif kind == "SessionStarted":
            chosen.append(("session", row))
        elif kind.startswith("Promise"):
            chosen.append(("promise", row))
        elif kind in ("LineupItemAdded", "LineupItemChanged", "SaleOpened"):
            if json.loads(row.body).get("item_id") == item_id:
                chosen.append(("lineup", row))
        elif kind == "PriceChanged" and json.loads(row.body).get("sku_id") == sku_id:
            chosen.append(("price", row))
    if pin is not None:
        chosen.append(("pin", pin))
    chosen.sort(key=lambda pair: int(pair[1].idx))
    chosen = chosen[-MAX_BUNDLE_ENTRIES:] + [("speech", row) for row in speech]
    return sorted(chosen, key=lambda pair: int(pair[1].idx))


# --- self-audit --------------------------------------------------------------------------------

async def audit(db: Database, key: LogKey, now: datetime, *,
                page: int = 5000) -> list[dict[str, Any]]:
    """Recompute every session's tree from its stored entries and compare with every signed
    checkpoint and the stored leaf hashes; each discrepancy is logged and recorded as an alert
    (a stored entry was changed, removed or reordered after it was signed)."""
    alerts: list[dict[str, Any]] = []
    async with db.read() as conn:
        sessions = [int(s) for s in (await conn.execute(
            select(record_heads.c.session_id).order_by(record_heads.c.session_id))).scalars()]
    for session_id in sessions:
        async with db.read() as conn:
            problems = await _audit_session(conn, key, session_id, page)
        for kind, detail in problems:
            log.error("session record self-audit: session %s: %s", session_id, detail)
            alerts.append({"session_id": session_id, "kind": kind, "detail": detail})
    if alerts:
        async with db.write() as uow:
            await uow.conn.execute(insert(record_alerts), [
                {**a, "detected_at": now} for a in alerts])
    return alerts


async def _audit_session(conn: AsyncConnection, key: LogKey, session_id: int,
                         page: int) -> list[tuple[str, str]]:
    from livepledge.record.note import NoteError
    from livepledge.record.verify import verify_checkpoint

    checkpoints = (await conn.execute(select(record_checkpoints).where(
        record_checkpoints.c.session_id == session_id)
        .order_by(record_checkpoints.c.size))).all()
    signed = {int(c.size): bytes(c.root_hash) for c in checkpoints}
    problems: list[tuple[str, str]] = []
    for c in checkpoints:
        try:
            verify_checkpoint(c.note, key.signer.verifier, origin=key.origin(session_id))
        except NoteError as error:
            problems.append(("checkpoint_invalid", f"checkpoint at size {c.size}: {error}"))
    edge = merkle.CompactRange(0, [])
    last = -1
    while rows := (await conn.execute(select(
            record_entries.c.idx, record_entries.c.body, record_entries.c.leaf_hash).where(
            record_entries.c.session_id == session_id, record_entries.c.idx > last)
            .order_by(record_entries.c.idx).limit(page))).all():
        for row in rows:
            if int(row.idx) != edge.size:
                problems.append(("entry_missing", f"entry {edge.size} is missing"))
            leaf = merkle.leaf_hash(row.body.encode("utf-8"))
            if leaf != bytes(row.leaf_hash):
                problems.append(("entry_changed",
                                 f"entry {row.idx} does not match its stored leaf hash"))
            edge.append(leaf)
            if signed.get(edge.size, edge.root()) != edge.root():
                problems.append(("root_mismatch", f"the entries no longer hash to the root "
                                                  f"signed at size {edge.size}"))
        last = int(rows[-1].idx)
    if checkpoints and int(checkpoints[-1].size) > edge.size:
        problems.append(("entries_removed",
                         f"{int(checkpoints[-1].size) - edge.size} signed entries are gone"))
    return problems


async def alert_count(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(record_alerts)))
                   .scalar_one())
