"""Webhooks: a shop's endpoints, the `webhooks` event consumer that turns the shop's events into
deliveries, the worker that sends them, and the delivery log (docs/fans.md, "Webhooks").

At least once. A delivery row is written in the same transaction as the consumer's checkpoint,
so no event is lost; the worker leases due deliveries in one short transaction (`FOR UPDATE SKIP
LOCKED` on PostgreSQL: workers never take the same one), sends outside any transaction, and
records the attempt in another. A worker killed between sending and recording leaves the lease
to run out, and the delivery is sent again with the same `webhook-id`: receivers dedupe by it."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.service import Principal, access_shop
from livepledge.infra import clock
from livepledge.infra.consumers import Event
from livepledge.infra.db import Database, UnitOfWork
from livepledge.infra.events import record_event
from livepledge.infra.metrics import Metrics
from livepledge.infra.problems import Problem
from livepledge.infra.stopping import Stop
from livepledge.webhooks import rules, signature
from livepledge.webhooks.models import webhook_attempts, webhook_deliveries, webhook_endpoints
from livepledge.webhooks.sender import (
    AddressPolicy,
    AddressRefused,
    HttpSender,
    Outcome,
    Resolver,
    Sender,
    checked_addresses,
    resolve,
)

log = logging.getLogger("livepledge.webhooks")
ROTATION_OVERLAP = timedelta(hours=24)  # the previous secret still signs this long
MAX_ENDPOINTS_PER_SHOP = 20


# --- endpoints ---------------------------------------------------------------------------

@dataclass(frozen=True)
class UrlPolicy:
    require_https: bool
    addresses: AddressPolicy
    resolver: Resolver = resolve


def url_policy(settings: Any) -> UrlPolicy:
    return UrlPolicy(
        require_https=settings.environment == "production" and not settings.webhook_allow_http,
        addresses=address_policy(settings))


def address_policy(settings: Any) -> AddressPolicy:
    blocked = tuple(ipaddress.ip_network(part.strip(), strict=False)
                    for part in settings.webhook_blocked_networks.split(",") if part.strip())
    return AddressPolicy(allow_private=settings.webhook_allow_private, blocked=blocked)


async def check_url(url: str, policy: UrlPolicy) -> str:
    """A URL a webhook may be sent to, or 422 saying why not (form, scheme, credentials, and
    every address the host resolves to now; delivery checks the addresses again)."""
    target, problem = rules.parse_url(url.strip(), require_https=policy.require_https)
    if target is None:
        raise Problem("validation_failed", problem or "URL 不合法 / invalid URL", field="url")
    try:
        await checked_addresses(target, policy.addresses, policy.resolver)
    except AddressRefused as exc:
        raise Problem("validation_failed", str(exc), field="url") from exc
    return url.strip()


def check_event_types(kinds: Sequence[str]) -> list[str]:
    if error := rules.event_types_error(kinds):
        raise Problem("validation_failed", error, field="event_types")
    return [kind for kind in rules.CATALOGUE if kind in set(kinds)]  # catalogue order, no repeats


def check_description(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > rules.MAX_DESCRIPTION:
        raise Problem("validation_failed", f"说明最多 {rules.MAX_DESCRIPTION} 个字符 / "
                      f"description is at most {rules.MAX_DESCRIPTION} chars",
                      field="description")
    return text


def endpoint_view(row: Any, *, secret: str | None = None) -> dict[str, Any]:
    view = {"id": row.id, "shop_id": row.shop_id, "url": row.url,
            "description": row.description, "event_types": list(row.event_types),
            "enabled": bool(row.enabled), "disabled_reason": row.disabled_reason,
            "secret_hint": row.secret[:10] + "…",
            "previous_secret_until": (row.previous_secret_until.isoformat()
                                      if row.previous_secret_until else None),
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}
    if secret is not None:
        view["secret"] = secret  # shown once: at creation and at rotation
    return view


async def access_endpoint(conn: AsyncConnection, principal: Principal, endpoint_id: int,
                          *, lock: bool = False) -> Any:
    """The endpoint, for its shop's staff; 404 for anyone else (whether it exists or not)."""
    query = select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None or not principal.can_manage(row.shop_id):
        raise Problem("not_found", f"没有这个回调地址 / no webhook endpoint {endpoint_id}")
    return row


async def create_endpoint(db: Database, principal: Principal, shop_id: int, *, url: str,
                          event_types: Sequence[str], description: str | None, enabled: bool,
                          policy: UrlPolicy, now: datetime) -> dict[str, Any]:
    access_shop(principal, shop_id)
    url = await check_url(url, policy)
    kinds = check_event_types(event_types)
    text = check_description(description)
    async with db.write() as uow:
        return await do_create_endpoint(uow, principal, shop_id, url=url, event_types=kinds,
                                        description=text, enabled=enabled, now=now)


async def do_create_endpoint(uow: UnitOfWork, principal: Principal, shop_id: int, *, url: str,
                             event_types: list[str], description: str, enabled: bool,
                             now: datetime) -> dict[str, Any]:
    count = (await uow.conn.execute(select(func.count()).select_from(webhook_endpoints).where(
        webhook_endpoints.c.shop_id == shop_id))).scalar_one()
    if count >= MAX_ENDPOINTS_PER_SHOP:
        raise Problem("validation_failed", f"每个店铺最多 {MAX_ENDPOINTS_PER_SHOP} 个回调地址 / "
                      f"at most {MAX_ENDPOINTS_PER_SHOP} endpoints per shop")
    secret = signature.new_secret()
    endpoint_id = (await uow.conn.execute(insert(webhook_endpoints).values(
        shop_id=shop_id, url=url, description=description, event_types=event_types,
        enabled=enabled, secret=secret, created_by=principal.user_id, created_at=now,
        updated_at=now).returning(webhook_endpoints.c.id))).scalar_one()
    row = (await uow.conn.execute(select(webhook_endpoints).where(
        webhook_endpoints.c.id == endpoint_id))).one()
    await record_endpoint_event(uow, "WebhookEndpointRegistered", row, principal, now)
    return endpoint_view(row, secret=secret)


async def record_endpoint_event(uow: UnitOfWork, kind: str, row: Any, principal: Principal,
                                now: datetime) -> None:
    """Who pointed the shop's order data where, and when (never the secret)."""
    await record_event(uow, kind, now, shop_id=row.shop_id, payload={
        "endpoint_id": row.id, "url": row.url, "event_types": list(row.event_types),
        "enabled": bool(row.enabled), "by": principal.user_id})


async def list_endpoints(db: Database, principal: Principal, shop_id: int) -> list[dict[str, Any]]:
    access_shop(principal, shop_id)
    async with db.read() as conn:
        rows = (await conn.execute(select(webhook_endpoints).where(
            webhook_endpoints.c.shop_id == shop_id).order_by(webhook_endpoints.c.id))).all()
        return [endpoint_view(r) for r in rows]


async def get_endpoint(db: Database, principal: Principal, endpoint_id: int) -> dict[str, Any]:
    async with db.read() as conn:
        return endpoint_view(await access_endpoint(conn, principal, endpoint_id))


async def update_endpoint(db: Database, principal: Principal, endpoint_id: int,
                          changes: dict[str, Any], *, policy: UrlPolicy,
                          now: datetime) -> dict[str, Any]:
    """Change the URL, the event types, the description, or enable/disable."""
    values: dict[str, Any] = {}
    if changes.get("url") is not None:
        values["url"] = await check_url(changes["url"], policy)
    if changes.get("event_types") is not None:
        values["event_types"] = check_event_types(changes["event_types"])
    if "description" in changes:
        values["description"] = check_description(changes["description"])
    if changes.get("enabled") is not None:
        values["enabled"] = bool(changes["enabled"])
        values["disabled_reason"] = (None if values["enabled"]
                                     else "由店铺停用 / disabled by the shop")
    async with db.write() as uow:
        row = await access_endpoint(uow.conn, principal, endpoint_id, lock=True)
        if values:
            await uow.conn.execute(update(webhook_endpoints).where(
                webhook_endpoints.c.id == row.id).values(**values, updated_at=now))
        row = (await uow.conn.execute(select(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id))).one()
        if values:
            await record_endpoint_event(uow, "WebhookEndpointChanged", row, principal, now)
        return endpoint_view(row)


async def rotate_secret(db: Database, principal: Principal, endpoint_id: int, *,
                        now: datetime) -> dict[str, Any]:
    """A new secret, shown once; the old one keeps signing (a second `v1` signature) for 24 h
    so that the receiver can switch without refusing a delivery."""
    async with db.write() as uow:
        row = await access_endpoint(uow.conn, principal, endpoint_id, lock=True)
        secret = signature.new_secret()
        await uow.conn.execute(update(webhook_endpoints).where(
            webhook_endpoints.c.id == row.id).values(
            secret=secret, previous_secret=row.secret,
            previous_secret_until=now + ROTATION_OVERLAP, updated_at=now))
        row = (await uow.conn.execute(select(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id))).one()
        await record_endpoint_event(uow, "WebhookSecretRotated", row, principal, now)
        return endpoint_view(row, secret=secret)


# --- the consumer: events into deliveries -------------------------------------------------

def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)  # no '.', as the signature scheme asks


class WebhookFanout:
    """One delivery per enabled endpoint of the event's own shop subscribed to its type, in
    the same transaction as the consumer's checkpoint (infra/consumers.py)."""

    name = "webhooks"
    types = frozenset(rules.TYPE_OF_EVENT)

    async def handle(self, uow: UnitOfWork, event: Event) -> None:
        await self.handle_batch(uow, [event])

    async def handle_batch(self, uow: UnitOfWork, events: Sequence[Event]) -> None:
        shop_ids = {e.shop_id for e in events if e.shop_id is not None}
        if not shop_ids:
            return
        endpoints: dict[int, list[Any]] = {}
        for row in (await uow.conn.execute(select(
                webhook_endpoints.c.id, webhook_endpoints.c.shop_id,
                webhook_endpoints.c.event_types).where(
                webhook_endpoints.c.shop_id.in_(shop_ids), webhook_endpoints.c.enabled))).all():
            endpoints.setdefault(int(row.shop_id), []).append(row)
        now = clock.utcnow()
        rows: list[dict[str, Any]] = []
        for event in events:
            kind = rules.TYPE_OF_EVENT[event.type]
            subscribed = [ep for ep in endpoints.get(event.shop_id or 0, [])
                          if kind in ep.event_types]
            if not subscribed:
                continue
            body = orjson.dumps(rules.payload(
                event.type, shop_id=event.shop_id or 0, session_id=event.session_id,
                order_id=event.order_id, fields=event.payload,
                occurred_at=event.occurred_at)).decode()
            rows += [{"endpoint_id": ep.id, "shop_id": event.shop_id, "event_id": event.id,
                      "event_type": kind, "message_id": new_message_id(),
                      "dedupe": f"e{event.id}", "body": body, "status": "pending",
                      "attempts": 0, "next_attempt_at": now, "leased_until": None,
                      "expires_at": now + rules.DELIVERY_WINDOW, "created_at": now,
                      "replay_of": None} for ep in subscribed]
        if rows:
            dialect_insert = pg_insert if uow.conn.dialect.name == "postgresql" else sqlite_insert
            await uow.conn.execute(dialect_insert(webhook_deliveries).on_conflict_do_nothing(
                index_elements=["endpoint_id", "dedupe"]), rows)


# --- the worker --------------------------------------------------------------------------

@dataclass
class Claimed:
    id: int
    endpoint_id: int
    url: str
    secrets: tuple[str, ...]
    message_id: str
    body: str
    attempts: int
    expires_at: datetime


@dataclass
class DeliveryWorker:
    """Sends due deliveries: at most `per_endpoint` at once to one endpoint (per worker), so a
    slow endpoint holds only its own; the rest go on."""

    db: Database
    sender: Sender
    metrics: Metrics
    timeout_seconds: float = 10.0
    poll_seconds: float = 1.0
    per_endpoint: int = 2
    max_in_flight: int = 64
    random: random.Random = field(default_factory=random.Random)
    in_flight: dict[int, int] = field(default_factory=dict)  # endpoint id -> attempts sending
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _sends: set[asyncio.Task[Outcome]] = field(default_factory=set)
    _freed: asyncio.Event = field(default_factory=asyncio.Event)  # a send finished: look again

    @classmethod
    def from_settings(cls, db: Database, settings: Any, metrics: Metrics) -> DeliveryWorker:
        sender = HttpSender(timeout_seconds=settings.webhook_timeout_seconds,
                            policy=address_policy(settings))
        return cls(db, sender, metrics, timeout_seconds=settings.webhook_timeout_seconds,
                   poll_seconds=settings.webhook_poll_seconds,
                   per_endpoint=settings.webhook_endpoint_concurrency)

    @property
    def lease(self) -> timedelta:
        # longer than an attempt can take (the sender's own time limit), with a margin
        return timedelta(seconds=self.timeout_seconds * 2 + 5)

    def describe_metrics(self) -> None:
        m = self.metrics
        m.describe("livepledge_webhook_attempts_total", "Webhook delivery attempts made.")
        m.describe("livepledge_webhook_acks_total", "Webhook deliveries acknowledged (2xx).")
        m.describe("livepledge_webhook_failures_total",
                   "Webhook attempts that failed (non-2xx, timeout, refused address, error).")
        m.describe("livepledge_webhook_expired_total",
                   "Webhook deliveries given up after 24 h of failed attempts.")

    async def release_leases(self) -> None:
        """SQLite has one process: a lease found at start is a dead process's; send now."""
        if self.db.is_sqlite:
            async with self.db.write() as uow:
                await uow.conn.execute(update(webhook_deliveries).where(
                    webhook_deliveries.c.status == "pending",
                    webhook_deliveries.c.leased_until.is_not(None)).values(leased_until=None))

    async def claim(self, now: datetime) -> list[Claimed]:
        free = self.max_in_flight - len(self._tasks)
        full = [ep for ep, n in self.in_flight.items() if n >= self.per_endpoint]
        if free <= 0:
            return []
        d, e = webhook_deliveries, webhook_endpoints
        query = (select(d.c.id, d.c.endpoint_id, d.c.message_id, d.c.body, d.c.attempts,
                        d.c.expires_at, e.c.url, e.c.secret, e.c.previous_secret,
                        e.c.previous_secret_until)
                 .join(e, e.c.id == d.c.endpoint_id)
                 .where(d.c.status == "pending", d.c.next_attempt_at <= now, e.c.enabled,
                        or_(d.c.leased_until.is_(None), d.c.leased_until <= now))
                 .order_by(d.c.next_attempt_at, d.c.id).limit(free * 4))
        if full:
            query = query.where(d.c.endpoint_id.not_in(full))
        if not self.db.is_sqlite:
            query = query.with_for_update(skip_locked=True, of=d)
        taken: list[Claimed] = []
        counts = dict(self.in_flight)
        async with self.db.write() as uow:
            for row in (await uow.conn.execute(query)).all():
                if len(taken) >= free or counts.get(row.endpoint_id, 0) >= self.per_endpoint:
                    continue
                counts[row.endpoint_id] = counts.get(row.endpoint_id, 0) + 1
                keys = [row.secret]
                if row.previous_secret and row.previous_secret_until and (
                        clock.as_utc(row.previous_secret_until) > now):
                    keys.append(row.previous_secret)
                taken.append(Claimed(int(row.id), int(row.endpoint_id), row.url, tuple(keys),
                                     row.message_id, row.body, int(row.attempts),
                                     clock.as_utc(row.expires_at)))
            if taken:
                await uow.conn.execute(update(d).where(d.c.id.in_([c.id for c in taken]))
                                       .values(leased_until=now + self.lease))
        return taken

    async def run_once(self, now: datetime | None = None) -> int:
        """Lease what is due and start sending it; returns how many started."""
        now = now or clock.utcnow()
        await self.expire_disabled(now)
        claimed = await self.claim(now)
        for delivery in claimed:
            self.in_flight[delivery.endpoint_id] = self.in_flight.get(delivery.endpoint_id, 0) + 1
            task = asyncio.create_task(self._deliver(delivery), name=f"webhook-{delivery.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def drain(self, now: datetime | None = None) -> int:
        """Send everything due now and wait for the answers (tests)."""
        started = 0
        while True:
            busy = bool(self._tasks)  # sends that finish during the round free their slots
            count = await self.run_once(now)
            started += count
            if self._tasks:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
            elif not count and not busy:
                return started

    async def _deliver(self, delivery: Claimed) -> None:
        try:
            sent_at = clock.utcnow()
            body = delivery.body.encode()
            headers = signature.headers(delivery.secrets, delivery.message_id,
                                        int(sent_at.timestamp()), body)
            send = asyncio.create_task(self.sender.send(delivery.url, headers, body))
            self._sends.add(send)
            try:
                outcome = await asyncio.shield(send)
            except asyncio.CancelledError:
                send.cancel()
                raise
            finally:
                self._sends.discard(send)
            await self.record(delivery, outcome, sent_at)
        except asyncio.CancelledError:
            return  # stopping: the lease runs out and the delivery is sent again
        except Exception:
            log.exception("webhook delivery %s failed to record; its lease will run out",
                          delivery.id)
        finally:
            self._freed.set()
            left = self.in_flight.get(delivery.endpoint_id, 1) - 1
            if left > 0:
                self.in_flight[delivery.endpoint_id] = left
            else:
                self.in_flight.pop(delivery.endpoint_id, None)

    async def record(self, delivery: Claimed, outcome: Outcome, sent_at: datetime) -> None:
        now = clock.utcnow()
        number = delivery.attempts + 1
        acknowledged = rules.is_acknowledged(outcome.status_code)
        self.metrics.inc("livepledge_webhook_attempts_total")
        values: dict[str, Any] = {"attempts": number, "leased_until": None,
                                  "last_status": outcome.status_code,
                                  "last_error": outcome.error}
        if acknowledged:
            values |= {"status": "delivered", "next_attempt_at": None, "finished_at": now}
            self.metrics.inc("livepledge_webhook_acks_total")
        else:
            self.metrics.inc("livepledge_webhook_failures_total")
            retry = rules.next_attempt(number, now=now, expires_at=delivery.expires_at,
                                       jitter=self.random.random(),
                                       retry_after=outcome.retry_after)
            if retry is None:
                values |= {"status": "expired", "next_attempt_at": None, "finished_at": now}
                self.metrics.inc("livepledge_webhook_expired_total")
            else:
                values["next_attempt_at"] = retry
        d = webhook_deliveries
        async with self.db.write() as uow:
            await uow.conn.execute(insert(webhook_attempts).values(
                delivery_id=delivery.id, number=number, started_at=sent_at,
                duration_ms=outcome.duration_ms, status_code=outcome.status_code,
                error=outcome.error, response_excerpt=outcome.excerpt[:1024] or None))
            # another worker may have taken it after our lease ran out and finished it
            await uow.conn.execute(update(d).where(d.c.id == delivery.id,
                                                   d.c.status == "pending").values(**values))
            if outcome.status_code == 410:  # Gone: the receiver asks us to stop (the spec)
                await uow.conn.execute(update(webhook_endpoints).where(
                    webhook_endpoints.c.id == delivery.endpoint_id).values(
                    enabled=False, updated_at=now,
                    disabled_reason="接收方回复 410 Gone，已自动停用 / the receiver answered "
                                    "410 Gone; disabled"))

    async def expire_disabled(self, now: datetime) -> None:
        """A disabled endpoint's deliveries are not sent; past their window they expire."""
        d, e = webhook_deliveries, webhook_endpoints
        async with self.db.read() as conn:
            stale = (await conn.execute(select(d.c.id).join(e, e.c.id == d.c.endpoint_id).where(
                d.c.status == "pending", d.c.expires_at <= now, ~e.c.enabled).limit(500))).all()
        if stale:
            async with self.db.write() as uow:
                result = await uow.conn.execute(update(d).where(
                    d.c.id.in_([r.id for r in stale]), d.c.status == "pending").values(
                    status="expired", next_attempt_at=None, leased_until=None,
                    finished_at=now))
            self.metrics.inc("livepledge_webhook_expired_total", result.rowcount or 0)

    async def _rest(self, stop: Stop) -> bool:
        """Until the next poll, or sooner when a send finished (its endpoint has a free slot
        for the next of its due deliveries). False: stop."""
        freed = asyncio.ensure_future(self._freed.wait())
        rest = asyncio.ensure_future(stop.rest(self.poll_seconds))
        try:
            await asyncio.wait({freed, rest}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (freed, rest):
                waiter.cancel()
            await asyncio.gather(freed, rest, return_exceptions=True)
        self._freed.clear()
        return not stop.is_set

    async def run(self, stop: Stop) -> None:
        """The worker's loop, until `stop`; sends in flight are abandoned to their leases."""
        self.describe_metrics()
        released = False
        try:
            while True:
                try:
                    if not released:
                        await self.release_leases()
                        released = True
                    while await self.run_once() and not stop.is_set:
                        pass
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("webhook worker round failed; retrying")
                if not await self._rest(stop):
                    break
        finally:
            for send in list(self._sends):
                send.cancel()
            if self._tasks:
                await asyncio.wait(set(self._tasks))
            await self.sender.close()


# --- the delivery log and replays --------------------------------------------------------

def delivery_view(row: Any, attempts: list[Any]) -> dict[str, Any]:
    def stamp(value: datetime | None) -> str | None:
        return clock.as_utc(value).isoformat() if value is not None else None

    return {"id": row.id, "endpoint_id": row.endpoint_id, "event_id": row.event_id,
            "event_type": row.event_type, "webhook_id": row.message_id,
            "status": row.status, "attempts": row.attempts,
            "next_attempt_at": stamp(row.next_attempt_at), "expires_at": stamp(row.expires_at),
            "created_at": stamp(row.created_at), "finished_at": stamp(row.finished_at),
            "last_status": row.last_status, "last_error": row.last_error,
            "replay_of": row.replay_of, "payload": orjson.loads(row.body),
            "attempt_log": [{"number": a.number, "started_at": stamp(a.started_at),
                             "duration_ms": a.duration_ms, "status_code": a.status_code,
                             "error": a.error, "response_excerpt": a.response_excerpt}
                            for a in attempts]}


async def delivery_log(db: Database, principal: Principal, endpoint_id: int, *, limit: int,
                       before: int | None, status: str | None) -> dict[str, Any]:
    """An endpoint's deliveries, newest first, each with its attempts; `next_before` pages on."""
    d = webhook_deliveries
    async with db.read() as conn:
        await access_endpoint(conn, principal, endpoint_id)
        query = (select(d).where(d.c.endpoint_id == endpoint_id).order_by(d.c.id.desc())
                 .limit(limit + 1))
        if before is not None:
            query = query.where(d.c.id < before)
        if status is not None:
            query = query.where(d.c.status == status)
        rows = (await conn.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        attempts: dict[int, list[Any]] = {}
        if rows:
            for a in (await conn.execute(select(webhook_attempts).where(
                    webhook_attempts.c.delivery_id.in_([r.id for r in rows]))
                    .order_by(webhook_attempts.c.id))).all():
                attempts.setdefault(int(a.delivery_id), []).append(a)
        return {"deliveries": [delivery_view(r, attempts.get(int(r.id), [])) for r in rows],
                "next_before": rows[-1].id if more else None}


async def replay(db: Database, principal: Principal, delivery_id: int, *,
                 now: datetime) -> dict[str, Any]:
    """Send a delivery again: a new delivery of the same message (same body, same
    `webhook-id`, so a receiver that already handled it can tell), with its own attempts and
    its own 24 h window."""
    d = webhook_deliveries
    async with db.write() as uow:
        original = (await uow.conn.execute(select(d).where(d.c.id == delivery_id))).first()
        if original is None:
            raise Problem("not_found", f"没有这条推送记录 / no webhook delivery {delivery_id}")
        try:
            endpoint = await access_endpoint(uow.conn, principal, int(original.endpoint_id))
        except Problem as exc:
            raise Problem("not_found",
                          f"没有这条推送记录 / no webhook delivery {delivery_id}") from exc
        if not endpoint.enabled:
            raise Problem("invalid_transition", "回调地址已停用，请先启用 / the endpoint is "
                          "disabled; enable it first")
        new_id = (await uow.conn.execute(insert(d).values(
            endpoint_id=original.endpoint_id, shop_id=original.shop_id,
            event_id=original.event_id, event_type=original.event_type,
            message_id=original.message_id, dedupe=None, body=original.body, status="pending",
            attempts=0, next_attempt_at=now, leased_until=None,
            expires_at=now + rules.DELIVERY_WINDOW, created_at=now,
            replay_of=original.replay_of or original.id).returning(d.c.id))).scalar_one()
        row = (await uow.conn.execute(select(d).where(d.c.id == new_id))).one()
        return delivery_view(row, [])


def catalogue() -> list[dict[str, Any]]:
    return [{"type": kind, "events": list(events), "label": label}
            for kind, (events, label) in rules.CATALOGUE.items()]

