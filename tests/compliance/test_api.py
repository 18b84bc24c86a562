"""POST /api/v1/compliance/check on a minimal app with the router and problem handlers."""

from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from livepledge.compliance.api import router
from livepledge.config import Settings
from livepledge.infra import problems
from livepledge.infra.throttle import LocalThrottle


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(clock=None, client=("testclient", 50000), **settings):
    """A minimal app with the router, the problem handlers, and a runtime holding only what
    the endpoint reads: the settings and a throttle (its counts in `app.state.runtime`)."""
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    app.state.runtime = SimpleNamespace(
        settings=Settings(redis_url="", **settings),
        throttle=LocalThrottle(clock or _Clock()))
    return TestClient(app, client=client)


def test_check_returns_violation_and_findings():
    response = _client().post("/api/v1/compliance/check", json={
        "text": "原价299，今天只要99", "category": "general", "context": "speech",
        "facts": {"lowest_price_7d_fen": 9900}})

    assert response.status_code == 200
    body = response.json()
    assert body["violation"] is True
    assert [(f["rule_id"], f["span"], f["severity"]) for f in body["findings"]] == [
        ("PRC-003", [0, 2], "violation")]


def test_batch_items_are_checked_each():
    response = _client().post("/api/v1/compliance/check", json={"items": [
        {"id": 1, "text": "加我vx", "context": "chat"},
        {"id": 2, "text": "支持微信支付", "context": "chat"}]})

    assert response.status_code == 200
    body = response.json()
    assert body["violation"] is True
    assert [(r["id"], r["violation"]) for r in body["results"]] == [(1, True), (2, False)]


def test_bad_input_is_a_422_problem():
    client = _client()
    for payload in ({"text": "", "category": "general"},
                    {"text": "你好", "category": "cars"},
                    {"text": "你好", "context": "radio"},
                    {"text": "你好", "facts": {"stock_remaining": -1}},
                    {"items": [{"text": "   "}]}):
        response = client.post("/api/v1/compliance/check", json=payload)

        assert response.status_code == 422, payload
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "validation_failed"


# --- limits of the anonymous endpoint (issue #16 item 1) -------------------------------------

def _counted(client) -> dict:
    """The throttle's counts: key -> attempts in the current window."""
    return {key: count for key, (_end, count) in
            client.app.state.runtime.throttle._windows.items()}


def test_a_text_over_the_size_limit_is_a_413_problem_and_not_counted():
    client = _client(compliance_check_max_chars=20_000)
    at_limit = client.post("/api/v1/compliance/check", json={"text": "全网最低价加微信" * 2500})
    over = client.post("/api/v1/compliance/check", json={"text": "全网最低价加微信" * 2500 + "好"})

    assert at_limit.status_code == 200
    assert over.status_code == 413
    assert over.headers["content-type"] == "application/problem+json"
    body = over.json()
    assert body["code"] == "payload_too_large"
    assert body["max_chars"] == 20_000
    assert body["detail"].startswith("待检查文本共 20001 字符，超过每次 20000 字符的上限")
    assert "20001 characters to check, more than the limit of 20000" in body["detail"]
    assert _counted(client) == {"compliance:addr:testclient": 1}  # only the accepted one


def test_the_size_limit_counts_every_text_of_a_batch_together():
    client = _client(compliance_check_max_chars=100)
    items = [{"id": i, "text": "好" * 50} for i in range(2)]

    fits = client.post("/api/v1/compliance/check", json={"items": items})
    over = client.post("/api/v1/compliance/check",
                       json={"items": [*items, {"id": 2, "text": "好"}]})

    assert fits.status_code == 200
    assert [r["id"] for r in fits.json()["results"]] == [0, 1]
    assert over.status_code == 413
    assert over.json()["detail"].startswith("待检查文本共 101 字符")


def test_checks_beyond_the_per_address_budget_are_429_with_retry_after():
    clock = _Clock()
    client = _client(clock, compliance_checks_per_address=3, compliance_check_window_seconds=60)
    other = _client(clock, client=("203.0.113.9", 50000), compliance_checks_per_address=3)
    other.app.state.runtime.throttle = client.app.state.runtime.throttle  # one shared store
    url = "/api/v1/compliance/check"

    allowed = [client.post(url, json={"text": "加我vx"}).status_code for _ in range(3)]
    clock.now += 20
    refused = client.post(url, json={"text": "加我vx"})
    elsewhere = other.post(url, json={"text": "加我vx"})

    assert allowed == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "40"
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["detail"] == ("检查过于频繁，请 40 秒后再试 / too many checks from this "
                                        "address; try again in 40 s")
    assert "findings" not in refused.json()
    assert elsewhere.status_code == 200  # another address has its own budget
    clock.now += 40  # the window has ended: the address may check again
    assert client.post(url, json={"text": "加我vx"}).status_code == 200
