"""Dates and 所属期 periods, including Excel serial numbers and the 1900 leap-year bug."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from analyzers.dates import parse_date, parse_period
from analyzers.values import Parsed

MARCH_5 = date(2019, 3, 5)


@pytest.mark.parametrize(
    "raw",
    [
        "2019-03-05",
        "2019-3-5",
        "2019/3/5",
        "2019/03/05",
        "2019.3.5",
        "20190305",
        "2019年3月5日",
        "2019年03月05日",
        "2019 年 3 月 5 日",
        "2019年3月5",
        "2019-03-05 14:22:10",
        "2019/03/05 14:22:10",
        "2019/3/5 14:22",
        "2019-03-05T14:22:10",
        "2019-03-05 14:22:10.123",
        "2019年3月5日 14:22:10",
        " 2019-03-05\u3000",
    ],
)
def test_parse_date_reads_text_formats(raw: str) -> None:
    assert parse_date(raw) == Parsed(MARCH_5)


@pytest.mark.parametrize(
    "raw",
    [
        "２０１９－０３－０５",
        "２０１９年３月５日",
        "２０１９０３０５",
        "２０１９／３／５ １４：２２",
    ],
)
def test_parse_date_reads_fullwidth_digits(raw: str) -> None:
    assert parse_date(raw) == Parsed(MARCH_5)


@pytest.mark.parametrize("raw", [MARCH_5, datetime(2019, 3, 5, 14, 22, 10), datetime(2019, 3, 5)])
def test_parse_date_reads_date_objects_and_drops_the_time(raw: date) -> None:
    assert parse_date(raw) == Parsed(MARCH_5)


def test_parse_date_returns_a_plain_date_for_a_datetime() -> None:
    assert type(parse_date(datetime(2019, 3, 5, 14, 22)).value) is date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (43529, MARCH_5),
        (43529.0, MARCH_5),
        (43529.604166, MARCH_5),
        ("43529", MARCH_5),
        ("43529.5", MARCH_5),
        (20190305, MARCH_5),
        (20190305.0, MARCH_5),
        (1, date(1900, 1, 1)),
        (59, date(1900, 2, 28)),
        (61, date(1900, 3, 1)),
        (73050, date(2099, 12, 31)),
    ],
)
def test_parse_date_reads_excel_serials_and_numeric_cells(raw: object, expected: date) -> None:
    assert parse_date(raw) == Parsed(expected)


@pytest.mark.parametrize("raw", [60, "60", 60.5])
def test_parse_date_refuses_excel_phantom_leap_day(raw: object) -> None:
    assert parse_date(raw) == Parsed(
        error="Excel serial 60 is 1900-02-29, a day that does not exist"
    )


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (0, "Excel serial 0 is outside 1..80000"),
        ("0.5", "Excel serial 0 is outside 1..80000"),
        (80001, "Excel serial 80001 is outside 1..80000"),
        (80000, "year 2119 is outside 1880..2100"),
    ],
)
def test_parse_date_refuses_serials_out_of_range(raw: object, error: str) -> None:
    assert parse_date(raw) == Parsed(error=error)


@pytest.mark.parametrize("raw", ["2019", 2019, 2019.0, "１９９０"])
def test_parse_date_refuses_a_bare_year(raw: object) -> None:
    assert parse_date(raw) == Parsed(error="a year alone is not a date")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("2019-13-45", "month 13 is out of range"),
        ("2019-00-10", "month 0 is out of range"),
        ("20191301", "month 13 is out of range"),
        ("2019-02-29", "day 29 does not exist in 2019-02"),
        ("2019年4月31日", "day 31 does not exist in 2019-04"),
        ("2019-03-00", "day 0 does not exist in 2019-03"),
        ("2019-03-05 25:00:00", "time of day is out of range"),
        ("2019-03-05 14:61", "time of day is out of range"),
    ],
)
def test_parse_date_refuses_impossible_dates(raw: str, error: str) -> None:
    assert parse_date(raw) == Parsed(error=error)


def test_parse_date_accepts_a_leap_day() -> None:
    assert parse_date("2020-02-29") == Parsed(date(2020, 2, 29))


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("1879-12-31", "year 1879 is outside 1880..2100"),
        ("2101-01-01", "year 2101 is outside 1880..2100"),
        ("00010101", "year 1 is outside 1880..2100"),
        (date(1850, 6, 1), "year 1850 is outside 1880..2100"),
        (datetime(2200, 1, 1), "year 2200 is outside 1880..2100"),
    ],
)
def test_parse_date_refuses_years_out_of_range(raw: object, error: str) -> None:
    assert parse_date(raw) == Parsed(error=error)


@pytest.mark.parametrize(
    ("raw", "expected"), [("1880-01-01", date(1880, 1, 1)), ("2100-12-31", date(2100, 12, 31))]
)
def test_parse_date_accepts_the_year_range_bounds(raw: str, expected: date) -> None:
    assert parse_date(raw) == Parsed(expected)


@pytest.mark.parametrize(
    "raw",
    [
        "明天",
        "2019-3/5",
        "05/03/2019",
        "190305",
        "201903",
        "2019-03",
        "-43529",
        "2019-03-05Z",
        True,
    ],
)
def test_parse_date_refuses_unrecognised_text(raw: object) -> None:
    assert parse_date(raw) == Parsed(error="not a recognised date format")


@pytest.mark.parametrize("raw", [None, "", "无", "-", "/", "NULL", "（空）", float("nan")])
def test_parse_date_returns_empty_for_empty(raw: object) -> None:
    assert parse_date(raw) == Parsed()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("202405", "2024-05"),
        ("２０２４０５", "2024-05"),
        (" 202412 ", "2024-12"),
        (202405, "2024-05"),
        (202405.0, "2024-05"),
        ("2024-05", "2024-05"),
        ("2024/5", "2024-05"),
        ("2024年5月", "2024-05"),
        (date(2024, 5, 31), "2024-05"),
    ],
)
def test_parse_period_gives_year_and_month(raw: object, expected: str) -> None:
    assert parse_period(raw) == Parsed(expected)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("202413", "month 13 is out of range"),
        ("202400", "month 0 is out of range"),
        ("187912", "year 1879 is outside 1880..2100"),
        ("2024", "not a YYYYMM period"),
        ("20240531", "not a YYYYMM period"),
        ("24年5月", "not a YYYYMM period"),
        ("2024.5", "not a YYYYMM period"),
    ],
)
def test_parse_period_refuses_invalid_periods(raw: str, error: str) -> None:
    assert parse_period(raw) == Parsed(error=error)


@pytest.mark.parametrize("raw", [None, "", "无", "NULL"])
def test_parse_period_returns_empty_for_empty(raw: object) -> None:
    assert parse_period(raw) == Parsed()
