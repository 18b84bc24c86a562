"""The app factory: the only place where the parts are wired together."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from livepledge import __version__, openapi
from livepledge.accounts.api import router as accounts_router
from livepledge.aftersales.api import router as aftersales_router
from livepledge.aftersales.api import test_clock_router
from livepledge.audit.api import router as audit_router
from livepledge.catalog.api import router as catalog_router
from livepledge.compliance.api import router as compliance_router
from livepledge.compliance.catalogue import get_catalogue
from livepledge.config import Settings, get_settings
from livepledge.config import apply as apply_settings
from livepledge.coupons.api import router as coupons_router
from livepledge.deps import build_runtime, close_runtime
from livepledge.fans.api import pages as fans_pages
from livepledge.fans.api import router as fans_router
from livepledge.infra import problems
from livepledge.infra.headers import SecurityHeaders
from livepledge.infra.security import tokens_equal
from livepledge.live.api import router as live_router
from livepledge.lottery.api import router as lottery_router
from livepledge.notices.api import router as notices_router
from livepledge.orders.api import BUY_PATH, NOOP_PATH, buy_asgi, noop_asgi
from livepledge.orders.api import router as orders_router
from livepledge.promises.api import router as promises_router
from livepledge.record.api import router as record_router
from livepledge.reservations.api import pages as buyer_pages
from livepledge.reservations.api import router as buyer_router
from livepledge.settlement.api import router as money_router
from livepledge.web.console import router as console_router
from livepledge.web.pages import ErrorPages
from livepledge.web.pages import router as pages_router
from livepledge.webhooks.api import router as webhooks_router

log = logging.getLogger("livepledge")
UPLOAD_PATHS = re.compile(r"/api/v1/(products/[0-9]{1,18}/images|cases/[0-9]{1,18}/messages)")


class LivepledgeAPI(FastAPI):
    """FastAPI, with the flash-sale buy endpoint dispatched ahead of the middleware stack and
    router (`orders/api.buy_asgi`): in a burst it is most of the traffic, and the stack costs
    more than the buy itself. Everything else goes the usual way."""

    bench_noop = False  # LIVEPLEDGE_BENCH_NOOP_ENDPOINT: the benchmark's no-op, never in production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            if self.bench_noop and (noop := NOOP_PATH.fullmatch(scope["path"])):
                # checked before buy, so that the switch costs the buy, not the no-op
                scope["app"] = self
                await noop_asgi(scope, receive, send, int(noop[1]), int(noop[2]))
                return
            match = BUY_PATH.fullmatch(scope["path"])
            if match:
                scope["app"] = self
                await buy_asgi(scope, receive, send, int(match[1]), int(match[2]))
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_production()
    apply_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = await build_runtime(settings)
        # compile the compliance rules now, not on the first chat message of a live session
        get_catalogue()
        listener = None
        try:
            if settings.room_port:  # the room's own WebSocket listener (live/roomserver.py)
                from livepledge.live.roomserver import RoomListener

                listener = RoomListener(app)
                await listener.start(settings.room_host, settings.room_port)
            yield
        finally:
            if listener is not None:
                await listener.close()
            await close_runtime(app.state.runtime)

    app = LivepledgeAPI(
        title="Livepledge API", version=__version__, lifespan=lifespan,
        docs_url=None, redoc_url=None,  # /docs is served by web/pages.py, from npm, no CDN
        description="直播电商平台：直播间所说即所得 / Live commerce where what is said on air is "
                    "what the buyer gets. Errors are RFC 9457 application/problem+json.",
    )
    app.state.settings = settings
    app.bench_noop = settings.bench_noop_endpoint
    problems.install(app)
    openapi.install(app)  # errors as problem+json in the document, 405 with Allow

    for router in (accounts_router, catalog_router, live_router, orders_router,
                   compliance_router, audit_router, promises_router, notices_router,
                   aftersales_router, record_router, money_router, lottery_router,
                   coupons_router, fans_router, pages_router, console_router, webhooks_router):
        app.include_router(router)
    if settings.test_clock:  # tests and demos only; refused in production
        app.include_router(test_clock_router)
    app.include_router(buyer_router)  # the live room's bag, order strip and 预约
    app.include_router(buyer_pages)
    app.include_router(fans_pages)  # 我的粉丝团
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"),
              name="static")

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        # Business counters are not public: Prometheus scrapes with a bearer token
        # (LIVEPLEDGE_METRICS_TOKEN); without one configured, there is no /metrics.
        expected = request.app.state.settings.metrics_token
        if not expected:
            raise problems.Problem("not_found",
                                   "未启用 / not enabled: set LIVEPLEDGE_METRICS_TOKEN")
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not tokens_equal(sent.strip(), expected):
            raise problems.Problem("unauthenticated",
                                   "需要指标令牌 / metrics need the bearer token")
        return Response(request.app.state.runtime.metrics.render(),
                        media_type="text/plain; version=0.0.4")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, object]:
        # `worker`: which process answered (operators checking that load is spread).
        return {"status": "ok", "version": __version__, "worker": os.getpid()}

    app.add_middleware(ErrorPages)  # type: ignore[arg-type]
    app.add_middleware(problems.BodyLimit, uploads=UPLOAD_PATHS,  # type: ignore[arg-type]
                       upload_limit=settings.upload_max_bytes)
    app.add_middleware(SecurityHeaders)  # type: ignore[arg-type]
    return app
