"""The OpenAPI document, made true to what the server answers (issue #16.9).

FastAPI documents the happy path and a 422 in its own format. This module completes the
document from each route's declaration:

- every error (status ≥ 400) is `application/problem+json` with the `Problem` schema (RFC 9457,
  as `infra/problems.py` sends it);
- the errors a route can answer are derived from what it depends on: the bearer/cookie
  principal → 401 and 403 (bad token, CSRF, role or shop); an id in the path → 404 (unknown,
  or too long to be an id) and 422 (not an integer); query or header parameters → 422; a JSON
  body → 400 (malformed JSON), 413 (over the body limit) and 422; the runtime (database,
  Redis) → 503. What cannot be derived (409 conflicts, 429 throttles, 402, 415) is declared on
  the route with FastAPI's `responses=` (a description is enough; the content is filled here);
- a method a path does not support answers 405 with an `Allow` header naming the methods it
  does support (all the routes of that path together, as RFC 9110 asks).

tests/api/test_openapi_conformance.py keeps it true: schemathesis checks every answer against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import _get_api_route_for_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.responses import Response

from livepledge.deps import optional_principal, require_principal, runtime_dependency
from livepledge.infra.problems import PROBLEM_MEDIA_TYPE, Problem, problem_response

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. `code` is stable, for programs; `detail` says "
                   "in Chinese then English what was wrong.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "/problems/<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable error code (infra/problems.py)"},
        "instance": {"type": "string", "description": "the request path"},
        "errors": {"type": "array", "description": "for validation_failed: which fields",
                   "items": {"type": "object", "required": ["field", "message"],
                             "properties": {"field": {"type": "string"},
                                            "message": {"type": "string"}}}},
    },
    "additionalProperties": True,
}
DESCRIPTIONS = {
    400: "请求无效 / Bad request: malformed JSON, a missing required header",
    401: "需要登录 / No valid bearer token or session",
    402: "支付失败 / Payment declined",
    403: "无权操作 / Forbidden: wrong role, not staff of the shop, CSRF check failed, muted",
    404: "不存在 / No such resource (or an id too long to be one)",
    405: "不支持该方法 / Method not allowed (see the Allow header)",
    409: "冲突 / Conflict with the resource's state",
    413: "请求体过大 / Request body over the limit",
    415: "不支持的内容类型 / Unsupported media type",
    422: "输入不合法 / Validation failed (`errors` lists the fields)",
    429: "操作太频繁 / Too many requests (see Retry-After)",
    503: "服务暂不可用 / Database or Redis unavailable; retry (see Retry-After)",
}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def derived_errors(route: APIRoute) -> set[int]:
    """The error statuses a route can answer, from what it depends on."""
    dependant = route.dependant
    calls = set(_calls(dependant))
    statuses: set[int] = set()
    if require_principal in calls or optional_principal in calls:
        statuses |= {401, 403, 503}  # a token is looked up in the database
    if runtime_dependency in calls:
        statuses.add(503)
    params = [*dependant.path_params, *dependant.query_params, *dependant.header_params]
    for sub in dependant.dependencies:
        params += [*sub.path_params, *sub.query_params, *sub.header_params]
    if dependant.path_params:
        statuses |= {404, 422}
    if params:
        statuses.add(422)
    if dependant.header_params:
        statuses.add(400)
    if route.body_field is not None:
        statuses |= {400, 413, 422}
    return statuses


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    for context in iter_route_contexts(app.routes):
        route = _get_api_route_for_openapi(context)
        if route is not None and route.include_in_schema:
            yield route


def complete(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    """Add the derived errors to every operation and document all errors as problem+json."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for route in api_routes(app):
        path_item = document["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = path_item.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in derived_errors(route):
                responses.setdefault(str(status), {})
    for path_item in document["paths"].values():
        for method in _METHODS:
            if method in path_item:
                _problems(path_item[method].get("responses", {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def _problems(responses: dict[str, Any]) -> None:
    for status, response in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        description = response.get("description")
        if not description or description == "Validation Error":
            response["description"] = DESCRIPTIONS.get(int(status), "error")
        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}
        if int(status) == 405:
            response.setdefault("headers", {})["Allow"] = {
                "description": "the methods this path supports", "schema": {"type": "string"}}
        if int(status) in (429, 503):
            response.setdefault("headers", {})["Retry-After"] = {
                "description": "seconds to wait", "schema": {"type": "integer"}}


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at this path (HEAD with GET)."""
    methods: set[str] = set()
    for context in iter_route_contexts(app.routes):
        route = context.route
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path) and getattr(route, "methods", None):
            methods |= set(route.methods)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install(app: FastAPI) -> None:
    generate = app.openapi

    completed: list[int] = []

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI's, cached until the routes change
        if completed != [id(document)]:
            complete(app, document)
            completed[:] = [id(document)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(405)
    async def _method_not_allowed(request: Request, exc: HTTPException) -> Response:
        allow = ", ".join(allowed_methods(app, request.url.path))
        response = problem_response(Problem(
            "method_not_allowed", f"不支持 {request.method}，可用：{allow} / {request.method} is "
            f"not supported here; allowed: {allow}", allowed=allow.split(", ")),
            request.url.path)
        response.headers["Allow"] = allow
        return response


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the errors of a route that its dependencies do not tell (409 conflicts,
    429 throttles, 402…); the content (problem+json) is filled in by `complete`."""
    return {status: {"description": DESCRIPTIONS[status]} for status in statuses}
