"""Bought viewers on per-minute exports: exact hand-built cases, bad input, the CLI path."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from livepledge.audit import columns, evaluate, loader, minutes, synth
from livepledge.audit.cli import app
from livepledge.audit.errors import AuditInputError
from livepledge.audit.minutes import MinuteParams

runner = CliRunner()
T0 = 1_772_330_400  # 2026-03-01 02:00:00 UTC


def table(rows: list[tuple], shop: bool = False) -> duckdb.DuckDBPyConnection:
    """rows: (session, minute index, viewers, chats, likes, orders[, shop])."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cols = list(zip(*rows, strict=True))
    data = {"session_id": list(cols[0]), "m": [int(x) for x in cols[1]],
            "viewers": list(cols[2]), "chats": list(cols[3]), "likes": list(cols[4]),
            "orders": list(cols[5])}
    if shop:
        data["shop_id"] = list(cols[6])
    con.register("_m", pa.table(data))
    con.execute(f"""CREATE TABLE viewer_minutes AS SELECT * EXCLUDE (m),
                    make_timestamptz(({T0} + m * 60) * 1000000) AS minute FROM _m""")
    return con


def flat(session: str, viewers: int, engagement: int, n: int = 10) -> list[tuple]:
    return [(session, m, viewers, 0, engagement, 0) for m in range(n)]


def test_session_far_below_its_peers_is_flagged_with_exact_statistic():
    rows = [r for s in "abcde" for r in flat(s, 100, 10)] + flat("f", 100, 1)
    con = table(rows)
    summary = minutes.detect_minutes(con, "viewer_minutes", MinuteParams())
    assert summary.sessions == 6
    assert summary.sessions_low_engagement == 1
    got = {r["session_id"]: r for r in minutes.session_rows(con)}
    # y = ln((Σe + 1) / (Σviewers + 1)); median of the six is a's; MAD = 0 → scale floor 0.1.
    expected_z = (math.log(11 / 1001) - math.log(101 / 1001)) / 0.1
    assert got["f"]["robust_z"] == round(expected_z, 2)
    assert got["f"]["low_engagement"] and got["f"]["flagged"]
    assert not any(got[s]["flagged"] for s in "abcde")
    assert got["f"]["peer_group"] == "all" and got["f"]["peers"] == 6
    # engaged viewers = engagement ÷ peer median rate (101/1001 per viewer-minute), per minute.
    assert got["f"]["engaged_viewers"] == round(10 * 1001 / 101 / 10, 1)
    assert got["a"]["engaged_viewers"] == round(100 * 1001 / 101 / 10, 1)  # smoothing: 99.1
    # the ten silent minutes form one run, with the minutes as evidence
    found = [f for f in minutes.findings(con) if f["kind"] == "low_engagement_minutes"]
    assert [(f["session_id"], f["first_minute"], f["last_minute"], f["minutes"])
            for f in found] == [("f", "2026-03-01 02:00", "2026-03-01 02:09", 10)]


def test_same_shop_peers_are_used_when_the_shop_has_enough_sessions():
    # shop A engages 10× less than shop B; against all sessions A would look bought.
    rows = [(*r, "A") for s in "abcde" for r in flat(s, 100, 1)]
    rows += [(*r, "B") for s in "vwxyz" for r in flat(s, 100, 10)]
    con = table(rows, shop=True)
    summary = minutes.detect_minutes(con, "viewer_minutes", MinuteParams(min_peers=5))
    assert summary.sessions_flagged == 0
    con = table(rows[:40] + rows[50:], shop=True)  # shop A has 4 sessions now → all sessions
    minutes.detect_minutes(con, "viewer_minutes", MinuteParams(min_peers=5))
    got = {r["session_id"]: r["peer_group"] for r in minutes.session_rows(con)}
    assert got["a"] == "all" and got["v"] == "shop:B"


def test_unbacked_step_is_found_at_its_minute_with_evidence():
    rows = [("s", m, 100 if m < 10 else 300, 0, 10, 0) for m in range(20)]
    con = table(rows)
    summary = minutes.detect_minutes(con, "viewer_minutes", MinuteParams())
    assert summary.steps == 1
    step = con.execute("SELECT strftime(minute, '%H:%M'), viewers_before, viewers_after, jump, "
                       "backed, unbacked_viewers FROM minute_steps").fetchall()
    assert step == [("02:10", 100.0, 300.0, 200, 0.0, 200.0)]
    detail = next(f for f in minutes.findings(con) if f["kind"] == "step")["detail"]
    assert "viewers 100.0 → 300.0 (+200 in the minute)" in detail
    assert "backs 0% of the added viewers" in detail


def test_step_with_matching_engagement_or_too_small_is_not_flagged():
    backed = [("s", m, 100 if m < 10 else 300, 0, 10 if m < 10 else 30, 0) for m in range(20)]
    assert minutes.detect_minutes(table(backed), "viewer_minutes", MinuteParams()).steps == 0
    small = [("s", m, 60 if m < 10 else 100, 0, 10, 0) for m in range(20)]  # +40 < 50
    assert minutes.detect_minutes(table(small), "viewer_minutes", MinuteParams()).steps == 0
    gap = [("s", m, 100 if m < 10 else 300, 0, 10, 0) for m in range(20) if m != 10]
    # the jump must happen between consecutive minutes; across a gap it is not located
    assert minutes.detect_minutes(table(gap), "viewer_minutes", MinuteParams()).steps == 0


def test_no_engagement_column_is_bad_input():
    con = duckdb.connect()
    con.execute("CREATE TABLE viewer_minutes AS SELECT 's' AS session_id, now() AS minute, "
                "10 AS viewers")
    with pytest.raises(AuditInputError, match="chats, likes, orders"):
        minutes.detect_minutes(con, "viewer_minutes", MinuteParams())


def test_format_detection():
    assert columns.detect_viewer_format(["session_id", "viewer_id", "joined_at"], {}) == "visits"
    assert columns.detect_viewer_format(["直播场次", "时间", "在线人数", "点赞数"], {}) == "minutes"
    assert columns.detect_viewer_format(["room", "t", "n"], {"minute": "t"}) == "minutes"
    assert columns.detect_viewer_format(["a"], {}, "visits") == "visits"
    with pytest.raises(AuditInputError) as err:
        columns.detect_viewer_format(["session_id", "foo"], {})
    assert "viewer_id, joined_at" in err.value.message
    assert "minute, viewers" in err.value.message and "session_id, foo" in err.value.message


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def viewers_cli(tmp_path: Path, data: Path, *extra: str):
    return runner.invoke(app, ["viewers", str(data), "--out", str(tmp_path / "f.csv"), *extra])


def test_bad_rows_are_reported_with_line_numbers(tmp_path):
    data = write(tmp_path / "m.csv", "session_id,minute,viewers,likes\n"
                 "1,2026-03-01 10:00,100,5\n1,2026-03-01 10:01,-3,5\n"
                 "1,yesterday,100,5\n1,2026-03-01 10:03,2.5,1\n")
    result = viewers_cli(tmp_path, data)
    assert result.exit_code == 2
    assert "line 3: viewers='-3'" in result.stderr
    assert "line 4: minute='yesterday'" in result.stderr
    assert "line 5: viewers='2.5'" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_duplicate_minute_empty_file_and_missing_columns(tmp_path):
    dup = write(tmp_path / "d.csv", "session_id,minute,viewers,likes\n"
                "1,2026-03-01 10:00,100,5\n1,2026-03-01 10:00:30,90,5\n")
    result = viewers_cli(tmp_path, dup)
    assert result.exit_code == 2
    assert "session_id @ minute=1 @ 2026-03-01 10:00: d.csv 第 2 行 / line 2, d.csv 第 3 行 " \
           "/ line 3" in result.stderr
    empty = write(tmp_path / "e.csv", "")
    result = viewers_cli(tmp_path, empty)
    assert result.exit_code == 2 and "empty" in result.stderr
    header = write(tmp_path / "h.csv", "session_id,minute,viewers,likes\n")
    result = viewers_cli(tmp_path, header)
    assert result.exit_code == 2 and "no data rows" in result.stderr
    missing = write(tmp_path / "x.csv", "session_id,minute,likes\n1,2026-03-01 10:00,5\n")
    result = viewers_cli(tmp_path, missing, "--viewer-format", "minutes")
    assert result.exit_code == 2
    assert "missing required columns: viewers" in result.stderr
    assert "columns in the file: session_id, minute, likes" in result.stderr
    result = viewers_cli(tmp_path, missing, "--map", "viewers=online")
    assert result.exit_code == 2 and "viewers=online" in result.stderr


def test_map_and_timezone(tmp_path):
    lines = ["room,t,online,comments"]
    lines += [f"r1,2026-03-01T02:{m:02d}:00Z,{100 if m < 10 else 300},10" for m in range(20)]
    data = write(tmp_path / "m.csv", "\n".join(lines) + "\n")
    result = viewers_cli(tmp_path, data, "--map", "session_id=room", "--map", "minute=t",
                         "--map", "viewers=online", "--map", "chats=comments",
                         "--timezone", "UTC", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["steps"] == 1
    rows = (tmp_path / "f.csv").read_text().splitlines()
    assert rows[0].startswith("session_id,kind,first_minute,last_minute")
    assert rows[1].startswith("r1,step,2026-03-01 02:10,")
    full = json.loads((tmp_path / "f.json").read_text())
    assert full["kind"] == "minutes" and full["series"][10]["viewers"] == 300


def test_cli_end_to_end_in_a_subprocess(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "livepledge.audit", *args],
                              capture_output=True, text=True, timeout=60, check=False)

    data = tmp_path / "data"
    done = run("synth", str(data), "--orders", "3000", "--shops", "30", "--viewer-sessions", "5",
               "--minute-sessions", "60")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "report.html"
    done = run("report", str(data / "orders.csv"), "--viewers", str(data / "viewer_minutes.csv"),
               "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert "viewers vs engagement per minute" in html and "<script" not in html
    report = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert report["viewers"]["kind"] == "minutes"
    assert report["viewers"]["summary"]["sessions"] == 60
    done = run("viewers", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 2 and "file not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_planted_bought_viewers_are_found(tmp_path):
    con = loader.connect()
    result = evaluate.evaluate_minutes(con, tmp_path, synth.SynthSpec(), sessions=100)
    assert result["sessions_flagged"]["precision"] >= 0.9
    assert result["sessions_flagged"]["recall"] >= 0.6
    assert result["steps"]["recall"] >= 0.9
