"""`livepledge verify FILE`: check an evidence bundle or a checkpoint chain offline and say in
words what it proves; `livepledge record-key`: make the deployment's log signing key.

Offline and pure: reads the file, runs livepledge.record.verify, prints. Exit 0 only when
everything verified; 1 when something did not; 2 when the file cannot be read at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from livepledge.record.note import NoteError, parse_checkpoint, parse_note
from livepledge.record.verify import (
    BUNDLE_KIND,
    CHAIN_KIND,
    Report,
    verify_bundle,
    verify_chain,
    verify_checkpoint,
)

LOTTERY_KIND = "livepledge-lottery/v1"
MAX_FILE_BYTES = 50 * 1024 * 1024


class UnreadableFile(Exception):
    pass


def load(path: Path) -> dict[str, Any] | str:
    """The file as a JSON document, or as text when it is a signed note (a checkpoint)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UnreadableFile(f"{path} is larger than {MAX_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UnreadableFile(f"cannot read {path}: {error}") from None
    if text.lstrip()[:1] in ("{", "["):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise UnreadableFile(f"{path} is not valid JSON: {error}") from None
        if not isinstance(document, dict):
            raise UnreadableFile(f"{path} is not a JSON object")
        return document
    return text


def dispatch(document: dict[str, Any] | str, *, trusted_key: str | None) -> Report:
    if isinstance(document, str):
        return _checkpoint(document, trusted_key)
    kind = document.get("kind")
    if kind == BUNDLE_KIND:
        return verify_bundle(document, trusted_key=trusted_key)
    if kind == CHAIN_KIND:
        return verify_chain(document, trusted_key=trusted_key)
    if kind == LOTTERY_KIND:
        return _lottery(document)
    return Report().fail(f"unknown file kind {kind!r}: expected {BUNDLE_KIND}, {CHAIN_KIND} "
                         f"or {LOTTERY_KIND}")


def _lottery(document: dict[str, Any]) -> Report:
    """livepledge.lottery.verify owns this format (docs/lottery.md); its checks in this report
    (a lottery document carries no signature, so no key is used)."""
    from livepledge.lottery.verify import verify_lottery

    lottery = verify_lottery(document)
    report = Report()
    for check in lottery.checks:
        (report.proven if check.ok else report.failures).append(f"{check.name}: {check.detail}")
    if not lottery.verified and not report.failures:
        report.failures.append(lottery.summary())
    return report


def _checkpoint(text: str, trusted_key: str | None) -> Report:
    report = Report()
    try:
        note = parse_note(text)
        checkpoint = parse_checkpoint(note.text)
        if trusted_key is None:
            return report.fail("a bare checkpoint is verified against a key: pass --key with "
                               "the deployment's log key (/.well-known/livepledge/log-key)")
        from livepledge.record.note import parse_verifier_key

        verify_checkpoint(text, parse_verifier_key(trusted_key))
    except NoteError as error:
        return report.fail(f"checkpoint: {error}")
    report.proven.append(f"The log {checkpoint.origin} signed a tree of {checkpoint.size} "
                         f"entries with root {checkpoint.root_hash.hex()}.")
    return report


def render(report: Report) -> str:
    lines = [f"✓ {line}" for line in report.proven]
    lines += [f"✗ {line}" for line in report.failures]
    verdict = ("已验证 / VERIFIED: everything above holds." if report.ok else
               "未通过 / NOT VERIFIED: do not rely on this file.")
    return "\n".join([*lines, verdict])


def verify_command(path: Path, trusted_key: str | None) -> tuple[int, str]:
    try:
        document = load(path)
    except UnreadableFile as error:
        return 2, f"错误 / error: {error}"
    report = dispatch(document, trusted_key=trusted_key)
    return (0 if report.ok else 1), render(report)
