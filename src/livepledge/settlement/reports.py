"""The reconciliation report (docs/money.md, "Reconciliation"): the ledger tied to the orders'
payments and to the payment provider's own records.

1. **Orders**: for every order, what its payment rows say was charged, refunded and paid as
   compensation equals what the ledger posted to the provider's clearing account for it.
2. **Provider**: every charge, refund, compensation transfer, deposit collection and payout in
   the provider's records (the sandbox provider's journal, LIVEPLEDGE_SANDBOX_JOURNAL) has
   exactly one matching posting, and every posting to a provider's clearing account has exactly
   one record. A record is first tied to the platform's own row by its reference (payments,
   payouts, deposit top-ups), then to a posting of the same kind, order (or payout, top-up) and
   amount. A charge refunded at once because the order could not be paid (no row, no posting)
   is a *void*, counted, not a mismatch.

`livepledge ledger reconcile` prints it and exits 0 only when everything ties."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.infra.consumers import lag
from livepledge.infra.db import Database
from livepledge.infra.models import events
from livepledge.orders.models import payments
from livepledge.settlement.models import (
    deposit_top_ups,
    deposit_withdrawals,
    ledger_accounts,
    ledger_postings,
    ledger_transactions,
    party_payouts,
    payouts,
)
from livepledge.settlement.statements import REFUND_KINDS, TaxPeriod

MAX_SHOWN = 50
CATEGORY_OF_KIND = {"OrderPaid": "charge", "OrderCompensated": "compensation",
                    "DepositToppedUp": "top_up", "PayoutPaid": "payout",
                    "SlotFeePaid": "slot_fee", "McnFeePaid": "mcn_fee",
                    "RedPacketFunded": "red_packet", "RedPacketSharePaid": "red_packet_share",
                    "PartyPayoutPaid": "party_payout", "DepositWithdrawn": "deposit_return",
                    **{kind: "refund" for kind in REFUND_KINDS}}
# What the ledger's posting names, by category: (payload key, prefix); the rest name the order.
REF_OF_CATEGORY = {"payout": ("payout_id", "payout"), "top_up": ("top_up_id", "top_up"),
                   "slot_fee": ("agreement_id", "agreement"),
                   "mcn_fee": ("contract_id", "contract"),
                   "red_packet": ("red_packet_id", "red_packet"),
                   "red_packet_share": ("grab_id", "grab"),
                   "party_payout": ("party_payout_id", "party_payout"),
                   "deposit_return": ("withdrawal_id", "withdrawal")}
CATEGORY_OF_OP = {"charge": "charge", "refund": "refund", "transfer": "compensation",
                  "collect": "top_up", "payout": "payout"}
# A provider operation may serve several platform categories (a collection from a shop tops up
# its deposit, pays a slot fee, an MCN fee or a red packet; a transfer to a buyer compensates an
# order or pays a red-packet share): the platform's own row says which.
CATEGORIES_OF_OP = {"collect": {"top_up", "slot_fee", "mcn_fee", "red_packet"},
                    "transfer": {"compensation", "red_packet_share"},
                    "payout": {"payout", "party_payout", "deposit_return"}}
NAMES = {"charge": "收款 charge", "refund": "退款 refund", "compensation": "赔付 compensation",
         "top_up": "保证金充值 top-up", "payout": "提现 payout", "slot_fee": "坑位费 slot fee",
         "mcn_fee": "MCN 服务费 MCN fee", "red_packet": "红包 red packet",
         "red_packet_share": "红包到账 red-packet share",
         "party_payout": "主播/机构提现 anchor or agency payout",
         "deposit_return": "保证金退还 deposit withdrawal"}


@dataclass
class Reconciliation:
    period: str | None = None
    orders_checked: int = 0
    ledger_movements: int = 0
    provider_checked: bool = False
    provider_records: int = 0
    voided: int = 0
    ledger_behind: int = 0  # events written that the ledger had not read yet
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ties(self) -> bool:
        return not self.mismatches

    def add(self, where: str, ref: str, message: str, **figures: Any) -> None:
        self.mismatches.append({"where": where, "ref": ref, "message": message, **figures})

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "ties": self.ties, "orders_checked": self.orders_checked,
                "ledger_movements": self.ledger_movements,
                "provider_checked": self.provider_checked,
                "provider_records": self.provider_records, "voided": self.voided,
                "ledger_behind": self.ledger_behind, "mismatches": self.mismatches}

    def summary(self) -> str:
        lines = [f"period: {self.period or 'all'}", f"orders checked: {self.orders_checked}",
                 f"ledger movements at providers: {self.ledger_movements}",
                 f"provider records: {self.provider_records}" if self.provider_checked else
                 "provider records: not checked (no provider journal configured: "
                 "LIVEPLEDGE_SANDBOX_JOURNAL)", f"voided charges: {self.voided}",
                 f"events the ledger has not read yet: {self.ledger_behind}"]
        if self.ties:
            lines.append("OK: the ledger ties to the orders and the provider's records")
        else:
            lines.append(f"MISMATCH: {len(self.mismatches)} problem(s)")
            lines += [f"  - [{m['where']}] {m['ref']}: {m['message']}"
                      for m in self.mismatches[:MAX_SHOWN]]
            if len(self.mismatches) > MAX_SHOWN:
                lines.append(f"  ... and {len(self.mismatches) - MAX_SHOWN} more")
        return "\n".join(lines)


def _in(column: Any, period: TaxPeriod | None) -> tuple[Any, ...]:
    return () if period is None else (column >= period.start, column < period.end)


def payment_category(amount: int, reason: str | None) -> str:
    if amount > 0:
        return "charge"
    return "compensation" if reason == "compensation" else "refund"


async def _ledger_movements(conn: AsyncConnection, period: TaxPeriod | None) -> list[
        tuple[str, str, int]]:
    """Every posting to a provider's clearing account: (category, what it names, fen)."""
    p, a, t = ledger_postings.c, ledger_accounts.c, ledger_transactions.c
    rows = await conn.execute(
        select(t.kind, t.order_id, p.amount, events.c.payload)
        .select_from(ledger_postings.join(ledger_accounts, a.id == p.account_id)
                     .join(ledger_transactions, t.id == p.transaction_id)
                     .join(events, events.c.id == p.event_id))
        .where(a.code.like("provider:%"), *_in(p.occurred_at, period)))
    found = []
    for kind, order_id, amount, payload in rows:
        category = CATEGORY_OF_KIND.get(kind, kind)
        if category in REF_OF_CATEGORY:
            key, prefix = REF_OF_CATEGORY[category]
            ref = f"{prefix}:{(payload or {}).get(key)}"
        else:
            ref = f"order:{order_id}"
        found.append((category, ref, abs(int(amount))))
    return found


async def _check_orders(conn: AsyncConnection, period: TaxPeriod | None,
                        ledger: list[tuple[str, str, int]], report: Reconciliation) -> None:
    paid: dict[tuple[str, str], int] = {}
    for order_id, amount, reason in await conn.execute(
            select(payments.c.order_id, payments.c.amount, payments.c.reason).where(
                payments.c.status == "succeeded", *_in(payments.c.created_at, period))):
        key = (f"order:{order_id}", payment_category(int(amount), reason))
        paid[key] = paid.get(key, 0) + abs(int(amount))
    posted: dict[tuple[str, str], int] = {}
    for category, ref, amount in ledger:
        if ref.startswith("order:"):
            posted[(ref, category)] = posted.get((ref, category), 0) + amount
    report.orders_checked = len({ref for ref, _ in paid} | {ref for ref, _ in posted})
    for ref, category in sorted(set(paid) | set(posted)):
        rows, ledger_total = paid.get((ref, category), 0), posted.get((ref, category), 0)
        if rows != ledger_total:
            report.add("orders", ref, f"{NAMES[category]}: 支付记录 {rows} 分，账本 "
                       f"{ledger_total} 分 / payment rows {rows} fen, ledger {ledger_total} fen",
                       category=category, payments=rows, ledger=ledger_total)


def read_journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


async def _platform_refs(conn: AsyncConnection, period: TaxPeriod | None) -> tuple[
        dict[str, tuple[str, str]], set[str]]:
    """The platform's own rows by provider reference → (category, what they name); and the
    references of rows outside the period (their records are not this period's)."""
    refs: dict[str, tuple[str, str]] = {}
    outside: set[str] = set()

    def keep(ref: str, value: tuple[str, str], at: Any) -> None:
        if period is not None and not (period.start <= _utc(at) < period.end):
            outside.add(ref)
        else:
            refs[ref] = value

    for row in await conn.execute(select(payments.c.provider_ref, payments.c.order_id,
                                         payments.c.amount, payments.c.reason,
                                         payments.c.created_at)):
        keep(row.provider_ref, (payment_category(int(row.amount), row.reason),
                                f"order:{row.order_id}"), row.created_at)
    for table, category, prefix in ((payouts, "payout", "payout"),
                                    (deposit_top_ups, "top_up", "top_up"),
                                    (party_payouts, "party_payout", "party_payout"),
                                    (deposit_withdrawals, "deposit_return", "withdrawal")):
        for row in await conn.execute(select(table.c.id, table.c.provider_ref,
                                             table.c.created_at)):
            keep(row.provider_ref, (category, f"{prefix}:{row.id}"), row.created_at)
    from livepledge.coupons.models import red_packet_grabs, red_packets
    from livepledge.settlement.models import agreements, mcn_contracts

    for row in await conn.execute(select(agreements.c.id, agreements.c.provider_ref,
                                         agreements.c.created_at).where(
            agreements.c.provider_ref.is_not(None))):
        keep(row.provider_ref, ("slot_fee", f"agreement:{row.id}"), row.created_at)
    for row in await conn.execute(select(mcn_contracts.c.id, mcn_contracts.c.provider_ref,
                                         mcn_contracts.c.created_at)):
        keep(row.provider_ref, ("mcn_fee", f"contract:{row.id}"), row.created_at)
    for row in await conn.execute(select(red_packets.c.id, red_packets.c.funding_ref,
                                         red_packets.c.created_at).where(
            red_packets.c.kind == "cash")):
        keep(row.funding_ref, ("red_packet", f"red_packet:{row.id}"), row.created_at)
    for row in await conn.execute(select(red_packet_grabs.c.id, red_packet_grabs.c.payout_ref,
                                         red_packet_grabs.c.paid_at).where(
            red_packet_grabs.c.payout_ref.is_not(None))):
        keep(row.payout_ref, ("red_packet_share", f"grab:{row.id}"), row.paid_at)
    return refs, outside


def _utc(value: Any) -> Any:
    from livepledge.infra import clock

    return clock.as_utc(value)


async def _check_provider(conn: AsyncConnection, period: TaxPeriod | None, journal: Path,
                          ledger: list[tuple[str, str, int]], report: Reconciliation) -> None:
    records = [e for e in read_journal(journal)
               if e.get("op") in CATEGORY_OF_OP and e["charge"].get("succeeded", True)]
    refs, outside = await _platform_refs(conn, period)
    by_reference = {e["charge"]["reference"]: e for e in records}
    # A charge refunded at once because the order could not be paid: neither has a row.
    voided = {e["charge"]["reference"] for e in records
              if e["op"] == "refund" and e.get("of") in by_reference
              and e["of"] not in refs and e["of"] not in outside
              and e["charge"]["reference"] not in refs
              and by_reference[e["of"]]["charge"]["amount"] == e["charge"]["amount"]}
    voided |= {by_reference[e["of"]]["charge"]["reference"] for e in records
               if e["charge"]["reference"] in voided}
    report.voided = sum(1 for e in records if e["op"] == "charge"
                        and e["charge"]["reference"] in voided)
    wanted: Counter[tuple[str, str, int]] = Counter()
    for entry in records:
        reference = entry["charge"]["reference"]
        if reference in voided or reference in outside:
            continue
        report.provider_records += 1
        category = CATEGORY_OF_OP[entry["op"]]
        amount = int(entry["charge"]["amount"])
        platform = refs.get(reference)
        if platform is not None and platform[0] in CATEGORIES_OF_OP.get(entry["op"], ()):
            category = platform[0]
        if platform is None or platform[0] != category:
            report.add("provider", reference, f"{NAMES[category]} {amount} 分在支付机构有记录，"
                       f"平台无对应记录与记账 / the provider's {category} of {amount} fen has no "
                       "platform record and no posting", category=category, amount=amount)
            continue
        wanted[(category, platform[1], amount)] += 1
    have = Counter(ledger)
    for (category, ref, amount), count in sorted((wanted - have).items()):
        for _ in range(count):
            report.add("provider", ref, f"{NAMES[category]} {amount} 分在支付机构有记录，账本无对应"
                       f"记账 / the provider's {category} of {amount} fen has no posting",
                       category=category, amount=amount)
    for (category, ref, amount), count in sorted((have - wanted).items()):
        for _ in range(count):
            report.add("ledger", ref, f"{NAMES.get(category, category)} {amount} 分已记账，支付机构"
                       f"无对应记录 / a posted {category} of {amount} fen has no provider record",
                       category=category, amount=amount)


async def reconcile(db: Database, period: TaxPeriod | None, *,
                    journal: Path | None) -> Reconciliation:
    report = Reconciliation(period=period.label if period else None,
                            ledger_behind=await lag(db, "ledger"))
    async with db.read() as conn:
        ledger = await _ledger_movements(conn, period)
        report.ledger_movements = len(ledger)
        await _check_orders(conn, period, ledger, report)
        if journal is not None:
            report.provider_checked = True
            await _check_provider(conn, period, journal, ledger, report)
    return report
