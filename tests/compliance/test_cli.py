"""The real CLI, run as a subprocess: exit codes and the JSON-lines contract."""

import os
import re
import subprocess
import sys

import orjson
import pytest


def _command():
    try:
        import livepledge.cli  # noqa: F401 - the platform CLI mounts `compliance`
    except ImportError:
        return [sys.executable, "-m", "livepledge.compliance"]
    return [sys.executable, "-m", "livepledge", "compliance"]


def _run(*args, stdin=b""):
    # wide enough that rich does not wrap the messages the tests look for
    return subprocess.run([*_command(), *args], input=stdin, capture_output=True, timeout=60,
                          env={**os.environ, "COLUMNS": "300"})


def test_check_file_with_violation_exits_1_and_names_the_rule(tmp_path):
    script = tmp_path / "script.txt"
    script.write_text("家人们，这款面霜是全网最好用的！\n最近天气干燥，最好冷藏。\n",
                      encoding="utf-8")

    result = _run("check", str(script), "--category", "cosmetics")

    assert result.returncode == 1
    out = result.stdout.decode()
    assert "ABS-009" in out
    assert "全网最好" in out
    assert "Traceback" not in result.stderr.decode()


def test_check_clean_file_exits_0(tmp_path):
    script = tmp_path / "clean.txt"
    script.write_text("最近天气干燥，记得补水。第一次用的姐妹先用小样。", encoding="utf-8")

    result = _run("check", str(script), "--context", "speech")

    assert result.returncode == 0


def test_jsonl_writes_one_line_per_input_and_reports_bad_lines():
    lines = b"\n".join([
        orjson.dumps({"id": "a", "text": "加我薇信", "category": "general", "context": "chat"}),
        b"not json",
        orjson.dumps({"id": "c", "text": "", "category": "general", "context": "chat"}),
        orjson.dumps({"id": "d", "text": "hi", "category": "cars", "context": "chat"}),
        b"\xff\xfe",
        orjson.dumps({"id": "f", "text": "x" * 1_000_001, "category": "general",
                      "context": "chat"}),
        orjson.dumps({"id": 7, "text": "最近好吗", "category": "general", "context": "radio"}),
        orjson.dumps({"id": "h", "text": "支持微信支付", "category": "general", "context": "chat"}),
    ]) + b"\n"

    result = _run("check", "--jsonl", "-", stdin=lines)

    assert result.returncode == 2
    outputs = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("id") for o in outputs] == ["a", None, "c", "d", None, "f", 7, "h"]
    assert outputs[0]["violation"] is True
    assert outputs[0]["findings"][0]["rule_id"] == "DIV-001"
    assert outputs[0]["findings"][0]["span"] == [2, 4]
    assert [("error" in o) for o in outputs] == [False, True, True, True, True, True, True, False]
    assert outputs[7] == {"id": "h", "violation": False, "findings": []}
    stderr = result.stderr.decode()
    for number in (2, 3, 4, 5, 6, 7):
        assert f"line {number}:" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("content", [b"", b"\xff\xfe bad"])
def test_check_bad_file_is_a_clear_error_with_exit_2(tmp_path, content):
    script = tmp_path / "bad.txt"
    script.write_bytes(content)

    result = _run("check", str(script))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr.decode()
    assert "error" in result.stderr.decode()


# --- edge cases (issue #16 item 12, issue #8) -----------------------------------------------

@pytest.mark.parametrize("content", [b"\x00", b"\x00" * 4096, b"\x00\n\x00 \r\n"])
def test_a_file_of_only_nul_bytes_is_an_error_like_an_empty_file(tmp_path, content):
    script = tmp_path / "zeros.bin"
    script.write_bytes(content)

    result = _run("check", str(script))

    assert result.returncode == 2
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert "只有 NUL 字节" in stderr
    assert "nothing to check" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("stdin", [b"", b"\n", b"  \n\r\n\t\n"])
def test_jsonl_without_any_line_is_an_error(stdin):
    result = _run("check", "--jsonl", "-", stdin=stdin)

    assert result.returncode == 2
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert "没有输入行" in stderr
    assert "no input lines" in stderr
    assert "Traceback" not in stderr


def test_jsonl_exits_1_when_any_line_is_a_violation_and_0_when_none_is():
    clean = orjson.dumps({"id": 1, "text": "支持微信支付", "context": "chat"})
    violation = orjson.dumps({"id": 2, "text": "加我薇信", "context": "chat"})
    warning = orjson.dumps({"id": 3, "text": "全网最低价", "context": "chat"})

    flagged = _run("check", "--jsonl", "-", stdin=b"\n".join([clean, violation, clean]) + b"\n")
    fine = _run("check", "--jsonl", "-", stdin=b"\n".join([clean, warning]) + b"\n")

    assert flagged.returncode == 1
    assert [orjson.loads(line)["violation"] for line in flagged.stdout.splitlines()] == [
        False, True, False]
    assert "行有违规 / lines with a violation: 1" in flagged.stderr.decode()
    assert fine.returncode == 0
    outputs = [orjson.loads(line) for line in fine.stdout.splitlines()]
    assert [o["violation"] for o in outputs] == [False, False]
    assert [f["severity"] for f in outputs[1]["findings"]] == ["warning"]


def test_jsonl_bad_lines_still_exit_2_even_beside_a_violation():
    lines = orjson.dumps({"text": "加我薇信", "context": "chat"}) + b"\nnot json\n"

    result = _run("check", "--jsonl", "-", stdin=lines)

    assert result.returncode == 2


@pytest.mark.parametrize("command", [(), ("check",), ("catalogue",), ("evaluate",)])
def test_help_names_no_internal_feature_numbers_and_shows_flags_as_flags(command):
    result = subprocess.run([*_command(), *command, "--help"], capture_output=True, timeout=60,
                            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})

    assert result.returncode == 0
    out = result.stdout.decode()
    assert re.search(r"\bF\d+\b", out) is None
    assert "<bool>" not in out
    assert re.search(r"--help +Show this message", out)


def test_jsonl_facts_carry_a_devices_registered_uses():
    text = "这个仪器能治疗糖尿病"
    lines = b"\n".join([
        orjson.dumps({"id": "a", "text": text, "category": "medical_device",
                      "context": "listing"}),
        orjson.dumps({"id": "b", "text": text, "category": "medical_device", "context": "listing",
                      "facts": {"registered_uses": ["用于缓解颈肩部肌肉疼痛"]}}),
        orjson.dumps({"id": "c", "text": text, "category": "medical_device", "context": "listing",
                      "facts": {"registered_uses": "用于缓解颈肩部肌肉疼痛"}}),
    ]) + b"\n"

    result = _run("check", "--jsonl", "-", stdin=lines)

    assert result.returncode == 2
    outputs = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert outputs[0]["violation"] is False
    assert [(f["rule_id"], f["severity"]) for f in outputs[0]["findings"]] == [
        ("MED-013", "warning")]
    assert outputs[1]["violation"] is True
    assert [(f["rule_id"], f["severity"]) for f in outputs[1]["findings"]] == [
        ("MED-013", "violation")]
    assert "registered_uses" in outputs[2]["error"]
    assert "line 3:" in result.stderr.decode()
