"""Income statements for tax reporting (State Council Order 810, 《互联网平台企业涉税信息报送规定》;
docs/money.md, "Income statements").

Every figure is computed from the ledger: the postings of the period (calendar months and
quarters in Asia/Shanghai), grouped by the kind of the transaction they belong to and the
account they touch. Nothing is typed in by hand. A merchant's figures are read from the
transactions of its shop; an anchor's or MCN agency's from their own payable account
(`party:{user_id}:payable`), whatever transaction kinds post to it.

The pure parts (periods, figures from grouped postings, CSV and XLSX) come first; the queries
after them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts.models import shops, users
from livepledge.accounts.service import Principal, access_shop
from livepledge.infra.db import Database
from livepledge.infra.problems import Problem
from livepledge.settlement import rules
from livepledge.settlement.models import ledger_accounts, ledger_postings, ledger_transactions

TZ = ZoneInfo("Asia/Shanghai")
FORMATS = ("json", "csv", "xlsx")
MIN_YEAR, MAX_YEAR = 2000, 2100

# Transaction kinds (event types) and what they mean for a statement. Kinds not named here
# still count by the account they touch (docs/money.md): a party's payable credited is income.
SALE = "OrderPaid"
REFUND_KINDS = {"OrderCancelled": "cancelled", "CaseRefunded": "aftersales",
                "PriceProtectionRefunded": "price_protection"}
COMPENSATION = "OrderCompensated"
RELEASE = "EscrowReleased"
SLOT_FEE = "SlotFeePaid"
MCN_FEE = "McnContractSettled"


def is_payout(kind: str) -> bool:
    """A payout moves money the party already earned: never income."""
    return "Payout" in kind


def is_party_account(code: str) -> bool:
    return code.startswith("party:") and code.endswith(":payable")


def party_account(user_id: int) -> str:
    return f"party:{user_id}:payable"


def party_of(code: str) -> int:
    return int(code.split(":")[1])


# ---------------------------------------------------------------- periods (pure)

@dataclass(frozen=True)
class TaxPeriod:
    label: str  # 2026-11 | 2026Q4
    kind: str  # month | quarter
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive

    def months(self) -> list[TaxPeriod]:
        if self.kind == "month":
            return [self]
        local = self.start.astimezone(TZ)
        return [month_period(local.year, local.month + i) for i in range(3)]


def _local_start(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=TZ).astimezone(UTC)


def month_period(year: int, month: int) -> TaxPeriod:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return TaxPeriod(f"{year:04d}-{month:02d}", "month", _local_start(year, month),
                     _local_start(year, month + 1))


def quarter_period(year: int, quarter: int) -> TaxPeriod:
    first = 3 * (quarter - 1) + 1
    return TaxPeriod(f"{year:04d}Q{quarter}", "quarter", _local_start(year, first),
                     _local_start(year, first + 3))


PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|Q([1-4]))$")


def parse_period(text: str | None) -> TaxPeriod | str:
    """`2026-11` (a calendar month) or `2026Q4` (a quarter), in Asia/Shanghai; or an error."""
    match = PERIOD.match((text or "").strip())
    if not match:
        return "期间格式应为 2026-11（月）或 2026Q4（季度）/ the period must be a month " \
               "(2026-11) or a quarter (2026Q4)"
    year = int(match.group(1))
    if not MIN_YEAR <= year <= MAX_YEAR:
        return f"年份须在 {MIN_YEAR}–{MAX_YEAR} 之间 / the year must be {MIN_YEAR}-{MAX_YEAR}"
    if match.group(2) is not None:
        month = int(match.group(2))
        if not 1 <= month <= 12:
            return "月份须为 01–12 / the month must be 01-12"
        return month_period(year, month)
    return quarter_period(year, int(match.group(3)))


def check_period(text: str | None) -> TaxPeriod:
    found = parse_period(text)
    if isinstance(found, str):
        raise Problem("validation_failed", found)
    return found


def check_format(text: str | None) -> str:
    if text not in FORMATS:
        raise Problem("validation_failed", "格式须为 json、csv 或 xlsx / format must be json, "
                                           "csv or xlsx")
    return text


# ---------------------------------------------------------------- figures (pure)

@dataclass(frozen=True)
class Grouped:
    """The period's postings grouped: the transaction's shop and kind, the account, what was
    debited (≥ 0), what was credited (≤ 0), and how many postings."""

    shop_id: int | None
    kind: str
    account: str
    debit: int
    credit: int
    count: int


@dataclass
class Figures:
    """One party's income statement for one period, in fen (what Order 810 asks; the mapping
    is in docs/money.md)."""

    orders: int = 0  # 订单数量: paid orders
    gross_sales: int = 0  # 收入总额: buyers' payments
    refunds: int = 0  # 退款金额: all refunds of the period
    refunds_cancelled: int = 0  # of which: cancellations
    refunds_aftersales: int = 0  # of which: after-sales refunds and returns
    refunds_price_protection: int = 0  # of which: price protection
    net_sales: int = 0  # 收入净额 / 销售净额
    compensation_paid: int = 0  # compensation taken from the shop (赔付)
    platform_commission: int = 0  # 向平台支付的佣金, net of reversals on returns
    commissions_paid: int = 0  # commission the shop owes anchors and agencies, net
    slot_fees_paid: int = 0  # 坑位费 the shop paid
    mcn_fees_paid: int = 0  # MCN service fees the shop paid (released to the agency)
    commission_income: int = 0  # 佣金收入 (anchor, agency), gross
    commission_reversed: int = 0  # of which given back on returns
    slot_fee_income: int = 0  # 坑位费 received
    mcn_fee_income: int = 0  # MCN service fees received
    other_income: int = 0  # any other kind credited to the party
    income_total: int = 0  # 服务收入总额: commission + slot fees + MCN fees + other
    income_net: int = 0  # 服务收入净额: income_total − commission_reversed
    released: int = 0  # settled to the shop's available balance (net of commission)
    payouts: int = 0  # paid out


def shop_figures(rows: Iterable[Grouped], shop_id: int) -> Figures:
    """A merchant's figures from the postings of its shop's transactions."""
    f = Figures()
    for row in rows:
        if row.shop_id != shop_id:
            continue
        net = row.debit + row.credit
        if row.account.startswith("provider:"):
            _provider_line(f, row, net)
        elif row.account == rules.COMMISSION_REVENUE:
            f.platform_commission -= net
        elif is_party_account(row.account) and not is_payout(row.kind):
            name = {SLOT_FEE: "slot_fees_paid", MCN_FEE: "mcn_fees_paid"}.get(
                row.kind, "commissions_paid")
            setattr(f, name, getattr(f, name) - net)
        elif row.account == rules.available(shop_id):
            if row.kind == RELEASE:
                f.released -= net
            elif is_payout(row.kind):
                f.payouts += net
    f.refunds = f.refunds_cancelled + f.refunds_aftersales + f.refunds_price_protection
    f.net_sales = f.gross_sales - f.refunds
    return f


def _provider_line(f: Figures, row: Grouped, net: int) -> None:
    """Money in or out at the provider: sales (in), refunds and compensation (out)."""
    if row.kind == SALE:
        f.gross_sales += net
        f.orders += row.count
    elif row.kind in REFUND_KINDS:
        name = f"refunds_{REFUND_KINDS[row.kind]}"
        setattr(f, name, getattr(f, name) - net)
    elif row.kind == COMPENSATION:
        f.compensation_paid -= net


def party_figures(rows: Iterable[Grouped], user_id: int) -> Figures:
    """An anchor's or agency's figures from its payable account: credits are income, debits
    (other than payouts) income given back on returns."""
    f = Figures()
    code = party_account(user_id)
    for row in rows:
        if row.account != code:
            continue
        if is_payout(row.kind):
            f.payouts += row.debit
            continue
        earned, given_back = -row.credit, row.debit
        if row.kind == SLOT_FEE:
            f.slot_fee_income += earned - given_back
        elif row.kind == MCN_FEE:
            f.mcn_fee_income += earned - given_back
        elif row.kind in (RELEASE, SALE) or row.kind in REFUND_KINDS or "Commission" in row.kind:
            f.commission_income += earned
            f.commission_reversed += given_back
        else:
            f.other_income += earned - given_back
    f.income_total = f.commission_income + f.slot_fee_income + f.mcn_fee_income + f.other_income
    f.income_net = f.income_total - f.commission_reversed
    return f


def parties_in(rows: Iterable[Grouped]) -> tuple[list[int], list[int]]:
    """The shops and the parties (users) that have postings in the rows."""
    shop_ids, user_ids = set(), set()
    for row in rows:
        if row.shop_id is not None and row.account.startswith(f"shop:{row.shop_id}:"):
            shop_ids.add(row.shop_id)
        if is_party_account(row.account):
            user_ids.add(party_of(row.account))
    return sorted(shop_ids), sorted(user_ids)


# ---------------------------------------------------------------- files (pure)

# (field, 报送表 column heading) — the order of the CSV/XLSX columns; amounts in yuan.
IDENTITY_COLUMNS = (
    ("period", "所属期 / period"),
    ("party_type", "主体类型 / party type"),
    ("party_ref", "平台内唯一标识 / platform id"),
    ("name", "名称（姓名）/ name"),
    ("shop_name", "店铺名称 / shop name"),
    ("tax_id", "统一社会信用代码（纳税人识别号）/ tax id"),
    ("id_document", "身份证件类型及号码 / identity document"),
)
AMOUNT_COLUMNS = (
    ("orders", "订单数量 / orders", False),
    ("gross_sales", "销售收入总额 / gross sales", True),
    ("refunds", "退款（退货）金额 / refunds and returns", True),
    ("refunds_aftersales", "其中：售后退款退货 / of which after-sales", True),
    ("refunds_cancelled", "其中：取消订单退款 / of which cancellations", True),
    ("refunds_price_protection", "其中：价保退款 / of which price protection", True),
    ("net_sales", "销售净额 / net sales", True),
    ("platform_commission", "支付平台佣金 / platform commission", True),
    ("commissions_paid", "支付主播/机构佣金 / commissions paid", True),
    ("slot_fees_paid", "支付坑位费 / slot fees paid", True),
    ("mcn_fees_paid", "支付 MCN 服务费 / MCN fees paid", True),
    ("compensation_paid", "赔付 / compensation paid", True),
    ("commission_income", "佣金收入 / commission income", True),
    ("commission_reversed", "佣金退回 / commission given back", True),
    ("slot_fee_income", "坑位费收入 / slot fee income", True),
    ("mcn_fee_income", "服务费收入（MCN）/ MCN fee income", True),
    ("other_income", "其他收入 / other income", True),
    ("income_total", "服务收入总额 / service income, gross", True),
    ("income_net", "服务收入净额 / service income, net", True),
)
NOT_COLLECTED = "未采集 / not collected"


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def table(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The heading and the cells of a statement file: identities as text, amounts in yuan
    (two decimals, as the 报送表 asks), counts as integers."""
    heading = [h for _, h in IDENTITY_COLUMNS] + [h for _, h, _ in AMOUNT_COLUMNS]
    body = []
    for row in rows:
        figures = row["figures"]
        body.append([row.get(k) or "" for k, _ in IDENTITY_COLUMNS]
                    + [yuan(figures[k]) if money else figures[k]
                       for k, _, money in AMOUNT_COLUMNS])
    return heading, body


def to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese headings right."""
    heading, body = table(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(heading)
    writer.writerows([_safe_cell(c) for c in line] for line in body)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _safe_cell(value: Any) -> Any:
    """A name starting with = + - @ would be run as a formula by a spreadsheet: quote it."""
    if not isinstance(value, str):
        return value
    if value[:1] in ("=", "+", "@") or (value.startswith("-") and not _is_number(value)):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?", value) is not None


def to_xlsx(rows: Sequence[dict[str, Any]], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    heading, body = table(rows)
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(heading)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    amount_start = len(IDENTITY_COLUMNS)
    for line in body:
        cells: list[Any] = [str(_safe_cell(c)) for c in line[:amount_start]]
        for (_, _, money), value in zip(AMOUNT_COLUMNS, line[amount_start:], strict=True):
            cells.append(float(value) if money else int(value))
        sheet.append(cells)
    for index, (_, _, money) in enumerate(AMOUNT_COLUMNS, start=amount_start + 1):
        if money:
            for row in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                row[0].number_format = "0.00"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def file_name(kind: str, ref: str, period: TaxPeriod, fmt: str) -> str:
    return f"income-{kind}-{ref}-{period.label}.{fmt}"


# ---------------------------------------------------------------- queries

async def grouped(conn: AsyncConnection, period: TaxPeriod, *, shop_id: int | None = None,
                  account: str | None = None) -> list[Grouped]:
    """The period's postings grouped by (transaction shop, transaction kind, account)."""
    p, a, t = ledger_postings.c, ledger_accounts.c, ledger_transactions.c
    query = (select(t.shop_id, t.kind, a.code,
                    func.sum(case((p.amount > 0, p.amount), else_=0)),
                    func.sum(case((p.amount < 0, p.amount), else_=0)), func.count())
             .select_from(ledger_postings.join(ledger_accounts, a.id == p.account_id)
                          .join(ledger_transactions, t.id == p.transaction_id))
             .where(p.occurred_at >= period.start, p.occurred_at < period.end)
             .group_by(t.shop_id, t.kind, a.code))
    if shop_id is not None:
        query = query.where(p.shop_id == shop_id)
    if account is not None:
        query = query.where(a.code == account)
    return [Grouped(int(r[0]) if r[0] is not None else None, r[1], r[2], int(r[3] or 0),
                    int(r[4] or 0), int(r[5])) for r in await conn.execute(query)]


def _by_month(all_rows: list[tuple[TaxPeriod, list[Grouped]]], figure: Any,
              who: int) -> list[dict[str, Any]]:
    return [{"period": month.label, "figures": asdict(figure(rows, who))}
            for month, rows in all_rows]


async def _shop_identity(conn: AsyncConnection, shop_ids: list[int]) -> dict[int, Any]:
    if not shop_ids:
        return {}
    rows = await conn.execute(select(shops.c.id, shops.c.name, shops.c.legal_name,
                                     shops.c.license_no).where(shops.c.id.in_(shop_ids)))
    return {int(r.id): r for r in rows}


async def _user_identity(conn: AsyncConnection, user_ids: list[int]) -> dict[int, Any]:
    if not user_ids:
        return {}
    rows = await conn.execute(select(users.c.id, users.c.display_name, users.c.role).where(
        users.c.id.in_(user_ids)))
    return {int(r.id): r for r in rows}


def shop_row(period: TaxPeriod, shop_id: int, shop: Any, figures: Figures) -> dict[str, Any]:
    return {"period": period.label, "party_type": "merchant", "party_ref": f"shop:{shop_id}",
            "name": shop.legal_name if shop else "", "shop_name": shop.name if shop else "",
            "tax_id": shop.license_no if shop and shop.license_no else NOT_COLLECTED,
            "id_document": NOT_COLLECTED, "figures": asdict(figures)}


def party_type(role: str | None) -> str:
    return {"anchor": "anchor", "agency": "mcn_agency", "mcn": "mcn_agency"}.get(
        role or "", "party")


def user_row(period: TaxPeriod, user_id: int, user: Any, figures: Figures) -> dict[str, Any]:
    return {"period": period.label, "party_type": party_type(user.role if user else None),
            "party_ref": f"user:{user_id}", "name": user.display_name if user else "",
            "shop_name": "", "tax_id": NOT_COLLECTED, "id_document": NOT_COLLECTED,
            "figures": asdict(figures)}


async def shop_statement(db: Database, principal: Principal, shop_id: int,
                         period: TaxPeriod) -> dict[str, Any]:
    """A merchant's income statement: the period, and for a quarter each of its months."""
    access_shop(principal, shop_id)
    async with db.read() as conn:
        months = [(m, await grouped(conn, m, shop_id=shop_id)) for m in period.months()]
        shop = (await _shop_identity(conn, [shop_id])).get(shop_id)
    total = shop_figures([r for _, rows in months for r in rows], shop_id)
    return {**shop_row(period, shop_id, shop, total), "kind": period.kind,
            "start": period.start.isoformat(), "end": period.end.isoformat(), "currency": "CNY",
            "months": _by_month(months, shop_figures, shop_id) if period.kind == "quarter"
            else []}


async def party_statement(db: Database, principal: Principal,
                          period: TaxPeriod) -> dict[str, Any]:
    """An anchor's or agency's own income statement (their payable account)."""
    code = party_account(principal.user_id)
    async with db.read() as conn:
        months = [(m, await grouped(conn, m, account=code)) for m in period.months()]
        user = (await _user_identity(conn, [principal.user_id])).get(principal.user_id)
    total = party_figures([r for _, rows in months for r in rows], principal.user_id)
    return {**user_row(period, principal.user_id, user, total), "kind": period.kind,
            "start": period.start.isoformat(), "end": period.end.isoformat(), "currency": "CNY",
            "months": _by_month(months, party_figures, principal.user_id)
            if period.kind == "quarter" else []}


def check_operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise Problem("forbidden", "只有平台运营人员可以导出全部主体 / only platform operators "
                                   "export every party's statement")


async def all_rows(db: Database, period: TaxPeriod) -> list[dict[str, Any]]:
    """Every merchant and party with postings in the period: the file a platform files."""
    async with db.read() as conn:
        rows = await grouped(conn, period)
        shop_ids, user_ids = parties_in(rows)
        shop_info = await _shop_identity(conn, shop_ids)
        user_info = await _user_identity(conn, user_ids)
    return ([shop_row(period, s, shop_info.get(s), shop_figures(rows, s)) for s in shop_ids]
            + [user_row(period, u, user_info.get(u), party_figures(rows, u))
               for u in user_ids])


async def operator_statements(db: Database, principal: Principal,
                              period: TaxPeriod) -> list[dict[str, Any]]:
    check_operator(principal)
    return await all_rows(db, period)


def statement_rows(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """A single party's file: each month of a quarter, then the period's total."""
    months = [{**statement, "period": m["period"], "figures": m["figures"]}
              for m in statement.get("months") or []]
    return [*months, statement]


FIGURE_FIELDS = tuple(f.name for f in fields(Figures))
