"""`livepledge audit …` end to end: the brushing contract and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from livepledge.audit.cli import app

runner = CliRunner()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def brushing(tmp_path: Path, data: Path, *extra: str):
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["brushing", str(data), "--window", "3600", "--threshold", "3",
                                 "--out", str(out), *extra])
    return result, out


SHOPEE = """orderid,shopid,userid,event_time
1,10,201,2019-12-27 00:00:00
2,10,201,2019-12-27 00:10:00
3,10,201,2019-12-27 00:20:00
4,10,33,2019-12-27 00:30:00
5,10,33,2019-12-27 00:31:00
6,10,33,2019-12-27 00:32:00
7,9,5,2019-12-27 00:00:00
8,9,6,2019-12-27 00:00:00
"""


def test_brushing_contract_with_all_shops(tmp_path):
    data = write(tmp_path / "orders.csv", SHOPEE)
    result, out = brushing(tmp_path, data, "--all-shops")
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "9,0", "10,33&201"]


def test_brushing_contract_lists_only_brushing_shops_by_default(tmp_path):
    data = write(tmp_path / "orders.csv", SHOPEE)
    result, out = brushing(tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "10,33&201"]


def test_map_renames_source_columns(tmp_path):
    data = write(tmp_path / "orders.csv", SHOPEE.replace("orderid", "单号").replace(
        "event_time", "ts"))
    result, out = brushing(tmp_path, data, "--map", "order_id=单号", "--map", "created_at=ts")
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines()[1] == "10,33&201"


def test_missing_columns_are_named_with_what_the_file_has(tmp_path):
    data = write(tmp_path / "orders.csv", "oid,shop,when\n1,2,2026-01-01 00:00:00\n")
    result, out = brushing(tmp_path, data)
    assert result.exit_code == 2
    assert "missing required columns: order_id, shop_id, buyer_id, created_at" in result.stderr
    assert "columns in the file: oid, shop, when" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_mapped_column_that_does_not_exist_is_named(tmp_path):
    data = write(tmp_path / "orders.csv", SHOPEE)
    result, _ = brushing(tmp_path, data, "--map", "created_at=order_time")
    assert result.exit_code == 2
    assert "mapped source columns not found: created_at=order_time" in result.stderr


def test_unparseable_timestamps_stop_with_line_numbers(tmp_path):
    text = SHOPEE.replace("2019-12-27 00:10:00", "yesterday").replace(
        "2019-12-27 00:31:00", "2019-13-45 99:00:00")
    data = write(tmp_path / "orders.csv", text)
    result, out = brushing(tmp_path, data)
    assert result.exit_code == 2
    assert "2 rows with invalid values" in result.stderr
    assert "orders.csv 第 3 行 / line 3: created_at='yesterday'" in result.stderr
    assert "line 6: created_at='2019-13-45 99:00:00'" in result.stderr
    assert "--on-error skip" in result.stderr
    assert not out.exists()


def test_unparseable_timestamps_can_be_skipped(tmp_path):
    text = SHOPEE.replace("2019-12-27 00:10:00", "yesterday")
    data = write(tmp_path / "orders.csv", text)
    result, out = brushing(tmp_path, data, "--on-error", "skip")
    assert result.exit_code == 0, result.stderr
    assert "line 3" in result.stderr
    # 201 keeps 2 orders; 33 has 3: window 00:20–00:32 holds 4 orders by 2 buyers = 2 < 3,
    # but 00:30–00:32 holds 33's 3 orders alone.
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "10,33"]


def test_malformed_line_is_reported_and_later_lines_keep_their_numbers(tmp_path):
    text = SHOPEE.replace("3,10,201,2019-12-27 00:20:00", "3,10,201").replace(
        "2019-12-27 00:31:00", "bad")
    data = write(tmp_path / "orders.csv", text)
    result, _ = brushing(tmp_path, data)
    assert result.exit_code == 2
    assert "malformed lines" in result.stderr and "orders.csv 第 4 行 / line 4" in result.stderr
    assert "line 6: created_at='bad'" in result.stderr


def test_empty_file_and_header_only_file(tmp_path):
    empty = write(tmp_path / "empty.csv", "")
    result, _ = brushing(tmp_path, empty)
    assert result.exit_code == 2
    assert "the file is empty" in result.stderr
    header = write(tmp_path / "header.csv", "order_id,shop_id,buyer_id,created_at\n")
    result, _ = brushing(tmp_path, header)
    assert result.exit_code == 2
    assert "no data rows" in result.stderr


def test_missing_file(tmp_path):
    result, _ = brushing(tmp_path, tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert "file not found" in result.stderr


def test_duplicate_order_ids_stop_or_are_removed(tmp_path):
    text = SHOPEE + "3,10,201,2019-12-27 00:20:00\n"
    data = write(tmp_path / "orders.csv", text)
    result, _ = brushing(tmp_path, data)
    assert result.exit_code == 2
    assert "1 rows repeat an earlier order_id" in result.stderr
    assert "order_id=3: orders.csv 第 4 行 / line 4, orders.csv 第 10 行 / line 10" in (
        result.stderr)
    result, out = brushing(tmp_path, data, "--on-error", "skip")
    assert result.exit_code == 0
    assert out.read_text().splitlines()[1] == "10,33&201"


def test_times_with_and_without_zone(tmp_path):
    # 10:00 Shanghai (naive) and 02:30Z = 10:30 Shanghai: the same hour; in UTC 8 hours apart.
    text = ("order_id,shop_id,buyer_id,created_at\n1,1,7,2026-03-01 10:00:00\n"
            "2,1,7,2026-03-01T02:30:00Z\n3,1,7,2026-03-01 10:40:00+08:00\n")
    data = write(tmp_path / "orders.csv", text)
    result, out = brushing(tmp_path, data)
    assert result.exit_code == 0
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "1,7"]
    result, out = brushing(tmp_path, data, "--timezone", "UTC")
    assert out.read_text().splitlines() == ["shop_id,buyer_ids"]
    result, _ = brushing(tmp_path, data, "--timezone", "Mars/Olympus")
    assert result.exit_code == 2 and "unknown time zone" in result.stderr


def test_epoch_seconds_and_chinese_dates(tmp_path):
    text = ("order_id,shop_id,buyer_id,created_at\n1,1,7,1772330400\n"
            "2,1,7,2026年03月01日 10:10:00\n3,1,7,1772331000000\n")
    data = write(tmp_path / "orders.csv", text)
    result, out = brushing(tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "1,7"]


def test_parquet_input_reports_row_numbers(tmp_path):
    table = pa.table({"order_id": ["1", "2", "3", "4"], "shop_id": ["1"] * 4,
                      "buyer_id": ["7"] * 4,
                      "created_at": ["2026-03-01 10:00:00", "2026-03-01 10:01:00", "soon",
                                     "2026-03-01 10:02:00"]})
    data = tmp_path / "orders.parquet"
    pq.write_table(table, data)
    result, _ = brushing(tmp_path, data)
    assert result.exit_code == 2
    assert "orders.parquet 第 3 行 / row 3: created_at='soon'" in result.stderr
    result, out = brushing(tmp_path, data, "--on-error", "skip")
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "1,7"]


def test_bad_threshold_and_window(tmp_path):
    data = write(tmp_path / "orders.csv", SHOPEE)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["brushing", str(data), "--window", "an hour", "--threshold",
                                 "3", "--out", str(out)])
    assert result.exit_code == 2 and "--window" in result.stderr
    result = runner.invoke(app, ["brushing", str(data), "--window", "60", "--threshold", "0",
                                 "--out", str(out)])
    assert result.exit_code == 2 and "threshold must be > 0" in result.stderr


def test_amounts_in_yuan_and_unparseable_amounts(tmp_path):
    text = ("order_id,shop_id,buyer_id,created_at,amount,refunded_at\n"
            "1,1,7,2026-03-01 10:00:00,¥12.34,\n2,1,8,2026-03-01 10:00:00,\"1,000.5\",\n"
            "3,1,9,2026-03-01 10:00:00,0.001,\n")
    data = write(tmp_path / "orders.csv", text)
    out = tmp_path / "groups.csv"
    result = runner.invoke(app, ["laundering", str(data), "--amount-unit", "yuan",
                                 "--out", str(out)])
    assert result.exit_code == 2
    assert "line 4: amount='0.001'" in result.stderr
    result = runner.invoke(app, ["laundering", str(data), "--amount-unit", "yuan",
                                 "--on-error", "skip", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert '"gross_fen": 101284' in result.stdout


def test_large_inputs_use_an_on_disk_database(tmp_path, monkeypatch):
    from livepledge.audit import service

    monkeypatch.setattr(service, "LARGE_INPUT_BYTES", 0)
    data = write(tmp_path / "orders.csv", SHOPEE)
    result, out = brushing(tmp_path, data, "--all-shops")
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "9,0", "10,33&201"]


def test_window_out_of_range(tmp_path):
    data = write(tmp_path / "orders.csv", SHOPEE)
    result = runner.invoke(app, ["brushing", str(data), "--window", "-1", "--threshold", "3",
                                 "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "--window must be 0 … 1e11 seconds" in result.stderr


def test_bytes_valid_neither_as_utf8_nor_as_gb18030_are_reported_by_line(tmp_path):
    data = tmp_path / "bad.csv"
    data.write_bytes(b"order_id,shop_id,buyer_id,created_at\n1,\x80\xff,2,2026-03-01 10:00:00\n")
    result, out = brushing(tmp_path, data)
    assert result.exit_code == 2
    assert "bad.csv 第 2 行 / line 2 (invalid encoding)" in result.stderr
    assert not out.exists()


GBK_ORDERS = """订单号,店铺ID,买家ID,下单时间,实付金额
1,旗舰店,张三,2026-03-01 10:00:00,12.50
2,旗舰店,张三,2026-03-01 10:10:00,12.50
3,旗舰店,张三,2026-03-01 10:20:00,99.00
4,小店,李四,2026-03-01 10:00:00,5.00
"""


def test_gbk_and_gb18030_exports_are_read_directly(tmp_path):
    for encoding in ("gbk", "gb18030"):
        data = tmp_path / f"{encoding}.csv"
        data.write_bytes(GBK_ORDERS.encode(encoding))
        result, out = brushing(tmp_path, data, "--all-shops")
        assert result.exit_code == 0, result.stderr
        assert out.read_text(encoding="utf-8").splitlines() == [
            "shop_id,buyer_ids", "小店,0", "旗舰店,张三"]


def test_utf8_file_with_one_corrupt_byte_stays_utf8(tmp_path):
    # Valid GB18030 as a whole (mojibake), but mostly valid UTF-8: read as UTF-8, the bad
    # line reported.
    text = "".join(f"{i},旗舰店,张三,2026-03-01 10:{i:02d}:00\n" for i in range(1, 6))
    data = tmp_path / "mixed.csv"
    data.write_bytes(b"order_id,shop_id,buyer_id,created_at\n" + text.encode()
                     + b"6,\xc9\xcc,x,2026-03-01 10:30:00\n")
    result, out = brushing(tmp_path, data, "--on-error", "skip", "--all-shops")
    assert result.exit_code == 0, result.stderr
    assert "mixed.csv 第 7 行 / line 7 (invalid encoding)" in result.stderr
    assert out.read_text(encoding="utf-8").splitlines() == ["shop_id,buyer_ids", "旗舰店,张三"]


def laundering(tmp_path: Path, data: Path, *extra: str):
    out = tmp_path / "groups.csv"
    return runner.invoke(app, ["laundering", str(data), "--out", str(out), *extra])


def test_decimal_amounts_are_read_as_yuan_and_said_so(tmp_path):
    data = tmp_path / "gbk.csv"
    data.write_bytes(GBK_ORDERS.encode("gbk"))
    result = laundering(tmp_path, data)
    assert result.exit_code == 0, result.stderr
    assert '"gross_fen": 12900' in result.stdout  # 12.50 + 12.50 + 99.00 + 5.00 yuan
    assert "amounts read as yuan (they have decimals, e.g. 实付金额='12.50')" in result.stderr
    # Forcing fen on 12.50 leaves values that are not whole fen: refused, nothing written.
    (tmp_path / "groups.csv").unlink()
    result = laundering(tmp_path, data, "--amount-unit", "fen")
    assert result.exit_code == 2 and "amount='12.50'" in result.stderr
    assert not (tmp_path / "groups.csv").exists()


def test_whole_yuan_written_with_decimals_is_not_read_as_fen(tmp_path):
    text = ("order_id,shop_id,buyer_id,created_at,amount\n"
            "1,1,7,2026-03-01 10:00:00,99.00\n2,1,8,2026-03-01 10:00:00,100.00\n")
    result = laundering(tmp_path, write(tmp_path / "o.csv", text))
    assert result.exit_code == 0, result.stderr
    assert '"gross_fen": 19900' in result.stdout


def test_whole_number_amounts_are_fen_with_a_warning_and_headers_decide(tmp_path):
    text = "order_id,shop_id,buyer_id,created_at,{h}\n1,1,7,2026-03-01 10:00:00,{v}\n"
    result = laundering(tmp_path, write(tmp_path / "a.csv", text.format(h="amount", v="990")))
    assert result.exit_code == 0, result.stderr
    assert '"gross_fen": 990' in result.stdout
    assert "all amounts are whole numbers and are read as fen" in result.stderr
    result = laundering(tmp_path, write(tmp_path / "b.csv", text.format(h="实付金额(元)", v="99")),
                        "--map", "amount=实付金额(元)")
    assert result.exit_code == 0, result.stderr
    assert '"gross_fen": 9900' in result.stdout and "warning" not in result.stderr
    result = laundering(tmp_path, write(tmp_path / "c.csv", text.format(h="amount_fen", v="99")),
                        "--map", "amount=amount_fen")
    assert '"gross_fen": 99' in result.stdout and "warning" not in result.stderr


def test_a_fen_header_over_decimal_values_is_refused(tmp_path):
    text = "order_id,shop_id,buyer_id,created_at,金额(分)\n1,1,7,2026-03-01 10:00:00,12.5\n"
    result = laundering(tmp_path, write(tmp_path / "a.csv", text), "--map", "amount=金额(分)")
    assert result.exit_code == 2
    assert "the header says fen but an amount has decimals" in result.stderr
    assert "--amount-unit" in result.stderr
    assert not (tmp_path / "groups.csv").exists()


WORKED = """orderid,shopid,userid,event_time
1,10,x,2019-12-27 10:00:00
2,10,u,2019-12-27 10:00:01
3,10,u,2019-12-27 10:30:00
4,10,u,2019-12-27 11:00:00
5,10,y,2019-12-27 11:00:01
"""


def test_step_option_chooses_the_window_reading(tmp_path):
    # docs/audit.md's worked example: only a window starting at 10:00:00.5 isolates u's orders.
    data = write(tmp_path / "orders.csv", WORKED)
    result, out = brushing(tmp_path, data, "--all-shops")
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "10,0"]
    result, out = brushing(tmp_path, data, "--all-shops", "--step", "1")
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "10,0"]
    result, out = brushing(tmp_path, data, "--all-shops", "--step", "0")
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "10,u"]
    result, out = brushing(tmp_path, data, "--all-shops", "--step", "0.5")
    assert out.read_text().splitlines() == ["shop_id,buyer_ids", "10,u"]


def test_bad_step_is_refused(tmp_path):
    data = write(tmp_path / "orders.csv", WORKED)
    for bad, words in (("soon", "--step needs seconds"), ("-1", "--step must be 0 … 86400"),
                       ("0.0000001", "whole number of microseconds")):
        result, out = brushing(tmp_path, data, "--step", bad)
        assert result.exit_code == 2 and words in result.stderr, result.stderr
        assert not out.exists()
