"""Use cases of the compliance engine: validate untrusted input, then run the pure checker.

`check_text` is the entry point the rest of the platform calls (chat, listings, scripts, live
transcripts). It uses the compiled catalogue singleton.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from livepledge.compliance.catalogue import CATEGORIES, CONTEXTS
from livepledge.compliance.engine import Finding, check
from livepledge.compliance.facts import Facts
from livepledge.compliance.statements import check_in_context
from livepledge.infra.problems import Problem

MAX_TEXT_CHARS = 100_000
DEFAULT_CATEGORY = "general"
DEFAULT_CONTEXT = "script"


class InputError(ValueError):
    """Untrusted input was refused; the message is Chinese first, then English."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    findings: tuple[Finding, ...]

    @property
    def violation(self) -> bool:
        return any(f.severity == "violation" for f in self.findings)

    @property
    def diverts_buyers(self) -> bool:
        return is_diversion(self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"violation": self.violation, "findings": [f.to_dict() for f in self.findings]}


def is_diversion(findings: Iterable[Finding]) -> bool:
    """True when a finding leads buyers off the platform: hold such a chat message back."""
    return any(f.family == "diversion" and f.severity == "violation" for f in findings)


def validate(text: Any, category: Any, context: Any) -> None:
    if not isinstance(text, str):
        raise InputError("text 必须是字符串 / text must be a string")
    if not text.strip():
        raise InputError("text 为空 / text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"text 超过 {MAX_TEXT_CHARS} 字符 / text longer than {MAX_TEXT_CHARS} "
                         "characters; split it into segments")
    if category not in CATEGORIES:
        raise InputError(f"未知的商品类目 / unknown category {category!r}; "
                         f"one of: {', '.join(CATEGORIES)}")
    if context not in CONTEXTS:
        raise InputError(f"未知的场景 / unknown context {context!r}; one of: {', '.join(CONTEXTS)}")


def check_text(text: str, *, category: str, context: str,
               facts: Facts | None = None) -> CheckResult:
    """Check one text. Raises InputError on empty or oversized text, unknown category/context."""
    validate(text, category, context)
    return CheckResult(tuple(check_in_context(check, text, category, context, facts)))


def check_item(item: Any) -> CheckResult:
    """One untrusted JSON object {"text", "category", "context", "facts"?}."""
    if not isinstance(item, dict):
        raise InputError("每一项必须是 JSON 对象 / each item must be a JSON object")
    try:
        facts = Facts.from_dict(item.get("facts"))
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    return check_text(item.get("text"), category=item.get("category", DEFAULT_CATEGORY),
                      context=item.get("context", DEFAULT_CONTEXT), facts=facts)


# --- JSON lines ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LineOutcome:
    line_number: int
    output: dict[str, Any]
    error: str | None = None


def _item_id(item: Any) -> Any:
    if isinstance(item, dict) and isinstance(item.get("id"), str | int | float):
        return item["id"]
    return None


def check_jsonl_line(raw: bytes, line_number: int) -> LineOutcome:
    """One input line -> one output object; bad lines get an "error" field, never raise."""
    item: Any = None
    try:
        text = raw.decode("utf-8")
        item = orjson.loads(text)
        result = check_item(item)
    except UnicodeDecodeError:
        error = "不是合法的 UTF-8 / invalid UTF-8"
    except orjson.JSONDecodeError:
        error = "不是合法的 JSON / invalid JSON"
    except InputError as exc:
        error = str(exc)
    else:
        output = {"id": _item_id(item), **result.to_dict()}
        return LineOutcome(line_number, output)
    return LineOutcome(line_number, {"id": _item_id(item), "line": line_number, "error": error},
                       error)


def check_jsonl(lines: Iterable[bytes]) -> Iterator[LineOutcome]:
    """Check a stream of JSON lines; blank lines are skipped (but still counted)."""
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            yield check_jsonl_line(raw.rstrip(b"\r\n"), number)


# --- HTTP ----------------------------------------------------------------------------------

def check_request(payload: dict[str, Any]) -> dict[str, Any]:
    """Body of POST /api/v1/compliance/check; refusals become a 422 problem."""
    try:
        if payload.get("items") is None:
            return check_item(payload).to_dict()
        if payload.get("text") is not None:
            raise InputError("text 与 items 只能二选一 / send either text or items")
        results = [{"id": item.get("id"), **_check_batch_item(index, item).to_dict()}
                   for index, item in enumerate(payload["items"])]
        return {"violation": any(r["violation"] for r in results), "results": results}
    except InputError as exc:
        raise Problem("validation_failed", str(exc)) from exc


def _check_batch_item(index: int, item: Any) -> CheckResult:
    try:
        return check_item(item)
    except InputError as exc:
        raise InputError(f"items[{index}]: {exc}") from exc
