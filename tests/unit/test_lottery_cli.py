"""`livepledge verify-lottery FILE`: exit 0 only when the document verifies."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from livepledge.cli import app
from tests.unit.test_lottery_draw import VECTOR_ENTRIES, VECTOR_SEED, document

runner = CliRunner()


def test_verified_document_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "lottery.json"
    path.write_text(json.dumps(document(VECTOR_SEED, VECTOR_ENTRIES, 3)))
    result = runner.invoke(app, ["verify-lottery", str(path),
                                 "--entrant", VECTOR_ENTRIES[2].hex()])
    assert result.exit_code == 0, result.output
    assert "已验证 / verified" in result.output
    assert "✓ your entry: entry #2" in result.output


def test_tampered_document_exits_one_and_says_why(tmp_path: Path) -> None:
    doc = document(VECTOR_SEED, VECTOR_ENTRIES, 3)
    doc["entries"].append("ab" * 32)  # a fake entrant added after the root was fixed
    doc["entry_count"] += 1
    path = tmp_path / "lottery.json"
    path.write_text(json.dumps(doc))
    result = runner.invoke(app, ["verify-lottery", str(path)])
    assert result.exit_code == 1
    assert "✗ entry root" in result.output
    assert "验证失败 / NOT verified" in result.output


def test_pending_document_is_not_verified(tmp_path: Path) -> None:
    doc = document(VECTOR_SEED, VECTOR_ENTRIES, 3) | {"seed": None, "winners": [],
                                                     "entry_root": None}
    path = tmp_path / "lottery.json"
    path.write_text(json.dumps(doc))
    result = runner.invoke(app, ["verify-lottery", str(path)])
    assert result.exit_code == 1
    assert "尚未开奖 / not drawn yet" in result.output


def test_unreadable_file_exits_two(tmp_path: Path) -> None:
    path = tmp_path / "lottery.json"
    path.write_text("{not json")
    result = runner.invoke(app, ["verify-lottery", str(path)])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_livepledge_verify_takes_lottery_documents_too(tmp_path: Path) -> None:
    """`livepledge verify FILE` (the session record's verifier) hands a lottery document to the
    lottery's checks: the same verdicts as verify-lottery."""
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document(VECTOR_SEED, VECTOR_ENTRIES, 3)))
    doc = document(VECTOR_SEED, VECTOR_ENTRIES, 3)
    doc["entries"].append("ab" * 32)
    doc["entry_count"] += 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))

    verified = runner.invoke(app, ["verify", str(good)])
    refused = runner.invoke(app, ["verify", str(bad)])

    assert verified.exit_code == 0, verified.output
    assert "entry root" in verified.output
    assert refused.exit_code == 1, refused.output
    assert "entry root" in refused.output
