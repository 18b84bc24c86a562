"""Income statements for tax reporting (Order 810) and the reconciliation report: figures from
the ledger per shop and per party, month and quarter in Asia/Shanghai, CSV with BOM and XLSX,
operators' export, the `ledger statements` and `ledger reconcile` commands, and bad input
(docs/money.md, "Income statements", "Reconciliation")."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from livepledge.accounts.service import make_operator
from livepledge.orders.models import payments
from livepledge.settlement import reports, rules, statements
from livepledge.settlement.ledger import do_post_many
from livepledge.settlement.statements import Grouped, month_period, parse_period, quarter_period
from tests.api.test_ledger import (
    COMMISSION,
    PAID,
    SHIP,
    _return,
    assert_verified,
    paid_order,
    release_due,
    settle,
)
from tests.api.world import World, assert_problem, auth, build_world, register
from tests.conftest import make_app_client

SH = statements.TZ


# ---------------------------------------------------------------- pure parts

@pytest.mark.parametrize(("text", "label", "start", "end"), [
    ("2026-11", "2026-11", datetime(2026, 10, 31, 16, tzinfo=UTC),
     datetime(2026, 11, 30, 16, tzinfo=UTC)),
    ("2026-12", "2026-12", datetime(2026, 11, 30, 16, tzinfo=UTC),
     datetime(2026, 12, 31, 16, tzinfo=UTC)),
    ("2026Q4", "2026Q4", datetime(2026, 9, 30, 16, tzinfo=UTC),
     datetime(2026, 12, 31, 16, tzinfo=UTC)),
    ("2027Q1", "2027Q1", datetime(2026, 12, 31, 16, tzinfo=UTC),
     datetime(2027, 3, 31, 16, tzinfo=UTC)),
    (" 2026-01 ", "2026-01", datetime(2025, 12, 31, 16, tzinfo=UTC),
     datetime(2026, 1, 31, 16, tzinfo=UTC)),
])
def test_periods_are_calendar_months_and_quarters_in_shanghai(text: str, label: str,
                                                              start: datetime, end: datetime):
    period = parse_period(text)
    assert not isinstance(period, str)
    assert (period.label, period.start, period.end) == (label, start, end)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026Q5", "2026Q0", "26-11", "2026/11",
                                  "1999-01", "2101Q1", "", None, "2026-1", "2026q4"])
def test_bad_periods_are_refused(text: str | None):
    assert isinstance(parse_period(text), str)


def test_a_quarter_has_its_three_months():
    assert [m.label for m in quarter_period(2026, 4).months()] == ["2026-10", "2026-11",
                                                                   "2026-12"]
    assert month_period(2026, 13).label == "2027-01"


SHOP, ANCHOR, AGENCY = 7, 41, 42
ROWS = [  # (shop, kind, account, debit, credit, count): a quarter of one shop's money
    Grouped(SHOP, "OrderPaid", "provider:sandbox:clearing", 30000, 0, 3),
    Grouped(SHOP, "OrderPaid", "shop:7:escrow", 0, -30000, 3),
    Grouped(SHOP, "OrderCancelled", "provider:sandbox:clearing", 0, -10000, 1),
    Grouped(SHOP, "CaseRefunded", "provider:sandbox:clearing", 0, -4000, 1),
    Grouped(SHOP, "PriceProtectionRefunded", "provider:sandbox:clearing", 0, -500, 1),
    Grouped(SHOP, "OrderCompensated", "provider:sandbox:clearing", 0, -300, 1),
    Grouped(SHOP, "EscrowReleased", rules.COMMISSION_REVENUE, 0, -1000, 2),
    Grouped(SHOP, "CaseRefunded", rules.COMMISSION_REVENUE, 200, 0, 1),
    Grouped(SHOP, "EscrowReleased", "shop:7:available", 0, -15000, 2),
    Grouped(SHOP, "EscrowReleased", f"party:{ANCHOR}:payable", 0, -2000, 2),
    Grouped(SHOP, "CaseRefunded", f"party:{ANCHOR}:payable", 400, 0, 1),
    Grouped(SHOP, "SlotFeePaid", f"party:{AGENCY}:payable", 0, -5000, 1),
    Grouped(SHOP, "McnContractSettled", f"party:{AGENCY}:payable", 0, -8000, 1),
    Grouped(SHOP, "PayoutPaid", "shop:7:available", 6000, 0, 1),
    Grouped(None, "PartyPayoutPaid", f"party:{ANCHOR}:payable", 1000, 0, 1),
    Grouped(8, "OrderPaid", "provider:sandbox:clearing", 99999, 0, 9),  # another shop
]


def test_a_merchants_figures_come_from_its_postings():
    f = statements.shop_figures(ROWS, SHOP)
    assert (f.orders, f.gross_sales, f.refunds, f.net_sales) == (3, 30000, 14500, 15500)
    assert (f.refunds_cancelled, f.refunds_aftersales, f.refunds_price_protection) == (
        10000, 4000, 500)
    assert (f.platform_commission, f.commissions_paid, f.slot_fees_paid, f.mcn_fees_paid) == (
        800, 1600, 5000, 8000)
    assert (f.compensation_paid, f.released, f.payouts) == (300, 15000, 6000)
    assert f.commission_income == 0


def test_an_anchors_and_an_agencys_figures_come_from_their_payable_account():
    anchor = statements.party_figures(ROWS, ANCHOR)
    assert (anchor.commission_income, anchor.commission_reversed, anchor.income_total,
            anchor.income_net, anchor.payouts) == (2000, 400, 2000, 1600, 1000)
    agency = statements.party_figures(ROWS, AGENCY)
    assert (agency.slot_fee_income, agency.mcn_fee_income, agency.income_total,
            agency.income_net) == (5000, 8000, 13000, 13000)
    assert agency.gross_sales == 0
    assert statements.parties_in(ROWS) == ([SHOP], [ANCHOR, AGENCY])


def test_csv_has_a_bom_amounts_in_yuan_and_formulas_defused():
    row = {"period": "2026Q4", "party_type": "merchant", "party_ref": "shop:7",
           "name": "=HYPERLINK(\"x\")", "shop_name": "小王的店", "tax_id": "91110000X",
           "id_document": statements.NOT_COLLECTED,
           "figures": {**{k: 0 for k in statements.FIGURE_FIELDS}, "gross_sales": 123456,
                       "refunds": -5, "orders": 4}}
    data = statements.to_csv([row])
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig").splitlines()
    assert text[0].startswith("所属期 / period,主体类型")
    cells = next(csv.reader([text[1]]))
    assert cells[3].startswith("'=")  # a name is never a formula
    assert "1234.56" in cells and "-0.05" in cells and "4" in cells
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(statements.to_xlsx([row], "2026Q4"))).active
    heading = [c.value for c in sheet[1]]
    values = dict(zip(heading, [c.value for c in sheet[2]], strict=True))
    assert values["销售收入总额 / gross sales"] == 1234.56
    assert values["订单数量 / orders"] == 4
    assert values["名称（姓名）/ name"].startswith("'=")


# ---------------------------------------------------------------- through the API

@pytest.fixture
async def client(sqlite_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with make_app_client(sqlite_url, platform_commission_bp=500,
                               sandbox_journal=tmp_path / "provider.jsonl") as c:
        yield c


def _rt(client: httpx.AsyncClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


async def operator(client: httpx.AsyncClient) -> str:
    await make_operator(_rt(client).db, login="finance1", password="platform-finance-2026",
                        display_name="平台财务", now=datetime.now(UTC))
    made = await client.post("/api/v1/tokens", json={"login": "finance1",
                                                     "password": "platform-finance-2026"})
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


def month_of(at: datetime) -> str:
    local = at.astimezone(SH)
    return f"{local.year:04d}-{local.month:02d}"


async def figures(w: World, periods: set[str]) -> dict[str, int]:
    """The shop's figures summed over the periods (a release fires on the moved clock, which
    may be in the next month)."""
    total: dict[str, int] = {}
    for period in periods:
        got = await w.client.get(f"/api/v1/shops/{w.shop_id}/income-statements",
                                 params={"period": period}, headers=auth(w.merchant))
        assert got.status_code == 200, got.text
        for k, v in got.json()["figures"].items():
            total[k] = total.get(k, 0) + v
    return total


async def sales_with_a_return(client: httpx.AsyncClient) -> tuple[World, set[str]]:
    """Two orders paid, received and released; one returned after release; one cancelled by
    the shop before shipping (refund + compensation from the deposit); a payout; a top-up."""
    w = await build_world(client, buyers=3)
    kept = await paid_order(w, w.buyers[0], ship=True, receive=True)
    returned = await paid_order(w, w.buyers[1], ship=True, receive=True)
    cancelled = await paid_order(w, w.buyers[2])
    headers = {**auth(w.merchant), "Idempotency-Key": "dep-1"}
    assert (await client.post(f"/api/v1/shops/{w.shop_id}/deposit/top-ups", headers=headers,
                              json={"amount": 50000})).status_code == 201
    await settle(client)
    due = await release_due(client, returned)
    await settle(client, at=due)
    assert kept != returned
    case = await _return(w, returned, w.buyers[1])
    assert case["refunded"] == PAID
    cancel = await client.post(f"/api/v1/orders/{cancelled}/cancel", headers=auth(w.merchant),
                               json={"reason_code": "out_of_stock", "reason": "缺货"})
    assert cancel.status_code == 200, cancel.text
    await settle(client)
    headers = {**auth(w.merchant), "Idempotency-Key": "payout-1"}
    assert (await client.post(f"/api/v1/shops/{w.shop_id}/payouts", headers=headers,
                              json={"amount": 1000})).status_code == 201
    await settle(client)
    return w, {month_of(datetime.now(UTC)), month_of(due)}


async def test_a_shops_statement_shows_sales_returns_and_the_commission_reversed(
        client: httpx.AsyncClient):
    w, periods = await sales_with_a_return(client)
    got = await figures(w, periods)
    assert (got["orders"], got["gross_sales"]) == (3, 3 * PAID)
    assert (got["refunds_aftersales"], got["refunds_cancelled"]) == (PAID, PAID)
    assert (got["refunds"], got["net_sales"]) == (2 * PAID, PAID)
    assert got["platform_commission"] == COMMISSION  # two released, one reversed on the return
    assert got["released"] == 2 * (PAID - COMMISSION)
    assert got["compensation_paid"] > 0 and got["payouts"] == 1000

    quarter = statements.quarter_period(datetime.now(SH).year,
                                        (datetime.now(SH).month - 1) // 3 + 1)
    body = (await client.get(f"/api/v1/shops/{w.shop_id}/income-statements",
                             params={"period": quarter.label}, headers=auth(w.merchant))).json()
    assert body["kind"] == "quarter" and [m["period"] for m in body["months"]] == [
        m.label for m in quarter.months()]
    months_gross = sum(m["figures"]["gross_sales"] for m in body["months"])
    assert months_gross == body["figures"]["gross_sales"]
    assert body["party_type"] == "merchant" and body["party_ref"] == f"shop:{w.shop_id}"

    got_csv = await client.get(f"/api/v1/shops/{w.shop_id}/income-statements",
                               params={"period": quarter.label, "format": "csv"},
                               headers=auth(w.merchant))
    assert got_csv.status_code == 200
    assert got_csv.headers["content-type"].startswith("text/csv")
    assert got_csv.content.startswith(b"\xef\xbb\xbf")
    assert len(got_csv.content.decode("utf-8-sig").splitlines()) == 1 + 3 + 1  # months, total
    assert "attachment" in got_csv.headers["content-disposition"]
    xlsx = await client.get(f"/api/v1/shops/{w.shop_id}/income-statements",
                            params={"period": quarter.label, "format": "xlsx"},
                            headers=auth(w.merchant))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    await assert_verified(client)


async def test_an_anchors_statement_and_the_operators_export(client: httpx.AsyncClient):
    w = await build_world(client, buyers=1)
    await paid_order(w, w.buyers[0])
    await settle(client)
    now = datetime.now(UTC)
    code = statements.party_account(w.anchor_id)
    async with _rt(client).db.write() as uow:  # what agreements will post (issue #12 item 5)
        await do_post_many(uow.conn, [
            rules.Transaction(10**12 + 1, "SlotFeePaid", w.shop_id, None, now, (
                rules.Line(rules.available(w.shop_id), 20000), rules.Line(code, -20000))),
            rules.Transaction(10**12 + 2, "EscrowReleased", w.shop_id, None, now, (
                rules.Line(rules.available(w.shop_id), 990), rules.Line(code, -990))),
            rules.Transaction(10**12 + 3, "CaseRefunded", w.shop_id, None, now, (
                rules.Line(code, 330), rules.Line(rules.available(w.shop_id), -330)))],
            now=now)
    period = month_of(now)
    mine = await client.get("/api/v1/me/income-statements", params={"period": period},
                            headers=auth(w.anchor))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["party_ref"] == f"user:{w.anchor_id}" and body["party_type"] == "anchor"
    assert {k: body["figures"][k] for k in ("slot_fee_income", "commission_income",
                                            "commission_reversed", "income_net")} == {
        "slot_fee_income": 20000, "commission_income": 990, "commission_reversed": 330,
        "income_net": 20660}
    shop = (await client.get(f"/api/v1/shops/{w.shop_id}/income-statements",
                             params={"period": period}, headers=auth(w.merchant))).json()
    assert (shop["figures"]["slot_fees_paid"], shop["figures"]["commissions_paid"]) == (
        20000, 660)
    # A buyer has no income: an empty statement of their own, nobody else's.
    buyer = (await client.get("/api/v1/me/income-statements", params={"period": period},
                              headers=auth(w.buyers[0]))).json()
    assert buyer["figures"]["income_total"] == 0

    token = await operator(client)
    rows = (await client.get("/api/v1/operator/income-statements", params={"period": period},
                             headers=auth(token))).json()
    assert [r["party_ref"] for r in rows] == [f"shop:{w.shop_id}", f"user:{w.anchor_id}"]
    assert rows[0]["tax_id"] != "" and rows[1]["tax_id"] == statements.NOT_COLLECTED
    exported = await client.get("/api/v1/operator/income-statements",
                                params={"period": period, "format": "csv"}, headers=auth(token))
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 3 and "200.00" in lines[2]


async def test_bad_periods_other_shops_and_other_parties_are_refused(client: httpx.AsyncClient):
    w = await build_world(client, buyers=1)
    url = f"/api/v1/shops/{w.shop_id}/income-statements"
    for bad in ("2026-13", "2026Q5", "next month", "2026-1"):
        assert_problem(await client.get(url, params={"period": bad}, headers=auth(w.merchant)),
                       422, "validation_failed")
    assert_problem(await client.get(url, params={"period": "2026-11", "format": "pdf"},
                                    headers=auth(w.merchant)), 422, "validation_failed")
    _, stranger = await register(client, "other.merchant", role="merchant")
    refused = await client.get(url, params={"period": "2026-11"}, headers=auth(stranger))
    assert refused.status_code in (403, 404)
    assert (await client.get(url, params={"period": "2026-11"})).status_code == 401
    for path in ("/api/v1/operator/income-statements", "/api/v1/operator/reconciliation"):
        assert_problem(await client.get(path, params={"period": "2026-11"},
                                        headers=auth(w.merchant)), 403, "forbidden")


async def test_a_clean_world_reconciles_and_a_broken_one_is_reported_exactly(
        client: httpx.AsyncClient, tmp_path: Path):
    w, _ = await sales_with_a_return(client)
    token = await operator(client)
    clean = await client.get("/api/v1/operator/reconciliation", headers=auth(token))
    assert clean.status_code == 200, clean.text
    body = clean.json()
    assert body["ties"], body["mismatches"]
    assert body["provider_checked"] and body["orders_checked"] == 3
    assert body["ledger_behind"] == 0
    # 3 charges, 2 refunds, 1 compensation, 1 top-up, 1 payout
    assert body["provider_records"] == body["ledger_movements"] == 8

    order = (await w.buy(w.buyers[0])).json()  # unpaid: a payment row behind the ledger's back
    async with _rt(client).db.write() as uow:
        await uow.conn.execute(insert(payments).values(
            order_id=order["id"], provider="sandbox", provider_ref="sbx_forged", amount=4242,
            status="succeeded", created_at=datetime.now(UTC)))
    with open(tmp_path / "provider.jsonl", "a", encoding="utf-8") as journal:
        journal.write(json.dumps({"op": "payout", "key": "payout:x", "charge": {
            "provider": "sandbox", "reference": "sbp_stray", "amount": 777,
            "succeeded": True, "message": ""}}) + "\n")
    broken = (await client.get("/api/v1/operator/reconciliation", headers=auth(token))).json()
    assert not broken["ties"]
    assert [(m["where"], m["ref"], m["category"]) for m in broken["mismatches"]] == [
        ("orders", f"order:{order['id']}", "charge"), ("provider", "sbp_stray", "payout")]
    assert (broken["mismatches"][0]["payments"], broken["mismatches"][0]["ledger"]) == (4242, 0)

    quarter = statements.quarter_period(2020, 1)  # another period: nothing of this one
    report = await reports.reconcile(_rt(client).db, quarter, journal=tmp_path / "provider.jsonl")
    assert [m["ref"] for m in report.mismatches] == ["sbp_stray"]  # a record with no row: always


def test_the_statements_and_reconcile_commands(tmp_path: Path):
    from tests.conftest import lp_env, run_cli

    url = f"sqlite+aiosqlite:///{tmp_path / 'lp.db'}"
    journal = tmp_path / "provider.jsonl"

    async def scenario() -> None:
        async with make_app_client(url, platform_commission_bp=500,
                                   sandbox_journal=journal) as client:
            w = await build_world(client, buyers=1)
            order_id = await paid_order(w, w.buyers[0])
            assert (await client.post(f"/api/v1/orders/{order_id}/ship", headers=auth(
                w.merchant), json=SHIP)).status_code == 200
            await settle(client)

    asyncio.run(scenario())
    env = lp_env(url, LIVEPLEDGE_SANDBOX_JOURNAL=str(journal))
    period = month_of(datetime.now(UTC))
    out = tmp_path / "income.csv"
    made = run_cli(["ledger", "statements", "--period", period, "--format", "csv", "--out",
                    str(out)], env)
    assert "1 个主体" in made.stdout
    lines = out.read_bytes().decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and f"{PAID // 100}.00" in lines[1]
    assert run_cli(["ledger", "statements", "--period", "2026Q7", "--out", str(out)], env,
                   check=False).returncode == 2
    tied = run_cli(["ledger", "reconcile", "--period", period], env, check=False)
    assert tied.returncode == 0 and "OK" in tied.stdout, tied.stdout + tied.stderr
    with open(journal, "a", encoding="utf-8") as f:
        f.write(json.dumps({"op": "charge", "key": "999:order-999", "charge": {
            "provider": "sandbox", "reference": "sbx_lost", "amount": 100, "succeeded": True,
            "message": ""}}) + "\n")
    broken = run_cli(["ledger", "reconcile", "--json"], env, check=False)
    assert broken.returncode == 1
    assert [m["ref"] for m in json.loads(broken.stdout)["mismatches"]] == ["sbx_lost"]
