"""RFC 9457 problem details. Every domain error is a `Problem` with a stable code; the HTTP status
is decided here, in one place, and every response is `application/problem+json`."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"

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
    "payment_failed": (402, "支付失败 / Payment failed"),
    "compliance_blocked": (409, "未通过合规检查 / Blocked by compliance check"),
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


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(_validation_problem(exc), request.url.path)

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
