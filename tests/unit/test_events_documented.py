"""Every event type written to the outbox is documented in docs/events.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_event_type_is_documented() -> None:
    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in (ROOT / "src" / "livepledge").rglob("*.py"))
    written = set(re.findall(r'record_event\(\s*uow,\s*"([A-Z]\w+)"', source))
    written |= set(re.findall(r'"type": "([A-Z]\w+)"', source))
    written |= set(re.findall(r'"([A-Z][a-z]+(?:[A-Z][a-z]+)+)" if ', source))
    written |= set(re.findall(r'event="([A-Z]\w+)"', source))  # passed to a shared writer
    documented = set(re.findall(r"`([A-Z]\w+)`", (ROOT / "docs" / "events.md").read_text()))
    assert written, "no events found: the pattern is stale"
    assert sorted(written - documented) == []


def test_every_event_insert_stamps_its_transaction() -> None:
    """Consumers on PostgreSQL read events by (tx, id): an event inserted without its
    transaction id would never be read (infra/consumers.py)."""
    src = ROOT / "src" / "livepledge"
    bare = [str(p.relative_to(src)) for p in src.rglob("*.py")
            if p.name != "events.py" and re.search(r"insert\(events\)", p.read_text("utf-8"))]
    assert bare == []
