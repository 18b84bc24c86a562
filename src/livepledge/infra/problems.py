"""RFC 9457 problem details. Every domain error is a `Problem` with a stable code; the HTTP status
is decided here, in one place, and every response is `application/problem+json`."""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis import exceptions as redis_exc
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_MEDIA_TYPE = "application/problem+json"
MAX_BODY_BYTES = 1_048_576
# Failures of a backing service, answered 503 + Retry-After instead of 500.
OUTAGES: tuple[type[Exception], ...] = (
    ConnectionError, TimeoutError, sa_exc.OperationalError, sa_exc.InterfaceError,
    sa_exc.TimeoutError, redis_exc.ConnectionError, redis_exc.TimeoutError)
# The database refused a value (out of range, too long): a last line behind input validation.
INVALID_VALUES: tuple[type[Exception], ...] = (sa_exc.DataError, OverflowError)
log = logging.getLogger("livepledge")

# code -> (HTTP status, title). Domains raise codes; only this table knows HTTP.
STATUS_BY_CODE: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "请求无效 / Invalid request"),
    "validation_failed": (422, "输入不合法 / Validation failed"),
    "malformed_json": (400, "JSON 格式错误 / Malformed JSON"),
    "idempotency_key_missing": (400, "缺少 Idempotency-Key / Idempotency-Key header missing"),
    "idempotency_key_reused": (422, "Idempotency-Key 已用于其他请求 / Idempotency-Key reused"),
    "unauthenticated": (401, "需要登录 / Authentication required"),
    "invalid_credentials": (401, "用户名或密码错误 / Invalid login or password"),
    "csrf_failed": (403, "CSRF 校验失败 / CSRF check failed"),
    "forbidden": (403, "无权操作 / Forbidden"),
    "wrong_role": (403, "角色不符 / Wrong role"),
    "not_found": (404, "不存在 / Not found"),
    "login_taken": (409, "用户名已被占用 / Login already taken"),
    "invalid_transition": (409, "状态不允许该操作 / Invalid state transition"),
    "sale_not_started": (409, "尚未开售 / Sale has not started"),
    "sale_ended": (409, "已结束售卖 / Sale has ended"),
    "sold_out": (409, "已售罄 / Sold out"),
    "over_limit": (409, "超过每人限购 / Over the per-buyer limit"),
    "insufficient_stock": (409, "库存不足 / Not enough stock"),
    "archived": (409, "商品已下架归档 / Product is archived"),
    "chat_rejected": (422, "弹幕未通过 / Chat message rejected"),
    "muted": (403, "已被禁言 / Muted in this room"),
    "rate_limited": (429, "操作太频繁 / Too many requests"),
    "address_required": (422, "需要收货地址 / Shipping address required"),
    "case_open": (409, "已有进行中的售后 / A case is already open"),
    "case_decided": (409, "平台已最终裁决 / The platform's ruling is final"),
    "refusal_not_allowed": (409, "不能拒绝 / This refusal is not allowed"),
    "cooling_off": (409, "买家冷静期中 / In the buyer's cooling-off period"),
    "payment_failed": (402, "支付失败 / Payment failed"),
    "insufficient_balance": (409, "可提现余额不足 / Not enough available balance"),
    "deposit_required": (409, "保证金不足 / Deposit below the minimum"),
    "lottery_closed": (409, "抽奖不在参与时间内 / The lottery is not open for entries"),
    "claim_closed": (409, "不在领券时间内 / Coupon not open for claiming"),
    "coupon_not_usable": (409, "优惠券不可用于该订单 / Coupon cannot be used on this order"),
    "already_entered": (409, "已参与该抽奖 / Already entered this lottery"),
    "not_eligible": (403, "不满足参与条件 / Entry conditions not met"),
    "compliance_blocked": (409, "未通过合规检查 / Blocked by compliance check"),
    "not_a_fan": (409, "尚未加入粉丝团 / Not a member of the fan club"),
    "already_checked_in": (409, "今天已打卡 / Already checked in today"),
    "insufficient_points": (409, "积分不足 / Not enough points"),
    "record_pending": (409, "尚未写入场次记录 / Not in the signed session record yet"),
    "payload_too_large": (413, "请求体过大 / Payload too large"),
    "service_unavailable": (503, "服务暂不可用 / Service unavailable"),
    "method_not_allowed": (405, "不支持该方法 / Method not allowed"),
    "unsupported_media_type": (415, "不支持的内容类型 / Unsupported media type"),
}


RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "code"})


class Problem(Exception):
    """A refused request. `detail` says, in Chinese first then English, what was wrong."""

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        if code not in STATUS_BY_CODE:
            raise ValueError(f"unknown problem code {code}")
        reserved = RESERVED_MEMBERS.intersection(extra)
        if reserved:
            raise ValueError(f"extension members may not reuse {sorted(reserved)}")
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra

    @property
    def status(self) -> int:
        return STATUS_BY_CODE[self.code][0]

    def body(self, instance: str | None = None) -> dict[str, Any]:
        status, title = STATUS_BY_CODE[self.code]
        body: dict[str, Any] = {
            "type": f"/problems/{self.code.replace('_', '-')}",
            "title": title,
            "status": status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    headers = {}
    if problem.code == "rate_limited" and "retry_after" in problem.extra:
        headers["Retry-After"] = str(max(1, int(problem.extra["retry_after"] + 0.999)))
    elif problem.code == "service_unavailable":
        headers["Retry-After"] = "1"
    return Response(
        orjson.dumps(problem.body(instance)),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _validation_problem(exc: RequestValidationError) -> Problem:
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        if err.get("type") == "json_invalid":
            return Problem("malformed_json",
                           "请求体不是合法的 JSON / The request body is not valid JSON")
        errors.append({"field": ".".join(loc) or "body", "message": err.get("msg", "invalid")})
    names = ", ".join(e["field"] for e in errors)
    return Problem("validation_failed", f"字段不合法 / Invalid fields: {names}", errors=errors)


_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def outage_response(exc: Exception, path: str) -> Response:
    # The database or Redis is unreachable (or the connection pool stayed exhausted): the
    # request may be retried as is (a buy with the same Idempotency-Key), so say so.
    log.warning("backing service unavailable on %s: %r", path, exc)
    return problem_response(Problem(
        "service_unavailable", "后端服务暂不可用，请稍后重试 / a backing service (database or "
        "Redis) is unavailable; retry shortly"), path)


def invalid_value_response(exc: Exception, path: str) -> Response:
    log.warning("value refused by the database on %s: %r", path, exc)
    return problem_response(Problem("validation_failed",
                                    "数值超出范围或格式不符 / a value is out of range or invalid"),
                            path)


def internal_response(path: str) -> Response:
    """A 500 for a bug: logged with its traceback by the caller, nothing of it in the body."""
    body = {"type": "/problems/internal", "title": "内部错误 / Internal error", "status": 500,
            "detail": "请稍后重试 / please retry later", "instance": path}
    return Response(orjson.dumps(body), status_code=500, media_type=PROBLEM_MEDIA_TYPE)


def response_for(exc: Exception, path: str) -> Response:
    """The answer to an exception outside FastAPI's handlers (the buy fast path)."""
    if isinstance(exc, Problem):
        return problem_response(exc, path)
    if isinstance(exc, OUTAGES):
        return outage_response(exc, path)
    if isinstance(exc, INVALID_VALUES):
        return invalid_value_response(exc, path)
    log.error("unexpected error on %s", path, exc_info=exc)
    return internal_response(path)


def _too_large(limit: int = MAX_BODY_BYTES) -> Problem:
    size = f"{limit / 1_048_576:g} MiB"
    return Problem("payload_too_large", f"请求体超过 {size} / request body over {size}",
                   limit_bytes=limit)


def declared_too_large(scope: Scope, limit: int = MAX_BODY_BYTES) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return value.isdigit() and int(value) > limit
    return False


_LONGEST_ID = 18  # digits: every id fits a signed 64-bit integer, in SQLite and PostgreSQL


def oversized_id(path: str) -> bool:
    """A path segment of digits too long to be any id (a database would overflow on it)."""
    return any(len(part) > _LONGEST_ID and part.lstrip("-").isdigit()
               for part in path.split("/"))


class BodyLimit:
    """Refuse request bodies over 1 MiB (413 problem+json): at once when Content-Length says so,
    and as soon as a streamed (chunked) body goes past it. Also answers 404 for an id too long
    to be one, before a database sees it."""

    def __init__(self, app: ASGIApp, *, uploads: re.Pattern[str] | None = None,
                 upload_limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.uploads = uploads  # paths that take files (images): their own, larger limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and oversized_id(scope["path"]):
            await send({"type": "websocket.close", "code": 1008})  # as for an unknown session
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if oversized_id(scope["path"]):
            await problem_response(Problem("not_found", "不存在 / no such resource: "
                                           f"{scope['path']}"), scope["path"])(scope, receive, send)
            return
        limit = (self.upload_limit if self.uploads and self.uploads.fullmatch(scope["path"])
                 else MAX_BODY_BYTES)
        if declared_too_large(scope, limit):
            await problem_response(_too_large(limit), scope.get("path"))(scope, receive, send)
            return
        received = 0
        exceeded = False

        async def limited() -> Message:
            nonlocal received, exceeded
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                exceeded = True
                raise _too_large(limit)
            return message

        async def answer(message: Message) -> None:
            # Whatever the route made of the interrupted body (FastAPI answers 400 to a body it
            # could not read), the answer is 413.
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start":
                await problem_response(_too_large(limit), scope.get("path"))(scope, receive, send)

        await self.app(scope, limited, answer)


async def read_body(scope: Scope, receive: Receive) -> bytes | None:
    """The request body, at most 1 MiB (else Problem 413); None if the client went away."""
    if declared_too_large(scope):
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(_validation_problem(exc), request.url.path)

    async def _outage(request: Request, exc: Exception) -> Response:
        return outage_response(exc, request.url.path)

    for outage in OUTAGES:
        app.add_exception_handler(outage, _outage)

    async def _invalid(request: Request, exc: Exception) -> Response:
        return invalid_value_response(exc, request.url.path)

    for invalid in INVALID_VALUES:
        app.add_exception_handler(invalid, _invalid)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return internal_response(request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "invalid_request")
        detail = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"没有这个地址 / No such resource: {request.url.path}"
        problem = Problem(code, detail)
        response = problem_response(problem, request.url.path)
        if exc.status_code not in STATUS_BY_CODE.get(code, (0,))[:1]:
            response.status_code = exc.status_code
        return response
