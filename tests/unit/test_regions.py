"""行政区划代码 parsing: hierarchy, tier and filter prefixes."""

from __future__ import annotations

from typing import get_args

import pytest

from analyzers.regions import Region, RegionTier, parse_region, parse_tier, region_prefixes
from analyzers.values import Parsed
from common.vocab import Tier


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("460000", Region("460000", "460000", None, None, None, "省")),
        ("460100", Region("460100", "460000", "460100", None, None, "市")),
        ("460106", Region("460106", "460000", "460100", "460106", None, "县")),
        ("460106001", Region("460106001", "460000", "460100", "460106", "460106001", "乡")),
        (
            "460106001001",
            Region("460106001001", "460000", "460100", "460106", "460106001", "乡"),
        ),
        ("460106000000", Region("460106000000", "460000", "460100", "460106", None, "县")),
        ("460100000", Region("460100000", "460000", "460100", None, None, "市")),
        ("441900003", Region("441900003", "440000", "441900", "441900", "441900003", "乡")),
        ("469002", Region("469002", "460000", "469000", "469002", None, "县")),
    ],
)
def test_parse_region_derives_hierarchy_and_tier(raw: str, expected: Region) -> None:
    assert parse_region(raw) == Parsed(expected)


@pytest.mark.parametrize(
    "raw", ["４６０１０６", " 460106 ", "460 106", "\u3000460106", 460106, 460106.0]
)
def test_parse_region_normalises_the_code(raw: object) -> None:
    assert parse_region(raw) == Parsed(Region("460106", "460000", "460100", "460106", None, "县"))


def test_parse_region_reads_a_twelve_digit_spreadsheet_number() -> None:
    assert parse_region(460106001001.0).value == Region(
        "460106001001", "460000", "460100", "460106", "460106001", "乡"
    )


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("46a106", "region code must contain only digits"),
        ("海口市", "region code must contain only digits"),
        ("-460106", "region code must contain only digits"),
        ("４６０１０６Ｘ", "region code must contain only digits"),
        ("46010", "region code must have 6, 9 or 12 digits, not 5"),
        ("4601060", "region code must have 6, 9 or 12 digits, not 7"),
        ("4601060010", "region code must have 6, 9 or 12 digits, not 10"),
        ("4601060010011", "region code must have 6, 9 or 12 digits, not 13"),
        ("000000", "region code starts with 00, which is no province"),
        ("990106", "region code starts with 99, which is no province"),
    ],
)
def test_parse_region_refuses_invalid_codes(raw: str, error: str) -> None:
    assert parse_region(raw) == Parsed(error=error)


@pytest.mark.parametrize("raw", [None, "", "无", "-", float("nan")])
def test_parse_region_returns_empty_for_empty(raw: object) -> None:
    assert parse_region(raw) == Parsed()


def test_region_tiers_are_the_vocabulary_tiers() -> None:
    assert set(get_args(RegionTier)) == {tier.value for tier in Tier}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("460000", ["46"]),
        ("460100", ["46", "4601"]),
        ("460106", ["46", "4601", "460106"]),
        ("460106001", ["46", "4601", "460106", "460106001"]),
        ("460106001001", ["46", "4601", "460106", "460106001", "460106001001"]),
        ("460106000000", ["46", "4601", "460106"]),
        ("441900003", ["44", "4419", "441900", "441900003"]),
    ],
)
def test_region_prefixes_lists_significant_prefixes(code: str, expected: list[str]) -> None:
    assert region_prefixes(code) == expected


@pytest.mark.parametrize(
    ("code", "message"),
    [("46010", "must have 6, 9 or 12 digits"), ("", "empty region code")],
)
def test_region_prefixes_refuses_invalid_codes(code: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        region_prefixes(code)


@pytest.mark.parametrize(
    ("raw", "tier"),
    [
        ("省", "省"), ("省级", "省"), ("省本级", "省"), (" 省 ", "省"),
        ("市", "市"), ("市级", "市"), ("地市级", "市"), ("州", "市"),
        ("县", "县"), ("县级", "县"), ("区", "县"), ("县（市、区）", "县"), ("县级市", "县"),
        ("乡", "乡"), ("乡镇", "乡"), ("镇", "乡"), ("街道", "乡"), ("乡镇级", "乡"),
    ],
)  # fmt: skip
def test_parse_tier_reads_the_ways_exports_write_a_level(raw: str, tier: str) -> None:
    assert parse_tier(raw) == Parsed(tier)


@pytest.mark.parametrize("raw", ["村", "中央", "级", "省市", "460106", "3"])
def test_parse_tier_refuses_what_is_no_level(raw: str) -> None:
    assert parse_tier(raw) == Parsed(error="not an administrative level (省/市/县/乡)")


@pytest.mark.parametrize("raw", [None, "", "无", "（空）"])
def test_parse_tier_returns_empty_for_empty(raw: object) -> None:
    assert parse_tier(raw) == Parsed()
