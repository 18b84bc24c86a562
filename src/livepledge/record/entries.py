"""Which domain events become session-record entries, and what each entry says.

Pure: the table below is the whole mapping; adding an event type is one line. An entry is a JSON
object, encoded canonically (RFC 8785) before hashing:

    {"v": 1, "type": <event type>, "time": <UTC, 2026-12-05T17:03:35.123456Z>,
     "session_id": <int>, "event_id": <the outbox event's id>, ...the type's fields}

No personal data: user ids become a salted hash (`<name>_hash`, HMAC-SHA256 with the
deployment's secret salt, hex), so the same buyer is recognisable within the deployment's logs
but not identifiable from them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from livepledge.record.canonical import MAX_SAFE_INTEGER

ENTRY_VERSION = 1
LOTTERY_TYPES = ("LotteryCreated", "LotteryEntered", "LotteryClosed", "LotteryDrawn")


@dataclass(frozen=True)
class EntryKind:
    # payload keys copied into the entry; None: the whole payload as it is
    fields: tuple[str, ...] | None
    # which sessions' logs get it: "session" (the event's session), "sku" (every session not
    # ended whose lineup sells the payload's sku_id), "promise" (every session not ended whose
    # lineup the promise reaches)
    reach: str = "session"
    # payload keys holding a user id, logged only as a salted hash
    hashed: tuple[str, ...] = ()


ENTRY_KINDS: dict[str, EntryKind] = {
    "SessionScheduled": EntryKind(("title", "anchor_id")),
    "SessionStarted": EntryKind(()),
    "SessionEnded": EntryKind(()),
    "LineupItemAdded": EntryKind(("item_id", "sku_id", "live_price", "stock_allocated")),
    "LineupItemChanged": EntryKind(None),
    "SaleOpened": EntryKind(("item_id", "sku_id", "live_price")),
    "ItemPinned": EntryKind(("item_id",)),
    "ItemUnpinned": EntryKind(("item_id",)),
    "PriceChanged": EntryKind(("sku_id", "price", "previous"), reach="sku"),
    "PromiseDeclared": EntryKind(("promise_id", "kind", "terms", "version", "scope"),
                                 reach="promise"),
    "PromiseRevised": EntryKind(("promise_id", "supersedes_id", "kind", "terms", "version"),
                                reach="promise"),
    "PromiseWithdrawn": EntryKind(("promise_id", "kind"), reach="promise"),
    "ScriptChecked": EntryKind(("script_check_id", "violation", "findings")),
    "SpeechTranscribed": EntryKind(("segment_id", "text", "item_id", "spoken_at")),
    "SpeechFlagged": EntryKind(("segment_id", "violation", "rules")),
    "CorrectionRecorded": EntryKind(("correction_id", "segment_id", "text")),
    "ChatRemoved": EntryKind(("chat_id", "reason"), hashed=("by",)),
    "ViewerMuted": EntryKind((), hashed=("user_id", "by")),
    "ViewerUnmuted": EntryKind((), hashed=("user_id", "by")),
    "SlowModeSet": EntryKind(("seconds",)),
    "OrderPlaced": EntryKind(("item_id", "sku_id", "unit_price", "quantity"),
                             hashed=("buyer_id",)),
    # lotteries (livepledge.lottery): the payload carries session_id and lottery_id and no
    # personal data; it is logged as it is
    **{name: EntryKind(None) for name in LOTTERY_TYPES},
}

# Entry types an order's evidence bundle gathers from before the order (what was in force).
CONTEXT_TYPES = frozenset({"SessionStarted", "LineupItemAdded", "LineupItemChanged", "SaleOpened",
                           "ItemPinned", "ItemUnpinned", "PriceChanged", "PromiseDeclared",
                           "PromiseRevised", "PromiseWithdrawn", "SpeechTranscribed",
                           "SpeechFlagged", "CorrectionRecorded"})


def salted_hash(salt: bytes, user_id: Any) -> str:
    return hmac.new(salt, f"user:{user_id}".encode(), hashlib.sha256).hexdigest()


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_body(kind: EntryKind, *, event_type: str, event_id: int, session_id: int,
               occurred_at: datetime, payload: dict[str, Any], order_id: int | None,
               salt: bytes) -> dict[str, Any]:
    """The entry for one event in one session's log (JSON-ready, canonicalisable)."""
    keys = payload.keys() if kind.fields is None else kind.fields
    body: dict[str, Any] = {k: _jsonable(payload[k]) for k in keys
                            if k in payload and k not in kind.hashed}
    for key in kind.hashed:
        if payload.get(key) is not None:
            body[f"{key.removesuffix('_id')}_hash"] = salted_hash(salt, payload[key])
    if order_id is not None:
        body["order_id"] = order_id
    body.update({"v": ENTRY_VERSION, "type": event_type, "time": format_time(occurred_at),
                 "session_id": session_id, "event_id": event_id})
    return body


def _jsonable(value: Any) -> Any:
    """Payloads are JSON already; anything the canonical form cannot carry (floats, huge
    integers) is logged as its text rather than holding the log back."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
