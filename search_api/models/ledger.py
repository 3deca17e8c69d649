"""The clue ledger (线索台账): search hits as rows, written as CSV or XLSX (pure, no engine).

Rows are built from a fixed list of columns, never from the whole record: a field that is not
listed (a complainant field, were one ever stored) cannot reach a ledger. ID numbers are masked
and every free-text cell (names, units, posts, the content excerpt) passes through `mask_text`
unless the application grants unmasking; the excerpt is masked before it is cut, so the cut
never leaves part of a number behind. The record id is the server's pseudonym of the engine's
id (search_api.handles). Cells that a spreadsheet would run as a formula (= + - @ and control
characters first) are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from common.vocab import Source
from registry.fields import ColumnField, Envelope
from registry.sources import load_sources
from search_api.masking import mask_id, mask_text

# Most rows in one export, whatever the application's result cap (which also bounds it): a
# ledger is a working list for a team, not a copy of the registry.
EXPORT_ROW_CAP = 500
# Longest content excerpt in a row (characters); the full text stays behind the gate.
EXCERPT_CHARS = 200
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class LedgerFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    LedgerFormat.CSV: "text/csv; charset=utf-8",
    LedgerFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True, slots=True)
class LedgerContext:
    unmask: bool

    def text(self, value: str) -> str:
        return value if self.unmask else mask_text(value)


def _join(values: Any) -> str:
    if isinstance(values, list):
        return "；".join(str(v) for v in values if v not in (None, ""))
    return "" if values is None else str(values)


def _ids(source: dict[str, Any], ctx: LedgerContext) -> str:
    numbers = [str(n) for n in source.get(Envelope.PERSONS, [])]
    return _join(numbers if ctx.unmask else [mask_id(n) for n in numbers])


def _excerpt(source: dict[str, Any], ctx: LedgerContext) -> str:
    return ctx.text(
        str(source.get(ColumnField.CONTENT) or source.get(ColumnField.BUSINESS_SCOPE) or "")
    )[:EXCERPT_CHARS]


def _posts(source: dict[str, Any], ctx: LedgerContext) -> str:
    posts = [source[ColumnField.POST]] if source.get(ColumnField.POST) else []
    posts += [
        r[ColumnField.POST] for r in source.get(ColumnField.REPORTED, []) if r.get(ColumnField.POST)
    ]
    return ctx.text(_join(posts))


def _label(source: dict[str, Any], _ctx: LedgerContext) -> str:
    return load_sources()[Source(source[Envelope.SOURCE])].label


def _field(name: str) -> Callable[[dict[str, Any], LedgerContext], str]:
    return lambda source, _ctx: _join(source.get(name))


def _text(name: str) -> Callable[[dict[str, Any], LedgerContext], str]:
    """A free-text column: masked by shape unless the application unmasks."""
    return lambda source, ctx: ctx.text(_join(source.get(name)))


# (header, value of a hit's _source); the record id is added first.
COLUMNS: tuple[tuple[str, Callable[[dict[str, Any], LedgerContext], str]], ...] = (
    # The level of the handling body (the clue's tier), then the tier of the record's region.
    ("承办层级", _field(ColumnField.HANDLING_TIER)),
    ("承办单位", _text(ColumnField.HANDLING_UNIT)),
    ("属地层级", _field(Envelope.TIER)),  # 问题属地
    ("来源", _label),
    ("信访件编号", _field(ColumnField.PETITION_NO)),
    ("登记日期", _field(Envelope.RECORD_DATE)),
    ("行政区划代码", _field(ColumnField.REGION_CODE)),
    ("类别", _text(ColumnField.CATEGORY)),
    ("涉及人员", _text(Envelope.NAMES)),
    ("证件号码", _ids),
    ("涉及单位", _text(Envelope.ORGS)),
    ("职务", _posts),
    ("办理状态", _field(ColumnField.STATUS)),
    ("内容摘要", _excerpt),
)
HEADER = ("序号", "记录标识", *(name for name, _ in COLUMNS))


def safe_cell(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (an apostrophe before = + - @ ...)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def ledger_rows(
    hits: Sequence[dict[str, Any]], *, unmask: bool, record_id: Callable[[str], str]
) -> list[list[str]]:
    """One row per hit (``_id`` and ``_source``), header first; ``record_id`` gives the id a
    row shows for the engine's (search_api.handles)."""
    ctx = LedgerContext(unmask)
    rows = [list(HEADER)]
    for number, hit in enumerate(hits, start=1):
        source = hit["_source"]
        cells = [value(source, ctx) for _, value in COLUMNS]
        rows.append([str(number), record_id(hit["_id"]), *(safe_cell(c) for c in cells)])
    return rows


def write_csv(rows: list[list[str]]) -> bytes:
    """UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese right."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(rows: list[list[str]], title: str = "线索台账") -> bytes:
    """One sheet, every cell a string (no formulas, no type guessing)."""
    from openpyxl import Workbook  # imported on use: only exports need it
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for row in rows:  # XML 1.0 cannot hold most control characters: they are dropped
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_ledger(rows: list[list[str]], fmt: LedgerFormat) -> bytes:
    return write_csv(rows) if fmt is LedgerFormat.CSV else write_xlsx(rows)
