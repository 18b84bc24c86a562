"""Load order and viewer exports (CSV or Parquet) into canonical DuckDB tables.

DuckDB reads the files in parallel and in a streaming fashion; nothing is pulled into Python
memory except the first few bad rows for the error message. Values are converted to canonical
types in one pass:

- ids and text → VARCHAR (trimmed, empty = missing), so `007` stays `007`;
- times → TIMESTAMPTZ; a time without a zone is read in `timezone` (default Asia/Shanghai);
  epoch seconds (10 digits) and milliseconds (13 digits) are accepted too;
- money → BIGINT fen; `amount_unit="yuan"` multiplies by 100; `"auto"` decides per file from the
  column header (元/yuan vs 分/fen) or the values (a decimal point or ¥/元 means yuan; only
  whole numbers are read as fen, with a warning); a value that is not a whole number of fen
  after conversion is a bad value (no silent rounding);
- CSV encoding: UTF-8, or GB18030 (a superset of GBK and GB2312, what Chinese back-office
  exports come in) when the file is not valid UTF-8 but is valid GB18030 — detected by strict
  decoding and transcoded to a temporary UTF-8 copy that DuckDB reads;
- counts → BIGINT.

Each row keeps its position in its file (`row_no`, 1-based data row; for CSV the report gives
the physical line number too), so a bad value is reported as "file, line, column, value".
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import dataclasses
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from livepledge.audit.columns import Resolved, resolve_columns
from livepledge.audit.errors import AuditInputError

MAX_EXAMPLES = 20


@dataclass
class LoadOptions:
    mapping: dict[str, str] = field(default_factory=dict)
    timezone: str = "Asia/Shanghai"
    amount_unit: str = "fen"  # fen | yuan | auto
    on_error: str = "stop"  # stop | skip


@dataclass
class LoadReport:
    table: str
    rows_read: int = 0
    rows_kept: int = 0
    bad_rows: int = 0
    duplicate_rows: int = 0
    rejected_lines: int = 0
    columns: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def connect(*, memory_limit: str = "2GB", threads: int | None = None,
            database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up for out-of-core work (spills to a temp directory)."""
    con = duckdb.connect(database)
    spill = Path(tempfile.gettempdir()) / "livepledge-audit-spill"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{spill}'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def set_timezone(con: duckdb.DuckDBPyConnection, timezone: str) -> None:
    names = {row[0] for row in con.execute("SELECT name FROM pg_timezone_names()").fetchall()}
    if timezone not in names:
        raise AuditInputError(
            f"未知时区 {timezone!r} / unknown time zone {timezone!r} (e.g. Asia/Shanghai, UTC)"
        )
    con.execute(f"SET TimeZone = '{timezone}'")


def load_table(
    con: duckdb.DuckDBPyConnection,
    paths: list[str],
    *,
    table: str,
    canonical: dict[str, str],
    required: tuple[str, ...],
    options: LoadOptions,
    unique: str | None = None,
    only: tuple[str, ...] | None = None,
    unique_label: str | None = None,
) -> LoadReport:
    """Load `paths` into `table` with canonical columns plus `file_no` and `row_no`.

    Raises AuditInputError on missing files or columns, empty input, and — unless
    `options.on_error == "skip"` — on bad values, malformed lines and duplicate `unique` keys.
    `only` restricts the canonical columns loaded (the others are not created). `unique` may be
    an SQL expression over the canonical columns; `unique_label` then names it in messages.
    """
    if options.amount_unit not in AMOUNT_UNITS:
        raise AuditInputError("--amount-unit 只能是 auto、fen 或 yuan / must be auto, fen or yuan")
    if options.on_error not in ("stop", "skip"):
        raise AuditInputError("--on-error 只能是 stop 或 skip / must be stop or skip")
    set_timezone(con, options.timezone)
    if only is not None:  # load just the columns an analysis needs (faster on wide exports)
        canonical = {name: kind for name, kind in canonical.items() if name in only}
    report = LoadReport(table=table)
    rejects: dict[int, list[int]] = {}
    kinds: dict[int, dict[int, str]] = {}
    bases: dict[int, int] = {}
    with readable(paths) as readable_paths:
        for file_no, path in enumerate(paths):
            source = _source_sql(readable_paths[file_no])
            described = _describe(con, source, path)
            resolved = resolve_columns(list(described), options.mapping, canonical, required)
            report.columns = resolved.columns
            unit = options.amount_unit
            if unit == "auto":
                unit, note = detect_amount_unit(con, source, resolved, described, canonical,
                                                path)
                if note:
                    report.warnings.append(note)
            file_options = dataclasses.replace(options, amount_unit=unit)
            select = _select_sql(resolved, described, canonical, file_options, file_no, source)
            verb = (f"CREATE OR REPLACE TABLE {table} AS" if file_no == 0
                    else f"INSERT INTO {table}")
            bases[file_no] = 0 if file_no == 0 else _count(con, table)
            _execute(con, f"{verb} {select}", path)
            rejects[file_no], kinds[file_no] = _take_rejects(con)
    places = _Places(paths, rejects, bases, kinds)
    _check_rows(con, table, required, canonical, options, report, places)
    if unique:
        _check_unique(con, table, unique, options, report, places, unique_label)
    report.rows_kept = _count(con, table)
    if report.rows_kept == 0:
        raise AuditInputError("没有可用的数据行 / no usable data rows after validation")
    return report


AMOUNT_UNITS = ("auto", "fen", "yuan")
_YUAN_HEADER = re.compile(r"元|yuan|cny|rmb|[¥￥]", re.IGNORECASE)
_FEN_HEADER = re.compile(r"[(（_\s]分[)）]?$|\bfen\b|_fen$|cents?\b", re.IGNORECASE)
# A decimal point between digits, or a currency sign or word: the value is written in yuan.
_YUAN_VALUE = r"[0-9]\.[0-9]|^[+-]?\.[0-9]|[¥￥元]|CNY|RMB"


def detect_amount_unit(con: duckdb.DuckDBPyConnection, source: str, resolved: Resolved,
                       described: dict[str, str], canonical: dict[str, str],
                       path: str) -> tuple[str, str | None]:
    """The unit of a file's money columns ("fen" or "yuan") and a note for the user.

    Header first (`实付金额(元)`, `amount_yuan` → yuan; `金额(分)`, `amount_fen` → fen); else the
    values: a decimal point or a currency sign/word in any value (or a fractional numeric
    column) means yuan — fen are never written with decimals. A file of whole numbers only is
    read as fen (the canonical unit) with a warning naming --amount-unit. Contradictions (a fen
    header over decimal values, a yuan and a fen header) are refused.
    """
    money = [name for name, kind in canonical.items() if kind == "money" and resolved.has(name)]
    if not money:
        return "fen", None
    name = os.path.basename(path)
    headers = {resolved.columns[m] for m in money}
    said = {"yuan" if _YUAN_HEADER.search(h) else "fen" if _FEN_HEADER.search(h) else None
            for h in headers} - {None}
    if len(said) > 1:
        raise AuditInputError(
            f"{name}: 金额列的单位不一致（{', '.join(sorted(headers))}），"
            f"请用 --amount-unit 指定 / "
            f"the money columns name different units ({', '.join(sorted(headers))}); pass "
            f"--amount-unit fen or yuan")
    decimal_example = None
    for m in money:
        column = '"' + resolved.columns[m].replace('"', '""') + '"'
        kind = described[resolved.columns[m]].upper()
        if kind.startswith("VARCHAR"):
            where = f"regexp_matches(CAST({column} AS VARCHAR), '{_YUAN_VALUE}')"
        elif kind.startswith("DECIMAL") and not kind.endswith(",0)"):
            where = f"{column} IS NOT NULL"
        elif kind in ("DOUBLE", "FLOAT", "REAL"):
            where = f"{column} <> floor({column})"
        else:
            continue
        row = _execute(con, f"SELECT CAST({column} AS VARCHAR) FROM {source} WHERE {where} "
                            f"LIMIT 1", path).fetchone()
        if row is not None:
            decimal_example = f"{resolved.columns[m]}={row[0]!r}"
            break
    if said == {"fen"}:
        if decimal_example:
            raise AuditInputError(
                f"{name}: 列名表示单位为分，但有小数金额（{decimal_example}），请用 --amount-unit "
                f"指定 / the header says fen but an amount has decimals ({decimal_example}); "
                f"pass --amount-unit fen or yuan")
        return "fen", None
    if said == {"yuan"}:
        return "yuan", None
    if decimal_example:
        return "yuan", (f"{name}: 金额按元读取（含小数，如 {decimal_example}）；如不对请用 "
                        f"--amount-unit 指定 / amounts read as yuan (they have decimals, e.g. "
                        f"{decimal_example}); pass --amount-unit fen|yuan to override")
    return "fen", (f"{name}: 金额全为整数，按分读取；如单位是元请用 --amount-unit yuan / all "
                   f"amounts are whole numbers and are read as fen (分); if they are yuan, pass "
                   f"--amount-unit yuan")


@contextlib.contextmanager
def readable(paths: list[str]) -> Iterator[list[str]]:
    """The paths DuckDB should read: a CSV that is not UTF-8 but is GB18030 (GBK, GB2312) is
    transcoded to a temporary UTF-8 copy, removed afterwards."""
    tmp: Path | None = None
    result = []
    try:
        for path in paths:
            if detect_encoding(path) == "gb18030":
                if tmp is None:
                    spill = Path(tempfile.gettempdir()) / "livepledge-audit-spill"
                    spill.mkdir(parents=True, exist_ok=True)
                    tmp = Path(tempfile.mkdtemp(prefix="enc-", dir=spill))
                target = tmp / f"{len(result)}-{Path(path).name}"
                _transcode(path, target, "gb18030")
                result.append(str(target))
            else:
                result.append(path)
        yield result
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


CHUNK = 1 << 20


def detect_encoding(path: str) -> str:
    """"utf-8" or "gb18030" for a CSV file (Parquet and unreadable files: "utf-8").

    Strict UTF-8 first (a UTF-8 BOM is fine); on the first invalid byte, strict GB18030 over the
    whole file. A file valid in neither stays "utf-8" and its bad lines are reported as such.
    A UTF-8 file with a few corrupt bytes can also be valid GB18030 (as mojibake): it is only
    taken as GB18030 when it holds fewer valid multi-byte UTF-8 characters than invalid bytes.
    """
    file = Path(path)
    if not file.is_file() or file.suffix.lower() in (".parquet", ".pq"):
        return "utf-8"
    if _decodes(file, "utf-8"):
        return "utf-8"
    if not _decodes(file, "gb18030"):
        return "utf-8"
    good = bad = 0
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    with file.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            if chunk.isascii():
                continue
            text = decoder.decode(chunk)
            bad += sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
            good += sum(1 for ch in text if ch > "\x7f" and not "\udc80" <= ch <= "\udcff")
    return "gb18030" if good < bad else "utf-8"


def _decodes(file: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with file.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                if encoding == "utf-8" and chunk.isascii():
                    continue
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(source: str, target: Path, encoding: str) -> None:
    with (open(source, encoding=encoding, errors="strict", newline="") as reader,
          target.open("w", encoding="utf-8", newline="") as writer):
        while text := reader.read(CHUNK):
            writer.write(text)


def _source_sql(path: str) -> str:
    file = Path(path)
    if not file.exists():
        raise AuditInputError(f"文件不存在 / file not found: {path}")
    if file.is_dir():
        raise AuditInputError(f"这是一个目录 / this is a directory, not a file: {path}")
    if file.stat().st_size == 0:
        raise AuditInputError(f"文件为空 / the file is empty: {path}")
    quoted = str(file).replace("'", "''")
    if file.suffix.lower() in (".parquet", ".pq"):
        return f"read_parquet('{quoted}', file_row_number = true)"
    return (
        f"read_csv('{quoted}', all_varchar = true, header = true, store_rejects = true, "
        f"encoding = 'utf-8')"
    )


def file_columns(con: duckdb.DuckDBPyConnection, path: str) -> list[str]:
    """The column names of a CSV or Parquet file (clear errors for missing or empty files)."""
    with readable([path]) as (readable_path,):
        return list(_describe(con, _source_sql(readable_path), path))


def _describe(con: duckdb.DuckDBPyConnection, source: str, path: str) -> dict[str, str]:
    rows = _execute(con, f"DESCRIBE SELECT * FROM {source}", path).fetchall()
    return {name: str(kind) for name, kind, *_ in rows if name != "file_row_number"}


def _execute(con: duckdb.DuckDBPyConnection, sql: str, path: str) -> duckdb.DuckDBPyConnection:
    try:
        return con.execute(sql)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AuditInputError(f"无法读取 / cannot read {path}: {first}") from exc


def _select_sql(resolved: Resolved, described: dict[str, str], canonical: dict[str, str],
                options: LoadOptions, file_no: int, source: str) -> str:
    """Three projections so that the slow parsers only see the values the fast cast refused:
    raw text → fast typed attempt → final value (+ the raw text of a refused value)."""
    raw, fast, final = [], [], []
    for name, kind in canonical.items():
        if not resolved.has(name):
            final.append(f'CAST(NULL AS {_TYPES[kind]}) AS {name}, '
                         f'CAST(NULL AS VARCHAR) AS "{name}__bad"')
            continue
        column = '"' + resolved.columns[name].replace('"', '""') + '"'
        source_type = described[resolved.columns[name]].upper()
        if kind == "time" and not source_type.startswith("VARCHAR"):
            raw.append(f"{column} AS r_{name}")
        else:
            raw.append(f"NULLIF(trim(CAST({column} AS VARCHAR)), '') AS r_{name}")
        fast_expr, slow_expr = _convert(kind, f"r_{name}", source_type, options.amount_unit)
        fast.append(f"r_{name}, {fast_expr} AS f_{name}")
        if kind == "id":
            final.append(f'f_{name} AS {name}, CAST(NULL AS VARCHAR) AS "{name}__bad"')
            continue
        value = f"CASE WHEN f_{name} IS NOT NULL OR r_{name} IS NULL THEN f_{name} " \
                f"ELSE {slow_expr} END"
        final.append(f"{value} AS {name}, CASE WHEN ({value}) IS NULL AND r_{name} IS NOT NULL "
                     f'THEN CAST(r_{name} AS VARCHAR) END AS "{name}__bad"')
    row_no = "file_row_number + 1" if "read_parquet" in source else "NULL"
    inner = (f"SELECT CAST({row_no} AS BIGINT) AS row_no"
             + "".join(", " + r for r in raw) + f" FROM {source}")
    middle = "SELECT row_no" + "".join(", " + f for f in fast) + f" FROM ({inner})"
    return (f"SELECT {file_no} AS file_no, row_no" + "".join(", " + f for f in final)
            + f" FROM ({middle})")


_TYPES = {"id": "VARCHAR", "time": "TIMESTAMPTZ", "money": "BIGINT", "int": "BIGINT",
          "count": "BIGINT"}


def _convert(kind: str, text: str, source_type: str, amount_unit: str) -> tuple[str, str]:
    """(fast expression, slow fallback) converting column `text` to the canonical type."""
    if kind == "id":
        return text, "NULL"
    if kind == "int":
        return f"TRY_CAST({text} AS BIGINT)", f"TRY_CAST(TRY_CAST({text} AS DOUBLE) AS BIGINT)"
    if kind == "count":  # a whole number ≥ 0; `1,234` and `12.0` are accepted, `-1`, `2.5` not
        number = f"TRY_CAST(regexp_replace({text}, '[,\\s]', '', 'g') AS DOUBLE)"
        return (f"CASE WHEN regexp_full_match({text}, '[0-9]{{1,18}}') "
                f"THEN CAST({text} AS BIGINT) END",
                f"CASE WHEN {number} >= 0 AND {number} = floor({number}) AND {number} < 1e18 "
                f"THEN CAST({number} AS BIGINT) END")
    if kind == "money":
        factor = 100 if amount_unit == "yuan" else 1
        number = f"(TRY_CAST({text} AS DECIMAL(38,4)) * {factor})"
        cleaned = f"regexp_replace({text}, '[¥￥,\\s元]|CNY|RMB', '', 'g')"
        slow = f"(TRY_CAST({cleaned} AS DECIMAL(38,4)) * {factor})"
        return (f"CASE WHEN {number} = round({number}) THEN CAST({number} AS BIGINT) END",
                f"CASE WHEN {slow} = round({slow}) THEN CAST({slow} AS BIGINT) END")
    if source_type.startswith("TIMESTAMP") or source_type == "DATE":
        return f"CAST({text} AS TIMESTAMPTZ)", "NULL"
    if source_type in ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "UBIGINT", "FLOAT"):
        return (f"to_timestamp(CASE WHEN {text} >= 100000000000 THEN {text} / 1000.0 "
                f"ELSE {text} END)", "NULL")
    slow = (
        f"CASE WHEN {text} LIKE '%年%' "
        f"THEN CAST(try_strptime({text}, '%Y年%m月%d日 %H:%M:%S') AS TIMESTAMPTZ) "
        f"WHEN regexp_full_match({text}, '[0-9]{{10}}(\\.[0-9]+)?') "
        f"THEN to_timestamp(CAST({text} AS DOUBLE)) "
        f"WHEN regexp_full_match({text}, '[0-9]{{13}}') "
        f"THEN to_timestamp(CAST({text} AS BIGINT) / 1000.0) END"
    )
    return f"TRY_CAST({text} AS TIMESTAMPTZ)", slow


def _take_rejects(con: duckdb.DuckDBPyConnection) -> tuple[list[int], dict[int, str]]:
    """Lines DuckDB's CSV reader refused (wrong field count, quoting, invalid UTF-8), with the
    error type of the first few."""
    try:
        rows = con.execute("SELECT line, min(error_type) FROM reject_errors GROUP BY line "
                           "ORDER BY line").fetchall()
    except duckdb.Error:
        return [], {}
    con.execute("DELETE FROM reject_errors")
    kinds = {int(line): str(kind) for line, kind in rows[:MAX_EXAMPLES]}
    return [int(row[0]) for row in rows], kinds


def csv_line(row_no: int, rejected: list[int]) -> int:
    """Physical line of the `row_no`-th accepted data row, given sorted rejected line numbers.

    Assumes one header line and one line per record.
    """
    line = row_no + 1
    while True:
        skipped = bisect.bisect_right(rejected, line)
        candidate = row_no + 1 + skipped
        if candidate == line:
            return line
        line = candidate


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@dataclass
class _Places:
    """Turns (file_no, row_no, rowid) into "file, line N" for messages."""

    paths: list[str]
    rejects: dict[int, list[int]]
    bases: dict[int, int]
    reject_kinds: dict[int, dict[int, str]]

    def where(self, file_no: int, row_no: int | None, rowid: int) -> str:
        name = os.path.basename(self.paths[file_no])
        if row_no is not None:  # Parquet: exact row number from the reader
            return f"{name} 第 {row_no} 行 / row {row_no}"
        data_row = rowid - self.bases[file_no] + 1
        line = csv_line(data_row, self.rejects.get(file_no, []))
        return f"{name} 第 {line} 行 / line {line}"


def _check_rows(con: duckdb.DuckDBPyConnection, table: str, required: tuple[str, ...],
                canonical: dict[str, str], options: LoadOptions, report: LoadReport,
                places: _Places) -> None:
    paths, rejects = places.paths, places.rejects
    report.rows_read = _count(con, table)
    report.rejected_lines = sum(len(lines) for lines in rejects.values())
    messages: list[str] = []
    if report.rejected_lines:
        shown = [
            f"{os.path.basename(paths[f])} 第 {line} 行 / line {line} "
            f"({places.reject_kinds[f].get(line, 'error').lower()})"
            for f, lines in rejects.items() for line in lines[:MAX_EXAMPLES]
        ][:MAX_EXAMPLES]
        messages.append(
            f"{report.rejected_lines} 行格式错误（列数不符、引号未闭合或编码既非 UTF-8 "
            f"也非 GB18030）/ "
            f"{report.rejected_lines} malformed lines (wrong number of fields, quoting, or "
            f"bytes valid neither as UTF-8 nor as GB18030/GBK): " + "; ".join(shown)
        )
    if report.rows_read == 0 and not report.rejected_lines:
        raise AuditInputError("文件没有数据行（只有表头）/ the file has a header but no data rows")
    bad_conditions = [f'"{name}__bad" IS NOT NULL' for name in canonical]
    bad_conditions += [f"{name} IS NULL" for name in required]
    condition = " OR ".join(bad_conditions)
    report.bad_rows = con.execute(f"SELECT count(*) FROM {table} WHERE {condition}").fetchone()[0]
    if report.bad_rows:
        messages.append(_describe_bad_rows(con, table, required, canonical, condition,
                                           report.bad_rows, places))
    if messages and options.on_error == "stop":
        messages.append("用 --on-error skip 跳过这些行 / use --on-error skip to skip these rows")
        raise AuditInputError("\n".join(messages))
    if report.bad_rows:
        con.execute(f"DELETE FROM {table} WHERE {condition}")
    report.warnings.extend(messages)
    for name in canonical:
        con.execute(f'ALTER TABLE {table} DROP COLUMN "{name}__bad"')


def _describe_bad_rows(con: duckdb.DuckDBPyConnection, table: str,
                       required: tuple[str, ...], canonical: dict[str, str], condition: str,
                       total: int, places: _Places) -> str:
    names = list(canonical)
    bad_cols = ", ".join(f'"{name}__bad"' for name in names)
    req_cols = ", ".join(f"{name} IS NULL" for name in required)
    rows = con.execute(
        f"SELECT file_no, row_no, rowid, {bad_cols}, {req_cols} FROM {table} "
        f"WHERE {condition} ORDER BY rowid LIMIT {MAX_EXAMPLES}"
    ).fetchall()
    lines = []
    for row in rows:
        bad = {name: value for name, value in zip(names, row[3:3 + len(names)], strict=True)
               if value is not None}
        problems = [f"{name}={value!r} 无法解析/unparseable" for name, value in bad.items()]
        problems += [f"{name} 为空/missing"
                     for name, is_null in zip(required, row[3 + len(names):], strict=True)
                     if is_null and name not in bad]
        lines.append(f"  {places.where(row[0], row[1], row[2])}: " + ", ".join(problems))
    rest = total - len(rows)
    more = f"\n  … 另有 {rest} 行 / {rest} more" if rest else ""
    return f"{total} 行含无效值 / {total} rows with invalid values:\n" + "\n".join(lines) + more


def _check_unique(con: duckdb.DuckDBPyConnection, table: str, key: str,
                  options: LoadOptions, report: LoadReport, places: _Places,
                  label: str | None = None) -> None:
    # Distinct 64-bit hashes are much cheaper to count than distinct strings; only when they
    # collide or repeat is the exact count needed.
    dup = con.execute(f"SELECT count({key}) - count(DISTINCT hash({key})) FROM {table}"
                      ).fetchone()[0]
    if dup:
        dup = con.execute(f"SELECT count({key}) - count(DISTINCT {key}) FROM {table}"
                          ).fetchone()[0]
    report.duplicate_rows = int(dup)
    if not dup:
        return
    examples = con.execute(
        f"SELECT {key}, list(file_no ORDER BY rowid), list(row_no ORDER BY rowid), "
        f"list(rowid ORDER BY rowid) FROM {table} WHERE {key} IN (SELECT {key} FROM {table} "
        f"GROUP BY {key} HAVING count(*) > 1) GROUP BY {key} ORDER BY min(rowid) LIMIT 10"
    ).fetchall()
    shown = []
    for value, files, rows, rowids in examples:
        where = ", ".join(places.where(f, r, i)
                          for f, r, i in zip(files, rows, rowids, strict=True))
        shown.append(f"  {label or key}={value}: {where}")
    label = label or key
    message = (f"{dup} 行重复的 {label}（保留每个的第一行）/ {dup} rows repeat an earlier {label} "
               f"(the first row of each is kept):\n" + "\n".join(shown))
    if options.on_error == "stop":
        raise AuditInputError(
            message + "\n用 --on-error skip 去重后继续 / use --on-error skip to de-duplicate"
        )
    con.execute(
        f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() "
        f"OVER (PARTITION BY {key} ORDER BY rowid) AS n FROM {table}) WHERE n > 1)"
    )
    report.warnings.append(message)
