"""The app factory: the only place where the parts are wired together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from livepledge import __version__
from livepledge.accounts.api import router as accounts_router
from livepledge.audit.api import router as audit_router
from livepledge.catalog.api import router as catalog_router
from livepledge.compliance.api import router as compliance_router
from livepledge.config import Settings, get_settings
from livepledge.config import apply as apply_settings
from livepledge.deps import build_runtime, close_runtime
from livepledge.infra import problems
from livepledge.live.api import router as live_router
from livepledge.orders.api import buy_route
from livepledge.orders.api import router as orders_router
from livepledge.web.pages import router as pages_router

MAX_BODY_BYTES = 1_048_576
log = logging.getLogger("livepledge")


class BodyLimit:
    """Refuse request bodies over 1 MiB before they are read (413 problem+json)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope.get("headers", [])).get(b"content-length")
            if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
                problem = problems.Problem("payload_too_large",
                                           "请求体超过 1 MiB / request body over 1 MiB")
                await problems.problem_response(problem, scope.get("path"))(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_production()
    apply_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = await build_runtime(settings)
        try:
            yield
        finally:
            await close_runtime(app.state.runtime)

    app = FastAPI(
        title="Livepledge API", version=__version__, lifespan=lifespan,
        description="直播电商平台：直播间所说即所得 / Live commerce where what is said on air is "
                    "what the buyer gets. Errors are RFC 9457 application/problem+json.",
    )
    app.state.settings = settings
    problems.install(app)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        body: dict[str, Any] = {"type": "/problems/internal", "title": "内部错误 / Internal error",
                                "status": 500, "detail": "请稍后重试 / please retry later"}
        import orjson
        return Response(orjson.dumps(body), status_code=500,
                        media_type=problems.PROBLEM_MEDIA_TYPE)

    for router in (accounts_router, catalog_router, live_router, orders_router,
                   compliance_router, audit_router, pages_router):
        app.include_router(router)
    # The flash-sale buy endpoint, ahead of its documented FastAPI twin (see orders/api.py).
    app.router.routes.insert(0, buy_route)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"),
              name="static")

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        return Response(request.app.state.runtime.metrics.render(),
                        media_type="text/plain; version=0.0.4")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.add_middleware(BodyLimit)  # type: ignore[arg-type]
    return app
