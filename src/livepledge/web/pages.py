"""Page routes and browser sessions. Pages compose several domains; they hold no business logic:
the JavaScript on each page calls the same JSON API as every other client."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from livepledge.accounts import service as accounts
from livepledge.accounts.schemas import LoginRequest, RegisterRequest
from livepledge.deps import SESSION_COOKIE, OptionalPrincipalDep, RuntimeDep, client_address
from livepledge.infra.problems import Problem
from livepledge.infra.security import csrf_token_for
from livepledge.live import service as live
from livepledge.live.models import live_sessions
from livepledge.lottery import service as lottery
from livepledge.lottery.verify import verify_lottery
from livepledge.orders import service as orders
from livepledge.web.i18n import bundle, pick_lang, translator

log = logging.getLogger("livepledge")
router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# npm packages the pages load (package.json at the checkout's root; `./dev setup` runs npm ci).
# Served from the server itself: nothing is loaded from a CDN.
CHECKOUT_PACKAGES = Path(__file__).resolve().parents[3] / "node_modules"
# name → (package, path inside it…, media type)
VENDOR_FILES = {
    "hls.min.js": ("hls.js", "dist", "hls.min.js", "text/javascript"),
    "swagger-ui-bundle.js": ("swagger-ui-dist", "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("swagger-ui-dist", "swagger-ui.css", "text/css"),
}


def page_json(data: object) -> str:
    """JSON for a `<script type="application/json">` block (read by common.js; an inline script
    would need 'unsafe-inline' in the CSP). `<`, `>` and `&` are escaped so no value can close
    the block."""
    text = orjson.dumps(data).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _render(request: Request, name: str, principal: Any, **context: Any) -> HTMLResponse:
    lang = pick_lang(request.query_params.get("lang"), request.cookies.get("lp_lang"),
                     request.headers.get("accept-language"))
    session_token = request.cookies.get(SESSION_COOKIE, "")
    secret = request.app.state.settings.secret_key
    response = templates.TemplateResponse(request, name, {
        "t": translator(lang), "lang": lang, "principal": principal,
        "csrf": csrf_token_for(session_token, secret) if session_token else "",
        "page_json": page_json({"i18n": bundle(lang), "lang": lang}), **context})
    if request.query_params.get("lang") in ("zh-CN", "en"):
        response.set_cookie("lp_lang", lang, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/vendor/{name}")
async def vendor_file(name: str, rt: RuntimeDep) -> Response:
    """An npm package's file for the pages (`VENDOR_FILES`); 404 when the packages are not
    installed, and the page then does without (player.js)."""
    entry = VENDOR_FILES.get(name)
    base = rt.settings.web_packages_dir or CHECKOUT_PACKAGES
    path = base.joinpath(*entry[:-1]) if entry else None
    if entry is None or path is None or not path.is_file():
        raise Problem("not_found", f"不存在 / no such file: {name}")
    return FileResponse(path, media_type=entry[-1],
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request, rt: RuntimeDep) -> HTMLResponse:
    """The API's interactive documentation: Swagger UI from the installed npm package
    (swagger-ui-dist), started by a script of ours, so it works offline and under the pages'
    CSP. Without the package, the page says so instead of staying blank."""
    base = rt.settings.web_packages_dir or CHECKOUT_PACKAGES
    installed = all((base.joinpath(*VENDOR_FILES[name][:-1])).is_file()
                    for name in ("swagger-ui-bundle.js", "swagger-ui.css"))
    return _render(request, "apidocs.html", None, installed=installed)


@router.get("/demo/stream.webm")
async def demo_video(rt: RuntimeDep) -> Response:
    """The demo's looping test pattern (`livepledge demo` makes it; livepledge/demo_video.py)."""
    from livepledge.demo_video import DEMO_VIDEO

    path = rt.settings.effective_media_dir / DEMO_VIDEO
    if not path.is_file():
        raise Problem("not_found", "没有演示视频 / no demo video: run livepledge demo")
    return FileResponse(path, media_type="video/webm",
                        headers={"Cache-Control": "public, max-age=3600"})


@router.get("/media/{key}")
async def media_file(key: str, rt: RuntimeDep) -> Response:
    """An uploaded picture, by the hash of its content: it never changes, so it is cached for a
    year."""
    path = rt.media.path(key)
    if path is None or not path.is_file():
        raise Problem("not_found", f"不存在 / no such file: {key}")
    return FileResponse(path, media_type="image/webp", headers={
        "Cache-Control": "public, max-age=31536000, immutable"})


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, rt: RuntimeDep, principal: OptionalPrincipalDep) -> Response:
    async with rt.db.read() as conn:
        rows = await conn.execute(select(live_sessions.c.id).where(
            live_sessions.c.status != "ended").order_by(live_sessions.c.id.desc()).limit(50))
        sessions = [await live.session_view(conn, r.id, rt.now()) for r in rows]
    return _render(request, "home.html", principal, sessions=sessions)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site, never another site. `//host/x` and
    `/\\host/x` are read by browsers as other hosts; control characters are dropped by URL
    parsers and could join the two slashes."""
    if (not target or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, principal: OptionalPrincipalDep) -> Response:
    return _render(request, "login.html", principal,
                   next=safe_next(request.query_params.get("next")))


@router.get("/register", response_class=HTMLResponse)
async def register_page(request: Request, principal: OptionalPrincipalDep) -> Response:
    return _render(request, "register.html", principal)


@router.get("/live/{session_id}", response_class=HTMLResponse)
async def live_room(session_id: int, request: Request, rt: RuntimeDep,
                    principal: OptionalPrincipalDep) -> Response:
    async with rt.db.read() as conn:
        session = await live.session_view(conn, session_id, rt.now())
    settings = rt.settings  # the room's own listener, when on (live/roomserver.py)
    return _render(request, "live.html", principal, session=session,
                   room_port=settings.room_port, room_url=settings.room_public_url)


def _shanghai(iso: str | None) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone(ZoneInfo("Asia/Shanghai")).strftime(
        "%Y-%m-%d %H:%M:%S")


@router.get("/lotteries/{lottery_id}/verify", response_class=HTMLResponse)
async def lottery_verification(lottery_id: int, request: Request, rt: RuntimeDep,
                               principal: OptionalPrincipalDep) -> Response:
    """A lottery's public verification page: the server recomputes the draw from the public
    document (lottery/verify.py, the same function as `livepledge verify-lottery`) and shows
    every check; `?entrant=HASH` also looks for an entrant's own entry."""
    document = await lottery.verification_document(rt.db, lottery_id)
    report = verify_lottery(document)
    entrant = (request.query_params.get("entrant") or "").strip().lower()[:64]
    mine = None
    if entrant:
        mine = verify_lottery(document, entrant_hash=entrant).entrant_index
    return _render(request, "lottery_verify.html", principal, doc=document, report=report,
                   entrant=entrant, mine=mine, shanghai=_shanghai,
                   winner_hashes={w["entrant_hash"] for w in document["winners"]})


@router.get("/orders", response_class=HTMLResponse)
async def orders_page(request: Request, principal: OptionalPrincipalDep) -> Response:
    if principal is None:
        return RedirectResponse("/login?next=/orders", status_code=303)
    return _render(request, "orders.html", principal)


def _login_first(request: Request) -> Response:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_page(order_id: int, request: Request, rt: RuntimeDep,
                     principal: OptionalPrincipalDep) -> Response:
    if principal is None:
        return _login_first(request)
    order = await orders.get_order(rt.db, principal, order_id)  # 404 unless yours or your shop's
    return _render(request, "order.html", principal, order_id=order_id,
                   is_buyer=order["buyer_id"] == principal.user_id)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(case_id: int, request: Request, rt: RuntimeDep,
                    principal: OptionalPrincipalDep) -> Response:
    """An after-sales case: the buyer answers here; the shop and operators see the same record."""
    if principal is None:
        return _login_first(request)
    from livepledge.aftersales import service as aftersales

    case = await aftersales.get_case(rt.db, principal, case_id)  # 404 unless on the case
    return _render(request, "case.html", principal, case_id=case_id,
                   is_buyer=case["buyer_id"] == principal.user_id)


@router.get("/earnings", response_class=HTMLResponse)
async def earnings_page(request: Request, rt: RuntimeDep,
                        principal: OptionalPrincipalDep) -> Response:
    """An anchor's or MCN agency's money: what the platform owes them, their agreements with
    shops and their MCN contracts with the platform's ROI computation (docs/money.md)."""
    if principal is None:
        return _login_first(request)
    from livepledge.settlement import agreements

    mine = await agreements.earnings(rt.db, principal, limit=200)
    signed = await agreements.list_agreements(rt.db, principal, shop_id=None, limit=200,
                                              offset=0)
    contracts = await agreements.list_contracts(rt.db, principal, shop_id=None, limit=200,
                                                offset=0)
    async with rt.db.read() as conn:
        shops = {i: (await accounts.get_shop(conn, i))["name"]
                 for i in {int(x["shop_id"]) for x in [*signed, *contracts]}}
    from livepledge.settlement import service as money

    paid_out = await money.list_party_payouts(rt.db, principal, limit=50, offset=0)
    return _render(request, "earnings.html", principal, earnings=mine, agreements=signed,
                   contracts=contracts, shops=shops, payouts=paid_out, shanghai=_shanghai)


@router.get("/operator", response_class=HTMLResponse)
async def operator_page(request: Request, rt: RuntimeDep,
                        principal: OptionalPrincipalDep) -> Response:
    """Platform operators: the escalated cases with their whole record, soonest deadline
    first, each with its ruling form (`?status=closed`: those already ruled;
    docs/aftersales.md)."""
    if principal is None:
        return _login_first(request)
    from livepledge.aftersales import service as aftersales

    ruled = request.query_params.get("status") == "closed"
    listed = await aftersales.escalations(rt.db, principal, status="closed" if ruled else None,
                                          limit=200, offset=0)
    cases = [await aftersales.get_case(rt.db, principal, int(c["id"])) for c in listed]
    return _render(request, "operator.html", principal, cases=cases, ruled=ruled)


@router.get("/checkout/{order_id}", response_class=HTMLResponse)
async def checkout_page(order_id: int, request: Request, rt: RuntimeDep,
                        principal: OptionalPrincipalDep) -> Response:
    if principal is None:
        return _login_first(request)
    order = await orders.get_order(rt.db, principal, order_id)
    if order["buyer_id"] != principal.user_id:
        return RedirectResponse(f"/orders/{order_id}", status_code=303)
    return _render(request, "checkout.html", principal, order_id=order_id)


@router.get("/addresses", response_class=HTMLResponse)
async def addresses_page(request: Request, principal: OptionalPrincipalDep) -> Response:
    if principal is None:
        return _login_first(request)
    return _render(request, "addresses.html", principal)


@router.get("/notices", response_class=HTMLResponse)
async def notices_page(request: Request, principal: OptionalPrincipalDep) -> Response:
    if principal is None:
        return _login_first(request)
    return _render(request, "notices.html", principal)


@router.get("/orders/{order_id}/slip", response_class=HTMLResponse)
async def packing_slip_page(order_id: int, request: Request, rt: RuntimeDep,
                            principal: OptionalPrincipalDep) -> Response:
    """The packing slip's print view (shop staff): the whole address, what is in the parcel."""
    if principal is None:
        return _login_first(request)
    slip = await orders.packing_slip(rt.db, principal, order_id)
    placed = datetime.fromisoformat(slip["created_at"]).astimezone(
        ZoneInfo(rt.settings.timezone)).strftime("%Y-%m-%d %H:%M:%S")
    return _render(request, "slip.html", principal, slip=slip, placed_local=placed)


def _set_session(response: Response, token: str, request: Request) -> None:
    settings = request.app.state.settings
    # Secure whenever it can be: configured, in production, or whenever this request came over
    # HTTPS (behind a load balancer, X-Forwarded-Proto from LIVEPLEDGE_FORWARDED_ALLOW_IPS).
    secure = (settings.session_cookie_secure or settings.environment == "production"
              or request.url.scheme == "https")
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure,
                        max_age=accounts.WEB_SESSION_DAYS * 86400, path="/")


@router.post("/web/login")
async def web_login(body: LoginRequest, request: Request, rt: RuntimeDep) -> Response:
    user_id = await accounts.login(rt.db, rt.login_guard, login=body.login,
                                   password=body.password, address=client_address(request))
    async with rt.db.write() as uow:
        token = await accounts.do_issue_token(uow, user_id, kind="web", now=rt.now())
    response = Response(orjson.dumps({"user_id": user_id}), media_type="application/json")
    _set_session(response, token, request)
    return response


@router.post("/web/register", status_code=201)
async def web_register(body: RegisterRequest, request: Request, rt: RuntimeDep) -> Response:
    user_id = await accounts.guarded_register(
        rt.db, rt.login_guard, login=body.login, password=body.password,
        display_name=body.display_name, role=body.role, address=client_address(request),
        now=rt.now())
    async with rt.db.write() as uow:
        token = await accounts.do_issue_token(uow, user_id, kind="web", now=rt.now())
    response = Response(orjson.dumps({"user_id": user_id}), status_code=201,
                        media_type="application/json")
    _set_session(response, token, request)
    return response


@router.post("/web/logout")
async def web_logout(request: Request, rt: RuntimeDep, principal: OptionalPrincipalDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with rt.db.write() as uow:
            await accounts.do_revoke_token(uow, token, rt.now())
        await rt.tokens.forget()
    response = Response(b"{}", media_type="application/json")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- errors as pages ---------------------------------------------------------------------------

NOT_PAGES = ("/api/", "/web/", "/static/", "/vendor/", "/metrics", "/healthz", "/openapi.json")
ERROR_TITLES = {
    403: ("没有权限查看这个页面", "You may not see this page"),
    404: ("页面不存在", "This page does not exist"),
    500: ("出了点问题", "Something went wrong"),
    503: ("服务暂时不可用", "The service is unavailable for a moment"),
}


def wants_page(scope: Any) -> bool:
    """A browser asking for a page (not the API, not a file): its errors are pages."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    if scope["path"].startswith(NOT_PAGES):
        return False
    accept = next((v for k, v in scope.get("headers", ()) if k == b"accept"), b"")
    return b"text/html" in accept


class ErrorPages:
    """A browser that asks for a page and meets an error (404, 403, 500, …) gets a page in its
    language instead of problem+json; the API and every other client keep problem+json."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not wants_page(scope):
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}

        async def intercept(message: Any) -> None:
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers", ())).get(b"content-type", b"")
                if kind.startswith(b"application/problem+json"):
                    held["start"] = message
                    held["body"] = b""
                    return
            elif "start" in held and message["type"] == "http.response.body":
                held["body"] += message.get("body", b"")
                if message.get("more_body"):
                    return
                await self._page(scope, held["start"], held["body"])(scope, receive, send)
                return
            held["sent"] = True
            await send(message)

        try:
            await self.app(scope, receive, intercept)
        except Exception:
            if "sent" in held:
                raise
            # a bug: logged with its traceback, the page says only that something went wrong
            log.exception("unexpected error on page %s", scope["path"])
            start = {"status": 500, "headers": []}
            await self._page(scope, start, b"{}")(scope, receive, send)

    @staticmethod
    def _page(scope: Any, start: Any, body: bytes) -> Response:
        request = Request(scope)
        lang = pick_lang(request.query_params.get("lang"), request.cookies.get("lp_lang"), None)
        status = start["status"]
        try:
            problem = orjson.loads(body)
        except orjson.JSONDecodeError:
            problem = {}
        zh, en = ERROR_TITLES.get(status, (problem.get("title", ""), ""))
        page = templates.get_template("error.html").render(
            t=translator(lang), lang=lang, status=status, title=zh if lang == "zh-CN" else en,
            detail=problem.get("detail", "") if status < 500 else "")
        headers = {k.decode(): v.decode() for k, v in start.get("headers", ())
                   if k.lower() in (b"retry-after", b"www-authenticate")}
        return HTMLResponse(page, status_code=status, headers=headers)
