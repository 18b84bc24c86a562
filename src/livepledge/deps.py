"""The running application's parts, built once by the app factory, and the request dependencies
(who is calling, CSRF) that every router shares."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from livepledge.accounts.guard import LoginGuard, LoginPolicy
from livepledge.accounts.principal import TokenCache
from livepledge.accounts.service import Principal, authenticate
from livepledge.aftersales.rules import Deadlines as CaseDeadlines
from livepledge.aftersales.service import CaseDue
from livepledge.config import Settings
from livepledge.coupons import service as coupon_desk
from livepledge.fans import service as fans
from livepledge.fans.campaigns import CampaignSend, CampaignTriggers
from livepledge.fans.targeting import TargetingCache
from livepledge.infra.batching import BatchQueue
from livepledge.infra.broker import Broker, InProcessBroker, RedisBroker
from livepledge.infra.clock import utcnow
from livepledge.infra.consumers import ConsumerRunner
from livepledge.infra.db import Database, async_url
from livepledge.infra.deadlines import DeadlineRunner
from livepledge.infra.media import LocalMediaStore
from livepledge.infra.metrics import Metrics
from livepledge.infra.notify import ITEMS_CHANNEL, Notifier, room_channel, shop_channel
from livepledge.infra.problems import Problem
from livepledge.infra.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from livepledge.infra.resp import RespClient
from livepledge.infra.security import csrf_token_for, tokens_equal
from livepledge.infra.stopping import Stop, finish
from livepledge.infra.throttle import LocalThrottle, RedisThrottle, Throttle
from livepledge.live.chat import (
    ChatChecker,
    ChatContext,
    ChatVerdict,
    NewChat,
    commit_chat_batch,
)
from livepledge.live.presence import LocalPresence, Presence, RedisPresence
from livepledge.live.room import RoomHub
from livepledge.live.service import SaleOpens
from livepledge.lottery.service import LotteryDraw, LotteryNotices, LotteryPrizes
from livepledge.notices.service import OrderNotices
from livepledge.orders.gate import LocalStockGate, RedisStockGate, StockGate
from livepledge.orders.payments import PaymentProvider, build_provider
from livepledge.orders.service import (
    BuyContext,
    CompensationPolicy,
    CoolingOffEnds,
    ItemFactsCache,
    ShipBy,
    expire_unpaid,
    gate_loader,
)
from livepledge.orders.writer import OrderWriter
from livepledge.promises.protection import PriceProtection
from livepledge.record import service as session_record
from livepledge.reservations.service import ReservationNotices
from livepledge.settlement.agreements import McnSettle
from livepledge.settlement.ledger import EscrowRelease, Ledger
from livepledge.webhooks.service import DeliveryWorker, WebhookFanout

log = logging.getLogger("livepledge")
SESSION_COOKIE = "lp_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class Runtime:
    settings: Settings
    db: Database
    broker: Broker
    notifier: Notifier
    gate: StockGate
    writer: OrderWriter
    facts: ItemFactsCache
    payments: PaymentProvider
    tokens: TokenCache
    presence: Presence
    limiter: RateLimiter
    rooms: RoomHub
    chat: ChatContext
    buy: BuyContext
    login_guard: LoginGuard
    media: LocalMediaStore
    redis: Any = None
    compensation: CompensationPolicy = field(default_factory=CompensationPolicy)
    aftersales: CaseDeadlines = field(default_factory=CaseDeadlines)
    consumers: ConsumerRunner | None = None  # the outbox's consumers (infra/consumers.py)
    deadlines: DeadlineRunner | None = None  # durable deadlines (infra/deadlines.py)
    throttle: Throttle | None = None  # attempt counters (login guard, compliance checks)
    log_key: session_record.LogKey | None = None  # signs the session record's checkpoints
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stop: Stop = field(default_factory=Stop)  # tells the background loops to end (stopping.py)
    metrics: Metrics = field(default_factory=Metrics)
    badges: fans.BadgeCache | None = None  # fan level beside chat (fans/service.py)
    coupons: Any = None  # the coupon claim path (coupons/service.ClaimDesk)

    def now(self) -> datetime:
        return utcnow()


def chat_checker() -> ChatChecker:
    """Chat that diverts buyers off the platform (WeChat, QQ, phone numbers, QR codes and their
    disguises) is held back from the room and its sender told why. Chat from the shop's staff or
    the anchor is advertising: it is checked as speech and held back on any violation."""
    from livepledge.compliance.service import check_text

    def verdict(text: str, from_staff: bool) -> ChatVerdict:
        result = check_text(text, category="general", context="speech" if from_staff else "chat")
        if from_staff and result.violation:
            findings = tuple(f.to_dict() for f in result.findings if f.severity == "violation")
            return ChatVerdict(held=True, findings=findings,
                               reason="商家发言含违规宣传用语，请按建议修改 / the shop's message "
                                      "makes an unlawful claim; reword it as suggested")
        if not result.diverts_buyers:
            return ChatVerdict(held=False)
        findings = tuple(f.to_dict() for f in result.findings if f.family == "diversion")
        return ChatVerdict(held=True, findings=findings,
                           reason="请勿发布站外联系方式或引导私下交易，平台内交易才有保障 / "
                                  "off-platform contacts and private deals are not allowed")

    # Compile the catalogue now, at startup: compiled lazily it blocked the event loop for
    # 0.7-1.5 s at the first chat message of a live session (issue #14). Cached per process.
    verdict("预热 warm-up", False)
    return verdict


async def build_runtime(settings: Settings) -> Runtime:
    db = Database(async_url(settings.effective_database_url),
                  pool_size=settings.database_pool_size)
    redis_client = None
    broker: Broker
    if settings.redis_url:
        from livepledge.infra.broker import redis_client as make_redis_client

        redis_client = make_redis_client(settings.redis_url,
                                         socket_timeout=settings.redis_timeout_seconds)
        broker = RedisBroker(settings.redis_url)
        gate: StockGate = RedisStockGate(
            settings.redis_url, gate_loader(db), reply_timeout=settings.redis_timeout_seconds,
            worker_ttl=settings.gate_worker_ttl_seconds,
            heartbeat_seconds=settings.gate_heartbeat_seconds)
        presence: Presence = RedisPresence(redis_client, settings.presence_ttl_seconds)
        limiter: RateLimiter = RedisRateLimiter(redis_client)
        throttle: Throttle = RedisThrottle(redis_client)
    else:
        broker = InProcessBroker()
        gate = LocalStockGate(gate_loader(db))
        presence = LocalPresence(settings.presence_ttl_seconds)
        limiter = LocalRateLimiter()
        throttle = LocalThrottle()
    await broker.start()
    notifier = Notifier(broker)
    facts = ItemFactsCache(db)

    async def announce(items: list[dict[str, Any]], created: list[dict[str, Any]]) -> None:
        # A batch's stock changes and its orders in one publish_many (one Redis round trip).
        await notifier.many(
            [(room_channel(item["session_id"]), {"type": "stock", "item_id": item["item_id"],
                                                 "stock_remaining": item["stock_remaining"]})
             for item in items]
            + [(shop_channel(order["shop_id"]), {"type": "order_placed", "order": order})
               for order in created])

    writer = OrderWriter(db, gate, batch_max=settings.write_batch_max, announce=announce)
    chat_queue: BatchQueue[NewChat] = BatchQueue(
        db, fans.crediting_chats(commit_chat_batch, fans.Engagement()), name="chat-writer")
    rooms = RoomHub(db, broker, notifier, presence, tick_ms=settings.room_tick_ms,
                    queue_size=settings.room_client_queue)
    rooms.engagement = fans.Engagement()
    badges = fans.BadgeCache(db)
    runtime = Runtime(
        settings=settings, db=db, broker=broker, notifier=notifier, gate=gate, writer=writer,
        facts=facts, payments=build_provider("sandbox", settings.sandbox_journal),
        tokens=TokenCache(settings.token_cache_seconds,
                          RespClient(settings.redis_url,
                                     reply_timeout=settings.redis_timeout_seconds)
                          if settings.redis_url else None,
                          broker),
        presence=presence, limiter=limiter,
        rooms=rooms,
        chat=ChatContext(db, notifier, limiter, chat_queue, settings.chat_max_length,
                         settings.chat_min_interval_seconds, chat_checker(),
                         badges.badge),
        buy=BuyContext(db, gate, writer, facts, settings.order_payment_timeout_seconds,
                       naive=settings.stock_gate == "naive"),
        login_guard=LoginGuard(throttle, LoginPolicy(
            window_seconds=settings.login_throttle_window_seconds,
            failures_per_account=settings.login_failures_per_account,
            failures_per_address=settings.login_failures_per_address,
            registrations_per_address=settings.registrations_per_address)),
        media=LocalMediaStore(settings.effective_media_dir),
        redis=redis_client,
        throttle=throttle, badges=badges,
    )

    _register_metrics(runtime)

    async def on_items(_channel: str, data: bytes) -> None:
        facts.invalidate(orjson.loads(data).get("item_ids"))

    await broker.subscribe(ITEMS_CHANNEL, on_items)
    runtime.consumers = ConsumerRunner(
        db, chosen_consumers(settings.consumers, [
            OrderNotices(), PriceProtection(runtime.payments), ReservationNotices(),
            session_record.SessionRecorder(settings.record_salt),
            Ledger(auto_receive_days=settings.auto_receive_days),
            LotteryNotices(), fans.FanPurchases(), WebhookFanout(),
            coupon_desk.RedPacketPayouts(runtime.payments), CampaignTriggers()]),
        poll_seconds=settings.consumer_poll_seconds)
    runtime.log_key = session_record.load_log_key(
        settings.effective_record_key_file, name=settings.record_name,
        create=settings.environment != "production")
    runtime.aftersales = CaseDeadlines(
        settings.aftersales_merchant_response_hours, settings.aftersales_buyer_answer_hours,
        settings.aftersales_buyer_ship_return_hours,
        settings.aftersales_merchant_confirm_return_hours,
        settings.aftersales_escalation_hours, settings.aftersales_operator_decision_hours)
    runtime.compensation = CompensationPolicy(
        settings.compensation_percent, settings.compensation_floor_fen,
        max(settings.compensation_floor_fen, settings.compensation_cap_fen))
    runtime.deadlines = DeadlineRunner(
        db, {SaleOpens.kind: SaleOpens(),
             ShipBy.kind: ShipBy(runtime.payments, runtime.compensation),
             CoolingOffEnds.kind: CoolingOffEnds(),
             CaseDue.kind: CaseDue(runtime.payments, runtime.aftersales),
             EscrowRelease.kind: EscrowRelease(commission_bp=settings.platform_commission_bp),
             LotteryDraw.kind: LotteryDraw(notifier), LotteryPrizes.kind: LotteryPrizes(),
             McnSettle.kind: McnSettle(),
             coupon_desk.RedPacketExpires.kind: coupon_desk.RedPacketExpires(),
             CampaignSend.kind: CampaignSend()},
        poll_seconds=settings.deadline_poll_seconds)
    runtime.consumers.start()
    runtime.deadlines.start()
    await runtime.tokens.start()
    writer.start()
    chat_queue.start()
    runtime.coupons = coupon_desk.build_desk(db, settings)
    runtime.coupons.targeting = TargetingCache(db, badges)  # targeted coupons (fans/targeting)
    runtime.tasks += await coupon_desk.start_desk(runtime.coupons, settings, runtime.stop)
    runtime.tasks.append(asyncio.create_task(_sweep_forever(runtime), name="expiry-sweeper"))
    runtime.tasks.append(asyncio.create_task(_checkpoints_forever(runtime),
                                             name="record-checkpoints"))
    runtime.tasks.append(asyncio.create_task(_audit_forever(runtime), name="record-audit"))
    runtime.tasks.append(asyncio.create_task(DeliveryWorker.from_settings(db, settings, runtime.metrics).run(runtime.stop), name="webhook-deliveries"))  # noqa: E501
    if isinstance(gate, RedisStockGate):
        await gate.start()
        await reconcile_gate(runtime)
        runtime.tasks.append(asyncio.create_task(_reclaim_forever(runtime), name="gate-reclaim"))
    return runtime


def _register_metrics(runtime: Runtime) -> None:
    m = runtime.metrics
    m.describe("livepledge_buy_requests_total", "Buy requests by outcome.")
    m.describe("livepledge_orders_expired_total", "Unpaid orders expired by the sweeper.")
    m.describe("livepledge_record_alerts_total", "Discrepancies the session record's "
               "self-audit found (a stored entry changed after it was signed).")
    m.gauge("livepledge_order_batches", "Order batches committed by this process.",
            lambda: runtime.writer.batches)
    m.gauge("livepledge_orders_written", "Orders committed by this process.",
            lambda: runtime.writer.orders_written)
    m.gauge("livepledge_rooms_open", "Live rooms with viewers on this process.",
            lambda: len(runtime.rooms.rooms))
    m.gauge("livepledge_room_connections", "Viewer WebSockets on this process.",
            lambda: sum(len(r.clients) + len(r.sockets)  # sockets: the room listener's
                        for r in runtime.rooms.rooms.values()))


async def _checkpoints_forever(runtime: Runtime) -> None:
    """Sign the session logs that grew, every few seconds (docs/record.md)."""
    assert runtime.log_key is not None
    while True:
        try:
            await session_record.sign_checkpoints(runtime.db, runtime.log_key, runtime.now())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("signing session-record checkpoints failed")
        if not await runtime.stop.rest(runtime.settings.record_checkpoint_seconds):
            return


async def _audit_forever(runtime: Runtime) -> None:
    """The self-audit: recompute every log and compare with what was signed."""
    assert runtime.log_key is not None
    while await runtime.stop.rest(runtime.settings.record_audit_seconds):
        try:
            found = await session_record.audit(runtime.db, runtime.log_key, runtime.now())
            runtime.metrics.inc("livepledge_record_alerts_total", len(found))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("session-record self-audit failed")


async def _sweep_forever(runtime: Runtime) -> None:
    while True:
        try:
            while (expired := await expire_unpaid(runtime.db, runtime.gate, runtime.notifier,
                                                  now=runtime.now())) > 0:
                runtime.metrics.inc("livepledge_orders_expired_total", expired)
            if isinstance(runtime.gate, RedisStockGate):
                await reconcile_gate(runtime)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("expiry sweep failed")
        if not await runtime.stop.rest(runtime.settings.expiry_sweep_interval_seconds):
            return


async def _reclaim_forever(runtime: Runtime) -> None:
    """Every heartbeat, look for gate workers whose liveness key expired (a dead process) and
    settle their pending reservations, so that a unit held by a dead worker is back on sale
    within seconds even if its buyer never retries (docs/decisions.md, "Dead workers'
    reservations"). One SMEMBERS and one EXISTS per registered worker while nobody died."""
    gate = runtime.gate
    assert isinstance(gate, RedisStockGate)
    while await runtime.stop.rest(runtime.settings.gate_heartbeat_seconds):
        try:
            dead = await gate.dead_workers()
            if dead:
                await reconcile_gate(runtime, dead=dead)
                await gate.forget_workers(dead)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("gate reclaim failed")


async def reconcile_gate(runtime: Runtime, *, dead: set[str] | None = None) -> None:
    """Settle Redis reservations left pending by a worker that died mid-batch (its liveness
    key expired, or the reservation outlived the lease): committed ones are confirmed, the rest
    released (see docs/architecture.md, "After a crash")."""
    from sqlalchemy import select

    from livepledge.orders.models import orders

    gate = runtime.gate
    assert isinstance(gate, RedisStockGate)
    if dead is None:
        dead = await gate.dead_workers()
    for item_id in await gate.gated_items():
        lease = runtime.settings.gate_lease_seconds
        for record in await gate.stale_pending(item_id, older_than=lease, dead=dead):
            buyer, _, key = str(record["ref"]).partition(":")
            async with runtime.db.read() as conn:
                found = (await conn.execute(select(orders.c.id).where(
                    orders.c.buyer_id == int(buyer), orders.c.idempotency_key == key,
                    orders.c.lineup_item_id == item_id))).first()
            await gate.settle_stale(item_id, record, committed=found is not None)


def chosen_consumers(choice: str, available: list[Any]) -> list[Any]:
    """The consumers LIVEPLEDGE_CONSUMERS asks this server to run (all, none, or names)."""
    if choice == "all":
        return available
    if choice == "none":
        return []
    by_name = {c.name: c for c in available}
    names = choice.split(",")
    if unknown := [n for n in names if n not in by_name]:
        raise SystemExit(f"LIVEPLEDGE_CONSUMERS names unknown consumers: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(by_name))})")
    return [by_name[n] for n in names]


async def close_runtime(runtime: Runtime) -> None:
    runtime.stop.set()
    for task in runtime.tasks:
        await finish(task)
    for runner in (runtime.consumers, runtime.deadlines):
        if runner is not None:
            await runner.stop()
    await runtime.rooms.close()
    await runtime.writer.close()
    await runtime.chat.queue.close()
    if runtime.coupons is not None:
        await coupon_desk.close_desk(runtime.coupons)
    await runtime.gate.close()
    await runtime.tokens.close()
    await runtime.broker.close()
    if runtime.redis is not None:
        await runtime.redis.aclose()
    await runtime.db.dispose()


def get_runtime(conn: HTTPConnection) -> Runtime:
    return conn.app.state.runtime  # type: ignore[no-any-return]


async def runtime_dependency(conn: HTTPConnection) -> Runtime:
    # async on purpose: FastAPI runs a sync dependency in a worker thread, a thread hop on
    # every request (the flash-sale profile showed it; see bench/flash_sale.py)
    return conn.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(runtime_dependency)]


def client_address(conn: HTTPConnection) -> str:
    """The client's address as the ASGI server saw it. Behind a load balancer, uvicorn replaces
    it with X-Forwarded-For only from the addresses in LIVEPLEDGE_FORWARDED_ALLOW_IPS."""
    return conn.client.host if conn.client else "unknown"


def _same_origin(conn: HTTPConnection) -> bool:
    from urllib.parse import urlsplit

    origin = conn.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == conn.headers.get("host")


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def optional_principal(request: Request) -> Principal | None:
    return await principal_for(request, check_csrf=True)


async def principal_for(conn: HTTPConnection, *, check_csrf: bool) -> Principal | None:
    runtime = get_runtime(conn)
    token = _bearer(conn)
    kind = "api"
    if token is None:
        token = conn.cookies.get(SESSION_COOKIE)
        kind = "web"
        if token and conn.scope["type"] == "websocket" and not _same_origin(conn):
            # A page on another site may open a socket to us with our cookie (cross-site
            # WebSocket hijacking): such a socket is anonymous.
            return None
        if token and check_csrf and conn.scope.get("method", "GET") not in {"GET", "HEAD",
                                                                           "OPTIONS"}:
            sent = conn.headers.get(CSRF_HEADER, "")
            if not tokens_equal(sent, csrf_token_for(token, runtime.settings.secret_key)):
                raise Problem("csrf_failed",
                              "CSRF 校验失败，请刷新页面 / CSRF check failed; reload")
    if not token:
        return None
    principal = await authenticate(runtime.db, runtime.tokens, token, kind=kind,
                                   now=runtime.now())
    if principal is None and kind == "api":
        raise Problem("unauthenticated", "令牌无效或已过期 / invalid or expired token")
    return principal


async def require_principal(request: Request) -> Principal:
    principal = await optional_principal(request)
    if principal is None:
        raise Problem("unauthenticated", "请先登录 / please log in")
    return principal


PrincipalDep = Annotated[Principal, Depends(require_principal)]
OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]
