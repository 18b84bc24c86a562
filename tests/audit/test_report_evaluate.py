"""The HTML/JSON report and the detection-rate evaluation on planted synthetic data."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from livepledge.audit import evaluate, report, synth
from livepledge.audit.cli import app

runner = CliRunner()


def test_report_is_self_contained_html_and_matching_json(tmp_path):
    data_dir = tmp_path / "data"
    result = runner.invoke(app, ["synth", str(data_dir), "--orders", "20000", "--shops", "100",
                                 "--viewer-sessions", "20"])
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(data_dir / "orders.csv"), "--viewers",
                                 str(data_dir / "viewers.csv"), "--out", str(out), "--json",
                                 "--slot-fee", "5000", "--commission-rate", "0.2",
                                 "--promised-roi", "3"])
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html
    assert re.findall(r'(?:src|href)="?https?:', html) == []
    assert html.count("<svg") == 6
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    truth = (data_dir / "truth_brushing.csv").read_text().splitlines()[1:]
    assert sorted(s["shop_id"] + "," + s["buyer_ids"] for s in data["brushing"]["shops"]) == (
        sorted(truth))
    assert data["sales"]["summary"]["net_fen"] == (
        data["sales"]["summary"]["gross_fen"] - data["sales"]["summary"]["refunded_fen"])
    assert data["roi"]["promised_roi"] == 3.0


def test_money_is_shown_in_yuan_from_integer_fen():
    assert report.yuan(123456) == "¥1,234.56"
    assert report.yuan(-5) == "-¥0.05"


def test_rates():
    assert evaluate.rates({1, 2, 3, 4}, {2, 3, 9}) == {
        "planted": 4, "detected": 3, "true_positives": 2, "precision": 0.6667, "recall": 0.5}


def test_evaluation_on_planted_data(tmp_path):
    result = evaluate.run_evaluation(tmp_path, synth.SynthSpec(orders=30000, shops=150),
                                     viewer_sessions=40)
    assert result["brushing"]["shops"]["recall"] == 1.0
    assert result["brushing"]["shops"]["precision"] == 1.0
    assert result["laundering"]["buyers"]["recall"] == 1.0
    assert result["viewers"]["bots"]["recall"] == 1.0


def test_report_on_an_export_without_amounts_shows_brushing_only(tmp_path):
    data = tmp_path / "orders.csv"
    data.write_text("orderid,shopid,userid,event_time\n1,10,201,2019-12-27 00:00:00\n"
                    "2,10,201,2019-12-27 00:10:00\n3,10,201,2019-12-27 00:20:00\n")
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(data), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    assert "the export has no amount column" in out.read_text(encoding="utf-8")
    found = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert "sales" not in found
    assert found["brushing"]["shops"][0]["periods"] == [{
        "start_us": 1577376000000000, "end_us": 1577377200000000,
        "start": "2019-12-27 00:00:00", "end": "2019-12-27 00:20:00",
        "orders": 3, "buyers": 1, "max_ratio": 3.0}]


def test_roi_command_exits_3_when_the_promise_is_not_met(tmp_path):
    data = tmp_path / "orders.csv"
    data.write_text("order_id,shop_id,buyer_id,created_at,anchor_id,amount,refunded_at\n"
                    "1,1,7,2026-03-01 10:00:00,A,100000,\n"
                    "2,1,8,2026-03-01 10:00:00,A,100000,2026-03-20 10:00:00\n")
    args = ["roi", str(data), "--slot-fee", "100", "--commission-rate", "0.1", "--anchor", "A"]
    result = runner.invoke(app, [*args, "--promised-roi", "5"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["roi_net"] == 100000 / 30000
    result = runner.invoke(app, [*args, "--promised-roi", "3"])
    assert result.exit_code == 0


def test_line_chart_with_one_day_draws_the_point():
    svg = report.line_chart("GMV", ["03-01"], [("gross", [12.5]), ("net", [10.0])])
    assert "<polyline" not in svg
    assert svg.count("<circle") == 2
    assert 'cx="380.0"' in svg  # centred
    two = report.line_chart("GMV", ["03-01", "03-02"], [("gross", [1.0, 2.0])])
    assert two.count("<polyline") == 1 and two.count("<circle") == 2


def test_report_uses_names_from_the_export(tmp_path):
    text = ("订单号,店铺ID,店铺名称,买家ID,下单时间,实付金额,"
            "anchor_id,主播昵称,session_id,直播标题\n"
            "1,7,旗舰店,a,2026-03-01 10:00:00,10.00,3,小美,55,春季上新\n"
            "2,7,旗舰店,a,2026-03-01 10:01:00,10.00,3,小美,55,春季上新\n"
            "3,7,旗舰店,a,2026-03-01 10:02:00,10.00,3,小美,55,春季上新\n")
    data = tmp_path / "orders.csv"
    data.write_text(text, encoding="utf-8")
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(data), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    names = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["names"]
    assert names == {"shop": {"7": "旗舰店"}, "anchor": {"3": "小美"},
                     "session": {"55": "春季上新"}}
    html = out.read_text(encoding="utf-8")
    assert "旗舰店 (7)" in html and "小美 (3)" in html and "春季上新 (55)" in html
    assert '"gross_fen": 3000' in (tmp_path / "r.json").read_text(encoding="utf-8")
