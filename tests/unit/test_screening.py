"""List screening's pure parts: reading a list (formats, headers, bad rows, the cap), which rows
carry enough identifiers under the graph's weights, resolution among candidates, and the
batched query builders."""

from __future__ import annotations

import codecs
import io
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook

from analyzers.ids import id_check_char
from common.vocab import Source
from graph.resolve import Candidate
from query_logs.gate import Scope
from registry.fields import Envelope
from search_api.models.screening import (
    ScreeningStatus,
    match_by_name,
    mention_of,
    reaches_threshold,
    read_candidates,
    read_person_records,
)
from search_api.queries.screening import (
    PERSON_CHUNK,
    candidates_search,
    chunks,
    person_records_search,
)
from search_api.screening_list import (
    MAX_UNPACKED_BYTES,
    ListColumn,
    ListRow,
    ListTooLongError,
    ListUnreadableError,
    RowKind,
    read_list,
    template_csv,
)


def _number(body: str) -> str:
    return body + id_check_char(body)


PERSON = _number("46010619800101123")
OTHER = _number("46010219750505002")


def _csv(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def _workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(_csv(f"姓名,身份证号\r\n张三,{PERSON}\r\n"), id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + _csv(f"姓名,身份证号\r\n张三,{PERSON}\r\n"), id="bom"),
        pytest.param(_csv(f"姓名,身份证号\r\n张三,{PERSON}\r\n", "gb18030"), id="gb18030"),
        pytest.param(_csv(f"姓名,身份证号\r\n张三,{PERSON}\r\n", "utf-16"), id="utf-16"),
        pytest.param(_workbook([["姓名", "身份证号"], ["张三", PERSON]]), id="xlsx"),
        pytest.param(
            _workbook([["名单"], ["姓名", "公民身份号码"], ["张三", PERSON]]),
            id="xlsx with a title row",
        ),
    ],
)
def test_a_list_is_read_in_each_format(content: bytes) -> None:
    listing = read_list(content, 10)
    assert [(r.name, r.id_number, r.kind) for r in listing.rows] == [
        ("张三", PERSON, RowKind.ID_NUMBER)]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "column"),
    [("身份证号", ListColumn.ID_NUMBER), ("身份证号码", ListColumn.ID_NUMBER),
     ("公民身份号码", ListColumn.ID_NUMBER), ("证件号码", ListColumn.ID_NUMBER),
     ("单位", ListColumn.UNIT), ("工作单位", ListColumn.UNIT), ("出生日期", ListColumn.BIRTH_DATE),
     ("行政区划代码", ListColumn.REGION), ("区划代码", ListColumn.REGION),
     ("户籍地区划代码", ListColumn.REGION), (" 工作单位* ", ListColumn.UNIT)],
)  # fmt: skip
def test_each_accepted_header_names_its_column(header: str, column: ListColumn) -> None:
    listing = read_list(_csv(f"姓名,{header}\r\n张三,x\r\n"), 10)
    assert listing.columns == tuple(sorted({ListColumn.NAME, column}))


def test_unknown_columns_are_ignored() -> None:
    listing = read_list(_csv(f"序号,姓名,备注,身份证号\r\n1,张三,{OTHER},{PERSON}\r\n"), 10)
    assert [(r.row, r.name, r.id_number) for r in listing.rows] == [(2, "张三", PERSON)]


def test_blank_lines_are_skipped_and_rows_keep_their_numbers() -> None:
    listing = read_list(_csv(f"姓名,身份证号\r\n\r\n张三,{PERSON}\r\n,\r\n李四,{OTHER}\r\n"), 10)
    assert [r.row for r in listing.rows] == [3, 5]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ("张三,{p15},,,", RowKind.ID_NUMBER),
        ("张三,,某局,,", RowKind.UNIT),
        ("张三,,,1980-01-01,460106", RowKind.BIRTH_DATE),
        ("张三,,,1980年1月1日,", RowKind.BIRTH_DATE),
        ("张三,,,,", RowKind.NAME_ONLY),
    ],
)
def test_a_row_s_kind_is_its_strongest_identifier(cells: str, expected: RowKind) -> None:
    legacy = PERSON[:6] + PERSON[8:17]
    text = "姓名,身份证号,工作单位,出生日期,行政区划代码\r\n" + cells.format(p15=legacy) + "\r\n"
    (row,) = read_list(_csv(text), 10).rows
    assert row.kind is expected
    if expected is RowKind.ID_NUMBER:
        assert row.id_number == PERSON  # the legacy number gains its century and check


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (",{p},,,", "姓名为空"),
        ("张三,{bad},,,", "身份证号无效"),
        ("张三,12345,,,", "身份证号无效"),
        ("张三,4.60106E+17,,,", "身份证号无效"),
        ("张三,,某局,1980-02-30,", "出生日期无法识别"),
        ("张三,,,1980-01-01,46a106", "行政区划代码"),
    ],
)
def test_an_unreadable_row_says_why_and_the_next_is_read(cells: str, reason: str) -> None:
    bad = PERSON[:17] + ("0" if PERSON[17] != "0" else "1")
    text = ("姓名,身份证号,工作单位,出生日期,行政区划代码\r\n"
            + cells.format(p=PERSON, bad=bad) + f"\r\n李四,{OTHER},,,\r\n")  # fmt: skip
    first, second = read_list(_csv(text), 10).rows
    assert first.error is not None
    assert reason in first.error
    assert (second.error, second.id_number) == (None, OTHER)


def test_a_workbook_s_dates_and_numbers_are_read_as_shown() -> None:
    content = _workbook([["姓名", "出生日期", "行政区划代码"],
                         ["张三", datetime(1980, 1, 1), 460106]])  # fmt: skip
    (row,) = read_list(content, 10).rows
    assert (row.birth_date, row.region) == (date(1980, 1, 1), "460106")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   \r\n", id="blank"),
        pytest.param(_csv("编号,备注\r\n1,2\r\n"), id="no 姓名 column"),
        pytest.param(b"PK\x03\x04broken", id="broken workbook"),
        pytest.param(b"\x81\x30\xff\xfe\xfd", id="neither UTF-8 nor GB18030"),
        pytest.param(_csv('姓名,身份证号\r\n"张三,1\r\n'), id="unclosed quote"),
    ],
)
def test_a_list_that_cannot_be_read_is_refused(content: bytes) -> None:
    with pytest.raises(ListUnreadableError):
        read_list(content, 10)


def test_a_list_over_the_cap_is_refused() -> None:
    text = "姓名\r\n" + "张三\r\n" * 11
    assert len(read_list(_csv(text), 11).rows) == 11
    with pytest.raises(ListTooLongError):
        read_list(_csv(text), 10)


def test_the_template_holds_the_accepted_headers_only() -> None:
    listing = read_list(template_csv(), 10)
    assert listing.rows == ()
    assert set(listing.columns) == set(ListColumn)


# --- enough identifiers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "enough"),
    [
        (ListRow(2, "张三", id_number=PERSON), True),
        (ListRow(2, "张三", unit="某局"), True),
        (ListRow(2, "张三", birth_date=date(1980, 1, 1), region="460106"), True),
        (ListRow(2, "张三"), False),
        (ListRow(2, "张三", birth_date=date(1980, 1, 1)), False),
        (ListRow(2, "张三", region="460106"), False),
    ],
)
def test_only_rows_that_can_reach_the_graph_s_threshold_are_compared(
    row: ListRow, enough: bool
) -> None:
    assert reaches_threshold(row) is enough


# --- resolution -----------------------------------------------------------------------------------


def _same(text: str) -> str:
    return text


def test_name_and_unit_resolve_to_the_one_official_of_that_unit() -> None:
    candidates = [Candidate(f"p:{PERSON}", "张三", units=("某局",)),
                  Candidate(f"p:{OTHER}", "张三", units=("另一局",))]  # fmt: skip
    match = match_by_name(mention_of(ListRow(2, "张三", unit="某局"), _same), candidates)
    assert (match.status, match.person_id) == (ScreeningStatus.MATCHED, PERSON)


def test_two_officials_of_the_same_name_and_unit_are_not_guessed() -> None:
    candidates = [Candidate(f"p:{PERSON}", "张三", units=("某局",)),
                  Candidate(f"p:{OTHER}", "张三", units=("某局",))]  # fmt: skip
    match = match_by_name(mention_of(ListRow(2, "张三", unit="某局"), _same), candidates)
    assert (match.status, match.person_id) == (ScreeningStatus.UNMATCHED, None)


def test_name_birth_date_and_region_resolve_by_the_number_s_birth_date() -> None:
    candidates = [Candidate(f"p:{PERSON}", "张三", regions=("460106001",)),
                  Candidate(f"p:{OTHER}", "张三", regions=("460102",))]  # fmt: skip
    row = ListRow(2, "张三", birth_date=date(1980, 1, 1), region="460106")
    match = match_by_name(mention_of(row, _same), candidates)
    assert (match.status, match.person_id) == (ScreeningStatus.MATCHED, PERSON)


def test_candidates_merge_a_person_s_roster_and_register_records() -> None:
    hits = [{"_source": {"id_number": PERSON, "name": "张三", "unit": "某局", "post": "科员",
                         "region_code": "460106"}},
            {"_source": {"id_number": PERSON, "name": "张三", "region_code": "460106001"}},
            {"_source": {"id_number": "bad", "name": "张三"}}]  # fmt: skip
    (candidate,) = read_candidates(hits, _same)["张三"]
    assert candidate.units == ("某局",)
    assert candidate.regions == ("460106", "460106001")


def test_person_records_are_read_back_in_upper_case() -> None:
    lower = PERSON.lower()
    answer = {"aggregations": {"per_person": {"buckets": [{"key": lower, "per_source": {
        "buckets": [{"key": "household", "doc_count": 2, "evidence": {"hits": {"hits": [
            {"_id": "r1", "_source": {"id_number": PERSON, "name": "张三"}}]}}}]}}]}}}  # fmt: skip
    found = read_person_records(answer)
    assert found[PERSON].name == "张三"
    assert found[PERSON].sources == {"household": (2, ("r1",))}


# --- queries --------------------------------------------------------------------------------------

SCOPE = Scope(application_id=1, case_id=1, sources=(Source.HOUSEHOLD, Source.OFFICIAL),
              regions=("4601",), subjects=(), unmask=False, page_size=1, offset=0)  # fmt: skip


def test_persons_are_searched_in_chunks_not_one_request_per_row() -> None:
    persons = [_number(f"4601061980010{i:04d}") for i in range(2 * PERSON_CHUNK + 1)]
    assert [len(c) for c in chunks(persons, PERSON_CHUNK)] == [PERSON_CHUNK, PERSON_CHUNK, 1]


def test_a_records_search_keeps_the_scope_inside_the_query() -> None:
    body = person_records_search(SCOPE, [PERSON])
    filters = body["query"]["bool"]["filter"]
    assert {"terms": {Envelope.PERSONS: [PERSON]}} in filters
    assert {"terms": {Envelope.REGION_PREFIXES: ["4601"]}} in filters
    assert {"terms": {Envelope.SOURCE: ["household", "official"]}} in filters
    assert body["aggs"]["per_person"]["terms"]["include"] == [PERSON.lower()]


def test_a_candidates_search_keeps_the_scope_inside_the_query() -> None:
    filters = candidates_search(SCOPE, ["张三"])["query"]["bool"]["filter"]
    assert {"terms": {Envelope.NAMES_NODOT: ["张三"]}} in filters
    assert {"terms": {Envelope.REGION_PREFIXES: ["4601"]}} in filters


def test_a_workbook_that_unpacks_to_too_much_is_refused_unread() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (MAX_UNPACKED_BYTES + 1))
    assert len(out.getvalue()) < 1 << 20
    with pytest.raises(ListUnreadableError, match="unpacks"):
        read_list(out.getvalue(), 10)
