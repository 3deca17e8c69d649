"""The readers: CSV (encodings, RFC 4180), XLSX (title row, typed cells), JSONL and SQL.

Every person, number and place here is fictitious: ID numbers use the region part 999999, which
is assigned to no place. The sample drop is the shared one the registry contract describes.
"""

from __future__ import annotations

import json
import sqlite3
import tracemalloc
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from samples import SAMPLE_DROP

from indexer.readers import (
    DropError,
    RawRow,
    detect_encoding,
    read_csv,
    read_jsonl,
    read_sql,
    read_xlsx,
    resolve_encoding,
)
from indexer.readers.base import name_columns, render_cell, render_number

needs_sample = pytest.mark.skipif(
    not SAMPLE_DROP.is_dir(), reason=f"sample drop not found at {SAMPLE_DROP}"
)

ID_1 = "999999199001010011"
ID_2 = "999999198502020022"
HEADER = ["公民身份号码", "姓名", "户籍地址"]

# ---------------------------------------------------------------------------------------------
# The shared sample drop. Counts were taken with `wc -l` minus the header line (no record of the
# sample spans two lines) and, for XLSX, with openpyxl's max_row minus title and header rows.

PETITION_HEADER = [
    "信访件编号", "登记日期", "来源渠道", "反映人姓名", "反映人证件号码", "反映人联系电话",
    "是否匿名", "被反映人姓名", "被反映人证件号码", "被反映人单位", "被反映人职务",
    "被反映人职级", "问题类别", "问题属地行政区划代码", "承办单位", "承办层级", "办理状态", "内容",
]  # fmt: skip
SAMPLE_FILES = [
    # file, first three header names, number of header names, rows, first line, last line
    ("company.csv", ["统一社会信用代码", "企业名称", "企业类型"], 14, 30, 2, 31),
    ("household.csv", ["公民身份号码", "姓名", "曾用名"], 14, 403, 2, 404),
    ("insured.csv", ["公民身份号码", "姓名", "单位统一社会信用代码"], 10, 183, 2, 184),
    ("official.csv", ["公民身份号码", "姓名", "工作单位"], 10, 20, 2, 21),
    ("property.csv", ["不动产单元号", "不动产权证书号", "权利人"], 15, 142, 2, 143),
    ("benefit.jsonl", ["发放流水号", "公民身份号码", "姓名"], 9, 888, 1, 888),
    ("company_officer.jsonl", ["统一社会信用代码", "企业名称", "姓名"], 5, 60, 1, 60),
    ("petition.xlsx", PETITION_HEADER[:3], 18, 56, 3, 58),
    ("shareholder.xlsx", ["股东名称", "股东类型", "证照类型"], 9, 56, 3, 58),
]


def _read_any(path: Path) -> list[RawRow]:
    readers = {".csv": read_csv, ".xlsx": read_xlsx, ".jsonl": read_jsonl}
    return list(readers[path.suffix](path))


@needs_sample
@pytest.mark.parametrize(("file", "first_names", "width", "count", "first", "last"), SAMPLE_FILES)
def test_sample_file_reads_with_its_header_and_row_count(
    file: str, first_names: list[str], width: int, count: int, first: int, last: int
) -> None:
    rows = _read_any(SAMPLE_DROP / file)
    assert (len(rows), rows[0].line, rows[-1].line) == (count, first, last)
    assert list(rows[0].values)[:3] == first_names
    assert {len(row.values) for row in rows} == {width}
    assert [row for row in rows if row.error] == []


@needs_sample
@pytest.mark.parametrize(
    ("file", "encoding"),
    [
        ("company.csv", "utf-8-sig"),  # UTF-8 with BOM
        ("insured.csv", "utf-8-sig"),  # UTF-8 without BOM
        ("property.csv", "utf-8-sig"),  # CRLF
        ("household.csv", "gb18030"),
        ("official.csv", "gb18030"),
    ],
)
def test_sample_csv_encoding_is_detected(file: str, encoding: str) -> None:
    assert detect_encoding(SAMPLE_DROP / file) == encoding


@needs_sample
def test_sample_petition_header_is_found_below_its_title_row() -> None:
    rows = read_xlsx(SAMPLE_DROP / "petition.xlsx", expected_columns=set(PETITION_HEADER))
    assert list(next(rows).values) == PETITION_HEADER


@needs_sample
def test_sample_crlf_csv_raw_text_has_no_line_break() -> None:
    raws = [row.raw for row in read_csv(SAMPLE_DROP / "property.csv")]
    assert [raw for raw in raws if "\r" in raw or "\n" in raw] == []


# ---------------------------------------------------------------------------------------------
# CSV


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [
        ("utf-8-sig", "utf-8-sig"),
        ("utf-8", "utf-8-sig"),
        ("gb18030", "gb18030"),
        ("gbk", "gb18030"),
        ("utf-16", "utf-16"),
    ],
)
def test_csv_encoding_is_detected(tmp_path: Path, encoding: str, detected: str) -> None:
    path = _write(tmp_path / "x.csv", "公民身份号码,姓名\n" + f"{ID_1},张三丰\n", encoding)
    assert detect_encoding(path) == detected


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_rare_characters_survive_each_encoding(tmp_path: Path, encoding: str) -> None:
    # 䶮 (CJK Extension A) and 𠀀 (Extension B) take four bytes in GB18030.
    path = _write(tmp_path / "x.csv", f"公民身份号码,姓名\n{ID_1},刘䶮𠀀\n", encoding)
    assert [row.values for row in read_csv(path)] == [{"公民身份号码": ID_1, "姓名": "刘䶮𠀀"}]


def test_csv_ascii_only_file_is_utf8(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "id,name\n1,a\n")
    assert detect_encoding(path) == "utf-8-sig"


def test_csv_declared_encoding_overrides_detection(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "姓名\n王五\n", "utf-8")
    mojibake = {"姓名".encode().decode("gb18030"): "王五".encode().decode("gb18030")}
    assert [row.values for row in read_csv(path, encoding="gbk")] == [mojibake]


@pytest.mark.parametrize(
    ("declared", "codec"),
    [("gbk", "gb18030"), ("GB2312", "gb18030"), ("cp936", "gb18030"), ("UTF8", "utf-8-sig")],
)
def test_declared_encoding_resolves_to_a_superset_codec(declared: str, codec: str) -> None:
    assert resolve_encoding(declared) == codec


def test_unknown_declared_encoding_is_refused() -> None:
    with pytest.raises(DropError, match="unknown encoding 'klingon'"):
        resolve_encoding("klingon")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_csv_line_numbers_hold_for_each_line_break(tmp_path: Path, newline: str) -> None:
    text = newline.join(["姓名,户号", "张三,1", "李四,2", ""])
    rows = list(read_csv(_write(tmp_path / "x.csv", text)))
    assert [(row.line, row.raw, row.values["姓名"]) for row in rows] == [
        (2, "张三,1", "张三"),
        (3, "李四,2", "李四"),
    ]


def test_csv_quoted_comma_and_newline_keep_later_line_numbers(tmp_path: Path) -> None:
    text = (
        "公民身份号码,姓名,户籍地址\r\n"
        f'{ID_1},张三,"某省某市, 某路1号\r\n3栋"\r\n'
        f'{ID_2},"李""四",某路2号\r\n'
    )
    rows = list(read_csv(_write(tmp_path / "x.csv", text)))
    assert [(row.line, row.values["户籍地址"]) for row in rows] == [
        (2, "某省某市, 某路1号\r\n3栋"),
        (4, "某路2号"),
    ]


def test_csv_multiline_record_raw_is_the_original_text(tmp_path: Path) -> None:
    record = f'{ID_1},张三,"某路1号\n3栋"'
    rows = list(read_csv(_write(tmp_path / "x.csv", f"公民身份号码,姓名,户籍地址\n{record}\n")))
    assert rows[0].raw == record


@pytest.mark.parametrize(
    ("record", "error"),
    [
        (f"{ID_1},张三", "2 fields where the header has 3"),
        (f"{ID_1},张三,某路1号,多余", "4 fields where the header has 3"),
    ],
)
def test_csv_wrong_field_count_is_an_error_row(tmp_path: Path, record: str, error: str) -> None:
    text = f"公民身份号码,姓名,户籍地址\n{record}\n{ID_2},李四,某路2号\n"
    rows = list(read_csv(_write(tmp_path / "x.csv", text)))
    assert [(row.line, row.raw, row.error) for row in rows] == [
        (2, record, error),
        (3, f"{ID_2},李四,某路2号", None),
    ]


@pytest.mark.parametrize(
    ("record", "error"),
    [
        (f'{ID_1},"张三"x,某路1号', "malformed CSV record: ',' expected after '\"'"),
        (
            f'{ID_1},张三,"某路1号',
            "malformed CSV record: a quoted field is not closed before the end of the file",
        ),
    ],
)
def test_csv_malformed_quoting_is_an_error_row(tmp_path: Path, record: str, error: str) -> None:
    text = f"公民身份号码,姓名,户籍地址\n{ID_2},李四,某路2号\n{record}\n"
    rows = list(read_csv(_write(tmp_path / "x.csv", text)))
    assert [(row.line, row.raw, row.error) for row in rows] == [
        (2, f"{ID_2},李四,某路2号", None),
        (3, record, error),
    ]


def test_csv_rows_after_a_malformed_row_are_read(tmp_path: Path) -> None:
    text = f'公民身份号码,姓名\n{ID_1},"张三"x\n{ID_2},李四\n'
    rows = list(read_csv(_write(tmp_path / "x.csv", text)))
    assert [(row.line, row.values) for row in rows][1:] == [
        (3, {"公民身份号码": ID_2, "姓名": "李四"})
    ]


def test_csv_blank_and_all_empty_lines_are_skipped(tmp_path: Path) -> None:
    text = f"\n公民身份号码,姓名\n\n{ID_1},张三\n,\n\r\n{ID_2},李四\n\n\n"
    rows = list(read_csv(_write(tmp_path / "x.csv", text)))
    assert [(row.line, row.values["姓名"]) for row in rows] == [(4, "张三"), (7, "李四")]


@pytest.mark.parametrize(
    ("encoding", "damage", "error"),
    [
        ("utf-8", b"\xe6\x9d", "bytes that are not valid UTF-8"),  # a truncated character
        ("gb18030", b"\xff\x80", "bytes that are not valid GB18030"),
    ],
)
def test_csv_undecodable_bytes_flag_only_their_row(
    tmp_path: Path, encoding: str, damage: bytes, error: str
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(
        f"公民身份号码,姓名\n{ID_1},张三\n".encode(encoding)
        + ID_2.encode()
        + b","
        + damage
        + "\n1,李四\n".encode(encoding)
    )
    rows = list(read_csv(path))
    assert [(row.line, row.raw, row.error) for row in rows] == [
        (2, f"{ID_1},张三", None),
        (3, f"{ID_2},\ufffd\ufffd", error),
        (4, "1,李四", None),
    ]


def test_csv_header_names_are_cleaned_and_made_unique(tmp_path: Path) -> None:
    text = "\ufeff 公民身份号码 ,\u3000姓名\u3000,,姓名\n" + f"{ID_1},张三,x,张叁\n"
    rows = list(read_csv(_write(tmp_path / "x.csv", text, "utf-8")))
    assert rows[0].values == {"公民身份号码": ID_1, "姓名": "张三", "第3列": "x", "姓名#4": "张叁"}


def test_csv_values_are_kept_unchanged(tmp_path: Path) -> None:
    text = "姓名,内容\n  张三 ,<script>alert(1)</script>\n"
    rows = list(read_csv(_write(tmp_path / "x.csv", text)))
    assert rows[0].values == {"姓名": "  张三 ", "内容": "<script>alert(1)</script>"}


@pytest.mark.parametrize("text", ["", "\n\n", "\r\n,,\r\n"])
def test_csv_without_header_is_refused(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path / "x.csv", text)
    with pytest.raises(DropError, match="no header line"):
        list(read_csv(path))


def test_csv_header_only_has_no_rows(tmp_path: Path) -> None:
    assert list(read_csv(_write(tmp_path / "x.csv", "公民身份号码,姓名\r\n"))) == []


def test_csv_reader_streams_in_constant_memory(tmp_path: Path) -> None:
    # Held in a list, these 50,000 rows take about 25 MB.
    path = _write(
        tmp_path / "x.csv", "姓名,户号\n" + "".join(f"人{i},{i}\n" for i in range(50_000))
    )
    rows = read_csv(path)
    next(rows)  # past the encoding detection, which reads a bounded prefix
    tracemalloc.start()
    try:
        count = sum(1 for _ in rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (count, peak < 1_000_000) == (49_999, True)


# ---------------------------------------------------------------------------------------------
# XLSX

BIG_ID_FLOAT = 999999199001010011.0  # what Excel stores for an ID typed as a number


def _xlsx(path: Path, rows: Sequence[Sequence[object]], title: str | None = None) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    if title is not None:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_header_is_found_below_a_merged_title_row(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "x.xlsx", [HEADER, [ID_1, "张三", "某路1号"]], "常住人口信息导出（2024年5月）"
    )
    rows = list(read_xlsx(path, expected_columns={"公民身份号码", "姓名", "性别"}))
    assert [(row.line, row.values) for row in rows] == [
        (3, {"公民身份号码": ID_1, "姓名": "张三", "户籍地址": "某路1号"})
    ]


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        (datetime(2019, 3, 5), date(2019, 3, 5)),
        (datetime(2019, 3, 5, 14, 22, 10), datetime(2019, 3, 5, 14, 22, 10)),
        (BIG_ID_FLOAT, "9.99999E+17"),
        (46010600000039.0, "46010600000039"),
        (46010600000039, "46010600000039"),
        (1234.5, "1234.5"),
        (0.1 + 0.2, "0.3"),
        (True, "TRUE"),
        ("无", "无"),
        (None, ""),
    ],
)
def test_xlsx_cell_is_rendered_as_a_person_sees_it(
    tmp_path: Path, cell: object, value: object
) -> None:
    path = _xlsx(tmp_path / "x.xlsx", [["姓名", "值"], ["张三", cell]])
    assert next(read_xlsx(path)).values == {"姓名": "张三", "值": value}


def test_xlsx_raw_is_json_of_the_values(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "x.xlsx", [["姓名", "登记日期"], ["张三", datetime(2019, 3, 5)]])
    assert json.loads(next(read_xlsx(path)).raw) == {"姓名": "张三", "登记日期": "2019-03-05"}


def test_xlsx_empty_rows_are_skipped_and_lines_are_sheet_rows(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "x.xlsx",
        [["姓名", "户号"], ["张三", "1"], [None, None], ["", None], ["李四", "2"]],
        title="导出",
    )
    assert [(row.line, row.values["姓名"]) for row in read_xlsx(path)] == [(3, "张三"), (6, "李四")]


def test_xlsx_short_row_fills_missing_cells_with_empty_text(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "x.xlsx", [HEADER, [ID_1]])
    assert next(read_xlsx(path)).values == {"公民身份号码": ID_1, "姓名": "", "户籍地址": ""}


def test_xlsx_value_right_of_the_header_is_kept_under_its_column(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "x.xlsx", [["姓名", "户号"], ["张三", "1", None, "备注"]])
    assert next(read_xlsx(path)).values == {"姓名": "张三", "户号": "1", "第4列": "备注"}


def test_xlsx_without_expected_columns_takes_the_first_row_of_two_cells(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "x.xlsx", [["a", "b"], ["1", "2"]], title="标题")
    assert [row.values for row in read_xlsx(path)] == [{"a": "1", "b": "2"}]


def test_xlsx_without_a_header_in_the_first_rows_is_refused(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "x.xlsx", [["a", "b"], ["1", "2"], ["3", "4"]], title="标题")
    with pytest.raises(DropError, match="no header row"):
        list(read_xlsx(path, expected_columns=set(HEADER)))


def test_xlsx_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.xlsx", "公民身份号码,姓名\n")
    with pytest.raises(DropError, match="not a readable xlsx workbook"):
        list(read_xlsx(path))


# ---------------------------------------------------------------------------------------------
# JSONL


def test_jsonl_reads_objects_and_skips_blank_lines(tmp_path: Path) -> None:
    first = json.dumps({"公民身份号码": ID_1, "姓名": "张三"}, ensure_ascii=False)
    second = json.dumps({"公民身份号码": ID_2, "姓名": "李四"}, ensure_ascii=False)
    path = _write(tmp_path / "x.jsonl", f"{first}\n\n  \n{second}\r\n", "utf-8-sig")
    rows = list(read_jsonl(path))
    assert [(row.line, row.raw, row.values["姓名"]) for row in rows] == [
        (1, first, "张三"),
        (4, second, "李四"),
    ]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('{"姓名": "张三"', "invalid JSON: Expecting ',' delimiter (column 12)"),
        ("[1, 2]", "a JSON array where an object is expected"),
        ('"张三"', "a JSON string where an object is expected"),
        ("null", "a JSON null where an object is expected"),
    ],
)
def test_jsonl_bad_line_is_an_error_row(tmp_path: Path, line: str, error: str) -> None:
    path = _write(tmp_path / "x.jsonl", f'{line}\n{{"姓名": "李四"}}\n')
    rows = list(read_jsonl(path))
    assert [(row.line, row.raw, row.error) for row in rows] == [
        (1, line, error),
        (2, '{"姓名": "李四"}', None),
    ]


def test_jsonl_undecodable_line_is_an_error_row(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": "\xff"}\n')
    assert [(row.raw, row.error) for row in read_jsonl(path)] == [
        ('{"a": "\ufffd"}', "bytes that are not valid UTF-8")
    ]


def test_jsonl_reject_key_is_dropped(tmp_path: Path) -> None:
    line = json.dumps({"姓名": "张三", "_reject": {"reason": "公民身份号码 missing", "line": 7}})
    assert next(read_jsonl(_write(tmp_path / "x.jsonl", line + "\n"))).values == {"姓名": "张三"}


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (ID_1, ID_1),  # a JSON integer keeps every digit
        ("9.99999199001010011e17", "9.99999E+17"),
        ("1234.5", "1234.5"),
        ("null", ""),
        ("true", "TRUE"),
        ('{"a": [1]}', '{"a": [1]}'),
    ],
)
def test_jsonl_value_is_rendered_as_text(tmp_path: Path, literal: str, value: str) -> None:
    path = _write(tmp_path / "x.jsonl", f'{{"值": {literal}}}\n')
    assert next(read_jsonl(path)).values == {"值": value}


def test_jsonl_keys_are_cleaned(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", '{" 姓名 ": "张三", "": "x"}\n')
    assert next(read_jsonl(path)).values == {"姓名": "张三", "第2列": "x"}


# ---------------------------------------------------------------------------------------------
# SQL


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    path = tmp_path / "registry.db"
    with sqlite3.connect(path) as connection:
        connection.execute(
            'CREATE TABLE "户籍" ("公民身份号码" TEXT, "姓名" TEXT, "户号" INTEGER, "余额" REAL)'
        )
        connection.executemany(
            'INSERT INTO "户籍" VALUES (?, ?, ?, ?)',
            [(ID_1, "张三", 46010600000039, 1234.5), (ID_2, None, None, BIG_ID_FLOAT)],
        )
    connection.close()
    return f"sqlite:///{path}"


def test_sql_table_rows_are_read_in_order(sqlite_url: str) -> None:
    rows = list(read_sql(sqlite_url, table="户籍"))
    assert [(row.file, row.line, list(row.values.values())) for row in rows] == [
        (f"{sqlite_url}#户籍", 1, [ID_1, "张三", "46010600000039", "1234.5"]),
        (f"{sqlite_url}#户籍", 2, [ID_2, "", "", "9.99999E+17"]),
    ]


def test_sql_column_names_are_the_table_columns(sqlite_url: str) -> None:
    row = next(read_sql(sqlite_url, table="户籍"))
    assert list(row.values) == ["公民身份号码", "姓名", "户号", "余额"]


def test_sql_schema_qualified_table_is_read(sqlite_url: str) -> None:
    assert len(list(read_sql(sqlite_url, table="main.户籍"))) == 2


def test_sql_query_rows_are_read(sqlite_url: str) -> None:
    query = 'SELECT "姓名" FROM "户籍" WHERE "姓名" IS NOT NULL'
    rows = list(read_sql(sqlite_url, query=query))
    assert [(row.file, row.values, row.raw) for row in rows] == [
        (f"{sqlite_url}#query", {"姓名": "张三"}, '{"姓名": "张三"}')
    ]


@pytest.mark.parametrize(
    ("table", "query", "message"),
    [
        ('户籍"; DROP TABLE "户籍', None, "not a plain table name"),
        ("a.b.c", None, "not a plain table name"),
        ("1abc", None, "not a plain table name"),
        (None, None, "either a table or a query"),
        ("户籍", "SELECT 1", "either a table or a query"),
        ("不存在", None, "no such table"),
    ],
)
def test_sql_bad_table_or_query_is_refused(
    sqlite_url: str, table: str | None, query: str | None, message: str
) -> None:
    with pytest.raises(DropError, match=message):
        list(read_sql(sqlite_url, table=table, query=query))


def test_sql_bad_url_is_refused() -> None:
    with pytest.raises(DropError, match="unusable database URL"):
        list(read_sql("nosuchdb://x/y", table="t"))


# ---------------------------------------------------------------------------------------------
# Rendering shared by the readers


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (460102199001011234.0, "4.60102E+17"),
        (-4.6e17, "-4.6E+17"),
        (1e15, "1E+15"),
        (999999999999999.0, "999999999999999"),
        (460102199001011234, "460102199001011234"),
        (12.0, "12"),
        (0.5, "0.5"),
        (float("nan"), "nan"),
    ],
)
def test_number_is_rendered_as_a_spreadsheet_shows_it(number: float, text: str) -> None:
    assert render_number(number) == text


@pytest.mark.parametrize(
    ("cell", "value"),
    [(Decimal("1234.50"), "1234.50"), (Decimal("1E+2"), "100"), (b"\x01\xff", "01ff")],
)
def test_database_cell_is_rendered_exactly(cell: object, value: str) -> None:
    assert render_cell(cell) == value


def test_column_names_are_unique_and_named() -> None:
    assert name_columns(["a", None, " a ", "\ufeffb"]) == ["a", "第2列", "a#3", "b"]
