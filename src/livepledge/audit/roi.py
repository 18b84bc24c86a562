"""Honest ROI (对赌) of a merchant–anchor/MCN deal, on gross and on net (post-return) sales.

Definitions (docs/audit.md), all money in integer fen:
- fees paid = slot fee + commission rate × gross GMV (commission is settled on gross);
- ROI (gross) = gross GMV ÷ fees paid — the figure an agency usually quotes;
- ROI (net) = net GMV ÷ fees paid — what the merchant actually got for what it paid;
- fair commission = commission rate × net GMV; overpaid commission = paid − fair;
- the promise is met when ROI (net) ≥ promised ROI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction

import duckdb


@dataclass(frozen=True)
class Deal:
    slot_fee_fen: int
    commission_rate: Fraction
    promised_roi: Fraction
    anchor_id: str | None = None
    session_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoiResult:
    anchor_id: str | None
    sessions: int
    gross_fen: int
    net_fen: int
    fees_paid_fen: int
    fair_commission_fen: int
    overpaid_commission_fen: int
    roi_gross: float | None
    roi_net: float | None
    promised_roi: float
    promise_met: bool

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate_deal(gross_fen: int, net_fen: int, sessions: int, deal: Deal) -> RoiResult:
    """Pure: the ROI figures of a deal from its gross and net GMV."""
    commission_paid = round(deal.commission_rate * gross_fen)
    fair = round(deal.commission_rate * net_fen)
    fees = deal.slot_fee_fen + commission_paid
    roi_gross = Fraction(gross_fen, fees) if fees else None
    roi_net = Fraction(net_fen, fees) if fees else None
    met = roi_net is not None and roi_net >= deal.promised_roi
    return RoiResult(deal.anchor_id, sessions, gross_fen, net_fen, fees, fair,
                     commission_paid - fair,
                     float(roi_gross) if roi_gross is not None else None,
                     float(roi_net) if roi_net is not None else None,
                     float(deal.promised_roi), met)


def deal_roi(con: duckdb.DuckDBPyConnection, deal: Deal) -> RoiResult:
    """ROI of a deal over the `sales` table (see laundering.prepare_sales)."""
    conditions, args = ["TRUE"], []
    if deal.anchor_id is not None:
        conditions.append("anchor_id = ?")
        args.append(deal.anchor_id)
    if deal.session_ids:
        conditions.append("list_contains(?, session_id)")
        args.append(list(deal.session_ids))
    gross, refunded, sessions = con.execute(
        f"SELECT coalesce(sum(gross_fen), 0), coalesce(sum(refunded_fen), 0), "
        f"count(DISTINCT session_id) FROM sales WHERE {' AND '.join(conditions)}", args
    ).fetchone()
    return evaluate_deal(int(gross), int(gross) - int(refunded), int(sessions), deal)
