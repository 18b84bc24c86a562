"""The merchant console: a single-page app (Vue 3 + Element Plus + ECharts, in frontend/) built
by Vite into `web/dist` and served here at /console/ (docs/console.md).

Every path under /console/ that is not a built file gets index.html (history fallback), with the
session's CSRF token and the page language written into it; scripts come only from this origin,
as the pages' CSP requires. Without a build the server says so on a plain page (503) instead of
serving a blank one."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from livepledge.deps import SESSION_COOKIE, OptionalPrincipalDep
from livepledge.infra.problems import Problem
from livepledge.infra.security import csrf_token_for
from livepledge.web.i18n import pick_lang

router = APIRouter(include_in_schema=False)
# Where Vite writes the build (frontend/vite.config.ts); git-ignored, shipped in the wheel when
# the build ran before `pip install .`.
DIST = Path(__file__).parent / "dist"

NOT_BUILT = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>商家后台未构建 / Console not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em">
<h1>商家后台尚未构建</h1>
<p>这个服务器上没有商家后台的前端文件。请在源码目录运行 <code>./dev setup</code>
（或 <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>），
然后重新安装或重启服务。</p>
<h1 lang="en">The merchant console has not been built</h1>
<p lang="en">This server has no built console files. In the source checkout run
<code>./dev setup</code> (or <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>),
then reinstall or restart the server. See docs/console.md.</p>
</body></html>"""


def _index() -> Path:
    return DIST / "index.html"


@router.get("/console")
async def old_console(request: Request) -> Response:
    """The console moved to /console/ (the single-page app)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/console/{query}", status_code=308)


@router.get("/console/{path:path}")
async def console_page(path: str, request: Request, principal: OptionalPrincipalDep) -> Response:
    index = _index()
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
    if path.startswith("assets/"):
        return _asset(path)
    if principal is None:
        return RedirectResponse(f"/login?next={quote('/console/' + path)}", status_code=303)
    lang = pick_lang(request.query_params.get("lang"), request.cookies.get("lp_lang"),
                     request.headers.get("accept-language"))
    token = request.cookies.get(SESSION_COOKIE, "")
    csrf = csrf_token_for(token, request.app.state.settings.secret_key) if token else ""
    page = index.read_text(encoding="utf-8")
    page = page.replace('<html lang="zh-CN">', f'<html lang="{html.escape(lang)}">', 1)
    page = page.replace('<meta name="csrf-token" content="">',
                        f'<meta name="csrf-token" content="{html.escape(csrf)}">', 1)
    response = HTMLResponse(page, headers={"Cache-Control": "no-store"})
    if request.query_params.get("lang") in ("zh-CN", "en"):
        response.set_cookie("lp_lang", lang, max_age=365 * 86400, samesite="lax")
    return response


def _asset(path: str) -> Response:
    """A built file. Its name carries a content hash, so it is cached for a year."""
    assets = (DIST / "assets").resolve()
    target = (DIST / path).resolve()
    if not target.is_relative_to(assets) or not target.is_file():
        raise Problem("not_found", f"不存在 / no such file: {path}")
    return FileResponse(target, headers={"Cache-Control": "public, max-age=31536000, immutable"})
