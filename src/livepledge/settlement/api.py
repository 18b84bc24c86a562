from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from livepledge.deps import PrincipalDep, RuntimeDep
from livepledge.openapi import errors
from livepledge.orders.rules import IDEMPOTENCY_KEY
from livepledge.settlement import agreements, reports, service, statements
from livepledge.settlement.schemas import (
    Agreement,
    AgreementRequest,
    Balances,
    Contract,
    ContractRequest,
    Earnings,
    IncomeRow,
    IncomeStatement,
    MoneyMovement,
    PartyPayout,
    PayoutRequest,
    Reconciliation,
    Statement,
    TopUpRequest,
    WithdrawalRequest,
)

router = APIRouter(prefix="/api/v1", tags=["money"])

KeyHeader = Annotated[str, Header(
    min_length=1, max_length=128, pattern=IDEMPOTENCY_KEY.pattern,
    description="1–128 visible ASCII characters; a repeat returns the first result")]
REPLAYED = {"Idempotent-Replayed": {"description": "present on a repeat", "required": False,
                                    "schema": {"type": "string", "enum": ["true"]}}}


def _replayed(response: Response, created: bool) -> None:
    if not created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"


@router.get("/shops/{shop_id}/balances", response_model=Balances)
async def balances(shop_id: int, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    """The shop's money: held in escrow, available, pending payouts, deposit (fen)."""
    return await service.balances(rt.db, principal, shop_id,
                                  minimum=rt.settings.min_deposit_fen)


@router.get("/shops/{shop_id}/statement", response_model=Statement)
async def statement(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                    start: datetime | None = Query(default=None, description="inclusive; "
                                                   "default: the 1st of the month (UTC)"),
                    end: datetime | None = Query(default=None, description="exclusive; "
                                                 "default: now; at most 366 days after start"),
                    limit: int = Query(default=500, ge=1, le=1000),
                    offset: int = Query(default=0, ge=0, le=10_000_000)) -> dict[str, Any]:
    """The shop's statement for a period: every posting to its escrow, available and deposit
    accounts, each naming its event and order (or case, payout, top-up), with opening and
    closing balances and the period's totals per event type."""
    period = service.check_period(start, end, rt.now())
    return await service.statement(rt.db, principal, shop_id, period, limit=limit,
                                   offset=offset)


@router.post("/shops/{shop_id}/payouts", status_code=201, response_model=MoneyMovement,
             responses={201: {"description": "paid out", "headers": REPLAYED},
                        200: {"description": "a repeat: the first payout", "headers": REPLAYED},
                        **errors(409)})
async def request_payout(shop_id: int, body: PayoutRequest, principal: PrincipalDep,
                         rt: RuntimeDep, response: Response,
                         idempotency_key: KeyHeader) -> dict[str, Any]:
    """Pay part or all of the payable balance out to the shop (owner only). Never more than
    the balance (409 `insufficient_balance`); a repeat with the same key returns the first
    payout."""
    payout, created = await service.request_payout(
        rt.db, rt.payments, principal, shop_id, amount=body.amount, key=idempotency_key,
        now=rt.now())
    _replayed(response, created)
    return payout


@router.get("/shops/{shop_id}/payouts", response_model=list[MoneyMovement])
async def list_payouts(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                       limit: int = Query(default=50, ge=1, le=200),
                       offset: int = Query(default=0, ge=0, le=1_000_000)) -> list[Any]:
    """The shop's payouts, newest first."""
    return await service.list_payouts(rt.db, principal, shop_id, limit=limit, offset=offset)


@router.post("/shops/{shop_id}/deposit/top-ups", status_code=201, response_model=MoneyMovement,
             responses={201: {"description": "collected", "headers": REPLAYED},
                        200: {"description": "a repeat: the first top-up", "headers": REPLAYED},
                        **errors(402)})
async def top_up(shop_id: int, body: TopUpRequest, principal: PrincipalDep, rt: RuntimeDep,
                 response: Response, idempotency_key: KeyHeader) -> dict[str, Any]:
    """Top the shop's deposit (保证金) up through the payment provider."""
    movement, created = await service.top_up(
        rt.db, rt.payments, principal, shop_id, amount=body.amount, key=idempotency_key,
        outcome=body.sandbox_outcome, now=rt.now())
    _replayed(response, created)
    return movement


@router.post("/shops/{shop_id}/deposit/withdrawals", status_code=201,
             response_model=MoneyMovement,
             responses={201: {"description": "paid back", "headers": REPLAYED},
                        200: {"description": "a repeat: the first withdrawal",
                              "headers": REPLAYED}, **errors(409)})
async def withdraw_deposit(shop_id: int, body: WithdrawalRequest, principal: PrincipalDep,
                           rt: RuntimeDep, response: Response,
                           idempotency_key: KeyHeader) -> dict[str, Any]:
    """Pay part or all of the deposit (保证金) back to the shop (owner only). Above the
    deployment's minimum at any time; all of it once the shop has no money in escrow, no open
    after-sales case and no scheduled or live session (409 `insufficient_balance` names what
    must stay and why)."""
    movement, created = await service.withdraw_deposit(
        rt.db, rt.payments, principal, shop_id, amount=body.amount, key=idempotency_key,
        minimum=rt.settings.min_deposit_fen, now=rt.now())
    _replayed(response, created)
    return movement


@router.get("/shops/{shop_id}/deposit/withdrawals", response_model=list[MoneyMovement])
async def list_withdrawals(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                           limit: int = Query(default=50, ge=1, le=200),
                           offset: int = Query(default=0, ge=0, le=1_000_000)) -> list[Any]:
    """The shop's deposit withdrawals, newest first."""
    return await service.list_withdrawals(rt.db, principal, shop_id, limit=limit,
                                          offset=offset)


@router.post("/me/payouts", status_code=201, response_model=PartyPayout,
             responses={201: {"description": "paid out", "headers": REPLAYED},
                        200: {"description": "a repeat: the first payout", "headers": REPLAYED},
                        **errors(409)})
async def request_party_payout(body: PayoutRequest, principal: PrincipalDep, rt: RuntimeDep,
                               response: Response,
                               idempotency_key: KeyHeader) -> dict[str, Any]:
    """An anchor or MCN agency takes what the platform owes them (commissions, slot fees, MCN
    fees) out to their settlement account. Never more than `payable` (409
    `insufficient_balance`); a repeat with the same key returns the first payout."""
    payout, created = await service.request_party_payout(
        rt.db, rt.payments, principal, amount=body.amount, key=idempotency_key, now=rt.now())
    _replayed(response, created)
    return payout


@router.get("/me/payouts", response_model=list[PartyPayout])
async def list_party_payouts(principal: PrincipalDep, rt: RuntimeDep,
                             limit: int = Query(default=50, ge=1, le=200),
                             offset: int = Query(default=0, ge=0, le=1_000_000)) -> list[Any]:
    """My payouts as an anchor or agency, newest first."""
    return await service.list_party_payouts(rt.db, principal, limit=limit, offset=offset)


# --- anchors' and agencies' agreements, MCN contracts (docs/money.md) ------------------------

@router.post("/shops/{shop_id}/agreements", status_code=201, response_model=Agreement,
             responses={201: {"description": "made (its slot fee collected)",
                              "headers": REPLAYED},
                        200: {"description": "a repeat: the first agreement",
                              "headers": REPLAYED}, **errors(402)})
async def create_agreement(shop_id: int, body: AgreementRequest, principal: PrincipalDep,
                           rt: RuntimeDep, response: Response,
                           idempotency_key: KeyHeader) -> dict[str, Any]:
    """An agreement with an anchor or an MCN agency (owner only): a commission on net sales
    (accrued when an order's money leaves escrow, reversed by later refunds) and/or a slot fee
    (坑位费, collected from the shop now), for one live session or for the sessions one anchor
    hosts in a period."""
    made, created = await agreements.create_agreement(
        rt.db, rt.payments, principal, shop_id, party_id=body.party_id,
        commission_bp=body.commission_bp, slot_fee=body.slot_fee, session_id=body.session_id,
        anchor_id=body.anchor_id, starts_at=body.starts_at, ends_at=body.ends_at,
        key=idempotency_key, outcome=body.sandbox_outcome, now=rt.now())
    _replayed(response, created)
    return made


@router.get("/shops/{shop_id}/agreements", response_model=list[Agreement])
async def shop_agreements(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                          limit: int = Query(default=50, ge=1, le=200),
                          offset: int = Query(default=0, ge=0, le=1_000_000)) -> list[Any]:
    """The shop's agreements, newest first."""
    return await agreements.list_agreements(rt.db, principal, shop_id=shop_id, limit=limit,
                                            offset=offset)


@router.post("/agreements/{agreement_id}/end", response_model=Agreement,
             responses=errors(409))
async def end_agreement(agreement_id: int, principal: PrincipalDep,
                        rt: RuntimeDep) -> dict[str, Any]:
    """End an agreement from now (owner only); orders placed before keep its commission."""
    return await agreements.end_agreement(rt.db, principal, agreement_id, now=rt.now())


@router.get("/me/agreements", response_model=list[Agreement])
async def my_agreements(principal: PrincipalDep, rt: RuntimeDep,
                        limit: int = Query(default=50, ge=1, le=200),
                        offset: int = Query(default=0, ge=0, le=1_000_000)) -> list[Any]:
    """An anchor's or agency's agreements with every shop, newest first."""
    return await agreements.list_agreements(rt.db, principal, shop_id=None, limit=limit,
                                            offset=offset)


@router.get("/me/earnings", response_model=Earnings)
async def my_earnings(principal: PrincipalDep, rt: RuntimeDep,
                      limit: int = Query(default=200, ge=1, le=1000)) -> dict[str, Any]:
    """What the platform owes me as an anchor or agency — commissions, slot fees, MCN fees —
    and the latest lines of my account, each naming its event and order."""
    return await agreements.earnings(rt.db, principal, limit=limit)


@router.post("/shops/{shop_id}/mcn-contracts", status_code=201, response_model=Contract,
             responses={201: {"description": "signed; the fee is in escrow",
                              "headers": REPLAYED},
                        200: {"description": "a repeat: the first contract",
                              "headers": REPLAYED}, **errors(402)})
async def create_contract(shop_id: int, body: ContractRequest, principal: PrincipalDep,
                          rt: RuntimeDep, response: Response,
                          idempotency_key: KeyHeader) -> dict[str, Any]:
    """An MCN contract with an ROI guarantee (对赌, owner only): the fee is collected into the
    contract's escrow; once every order of the period has left escrow the platform computes
    ROI on net sales (brushed orders left out) and pays the agency the fee, or the part the
    ROI reached and the rest back to the shop."""
    made, created = await agreements.create_contract(
        rt.db, rt.payments, principal, shop_id, agency_id=body.agency_id,
        anchor_id=body.anchor_id, starts_at=body.starts_at, ends_at=body.ends_at, fee=body.fee,
        guaranteed_roi_bp=body.guaranteed_roi_bp, key=idempotency_key,
        outcome=body.sandbox_outcome, now=rt.now())
    _replayed(response, created)
    return made


@router.get("/shops/{shop_id}/mcn-contracts", response_model=list[Contract])
async def shop_contracts(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                         limit: int = Query(default=50, ge=1, le=200),
                         offset: int = Query(default=0, ge=0, le=1_000_000)) -> list[Any]:
    """The shop's MCN contracts, newest first."""
    return await agreements.list_contracts(rt.db, principal, shop_id=shop_id, limit=limit,
                                           offset=offset)


@router.get("/me/mcn-contracts", response_model=list[Contract])
async def my_contracts(principal: PrincipalDep, rt: RuntimeDep,
                       limit: int = Query(default=50, ge=1, le=200),
                       offset: int = Query(default=0, ge=0, le=1_000_000)) -> list[Any]:
    """An agency's contracts with every shop, newest first."""
    return await agreements.list_contracts(rt.db, principal, shop_id=None, limit=limit,
                                           offset=offset)


@router.get("/mcn-contracts/{contract_id}", response_model=Contract)
async def get_contract(contract_id: int, principal: PrincipalDep,
                       rt: RuntimeDep) -> dict[str, Any]:
    """A contract and its computation, the same for the shop and the agency."""
    return await agreements.get_contract(rt.db, principal, contract_id)
PeriodQuery = Annotated[str, Query(
    min_length=6, max_length=7, pattern=statements.PERIOD.pattern,
    description="a calendar month (2026-11) or quarter (2026Q4), Asia/Shanghai")]
FormatQuery = Annotated[Literal["json", "csv", "xlsx"], Query(
    description="json; csv (UTF-8 with BOM, for Excel); xlsx")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILES = {200: {"content": {"text/csv": {"schema": {"type": "string"}},
                           XLSX: {"schema": {"type": "string", "format": "binary"}}},
               "description": "the statement (json), or the file to download (csv, xlsx)"}}


def _file(rows: list[dict[str, Any]], fmt: str, name: str, title: str) -> Response:
    if fmt == "csv":
        return Response(statements.to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return Response(statements.to_xlsx(rows, title), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/shops/{shop_id}/income-statements", response_model=IncomeStatement,
            responses=FILES)
async def shop_income_statement(shop_id: int, principal: PrincipalDep, rt: RuntimeDep,
                                period: PeriodQuery,
                                format: FormatQuery = "json") -> Any:
    """The shop's income statement for a month or quarter, from the ledger: gross sales,
    refunds and returns, net sales, commission to the platform, commissions and slot fees paid
    (Order 810 fields, docs/money.md). A quarter also gives each of its months."""
    found = statements.check_period(period)
    body = await statements.shop_statement(rt.db, principal, shop_id, found)
    if format == "json":
        return body
    return _file(statements.statement_rows(body), format,
                 statements.file_name("shop", str(shop_id), found, format), found.label)


@router.get("/me/income-statements", response_model=IncomeStatement, responses=FILES)
async def my_income_statement(principal: PrincipalDep, rt: RuntimeDep, period: PeriodQuery,
                              format: FormatQuery = "json") -> Any:
    """An anchor's or MCN agency's own income statement: commissions, slot fees and service
    fees received, commissions given back on returns (their payable account in the ledger)."""
    found = statements.check_period(period)
    body = await statements.party_statement(rt.db, principal, found)
    if format == "json":
        return body
    return _file(statements.statement_rows(body), format,
                 statements.file_name("user", str(principal.user_id), found, format),
                 found.label)


@router.get("/operator/income-statements", response_model=list[IncomeRow], responses=FILES)
async def operator_income_statements(principal: PrincipalDep, rt: RuntimeDep,
                                     period: PeriodQuery,
                                     format: FormatQuery = "json") -> Any:
    """Every merchant, anchor and agency with money in the period: the file the platform
    reports to the tax authority (platform operators only)."""
    found = statements.check_period(period)
    rows = await statements.operator_statements(rt.db, principal, found)
    if format == "json":
        return rows
    return _file(rows, format, statements.file_name("all", "platform", found, format),
                 found.label)


@router.get("/operator/reconciliation", response_model=Reconciliation)
async def reconciliation(principal: PrincipalDep, rt: RuntimeDep,
                         period: Annotated[str | None, Query(
                             min_length=6, max_length=7, pattern=statements.PERIOD.pattern,
                             description="only this month or quarter (default: all time)")]
                         = None) -> dict[str, Any]:
    """Ties the ledger to the orders' payments and to the payment provider's records; lists
    every mismatch (platform operators only). `ties` is true only when everything agrees."""
    statements.check_operator(principal)
    found = statements.check_period(period) if period is not None else None
    report = await reports.reconcile(rt.db, found, journal=rt.settings.sandbox_journal)
    return report.to_dict()
