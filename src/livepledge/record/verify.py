"""Verifying the session record: checkpoints, inclusion and consistency proofs, evidence bundles
and checkpoint chains. Pure: the CLI (`livepledge verify FILE`), the server's self-audit and an
outside verifier use these functions. Each check returns a Report with plain-words statements of
what was proven and of what failed.

Formats (docs/record.md):

- evidence bundle: {"kind": "livepledge-evidence/v1", "log_key": vkey, "origin": str,
  "checkpoint": signed note, "order_id": int, "entries": [{"role": str, "index": int,
  "entry": canonical JSON text, "proof": C2SP tlog-proof text}, ...]}
- checkpoint chain: {"kind": "livepledge-checkpoints/v1", "log_key": vkey, "origin": str,
  "checkpoints": [signed note, ...] (sizes ascending), "consistency": [[base64 hash, ...], ...]
  (one proof per consecutive pair)}
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from livepledge.record import merkle
from livepledge.record.canonical import CanonicalError, parse_canonical
from livepledge.record.note import (
    Checkpoint,
    NoteError,
    Verifier,
    b64decode,
    open_note,
    parse_checkpoint,
    parse_tlog_proof,
    parse_verifier_key,
)

BUNDLE_KIND = "livepledge-evidence/v1"
CHAIN_KIND = "livepledge-checkpoints/v1"
MAX_ENTRY_BYTES = 65_536


@dataclass
class Report:
    proven: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and bool(self.proven)

    def fail(self, message: str) -> Report:
        self.failures.append(message)
        return self


def verify_checkpoint(note: str, verifier: Verifier, *, origin: str | None = None) -> Checkpoint:
    """The checkpoint, if signed by `verifier` (and for `origin`, when given); NoteError
    otherwise."""
    checkpoint = parse_checkpoint(open_note(note, verifier))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


def verify_entry(entry: bytes, tlog_proof: str, verifier: Verifier,
                 *, origin: str | None = None) -> tuple[int, Checkpoint]:
    """(index, checkpoint) if the entry is in the signed checkpoint at that index."""
    proof = parse_tlog_proof(tlog_proof)
    checkpoint = verify_checkpoint(proof.checkpoint, verifier, origin=origin)
    if not merkle.verify_inclusion(proof.index, checkpoint.size, merkle.leaf_hash(entry),
                                   proof.path, checkpoint.root_hash):
        raise NoteError(f"entry {proof.index} is not in the signed tree of size "
                        f"{checkpoint.size}: the entry or its proof was changed")
    return proof.index, checkpoint


def _key(document: dict[str, Any], trusted_key: str | None, report: Report) -> Verifier | None:
    try:
        verifier = parse_verifier_key(trusted_key or str(document.get("log_key", "")))
    except NoteError as error:
        report.fail(f"log key: {error}")
        return None
    if trusted_key is None:
        report.proven.append(
            f"Signatures are checked against the key in the file, {verifier.vkey()}; compare it "
            "with the key the deployment publishes at /.well-known/livepledge/log-key.")
    elif document.get("log_key") not in (None, trusted_key):
        report.proven.append("The file names another key than the one given; only the given "
                             "key is trusted.")
    return verifier


def verify_bundle(bundle: dict[str, Any], *, trusted_key: str | None = None) -> Report:
    """Every entry of an order's evidence bundle is in the log under one signed checkpoint."""
    report = Report()
    if bundle.get("kind") != BUNDLE_KIND:
        return report.fail(f"not an evidence bundle (kind {bundle.get('kind')!r})")
    verifier = _key(bundle, trusted_key, report)
    origin = bundle.get("origin")
    if verifier is None or not isinstance(origin, str):
        return report.fail("the bundle names no log origin") if verifier else report
    try:
        head = verify_checkpoint(str(bundle.get("checkpoint", "")), verifier, origin=origin)
    except NoteError as error:
        return report.fail(f"checkpoint: {error}")
    report.proven.append(f"The log {origin} signed a tree of {head.size} entries with root "
                         f"{head.root_hash.hex()}.")
    entries = bundle.get("entries")
    if not isinstance(entries, list) or not entries:
        return report.fail("the bundle holds no entries")
    for position, item in enumerate(entries):
        _bundle_entry(position, item, head, verifier, origin, report)
    if not report.failures:
        report.proven.append(f"All {len(entries)} entries were recorded in this log before the "
                             "checkpoint was signed, with exactly the content shown; none can "
                             "have been changed since without breaking these proofs.")
    return report


def _bundle_entry(position: int, item: Any, head: Checkpoint, verifier: Verifier, origin: str,
                  report: Report) -> None:
    where = f"entry {position + 1}"
    if not isinstance(item, dict) or not isinstance(item.get("entry"), str):
        report.fail(f"{where}: malformed")
        return
    data = item["entry"].encode("utf-8")
    try:
        body = parse_canonical(data) if len(data) <= MAX_ENTRY_BYTES else None
        if body is None:
            raise CanonicalError("too large")
        index, checkpoint = verify_entry(data, str(item.get("proof", "")), verifier,
                                         origin=origin)
    except (CanonicalError, NoteError) as error:
        report.fail(f"{where}: {error}")
        return
    if checkpoint != head or item.get("index") != index:
        report.fail(f"{where}: proven against another checkpoint or index than the bundle's")
        return
    role = item.get("role", "entry")
    report.proven.append(f"{role}: entry #{index} ({body.get('type')}, {body.get('time')}) "
                         f"is in the log: {describe(body)}")


def describe(body: dict[str, Any]) -> str:
    """An entry in words (what it records), for the verifier's report."""
    skip = {"type", "time", "session_id", "event_id", "v"}
    facts = ", ".join(f"{k}={body[k]}" for k in sorted(body) if k not in skip)
    return facts or "(no further fields)"


def verify_chain(chain: dict[str, Any], *, trusted_key: str | None = None) -> Report:
    """Each signed checkpoint of the file is a prefix of the next (no history rewritten)."""
    report = Report()
    if chain.get("kind") != CHAIN_KIND:
        return report.fail(f"not a checkpoint chain (kind {chain.get('kind')!r})")
    verifier = _key(chain, trusted_key, report)
    origin = chain.get("origin")
    notes, proofs = chain.get("checkpoints"), chain.get("consistency")
    if verifier is None:
        return report
    if not isinstance(origin, str) or not isinstance(notes, list) or not notes \
            or not isinstance(proofs, list) or len(proofs) != len(notes) - 1:
        return report.fail("a chain names its origin, holds checkpoints and one consistency "
                           "proof per consecutive pair")
    try:
        heads = [verify_checkpoint(str(n), verifier, origin=origin) for n in notes]
        decoded = [[b64decode(str(h), what="a proof hash") for h in p] for p in proofs]
    except (NoteError, TypeError) as error:
        return report.fail(f"checkpoint: {error}")
    report.proven.append(f"{len(heads)} checkpoints of log {origin} carry valid signatures.")
    for (older, newer), proof in zip(itertools.pairwise(heads), decoded, strict=True):
        if not consistent(older, newer, proof):
            report.fail(f"the tree of {newer.size} entries does not extend the tree of "
                        f"{older.size}: history was rewritten, or the proof is wrong")
    if not report.failures:
        report.proven.append(
            f"Each checkpoint extends the one before (sizes {', '.join(str(h.size) for h in heads)}"
            "): entries are only ever appended; none was changed, removed or reordered.")
    return report


def consistent(older: Checkpoint, newer: Checkpoint, proof: Sequence[bytes]) -> bool:
    if older.size == 0:
        return not proof and older.root_hash == merkle.EMPTY_ROOT
    return merkle.verify_consistency(older.size, newer.size, older.root_hash, newer.root_hash,
                                     proof)
