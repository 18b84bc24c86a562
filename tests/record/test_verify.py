"""The verifier of evidence bundles and checkpoint chains, and `livepledge verify FILE`: what
verifies says so in words; any change to an entry, a proof or a checkpoint, any swap or
truncation fails (property-based)."""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livepledge.record import merkle
from livepledge.record.canonical import canonical
from livepledge.record.cli import verify_command
from livepledge.record.entries import ENTRY_KINDS, entry_body
from livepledge.record.note import Checkpoint, Signer, TlogProof
from livepledge.record.verify import verify_bundle, verify_chain

SIGNER = Signer.generate("shop.example")
ORIGIN = "shop.example/session/7"
AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _log(count: int) -> list[bytes]:
    events = [("SessionStarted", {}), ("LineupItemAdded", {"item_id": 3, "sku_id": 4,
                                                           "live_price": 9900,
                                                           "stock_allocated": 5}),
              ("ItemPinned", {"item_id": 3})]
    bodies = []
    for n in range(count):
        kind, payload = events[n % 3] if n < count - 1 else (
            "OrderPlaced", {"item_id": 3, "sku_id": 4, "unit_price": 9900, "quantity": 1,
                            "buyer_id": 42, "amount": 9900})
        bodies.append(canonical(entry_body(
            ENTRY_KINDS[kind], event_type=kind, event_id=n + 1, session_id=7, occurred_at=AT,
            payload=payload, order_id=99 if kind == "OrderPlaced" else None, salt=b"s")))
    return bodies


def _signed(size: int, leaves: list[bytes]) -> str:
    return SIGNER.sign(Checkpoint(ORIGIN, size, merkle.tree_hash(leaves[:size])).text())


def make_bundle(count: int = 6) -> dict[str, Any]:
    bodies = _log(count)
    leaves = [merkle.leaf_hash(b) for b in bodies]
    note = _signed(count, leaves)
    entries = [{"role": "context", "index": i, "entry": bodies[i].decode(),
                "proof": TlogProof(i, merkle.inclusion_proof(i, leaves), note).text()}
               for i in range(count)]
    return {"kind": "livepledge-evidence/v1", "log_key": SIGNER.verifier.vkey(),
            "origin": ORIGIN, "checkpoint": note, "order_id": 99, "entries": entries}


def make_chain(sizes: list[int]) -> dict[str, Any]:
    bodies = _log(max(sizes))
    leaves = [merkle.leaf_hash(b) for b in bodies]
    return {"kind": "livepledge-checkpoints/v1", "log_key": SIGNER.verifier.vkey(),
            "origin": ORIGIN, "checkpoints": [_signed(s, leaves) for s in sizes],
            "consistency": [[merkle_b64(h) for h in merkle.consistency_proof(a, leaves[:b])]
                            for a, b in itertools.pairwise(sizes)]}


def merkle_b64(value: bytes) -> str:
    import base64

    return base64.b64encode(value).decode()


def test_a_bundle_verifies_and_says_what_it_proves() -> None:
    report = verify_bundle(make_bundle())
    assert report.ok, report.failures
    assert any("signed a tree of 6 entries" in line for line in report.proven)
    assert any(line.startswith("context: entry #5 (OrderPlaced") and "unit_price=9900" in line
               for line in report.proven)


def test_a_bundle_checked_against_another_key_fails() -> None:
    other = Signer.generate("shop.example").verifier.vkey()
    report = verify_bundle(make_bundle(), trusted_key=other)
    assert not report.ok
    assert "no signature by" in report.failures[0]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 12), st.data())
def test_any_change_to_a_bundle_fails(count: int, data: st.DataObject) -> None:
    bundle = make_bundle(count)
    changed = copy.deepcopy(bundle)
    target = data.draw(st.sampled_from(["entry", "proof", "checkpoint", "index", "swap",
                                        "truncate"]))
    position = data.draw(st.integers(0, count - 1))
    item = changed["entries"][position]
    if target in ("entry", "proof"):
        text = item[target]
        at = data.draw(st.integers(0, len(text) - 1))
        replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != text[at]))
        item[target] = text[:at] + replacement + text[at + 1:]
    elif target == "checkpoint":
        text = changed["checkpoint"]
        at = data.draw(st.integers(0, len(text) - 1))
        replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != text[at]))
        changed["checkpoint"] = text[:at] + replacement + text[at + 1:]
    elif target == "index":
        item["index"] = data.draw(st.integers(0, count).filter(lambda i: i != position))
    elif target == "swap":
        other = data.draw(st.integers(0, count - 1))
        if bundle["entries"][other]["entry"] == item["entry"]:
            return
        item["entry"] = bundle["entries"][other]["entry"]
    else:  # a proof that lost its last hash, against the same checkpoint
        head, _, rest = item["proof"].partition("\n\n")
        lines = head.split("\n")
        if len(lines) <= 2:
            return
        item["proof"] = "\n".join(lines[:-1]) + "\n\n" + rest
    assert not verify_bundle(changed).ok


def test_a_chain_of_growing_checkpoints_verifies() -> None:
    report = verify_chain(make_chain([1, 2, 5, 8, 8, 13]))
    assert report.ok, report.failures
    assert "sizes 1, 2, 5, 8, 8, 13" in report.proven[-1]


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 20), st.data())
def test_a_rewritten_history_breaks_the_chain(size: int, data: st.DataObject) -> None:
    first = data.draw(st.integers(1, size - 1))
    chain = make_chain([first, size])
    bodies = _log(size)
    index = data.draw(st.integers(0, first - 1))
    bodies[index] = bodies[index].replace(b'"event_id":', b'"event_id":1')
    leaves = [merkle.leaf_hash(b) for b in bodies]
    rewritten = dict(chain)
    rewritten["checkpoints"] = [chain["checkpoints"][0], _signed(size, leaves)]
    rewritten["consistency"] = [[merkle_b64(h) for h in merkle.consistency_proof(first, leaves)]]
    report = verify_chain(rewritten)
    assert not report.ok and "does not extend" in report.failures[0]


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "file.json"
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def test_verify_command_exit_codes(tmp_path: Path) -> None:
    bundle = make_bundle()
    code, text = verify_command(_write(tmp_path, bundle), None)
    assert code == 0 and text.endswith("VERIFIED: everything above holds.")
    bundle["entries"][-1]["entry"] = bundle["entries"][-1]["entry"].replace("9900", "8900")
    code, text = verify_command(_write(tmp_path, bundle), None)
    assert code == 1 and "NOT VERIFIED" in text
    code, text = verify_command(_write(tmp_path, "{not json"), None)
    assert code == 2 and "not valid JSON" in text
    code, text = verify_command(tmp_path / "missing.json", None)
    assert code == 2 and "cannot read" in text
    code, text = verify_command(_write(tmp_path, {"kind": "something/v9"}), None)
    assert code == 1 and "unknown file kind" in text


def test_verify_command_checks_a_bare_checkpoint_against_a_key(tmp_path: Path) -> None:
    note = make_chain([3])["checkpoints"][0]
    code, text = verify_command(_write(tmp_path, note), SIGNER.verifier.vkey())
    assert code == 0 and "signed a tree of 3 entries" in text
    code, text = verify_command(_write(tmp_path, note), None)
    assert code == 1 and "pass --key" in text


@pytest.mark.slow
def test_the_installed_command_verifies_a_bundle(tmp_path: Path) -> None:
    path = _write(tmp_path, make_bundle())
    done = subprocess.run([sys.executable, "-m", "livepledge", "verify", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "VERIFIED" in done.stdout
    path.write_text("[]")
    done = subprocess.run([sys.executable, "-m", "livepledge", "verify", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not a JSON object" in done.stderr
