"""POST /api/v1/compliance/check on a minimal app with the router and problem handlers."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from livepledge.compliance.api import router
from livepledge.infra import problems


def _client():
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    return TestClient(app)


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
