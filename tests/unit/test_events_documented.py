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
    documented = set(re.findall(r"`([A-Z]\w+)`", (ROOT / "docs" / "events.md").read_text()))
    assert written, "no events found: the pattern is stale"
    assert sorted(written - documented) == []
