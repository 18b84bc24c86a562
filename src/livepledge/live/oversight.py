"""Pre-live review and on-air oversight (F16, F17): scripts checked before going live, transcript
segments from any speech-to-text system checked as they arrive (with the sale's real facts), alerts
to the merchant console, and a log of every correction made on air."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from livepledge.accounts.service import Principal
from livepledge.catalog.models import price_history, products, skus
from livepledge.compliance.service import Facts, InputError, check_text
from livepledge.infra.db import Database, row_dict
from livepledge.infra.events import record_event
from livepledge.infra.notify import Notifier
from livepledge.infra.problems import Problem
from livepledge.live.models import (
    corrections,
    lineup_items,
    script_checks,
    transcript_segments,
)
from livepledge.live.service import access_session, access_session_control

MAX_SCRIPT_CHARS = 20_000
MAX_SEGMENT_CHARS = 2_000


def _check(text: str, category: str, context: str, facts: Facts | None = None) -> dict[str, Any]:
    try:
        return check_text(text, category=category, context=context, facts=facts).to_dict()
    except InputError as exc:
        raise Problem("validation_failed", str(exc)) from exc


def _merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    seen: set[tuple[Any, ...]] = set()
    findings = []
    for result in results:
        for finding in result["findings"]:
            key = (tuple(finding.get("span", ())), finding.get("rule_id"))
            if key not in seen:
                seen.add(key)
                findings.append(finding)
    findings.sort(key=lambda f: tuple(f.get("span", (0, 0))))
    return {"violation": any(f["severity"] == "violation" for f in findings),
            "findings": findings}


async def _lineup_categories(conn: Any, session_id: int) -> list[str]:
    rows = await conn.execute(
        select(products.c.category).distinct()
        .join(skus, skus.c.product_id == products.c.id)
        .join(lineup_items, lineup_items.c.sku_id == skus.c.id)
        .where(lineup_items.c.session_id == session_id).order_by(products.c.category))
    return [r.category for r in rows] or ["general"]


async def submit_script(db: Database, principal: Principal, session_id: int, text: str, *,
                        now: datetime) -> dict[str, Any]:
    """Check a pre-live script (话术脚本) against every category in the lineup and keep it."""
    if len(text) > MAX_SCRIPT_CHARS:
        raise Problem("validation_failed", f"脚本超过 {MAX_SCRIPT_CHARS} 字 / script longer than "
                      f"{MAX_SCRIPT_CHARS} characters")
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        access_session_control(principal, session)
        categories = await _lineup_categories(uow.conn, session_id)
        result = _merge([_check(text, category, "script") for category in categories])
        check_id = (await uow.conn.execute(insert(script_checks).values(
            session_id=session_id, submitted_by=principal.user_id, text=text,
            category=",".join(categories), violation=result["violation"],
            findings=result["findings"], created_at=now).returning(script_checks.c.id)
        )).scalar_one()
        await record_event(uow, "ScriptChecked", now, shop_id=session.shop_id,
                           session_id=session_id,
                           payload={"script_check_id": check_id,
                                    "violation": result["violation"],
                                    "findings": len(result["findings"])})
    return {"id": check_id, "categories": categories, **result}


async def _sale_facts(conn: Any, item_id: int | None, now: datetime) -> tuple[str, Facts | None]:
    if item_id is None:
        return "general", None
    item = (await conn.execute(
        select(lineup_items, products.c.category)
        .join(skus, skus.c.id == lineup_items.c.sku_id)
        .join(products, products.c.id == skus.c.product_id)
        .where(lineup_items.c.id == item_id))).first()
    if item is None:
        return "general", None

    async def lowest(days: int) -> int | None:
        value = (await conn.execute(select(func.min(price_history.c.price)).where(
            price_history.c.sku_id == item.sku_id,
            price_history.c.changed_at >= now - timedelta(days=days)))).scalar()
        return int(value) if value is not None else None

    facts = Facts(current_price_fen=item.live_price, lowest_price_7d_fen=await lowest(7),
                  lowest_price_30d_fen=await lowest(30), stock_remaining=item.stock_remaining,
                  sales_count=item.stock_allocated - item.stock_remaining,
                  sale_seconds_left=max(0, int((item.sale_ends_at - now).total_seconds())))
    return item.category, facts


async def push_transcript(db: Database, notifier: Notifier, principal: Principal,
                          session_id: int, text: str, *, spoken_at: datetime | None,
                          source: str, now: datetime) -> dict[str, Any]:
    """A transcript segment from the live, checked with the pinned item's category and the
    sale's real facts (stock, sales, price history). Findings alert the merchant console."""
    if not text.strip() or len(text) > MAX_SEGMENT_CHARS:
        raise Problem("validation_failed", f"片段须为 1–{MAX_SEGMENT_CHARS} 字 / segment must be "
                      f"1-{MAX_SEGMENT_CHARS} characters")
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        access_session_control(principal, session)
        if session.status != "live":
            raise Problem("invalid_transition", "直播未在进行 / the session is not live")
        category, facts = await _sale_facts(uow.conn, session.pinned_item_id, now)
        result = _check(text, category, "speech", facts)
        segment_id = (await uow.conn.execute(insert(transcript_segments).values(
            session_id=session_id, text=text, spoken_at=spoken_at or now,
            item_id=session.pinned_item_id, category=category, violation=result["violation"],
            findings=result["findings"], source=source[:64] or "unknown", created_at=now,
        ).returning(transcript_segments.c.id))).scalar_one()
        segment = {"id": segment_id, "session_id": session_id, "text": text,
                   "item_id": session.pinned_item_id, "category": category,
                   "spoken_at": (spoken_at or now).isoformat(), **result}
        # every segment goes into the session record (what was said on air, word for word)
        await record_event(uow, "SpeechTranscribed", now, shop_id=session.shop_id,
                           session_id=session_id,
                           payload={"segment_id": segment_id, "text": text,
                                    "item_id": session.pinned_item_id,
                                    "spoken_at": (spoken_at or now).isoformat()})
        if result["findings"]:
            await record_event(uow, "SpeechFlagged", now, shop_id=session.shop_id,
                               session_id=session_id,
                               payload={"segment_id": segment_id,
                                        "violation": result["violation"],
                                        "rules": [f["rule_id"] for f in result["findings"]]})
            uow.on_commit(lambda: notifier.shop(session.shop_id, {
                "type": "compliance_alert", "segment": segment}))
    return segment


async def record_correction(db: Database, notifier: Notifier, principal: Principal,
                            session_id: int, *, text: str, segment_id: int | None,
                            now: datetime) -> dict[str, Any]:
    """Record a correction the anchor made on air (更正), optionally tied to a flagged segment."""
    if not 2 <= len(text.strip()) <= 2000:
        raise Problem("validation_failed", "更正内容须为 2–2000 字 / correction must be 2-2000 "
                      "characters")
    async with db.write() as uow:
        session = await access_session(uow.conn, session_id)
        access_session_control(principal, session)
        if segment_id is not None:
            found = (await uow.conn.execute(select(transcript_segments.c.id).where(
                transcript_segments.c.id == segment_id,
                transcript_segments.c.session_id == session_id))).first()
            if found is None:
                raise Problem("not_found", f"转写片段不存在 / no such segment: {segment_id}")
        correction_id = (await uow.conn.execute(insert(corrections).values(
            session_id=session_id, segment_id=segment_id, recorded_by=principal.user_id,
            text=text.strip(), corrected_at=now).returning(corrections.c.id))).scalar_one()
        await record_event(uow, "CorrectionRecorded", now, shop_id=session.shop_id,
                           session_id=session_id,
                           payload={"correction_id": correction_id, "segment_id": segment_id,
                                    "text": text.strip()})
        message = {"type": "correction_recorded", "session_id": session_id,
                   "correction": {"id": correction_id, "segment_id": segment_id,
                                  "text": text.strip(), "corrected_at": now.isoformat()}}
        uow.on_commit(lambda: notifier.shop(session.shop_id, message))
    return message["correction"]  # type: ignore[return-value]


async def oversight_log(db: Database, principal: Principal, session_id: int) -> dict[str, Any]:
    async with db.read() as conn:
        session = await access_session(conn, session_id)
        access_session_control(principal, session)
        result: dict[str, Any] = {}
        for name, table in (("scripts", script_checks), ("segments", transcript_segments),
                            ("corrections", corrections)):
            rows = await conn.execute(select(table).where(table.c.session_id == session_id)
                                      .order_by(table.c.id))
            result[name] = [row_dict(r) for r in rows]
        return result


