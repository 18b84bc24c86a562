"""Verify a lottery's verification document (`kind: livepledge-lottery/v1`) from its public data
alone: the commitment opens to the revealed seed, the entry root is the Merkle root of the listed
entrant hashes, and the winners are those the draw algorithm gives (lottery/draw.py,
docs/lottery.md). Pure: the server's page, `livepledge verify-lottery` and `livepledge verify`
run this function."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from livepledge.lottery import draw

KIND = "livepledge-lottery/v1"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class LotteryReport:
    verified: bool = False
    drawn: bool = False
    checks: list[Check] = field(default_factory=list)
    entrant_index: int | None = None  # where the asked-about entrant is in the entry list

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def summary(self) -> str:
        if self.verified:
            return ("已验证 / verified: the commitment opens to the seed, the entry root matches "
                    "the entries and the winners are the ones the published algorithm picks")
        if not self.drawn and all(c.ok for c in self.checks):
            return "尚未开奖 / not drawn yet: the seed is revealed when the entry window closes"
        failed = "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)
        return f"验证失败 / NOT verified: {failed}"

    def to_dict(self) -> dict[str, Any]:
        return {"verified": self.verified, "drawn": self.drawn, "summary": self.summary(),
                "entrant_index": self.entrant_index,
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail}
                           for c in self.checks]}


def _hex(value: Any, size: int) -> bytes | None:
    if not isinstance(value, str) or len(value) != 2 * size:
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        return None


def _winner_hashes(document: dict[str, Any]) -> list[str] | None:
    winners = document.get("winners")
    if not isinstance(winners, list):
        return None
    out = []
    for w in winners:
        value = w.get("entrant_hash") if isinstance(w, dict) else w
        if not isinstance(value, str):
            return None
        out.append(value.lower())
    return out


def verify_lottery(document: dict[str, Any], *, entrant_hash: str | None = None) -> LotteryReport:
    """Recompute and check everything in the document. With `entrant_hash` (an entrant's own,
    SHA-256(nonce || user id) in hex), also say whether and where it is among the entries."""
    report = LotteryReport()
    if not isinstance(document, dict) or document.get("kind") != KIND:
        report.add("kind", False, f"not a {KIND} document")
        return report
    commitment = _hex(document.get("commitment"), 32)
    if not report.add("commitment format", commitment is not None, "a 32-byte SHA-256 in hex"
                      if commitment else "missing or not 64 hex digits"):
        return report
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, list):
        report.add("entries", False, "missing entry list")
        return report
    entries = [_hex(e, 32) for e in raw_entries]
    if not report.add("entries", all(e is not None for e in entries),
                      f"{len(entries)} entrant hashes"):
        return report
    hashes = [e for e in entries if e is not None]
    if entrant_hash is not None:
        wanted = _hex(entrant_hash.strip().lower(), 32)
        report.entrant_index = hashes.index(wanted) if wanted in hashes else None
        report.add("your entry", report.entrant_index is not None,
                   f"entry #{report.entrant_index}" if report.entrant_index is not None
                   else "your entrant hash is not in the entry list")
    seed_value = document.get("seed")
    if seed_value is None:
        report.add("draw", True, "not drawn yet; the seed is still secret")
        return report
    report.drawn = True
    seed = _hex(seed_value, draw.SEED_BYTES)
    if not report.add("seed", seed is not None, "32 bytes" if seed else "not 64 hex digits"):
        return report
    assert seed is not None and commitment is not None
    report.add("commitment", draw.commitment(seed) == commitment,
               "SHA-256(seed) equals the commitment published before any entry"
               if draw.commitment(seed) == commitment else "SHA-256(seed) differs from the "
               "commitment: this is not the seed committed to")
    count = document.get("entry_count")
    report.add("entry count", count == len(hashes),
               f"{len(hashes)} entries" if count == len(hashes)
               else f"document says {count}, lists {len(hashes)}")
    winners_count = document.get("winners_count")
    if not report.add("winners count", isinstance(winners_count, int) and winners_count >= 1,
                      f"{winners_count}"):
        return report
    assert isinstance(winners_count, int)
    result = draw.draw(seed, hashes, winners_count)
    root = _hex(document.get("entry_root"), 32)
    report.add("entry root", root == result.entry_root,
               f"Merkle root {result.entry_root.hex()}" if root == result.entry_root
               else f"recomputed {result.entry_root.hex()}, document says "
                    f"{document.get('entry_root')}")
    expected = [h.hex() for h in result.winners]
    listed = _winner_hashes(document)
    report.add("winners", listed == expected,
               f"{len(expected)} winners recomputed" if listed == expected
               else f"recomputed {expected}, document says {listed}")
    report.verified = all(c.ok for c in report.checks)
    return report

