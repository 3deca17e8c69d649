"""The synthetic demo drop: formats to the letter of registry-formats.md, truth that fits the files.

Files are read here with csv, openpyxl and json directly (not with the project's readers), so the
truth in the summary is checked against what is really on disk.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from analyzers.ids import compact, id_check_char, uscc_check_char
from analyzers.regions import parse_region
from demo import TRUTH_FILE, DemoSummary, write_demo_drop
from demo.comparisons import COMPARISON_PERSONS
from demo.lexicon import DOTS, RARE_CHARS, TRADITIONAL
from demo.people import Person
from demo.world import build_world

PERSONS = 600
SEED = 11

HEADERS = {
    "household": [
        "公民身份号码", "姓名", "曾用名", "性别", "民族", "出生日期", "户号", "与户主关系",
        "户籍地址", "户籍地行政区划代码", "人员状态", "死亡日期", "联系电话", "登记日期",
    ],
    "company": [
        "统一社会信用代码", "企业名称", "企业类型", "法定代表人", "法定代表人证件号码",
        "注册资本(万元)", "成立日期", "登记状态", "住所", "经营范围", "登记机关", "行政区划代码",
        "联系电话", "注销日期",
    ],
    "shareholder": [
        "统一社会信用代码", "企业名称", "股东名称", "股东类型", "证照类型", "证照号码",
        "认缴出资额(万元)", "出资比例(%)", "出资日期",
    ],
    "company_officer": ["统一社会信用代码", "企业名称", "姓名", "证件号码", "职务"],
    "insured": [
        "公民身份号码", "姓名", "单位统一社会信用代码", "单位名称", "险种", "参保状态", "参保日期",
        "停保日期", "缴费基数(元)", "参保地行政区划代码",
    ],
    "benefit": [
        "发放流水号", "公民身份号码", "姓名", "待遇类型", "所属期", "发放金额(元)", "发放日期",
        "发放机构", "行政区划代码",
    ],
    "property": [
        "不动产单元号", "不动产权证书号", "权利人", "证件种类", "证件号码", "共有情况", "权利比例",
        "坐落", "建筑面积(㎡)", "规划用途", "权利性质", "登记日期", "登记类型", "成交价格(万元)",
        "行政区划代码",
    ],
    "petition": [
        "信访件编号", "登记日期", "来源渠道", "反映人姓名", "反映人证件号码", "反映人联系电话",
        "是否匿名", "被反映人姓名", "被反映人证件号码", "被反映人单位", "被反映人职务",
        "被反映人职级", "问题类别", "问题属地行政区划代码", "承办单位", "承办层级", "办理状态",
        "内容",
    ],
    "official": [
        "公民身份号码", "姓名", "工作单位", "职务", "职级", "人员类别", "是否财政供养", "管理权限",
        "任职日期", "行政区划代码",
    ],
}  # fmt: skip
FILES = {
    "household": "household.csv",
    "company": "company.csv",
    "shareholder": "shareholder.xlsx",
    "company_officer": "company_officer.jsonl",
    "insured": "insured.csv",
    "benefit": "benefit.jsonl",
    "property": "property.csv",
    "petition": "petition.xlsx",
    "official": "official.csv",
}
CSV_ENCODINGS = {
    "household": "gb18030",
    "company": "utf-8-sig",
    "insured": "utf-8",
    "property": "utf-8",
    "official": "gb18030",
}
EMPTY = {"", "无", "-", "/", "NULL", "null", "（空）"}
COMPLAINANT_COLUMNS = ("反映人姓名", "反映人证件号码", "反映人联系电话")
# Columns holding a 公民身份号码 (P), a 统一社会信用代码 (C), or either, by the document type (D).
ID_COLUMNS = {
    "household": {"公民身份号码": "P"},
    "company": {"统一社会信用代码": "C", "法定代表人证件号码": "P"},
    "shareholder": {"统一社会信用代码": "C", "证照号码": "D"},
    "company_officer": {"统一社会信用代码": "C", "证件号码": "P"},
    "insured": {"公民身份号码": "P", "单位统一社会信用代码": "C"},
    "benefit": {"公民身份号码": "P"},
    "property": {"证件号码": "D"},
    "petition": {"反映人证件号码": "P", "被反映人证件号码": "P"},
    "official": {"公民身份号码": "P"},
}

Rows = list[dict[str, object]]


@pytest.fixture(scope="module")
def drop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    folder = tmp_path_factory.mktemp("drop")
    return folder, write_demo_drop(folder, PERSONS, seed=SEED)


@pytest.fixture(scope="module")
def folder(drop: tuple[Path, DemoSummary]) -> Path:
    return drop[0]


@pytest.fixture(scope="module")
def summary(drop: tuple[Path, DemoSummary]) -> DemoSummary:
    return drop[1]


@pytest.fixture(scope="module")
def tables(folder: Path) -> dict[str, tuple[list[str], Rows]]:
    return {source: read_table(folder, source) for source in FILES}


def read_table(folder: Path, source: str) -> tuple[list[str], Rows]:
    """The header and the data rows of one file, read with the standard tools."""
    path = folder / FILES[source]
    if path.suffix == ".csv":
        with path.open(encoding=CSV_ENCODINGS[source], newline="") as handle:
            header, *body = list(csv.reader(handle))
    elif path.suffix == ".xlsx":
        workbook = openpyxl.load_workbook(path, read_only=True)
        header, *body = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
        workbook.close()
        if source == "petition":
            header, *body = body
    else:
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        header, body = list(records[0]), [list(r.values()) for r in records]
    return [str(h) for h in header], [dict(zip(header, row, strict=True)) for row in body]


def text(value: object) -> str:
    return "" if value is None else str(value)


def is_empty(value: object) -> bool:
    return text(value).strip() in EMPTY


def person_id(raw: object) -> str:
    """The 18-character form of an ID as written (15-digit legacy numbers are extended)."""
    value = compact(text(raw))
    if re.fullmatch(r"\d{15}", value):
        body = value[:6] + "19" + value[6:]
        return body + id_check_char(body)
    return value


def valid_person_id(raw: object) -> bool:
    value = person_id(raw)
    return bool(re.fullmatch(r"\d{17}[\dX]", value)) and id_check_char(value[:17]) == value[17]


def valid_credit_code(raw: object) -> bool:
    value = compact(text(raw))
    return len(value) == 18 and uscc_check_char(value[:17]) == value[17]


def parse_date(raw: object) -> date:
    """The date forms the generator writes (ISO, slashes, compact, 年月日, with time, Excel)."""
    if isinstance(raw, datetime):
        return raw.date()
    numbers = [int(n) for n in re.findall(r"\d+", text(raw))]
    if len(numbers) == 1:
        value = str(numbers[0])
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    return date(numbers[0], numbers[1], numbers[2])


def valid_rows(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]], source: str
) -> Rows:
    rejected = {note.row for note in summary.files[source].reject_rows}
    return [row for n, row in enumerate(tables[source][1], start=1) if n not in rejected]


def kept_rows(summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]], source: str) -> Rows:
    """The rows whose values the index holds: no reject, exact copy or superseded version."""
    truth = summary.files[source]
    dropped = {note.row for note in truth.reject_rows} | set(truth.duplicate_rows)
    dropped |= set(truth.superseded_rows)
    return [row for n, row in enumerate(tables[source][1], start=1) if n not in dropped]


def test_the_drop_holds_nine_source_files_and_the_truth(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted([*FILES.values(), TRUTH_FILE])


@pytest.mark.parametrize("source", sorted(HEADERS))
def test_each_file_has_exactly_the_contract_columns(
    tables: dict[str, tuple[list[str], Rows]], source: str
) -> None:
    header = tables[source][0]
    extra = ["备注"] if source == "company" else []
    if source == "shareholder":  # column order is not fixed: this file uses another order
        assert sorted(header) == sorted(HEADERS[source])
        assert header != HEADERS[source]
    else:
        assert header == HEADERS[source] + extra


def test_summary_names_the_unknown_extra_column(summary: DemoSummary) -> None:
    extras = {s: f.extra_columns for s, f in summary.files.items() if f.extra_columns}
    assert extras == {"company": ["备注"]}


def test_household_csv_is_gb18030_and_not_utf8(folder: Path) -> None:
    raw = (folder / "household.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gb18030").startswith("公民身份号码,姓名,")


def test_company_csv_starts_with_a_utf8_bom(folder: Path) -> None:
    raw = (folder / "company.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").startswith("统一社会信用代码,")


def test_insured_csv_is_utf8_without_bom_and_ends_every_line_with_crlf(
    folder: Path, summary: DemoSummary
) -> None:
    raw = (folder / "insured.csv").read_bytes()
    raw.decode("utf-8")
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\n") == raw.count(b"\r\n") == summary.files["insured"].rows_written + 1


def test_property_csv_quotes_addresses_with_commas_and_line_breaks(
    tables: dict[str, tuple[list[str], Rows]],
) -> None:
    addresses = [text(row["坐落"]) for row in tables["property"][1]]
    assert any("," in a for a in addresses)
    assert any("\n" in a for a in addresses)


def test_petition_xlsx_has_a_title_row_above_the_header(folder: Path) -> None:
    workbook = openpyxl.load_workbook(folder / "petition.xlsx", read_only=True)
    first, second = list(workbook.worksheets[0].iter_rows(max_row=2, values_only=True))
    workbook.close()
    assert [v for v in first if v is not None] == ["信访件导出（2024年12月）"]
    assert list(second) == HEADERS["petition"]


def test_petition_dates_are_mostly_real_excel_dates(
    tables: dict[str, tuple[list[str], Rows]],
) -> None:
    kinds = Counter(type(row["登记日期"]).__name__ for row in tables["petition"][1])
    assert kinds["datetime"] > kinds["str"] > 0


def test_same_seed_and_size_give_byte_identical_files(tmp_path: Path) -> None:
    def digests(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    write_demo_drop(tmp_path / "a", 300, seed=5)
    write_demo_drop(tmp_path / "b", 300, seed=5)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_another_seed_gives_other_people(tmp_path: Path) -> None:
    first = (write_demo_drop(tmp_path / "a", 300, seed=5)).patterns.official_spouse_company
    second = (write_demo_drop(tmp_path / "b", 300, seed=6)).patterns.official_spouse_company
    assert first.official_id != second.official_id


def test_too_few_persons_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 100 persons"):
        write_demo_drop(tmp_path, 99)


def test_truth_file_holds_the_returned_summary(folder: Path, summary: DemoSummary) -> None:
    assert json.loads((folder / TRUTH_FILE).read_text(encoding="utf-8")) == asdict(summary)


@pytest.mark.parametrize("source", sorted(FILES))
def test_rows_written_match_the_rows_in_the_file(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]], source: str
) -> None:
    assert summary.files[source].rows_written == len(tables[source][1])


def test_total_rows_is_the_sum_over_files(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    assert summary.total_rows == sum(len(rows) for _, rows in tables.values())


def test_household_holds_exactly_the_requested_persons(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    ids = {person_id(row["公民身份号码"]) for row in valid_rows(summary, tables, "household")}
    # the requested persons, and those planted on top for the comparison models
    assert summary.persons == len(ids) == PERSONS + COMPARISON_PERSONS


def test_every_id_in_valid_rows_is_valid_except_the_planted_non_key_ones(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    invalid = set()
    for source, columns in ID_COLUMNS.items():
        rejected = {note.row for note in summary.files[source].reject_rows}
        for number, row in enumerate(tables[source][1], start=1):
            for column, kind in columns.items():
                if number in rejected or is_empty(row[column]):
                    continue
                document = text(row.get("证照类型", row.get("证件种类", "")))
                credit = kind == "C" or (kind == "D" and document == "统一社会信用代码")
                for value in text(row[column]).split("；"):
                    check = valid_credit_code if credit else valid_person_id
                    if value and not check(value):
                        invalid.add((source, number, column))
    planted = {
        (source, note.row, note.column)
        for source, truth in summary.files.items()
        for note in truth.invalid_non_key_ids
    }
    assert invalid == planted
    assert len(planted) == 4


def test_rejected_rows_are_broken_in_the_way_the_summary_says(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    seen: Counter[str] = Counter()
    for source, truth in summary.files.items():
        for note in truth.reject_rows:
            raw = text(tables[source][1][note.row - 1][note.column])
            if note.kind == "missing_key":
                ok = raw in ("", "NULL")
            elif note.kind == "id_scientific_notation":
                ok = re.fullmatch(r"\d\.\d{5}E\+17", raw) is not None
            elif note.kind == "id_wrong_check_char":
                ok = len(raw) == 18 and not valid_person_id(raw)
            else:
                ok = note.kind == "credit_code_wrong_check_char" and not valid_credit_code(raw)
            assert ok, (source, note)
            seen[note.kind] += 1
    assert set(seen) == {
        "missing_key",
        "id_scientific_notation",
        "id_wrong_check_char",
        "credit_code_wrong_check_char",
    }


@pytest.mark.parametrize("source", ["household", "insured", "property", "official", "company"])
def test_reject_line_numbers_point_at_the_physical_csv_line(
    folder: Path, summary: DemoSummary, source: str
) -> None:
    path = folder / FILES[source]
    with path.open(encoding=CSV_ENCODINGS[source], newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        starts, previous = [], reader.line_num
        for _ in reader:
            starts.append(previous + 1)
            previous = reader.line_num
    assert [starts[n.row - 1] for n in summary.files[source].reject_rows] == [
        n.line for n in summary.files[source].reject_rows
    ]


@pytest.mark.parametrize("source", sorted(FILES))
def test_exact_duplicates_are_the_rows_that_repeat_an_earlier_row(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]], source: str
) -> None:
    seen: set[tuple[str, ...]] = set()
    repeats = []
    for number, row in enumerate(tables[source][1], start=1):
        key = tuple(text(v) for v in row.values())
        if key in seen:
            repeats.append(number)
        seen.add(key)
    assert repeats == summary.files[source].duplicate_rows


def test_superseded_household_rows_are_followed_by_a_later_death_record(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    rows = tables["household"][1]
    superseded = summary.files["household"].superseded_rows
    assert len(superseded) == summary.files["household"].superseded == max(2, PERSONS // 400)
    for number in superseded:
        early = rows[number - 1]
        later = [
            r for r in rows[number:]
            if person_id(r["公民身份号码"]) == person_id(early["公民身份号码"])
        ]  # fmt: skip
        assert early["人员状态"] == "正常"
        assert [r["人员状态"] for r in later] == ["死亡"]
        assert parse_date(later[0]["登记日期"]) > parse_date(early["登记日期"])


@pytest.mark.parametrize("source", sorted(FILES))
def test_every_source_has_exact_duplicates_and_superseded_versions(
    summary: DemoSummary, source: str
) -> None:
    truth = summary.files[source]
    assert truth.duplicates >= 1
    assert truth.superseded >= 2
    assert sorted(note.row for note in truth.superseded_by) == truth.superseded_rows


VERSION_DATE = {"household": "登记日期", "property": "登记日期", "petition": "登记日期"}


@pytest.mark.parametrize("source", sorted(FILES))
def test_each_superseded_row_is_another_version_of_its_winners_record(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]], source: str
) -> None:
    rows = tables[source][1]
    for note in summary.files[source].superseded_by:
        old, new = rows[note.row - 1], rows[note.winner_row - 1]
        assert [person_id(old[c]) for c in KEY_COLUMNS[source]] == [
            person_id(new[c]) for c in KEY_COLUMNS[source]
        ]
        assert old != new
        if source in VERSION_DATE:
            old_day, new_day = (parse_date(r[VERSION_DATE[source]]) for r in (old, new))
            assert old_day < new_day or (old_day == new_day and note.row < note.winner_row)
        else:  # no version date: the later row wins
            assert note.row < note.winner_row


def test_dated_versions_come_before_after_and_on_the_same_day(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    rows = tables["petition"][1]
    kinds = set()
    for note in summary.files["petition"].superseded_by:
        same_day = parse_date(rows[note.row - 1]["登记日期"]) == parse_date(
            rows[note.winner_row - 1]["登记日期"]
        )
        kinds.add(("same_day" if same_day else "earlier", note.row < note.winner_row))
    assert kinds == {("earlier", True), ("earlier", False), ("same_day", True)}


def test_petition_versions_differ_in_their_complainant_fields(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    rows = tables["petition"][1]
    pairs = [
        (rows[n.row - 1], rows[n.winner_row - 1]) for n in summary.files["petition"].superseded_by
    ]
    changed = [
        (is_empty(new["反映人姓名"]), is_empty(old["反映人姓名"]))
        for old, new in pairs
        if [old[c] for c in COMPLAINANT_COLUMNS] != [new[c] for c in COMPLAINANT_COLUMNS]
    ]
    assert (False, False) in changed  # an older phone of the same complainant
    assert (True, False) in changed  # signed before, anonymous in the version that counts


@pytest.mark.parametrize("source", sorted(FILES))
def test_expected_report_balances_and_counts_every_replaced_row_as_a_duplicate(
    summary: DemoSummary, source: str
) -> None:
    truth = summary.files[source]
    report = truth.expected_report
    assert report.read == truth.rows_written
    assert report.read == report.indexed + report.rejected + report.duplicates
    assert report.duplicates == truth.duplicates + truth.superseded
    assert report.indexed == truth.expected_documents


def test_warning_rows_hold_the_unparseable_values(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    for source, truth in summary.files.items():
        for note in truth.warning_rows:
            assert text(tables[source][1][note.row - 1][note.column]) == note.raw
            if note.kind == "unparseable_date":
                assert note.raw == "2019-13-45"
            else:
                assert note.raw in ("3,2OO.00", "12..50", "#VALUE!", "1.2.3元")
    assert sum(t.warnings for t in summary.files.values()) == 15


KEY_COLUMNS = {
    "household": ("公民身份号码",),
    "company": ("统一社会信用代码",),
    "shareholder": ("统一社会信用代码", "股东名称", "证照号码"),
    "company_officer": ("统一社会信用代码", "姓名", "证件号码", "职务"),
    "insured": ("公民身份号码", "险种", "参保日期"),
    "benefit": ("发放流水号",),
    "property": ("不动产单元号", "权利人", "证件号码"),
    "petition": ("信访件编号",),
    "official": ("公民身份号码",),
}


@pytest.mark.parametrize("source", sorted(FILES))
def test_distinct_keys_of_valid_rows_equal_the_expected_documents(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]], source: str
) -> None:
    def normal(column: str, value: object) -> str:
        if is_empty(value):
            return ""
        if "日期" in column:
            return parse_date(value).isoformat()
        return person_id(value) if column in ID_COLUMNS[source] else compact(text(value))

    keys = {
        tuple(normal(c, row[c]) for c in KEY_COLUMNS[source])
        for row in valid_rows(summary, tables, source)
    }
    assert len(keys) == summary.files[source].expected_documents


def test_official_spouse_is_legal_representative_and_shareholder(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    plant = summary.patterns.official_spouse_company
    household = {person_id(r["公民身份号码"]): r for r in tables["household"][1]}
    official, spouse = household[plant.official_id], household[plant.spouse_id]
    assert official["户号"] == spouse["户号"] == plant.household
    assert (official["与户主关系"], spouse["与户主关系"]) == ("户主", "配偶")
    assert plant.official_id in {person_id(r["公民身份号码"]) for r in tables["official"][1]}
    company = next(r for r in tables["company"][1] if r["统一社会信用代码"] == plant.company_code)
    assert person_id(company["法定代表人证件号码"]) == plant.spouse_id
    holdings = {
        person_id(r["证照号码"]): float(text(r["出资比例(%)"]))
        for r in tables["shareholder"][1]
        if r["统一社会信用代码"] == plant.company_code
    }
    assert holdings[plant.spouse_id] == plant.spouse_percent > 0


def test_deceased_person_is_still_paid_a_pension_after_death(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    plant = summary.patterns.deceased_still_paid
    record = next(
        r for r in tables["household"][1] if person_id(r["公民身份号码"]) == plant.person_id
    )
    assert record["人员状态"] == "死亡"
    assert parse_date(record["死亡日期"]).isoformat() == plant.died
    paid = [r for r in tables["benefit"][1] if r["发放流水号"] in set(plant.serials_after_death)]
    assert len(paid) == len(plant.serials_after_death) >= 12
    assert {r["公民身份号码"] for r in paid} == {plant.person_id}
    assert {r["待遇类型"] for r in paid} == {"基本养老金"}
    assert min(text(r["所属期"]) for r in paid) > plant.died[:7].replace("-", "")


TIER_CODES = {"省": r"\d{2}0000", "市": r"\d{4}00", "县": r"\d{6}", "乡": r"\d{9}"}


def test_theme_petitions_are_handled_at_every_tier_about_localities_at_every_tier(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    plant = summary.patterns.theme_petitions
    rows = {r["信访件编号"]: r for r in tables["petition"][1]}
    assert sorted(plant.by_tier) == sorted(TIER_CODES)
    pairs = set()
    for tier, numbers in plant.by_tier.items():
        assert len(numbers) >= 3
        for number in numbers:
            row = rows[number]
            code = text(row["问题属地行政区划代码"])
            assert row["承办层级"] == tier
            assert code == plant.regions[number]
            region = parse_region(code).value
            assert region is not None
            assert re.fullmatch(TIER_CODES[region.tier], code)  # the locality's own granularity
            pairs.add((tier, region.tier))
    assert pairs == {(handling, locality) for handling in TIER_CODES for locality in TIER_CODES}


def test_theme_is_found_by_category_or_by_keyword_in_the_text(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    plant = summary.patterns.theme_petitions
    rows = {r["信访件编号"]: r for r in tables["petition"][1]}
    themed = [rows[n] for numbers in plant.by_tier.values() for n in numbers]
    by_keyword_only = [
        r for r in themed
        if r["问题类别"] != plant.category and plant.keyword in text(r["内容"])
    ]  # fmt: skip
    assert all(r["问题类别"] == plant.category or r in by_keyword_only for r in themed)
    assert len(by_keyword_only) >= 4


def test_official_child_holds_a_company_that_owns_a_subsidiary(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    plant = summary.patterns.official_child_chain
    household = {person_id(r["公民身份号码"]): r for r in tables["household"][1]}
    assert household[plant.official_id]["户号"] == household[plant.child_id]["户号"]
    assert household[plant.child_id]["与户主关系"] == plant.child_relation in ("子", "女")
    shares = tables["shareholder"][1]
    child_holds = [
        r for r in shares
        if r["统一社会信用代码"] == plant.holding_code
        and person_id(r["证照号码"]) == plant.child_id
    ]  # fmt: skip
    parent_holds = [
        r for r in shares
        if r["统一社会信用代码"] == plant.subsidiary_code and r["证照号码"] == plant.holding_code
    ]  # fmt: skip
    assert len(child_holds) == 1
    assert [(r["股东类型"], r["证照类型"]) for r in parent_holds] == [
        ("企业法人", "统一社会信用代码")
    ]


def _holdings(tables: dict[str, tuple[list[str], Rows]]) -> dict[tuple[str, str], float]:
    """(holder ID or credit code, company code) -> 出资比例 of the shareholder file."""
    return {
        (person_id(r["证照号码"]), text(r["统一社会信用代码"])): float(text(r["出资比例(%)"]))
        for r in tables["shareholder"][1]
        if not is_empty(r["证照号码"])
    }


def test_control_chains_run_from_an_official_through_a_household_member(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    household = {person_id(r["公民身份号码"]): r for r in tables["household"][1]}
    officials = {person_id(r["公民身份号码"]) for r in tables["official"][1]}
    companies = {text(r["统一社会信用代码"]): r for r in tables["company"][1]}
    assert len(summary.control_chains) >= 5
    for chain in summary.control_chains:
        assert chain.official_id in officials
        home = household[chain.official_id]["户号"]
        assert {i for i, r in household.items() if r["户号"] == home} == {
            chain.official_id,
            *chain.household_ids,
        }
        assert chain.entities[0].key == chain.relative_id in chain.household_ids
        for entity in chain.entities[1:]:
            assert entity.kind == "company"
            assert companies[entity.key]["企业名称"] == entity.name  # written plainly
            assert entity.key[2:4] == "46"  # registered in Hainan: one provincial scope


def test_the_planted_family_controls_through_majority_chains_and_parallel_paths(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    holdings = _holdings(tables)
    child, _, sibling = summary.control_chains[2:]
    holding, subsidiary, further = (e.key for e in child.entities[1:])
    assert holdings[(child.relative_id, holding)] == 60.0
    assert holdings[(holding, subsidiary)] == 100.0
    assert holdings[(subsidiary, further)] == 51.0
    (joint,) = (e.key for e in sibling.entities[1:])
    (partner,) = (e.key for e in sibling.decoys)
    direct, through = holdings[(sibling.relative_id, joint)], holdings[(partner, joint)]
    assert direct < 50
    assert holdings[(sibling.relative_id, partner)] < 50
    assert direct + holdings[(sibling.relative_id, partner)] * through / 100 > 50


def test_planted_households_hold_and_represent_only_the_planted_companies(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    family = {i for c in summary.control_chains for i in (c.official_id, *c.household_ids)}
    named = {e.key for c in summary.control_chains for e in (*c.entities, *c.decoys)}
    represented = {
        text(r["统一社会信用代码"])
        for r in tables["company"][1]
        if person_id(r["法定代表人证件号码"]) in family
    }
    held = {company for holder, company in _holdings(tables) if holder in family}
    assert represented | held <= named


@pytest.mark.parametrize("seed", range(8))
def test_in_any_world_planted_families_touch_only_their_planted_companies(seed: int) -> None:
    world = build_world(seed, 150)
    chains = world.plants.chains
    family = {p.pid for c in chains for p in (c.official, *c.household)}
    named = {id(e) for c in chains for e, _ in (*c.entities, *c.decoys)}
    for company in world.market.companies:
        touched = {company.legal_rep.pid} | {
            s.holder.pid for s in company.shares if isinstance(s.holder, Person)
        }
        assert not (touched & family) or id(company) in named, company.name


def test_petition_names_one_of_two_same_name_officials_without_an_id(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    plant = summary.patterns.same_name_officials
    namesakes = [r for r in tables["official"][1] if r["姓名"] == plant.name]
    assert sorted(person_id(r["公民身份号码"]) for r in namesakes) == sorted(
        [plant.official_id, plant.other_official_id]
    )
    assert plant.unit != plant.other_unit
    row = next(r for r in tables["petition"][1] if r["信访件编号"] == plant.petition_number)
    assert (row["被反映人姓名"], row["被反映人单位"], row["被反映人职务"]) == (
        plant.name,
        plant.unit,
        plant.post,
    )
    assert is_empty(row["被反映人证件号码"])


def test_hub_company_insures_a_fifth_of_the_persons(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    hub = summary.patterns.hub_company
    staff = {
        person_id(r["公民身份号码"])
        for r in valid_rows(summary, tables, "insured")
        if r["单位名称"] == hub.name
    }
    assert len(staff) == hub.insured_persons == PERSONS // 5


def test_shareholder_percentages_sum_to_about_100_per_company(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    totals: dict[str, float] = defaultdict(float)
    for row in kept_rows(summary, tables, "shareholder"):
        totals[text(row["统一社会信用代码"])] += float(text(row["出资比例(%)"]))
    assert all(99.9 <= total <= 100.01 for total in totals.values()), totals


def test_petition_lists_of_reported_persons_are_aligned(
    tables: dict[str, tuple[list[str], Rows]],
) -> None:
    columns = ("被反映人姓名", "被反映人单位", "被反映人职务", "被反映人职级")
    widths: Counter[int] = Counter()
    for row in tables["petition"][1]:
        counts = {len(text(row[c]).split("；")) for c in columns}
        if not is_empty(row["被反映人证件号码"]):
            counts.add(len(text(row["被反映人证件号码"]).split("；")))
        assert len(counts) == 1, row
        widths[counts.pop()] += 1
    assert widths[1] > widths[2] > 0


def test_signed_petitions_carry_all_complainant_fields_and_anonymous_ones_none(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    for row in valid_rows(summary, tables, "petition"):
        filled = [not is_empty(row[c]) for c in COMPLAINANT_COLUMNS]
        anonymous = text(row["是否匿名"]) in ("是", "Y", "1")
        assert filled == [not anonymous] * 3, row["信访件编号"]


def test_each_complainant_appears_in_the_petitions_the_summary_lists(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    rows = {r["信访件编号"]: r for r in kept_rows(summary, tables, "petition")}
    for person in summary.complainants:
        assert person.petitions
        for number in person.petitions:
            written = tuple(rows[number][c] for c in COMPLAINANT_COLUMNS)
            assert written == (person.name, person.id_number, person.phone)


def test_complainant_values_occur_nowhere_but_in_the_complainant_columns(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    secrets = [v for p in summary.complainants for v in (p.name, p.id_number, p.phone)]
    cells = [
        text(value)
        for source, (_, rows) in tables.items()
        for row in rows
        for column, value in row.items()
        if not (source == "petition" and column in COMPLAINANT_COLUMNS)
    ]
    everything = "\n".join(cells)
    assert [s for s in secrets if s in everything] == []


def test_household_ids_come_legacy_full_width_spaced_and_lower_case(
    tables: dict[str, tuple[list[str], Rows]],
) -> None:
    forms: Counter[str] = Counter()
    for row in tables["household"][1]:
        raw = text(row["公民身份号码"])
        forms["legacy"] += bool(re.fullmatch(r"\d{15}", raw))
        forms["full_width"] += bool(re.search("[０-９]", raw))
        forms["spaced"] += " " in raw.strip() or raw != raw.strip()
        forms["lower_x"] += raw.endswith("x")
    assert min(forms.values()) > 0, forms


def test_names_use_rare_characters_every_dot_form_traditional_writing_and_padding(
    summary: DemoSummary, tables: dict[str, tuple[list[str], Rows]]
) -> None:
    written = [
        text(row[column])
        for _, rows in tables.values()
        for row in rows
        for column in ("姓名", "法定代表人", "股东名称", "权利人")
        if column in row
    ]
    names = {name.strip(" \u3000") for name in written}
    traditional = {p.name.translate(TRADITIONAL) for p in summary.name_samples.traditional_prone}
    assert any(c in name for name in names for c in RARE_CHARS)
    assert {d for d in DOTS if any(d in name for name in names)} == set(DOTS)
    assert traditional & names
    padded = [name for name in written if name != name.strip(" \u3000")]
    assert any(" " in name for name in padded)
    assert any("\u3000" in name for name in padded)


def test_empty_values_use_every_empty_token(tables: dict[str, tuple[list[str], Rows]]) -> None:
    used = {text(row["曾用名"]) for row in tables["household"][1]}
    assert used >= EMPTY


def test_amounts_come_with_thousands_separators_yuan_suffix_full_width_and_as_numbers(
    tables: dict[str, tuple[list[str], Rows]],
) -> None:
    amounts = [row["发放金额(元)"] for row in tables["benefit"][1]]
    written = [text(a) for a in amounts]
    assert any(isinstance(a, float) for a in amounts)
    assert any(w.endswith("元") for w in written)
    assert any(re.fullmatch(r"\d{1,3}(,\d{3})+\.\d\d", w) for w in written)
    assert any(re.search("[０-９]", w) for w in written)


def test_dates_come_in_every_text_form(tables: dict[str, tuple[list[str], Rows]]) -> None:
    patterns = {
        "iso": r"\d{4}-\d\d-\d\d",
        "slash": r"\d{4}/\d{1,2}/\d{1,2}",
        "compact": r"\d{8}",
        "chinese": r"\d{4}年\d{1,2}月\d{1,2}日",
        "with_time": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
    }
    dates = [text(row["出生日期"]) for row in tables["household"][1]]
    assert {k for k, p in patterns.items() if any(re.fullmatch(p, d) for d in dates)} == set(
        patterns
    )


def test_petition_texts_keep_markup_sql_and_traditional_characters_as_data(
    tables: dict[str, tuple[list[str], Rows]],
) -> None:
    contents = [text(row["内容"]) for row in tables["petition"][1]]
    assert any("<script>" in c or "DROP TABLE" in c or "onerror" in c for c in contents)
    assert any("\n" in c for c in contents)
    traditional = {chr(code) for code in TRADITIONAL.values() if isinstance(code, int)}
    assert any(ch in traditional for c in contents for ch in c)
