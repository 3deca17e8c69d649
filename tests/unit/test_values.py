"""Cell value parsing: empties, text, names, lists, numbers, booleans and phones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import pytest

from analyzers.dates import parse_date, parse_period
from analyzers.regions import parse_region
from analyzers.values import (
    Parsed,
    clean_name,
    clean_text,
    is_empty,
    name_without_dot,
    parse_area,
    parse_bool,
    parse_decimal,
    parse_money,
    parse_percent,
    parse_phone,
    split_aligned,
    to_text,
)

# --- Parsed and empties -----------------------------------------------------------------------


def test_parsed_defaults_to_an_empty_cell() -> None:
    assert Parsed[int]() == Parsed(value=None, error=None)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "\u3000",
        "无",
        "-",
        "/",
        "NULL",
        "null",
        "Null",
        "（空）",
        "(空)",
        " 无\u3000",
        "\u3000（空）\u3000",
        "－",
        "／",
        "ＮＵＬＬ",
        float("nan"),
        Decimal("NaN"),
    ],
)
def test_is_empty_recognises_placeholders(raw: object) -> None:
    assert is_empty(raw) is True


@pytest.mark.parametrize(
    "raw", [0, 0.0, "0", "x", "无效", "--", "空", False, date(2019, 3, 5), Decimal("0")]
)
def test_is_empty_keeps_real_values(raw: object) -> None:
    assert is_empty(raw) is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("abc", "abc"),
        (460106, "460106"),
        (460106.0, "460106"),
        (460102900101001.0, "460102900101001"),
        (1234.5, "1234.5"),
        (Decimal("1234.50"), "1234.50"),
        (date(2019, 3, 5), "2019-03-05"),
        (datetime(2019, 3, 5, 14, 22, 10), "2019-03-05T14:22:10"),
    ],
)
def test_to_text_gives_the_text_a_spreadsheet_shows(raw: object, expected: str) -> None:
    assert to_text(raw) == expected


def test_to_text_keeps_the_scientific_form_of_an_inexact_float() -> None:
    assert to_text(4.60102199001011e17) == "4.60102199001011e+17"


# --- clean_text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  海口市美兰区  ", "海口市美兰区"),
        ("\u3000海口市美兰区\u3000", "海口市美兰区"),
        ("\u00a0海口市\u00a0美兰区 ", "海口市\u00a0美兰区"),
        ("\t第一段\n第二段\n", "第一段\n第二段"),
    ],
)
def test_clean_text_strips_surrounding_spaces(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\x00b", "ab"),
        ("a\x07b\x1bc", "abc"),
        ("a\x7fb\x85c", "abc"),
        ("张\u200b三", "张三"),
        ("\ufeff企业名称", "企业名称"),
        ("第一段\t说明\n第二段", "第一段\t说明\n第二段"),
    ],
)
def test_clean_text_removes_control_characters_but_tab_and_newline(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("一\r\n二", "一\n二"), ("一\r二", "一\n二"), ("一\u2028二\u2029三", "一\n二\n三")],
)
def test_clean_text_normalises_line_breaks(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "<script>alert('x')</script>",
        "<b>举报</b> &amp; &lt;",
        "'; DROP TABLE petition; --",
        "1 OR 1=1 /* 注释 */",
    ],
)
def test_clean_text_keeps_markup_and_sql_as_data(raw: str) -> None:
    assert clean_text(raw) == raw


@pytest.mark.parametrize("raw", [None, "", "  ", "无", " NULL ", "\x00\x01", "\u200b"])
def test_clean_text_returns_none_for_empty(raw: object) -> None:
    assert clean_text(raw) is None


def test_clean_text_reads_spreadsheet_numbers_without_fraction() -> None:
    assert clean_text(13800138000.0) == "13800138000"


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "阿依古丽·买买提",
        "阿依古丽•买买提",
        "阿依古丽・买买提",
        "阿依古丽‧买买提",
        "阿依古丽∙买买提",
        "阿依古丽．买买提",
        "阿依古丽･买买提",
        "阿依古丽.买买提",
        "阿依古丽 . 买买提",
        "阿依古丽 · 买买提",
        "  阿依古丽·买买提\u3000",
    ],
)
def test_clean_name_unifies_middle_dots(raw: str) -> None:
    assert clean_name(raw) == "阿依古丽·买买提"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("张　三", "张三"), ("张  三", "张三"), (" 王 小 明 ", "王小明"), ("𠀀 三", "𠀀三")],
)
def test_clean_name_removes_padding_between_han_characters(raw: str, expected: str) -> None:
    assert clean_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("John  Smith", "John Smith"), ("John\u3000Smith ", "John Smith"), ("J.Smith", "J.Smith")],
)
def test_clean_name_collapses_spaces_in_latin_names(raw: str, expected: str) -> None:
    assert clean_name(raw) == expected


@pytest.mark.parametrize("raw", ["陳大文", "張三"])
def test_clean_name_keeps_traditional_characters(raw: str) -> None:
    assert clean_name(raw) == raw


@pytest.mark.parametrize("raw", [None, "", "\u3000", "无", "-"])
def test_clean_name_returns_none_for_empty(raw: object) -> None:
    assert clean_name(raw) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("阿依古丽·买买提", "阿依古丽买买提"),
        ("阿依古丽・买买提", "阿依古丽买买提"),
        ("阿依古丽.买买提", "阿依古丽买买提"),
        ("张三", "张三"),
    ],
)
def test_name_without_dot_removes_every_middle_dot(name: str, expected: str) -> None:
    assert name_without_dot(name) == expected


# --- lists ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张三；李四", ["张三", "李四"]),
        ("张三;李四", ["张三", "李四"]),
        ("；460106", [None, "460106"]),
        ("张三；；王五", ["张三", None, "王五"]),
        ("张三；", ["张三", None]),
        (" 张三 ； 李四 ", ["张三", "李四"]),
        ("张三；无", ["张三", None]),
        ("张三", ["张三"]),
    ],
)
def test_split_aligned_keeps_empty_positions(raw: str, expected: list[str | None]) -> None:
    assert split_aligned(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "无", "  "])
def test_split_aligned_gives_no_positions_for_an_empty_cell(raw: object) -> None:
    assert split_aligned(raw) == []


def test_split_aligned_takes_other_separators() -> None:
    assert split_aligned("张三、李四,王五", sep="、,") == ["张三", "李四", "王五"]


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.50", Decimal("1234.50")),
        ("1234.5元", Decimal("1234.5")),
        ("￥1,234", Decimal("1234")),
        ("¥1,234", Decimal("1234")),
        ("RMB 1,234", Decimal("1234")),
        ("１，２３４．５０", Decimal("1234.50")),
        ("１２３４．５元", Decimal("1234.5")),
        (" 1 234.5 元 ", Decimal("1234.5")),
        ("-1,234.50", Decimal("-1234.50")),
        ("－１２", Decimal("-12")),
        ("\u221212", Decimal("-12")),
        ("￥-5", Decimal("-5")),
        ("-￥5", Decimal("-5")),
        (".5", Decimal("0.5")),
        ("0", Decimal("0")),
        (1234, Decimal("1234")),
        (1234.5, Decimal("1234.5")),
        (0.1, Decimal("0.1")),
        (Decimal("1234.50"), Decimal("1234.50")),
    ],
)
def test_parse_money_reads_amounts(raw: object, expected: Decimal) -> None:
    assert parse_money(raw) == Parsed(expected)


@pytest.mark.parametrize(("raw", "expected"), [("1.5万元", "1.5"), ("500万元", "500")])
def test_parse_money_does_not_scale_wan_yuan(raw: str, expected: str) -> None:
    assert parse_money(raw) == Parsed(Decimal(expected))


def test_parse_money_keeps_the_scale_as_written() -> None:
    assert str(parse_money("1,234.50").value) == "1234.50"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("abc", "malformed amount"),
        ("元", "malformed amount"),
        ("1,23", "malformed amount"),
        ("12,34.5", "malformed amount"),
        ("1.2.3", "malformed amount"),
        ("1.5万", "malformed amount"),
        ("1.5亿元", "malformed amount"),
        ("--5", "malformed amount"),
        ("5-", "malformed amount"),
        ("NaN", "malformed amount"),
        ("Infinity", "malformed amount"),
        ("1.23457E+11", "amount in scientific notation may have lost digits"),
        (True, "amount expected, got a boolean"),
        (float("inf"), "amount is not finite"),
    ],
)
def test_parse_money_refuses_malformed_amounts(raw: object, error: str) -> None:
    assert parse_money(raw) == Parsed(error=error)


@pytest.mark.parametrize("raw", [None, "", "无", "-", "NULL", float("nan")])
def test_parse_money_returns_empty_for_empty(raw: object) -> None:
    assert parse_money(raw) == Parsed()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("-1,234.5", Decimal("-1234.5")), ("３．５", Decimal("3.5")), (7, Decimal("7"))],
)
def test_parse_decimal_reads_plain_numbers(raw: object, expected: Decimal) -> None:
    assert parse_decimal(raw) == Parsed(expected)


@pytest.mark.parametrize(
    ("raw", "error"), [("12元", "malformed number"), ("12%", "malformed number")]
)
def test_parse_decimal_refuses_units(raw: str, error: str) -> None:
    assert parse_decimal(raw) == Parsed(error=error)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("45", Decimal("45")),
        ("45%", Decimal("45")),
        ("45.5％", Decimal("45.5")),
        ("０.４５５", Decimal("0.455")),
        ("0.455", Decimal("0.455")),
        (33.33, Decimal("33.33")),
    ],
)
def test_parse_percent_keeps_the_number_as_written(raw: object, expected: Decimal) -> None:
    assert parse_percent(raw) == Parsed(expected)


@pytest.mark.parametrize(
    ("raw", "error"), [("1/2", "malformed percentage"), ("约45%", "malformed percentage")]
)
def test_parse_percent_refuses_fractions_and_text(raw: str, error: str) -> None:
    assert parse_percent(raw) == Parsed(error=error)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("89.5", Decimal("89.5")),
        ("89.5㎡", Decimal("89.5")),
        ("89.5平方米", Decimal("89.5")),
        ("89.5平米", Decimal("89.5")),
        ("89.5 m²", Decimal("89.5")),
        ("89.5M2", Decimal("89.5")),
        ("1,089.50", Decimal("1089.50")),
    ],
)
def test_parse_area_reads_square_metres(raw: object, expected: Decimal) -> None:
    assert parse_area(raw) == Parsed(expected)


@pytest.mark.parametrize(
    ("raw", "error"), [("-89.5", "area is negative"), ("89.5亩", "malformed area")]
)
def test_parse_area_refuses_negative_and_other_units(raw: str, error: str) -> None:
    assert parse_area(raw) == Parsed(error=error)


# --- booleans and phones ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("是", True),
        ("否", False),
        ("Y", True),
        ("N", False),
        ("y", True),
        ("n", False),
        ("Ｙ", True),
        ("yes", True),
        ("No", False),
        ("1", True),
        ("0", False),
        ("TRUE", True),
        ("false", False),
        (" 是 ", True),
        (1, True),
        (0, False),
        (1.0, True),
        (True, True),
        (False, False),
    ],
)
def test_parse_bool_reads_yes_and_no(raw: object, expected: bool) -> None:
    assert parse_bool(raw) == Parsed(expected)


@pytest.mark.parametrize("raw", ["有", "2", 2, "是的", "匿名"])
def test_parse_bool_refuses_other_values(raw: object) -> None:
    assert parse_bool(raw) == Parsed(error="not a yes/no value")


@pytest.mark.parametrize("raw", [None, "", "无", "-"])
def test_parse_bool_returns_empty_for_empty(raw: object) -> None:
    assert parse_bool(raw) == Parsed()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("0898-66123456", "089866123456"),
        ("（0898）66123456", "089866123456"),
        ("０８９８－６６１２３４５６", "089866123456"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("＋86 13800138000", "+8613800138000"),
        ("电话：13800138000", "13800138000"),
        ("12345", "12345"),
        (13800138000, "13800138000"),
        (13800138000.0, "13800138000"),
    ],
)
def test_parse_phone_keeps_digits_and_leading_plus(raw: object, expected: str) -> None:
    assert parse_phone(raw) == Parsed(expected)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("不详", "phone number has no digits"),
        ("+-()", "phone number has no digits"),
        ("13800138000/13900139000", "phone number has more than 15 digits"),
    ],
)
def test_parse_phone_refuses_values_that_are_not_one_number(raw: str, error: str) -> None:
    assert parse_phone(raw) == Parsed(error=error)


@pytest.mark.parametrize("raw", [None, "", "无", "/"])
def test_parse_phone_returns_empty_for_empty(raw: object) -> None:
    assert parse_phone(raw) == Parsed()


# --- error hygiene ----------------------------------------------------------------------------

# A value that every parser refuses; it must not reappear in the error, which goes to run reports.
_SEALED_VALUE = "举报人秘密ABC"


@pytest.mark.parametrize(
    "parse",
    [
        parse_money,
        parse_decimal,
        parse_percent,
        parse_area,
        parse_bool,
        parse_phone,
        parse_date,
        parse_period,
        parse_region,
    ],
)
def test_errors_do_not_repeat_the_raw_value(parse: Callable[[object], Parsed[object]]) -> None:
    error = parse(_SEALED_VALUE).error
    assert error is not None
    assert "秘密" not in error
