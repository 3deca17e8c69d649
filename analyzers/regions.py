"""行政区划代码: GB/T 2260 codes (6 digits) and township/village statistical codes (9 or 12 digits).

A code's trailing all-zero levels are padding: 460100 is the city 4601, 460106000000 the county
460106. The tier of a record and the prefixes used to filter by region both follow from that.
A level written as a word (a petition's 承办层级: 省, 市级, 县（市、区）, 乡镇...) is read by
``parse_tier``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from analyzers.ids import compact, to_halfwidth
from analyzers.values import Parsed, is_empty, to_text

RegionTier = Literal["省", "市", "县", "乡"]

# GB/T 2260 province-level prefixes, 71 台湾 and 81/82 香港/澳门 included.
_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64"}
    | {"65", "71", "81", "82"}
)
_CODE_LENGTHS = (6, 9, 12)
# Where each level's digits end: province, city, county, township, village.
_LEVEL_ENDS = (2, 4, 6, 9, 12)
# Village codes (12 significant digits) have no tier of their own and count as 乡.
_TIER_BY_DEPTH: dict[int, RegionTier] = {2: "省", 4: "市", 6: "县", 9: "乡", 12: "乡"}


@dataclass(frozen=True, slots=True)
class Region:
    """A region code with the codes of the levels it belongs to; levels below its tier are None.

    ``county`` is the first six digits: for 东莞 441900's townships the city acts as county.
    """

    code: str
    province: str
    city: str | None
    county: str | None
    township: str | None
    tier: RegionTier


def _depth(code: str) -> int:
    """Length of the significant prefix: the end of the deepest level that is not all zeros."""
    depth = _LEVEL_ENDS[0]
    for start, end in pairwise(_LEVEL_ENDS):
        if end <= len(code) and code[start:end].strip("0"):
            depth = end
    return depth


def parse_region(raw: object) -> Parsed[Region]:
    """A 6-, 9- or 12-digit region code and its hierarchy; full-width and spaced digits are fine."""
    if is_empty(raw):
        return Parsed()
    code = compact(to_text(raw))
    if not (code.isascii() and code.isdigit()):
        return Parsed(error="region code must contain only digits")
    if len(code) not in _CODE_LENGTHS:
        return Parsed(error=f"region code must have 6, 9 or 12 digits, not {len(code)}")
    if code[:2] not in _PROVINCES:
        return Parsed(error=f"region code starts with {code[:2]}, which is no province")
    depth = _depth(code)
    return Parsed(
        Region(
            code=code,
            province=code[:2] + "0000",
            city=code[:4] + "00" if depth >= 4 else None,
            county=code[:6] if depth >= 6 else None,
            township=code[:9] if depth >= 9 else None,
            tier=_TIER_BY_DEPTH[depth],
        )
    )


def region_prefixes(code: str) -> list[str]:
    """The significant prefixes of a code, coarsest first, for filtering by region prefix.

    460106001 gives ["46", "4601", "460106", "460106001"]; the city code 460100 gives ["46",
    "4601"], so a city-level record matches a city filter but no county filter. Raises
    ``ValueError`` for an invalid code: callers pass codes that ``parse_region`` accepted.
    """
    parsed = parse_region(code)
    if parsed.value is None:
        raise ValueError(parsed.error or "empty region code")
    depth = _depth(parsed.value.code)
    return [parsed.value.code[:end] for end in _LEVEL_ENDS if end <= depth]


# How exports write an administrative level (承办层级), after full-width folding and without
# spaces; a trailing 级 / 本级 is dropped first (省级 -> 省, 市本级 -> 市).
_TIER_WORDS: dict[str, RegionTier] = {
    "省": "省", "自治区": "省", "直辖市": "省",
    "市": "市", "地市": "市", "地级": "市", "地级市": "市", "州": "市", "盟": "市",
    "县": "县", "区": "县", "县区": "县", "县市区": "县", "县(市、区)": "县", "县(区)": "县",
    "县级市": "县", "旗": "县",
    "乡": "乡", "镇": "乡", "乡镇": "乡", "街道": "乡", "乡(镇)": "乡", "乡镇(街道)": "乡",
    "乡(镇、街道)": "乡",
}  # fmt: skip
_TIER_SUFFIXES = ("本级", "级")


def parse_tier(raw: object) -> Parsed[RegionTier]:
    """An administrative level written as a word (省/市/县/乡 and the usual variants)."""
    if is_empty(raw):
        return Parsed()
    word = "".join(to_halfwidth(to_text(raw)).split())
    for suffix in _TIER_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            word = word[: -len(suffix)]
            break
    tier = _TIER_WORDS.get(word)
    if tier is None:
        return Parsed(error="not an administrative level (省/市/县/乡)")
    return Parsed(tier)
