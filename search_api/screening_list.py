"""The list of a screening (名单筛查), read from the uploaded bytes and never written anywhere.

A list is an XLSX workbook (its first sheet) or a CSV file: UTF-8 with or without BOM, UTF-16
with BOM, or GB18030, decided from the bytes as the ingest's CSV reader decides (a BOM names the
encoding; strict UTF-8 is UTF-8; anything else must decode as GB18030). The ingest's readers
work on files of a drop; ``search_api`` may not import ``indexer``, and an upload must not touch
the disk, so this module reads bytes in memory.

The header is the first row (of the first three non-empty ones, in a workbook with a title row)
that holds 姓名. Accepted headers (``HEADERS``): 姓名; 身份证号 / 身份证号码 / 公民身份号码 /
证件号码; 单位 / 工作单位; 出生日期; 行政区划代码 / 区划代码 / 户籍地区划代码. Other columns
are ignored.

Each data row becomes a `ListRow`: an error (无法读取) when a value cannot be read (empty name,
an ID number with a wrong check character, a date that is not one, a region code that is not
digits), else its normalised keys and its kind. Whether the keys suffice to match is the
resolution's rule (search_api.models.screening). Pure: no engine, no store.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from analyzers.dates import parse_date
from analyzers.ids import normalise_person_id
from analyzers.values import is_empty
from common.errors import DomainError, InvalidInputError


class ListColumn(StrEnum):
    """What a column of the list holds."""

    NAME = "name"
    ID_NUMBER = "id_number"
    UNIT = "unit"
    BIRTH_DATE = "birth_date"
    REGION = "region"


HEADERS: dict[str, ListColumn] = {
    "姓名": ListColumn.NAME,
    "身份证号": ListColumn.ID_NUMBER,
    "身份证号码": ListColumn.ID_NUMBER,
    "公民身份号码": ListColumn.ID_NUMBER,
    "证件号码": ListColumn.ID_NUMBER,
    "单位": ListColumn.UNIT,
    "工作单位": ListColumn.UNIT,
    "出生日期": ListColumn.BIRTH_DATE,
    "行政区划代码": ListColumn.REGION,
    "区划代码": ListColumn.REGION,
    "户籍地区划代码": ListColumn.REGION,
}
"""The Chinese headers a list may use, and what each column holds (docs/screening.md)."""

TEMPLATE_HEADER = ("姓名", "身份证号", "工作单位", "出生日期", "行政区划代码")
XLSX_MAGIC = b"PK\x03\x04"
# A workbook's title rows before the header; and the columns read (a row wider is cut).
HEADER_SEARCH_ROWS = 3
MAX_COLUMNS = 32
MAX_CELL_CHARS = 200
# What a workbook may unpack to: a 1 MiB list of 20,000 rows unpacks to a few MiB of XML.
MAX_UNPACKED_BYTES = 64 << 20
_REGION = re.compile(r"\d{6,12}", re.ASCII)
_HEADER_SPACES = re.compile(r"[\s\u3000\ufeff*＊:：]+")


class ListUnreadableError(InvalidInputError):
    """The upload is not a list this service reads (no 姓名 column, not CSV or XLSX): 422."""


class ListTooLongError(DomainError):
    """The list holds more rows than the service screens at once (or more bytes): 413."""

    status = 413


class RowKind(StrEnum):
    """The identifiers a readable row carries (the strongest first)."""

    ID_NUMBER = "id_number"  # name + ID number: the person key, exact
    UNIT = "unit"  # name + unit
    BIRTH_DATE = "birth_date"  # name + birth date (+ region)
    NAME_ONLY = "name_only"  # nothing beside the name: never matched


@dataclass(frozen=True, slots=True)
class ListRow:
    """One data row: its number as a spreadsheet shows it (the header is row 1 of a CSV), its
    keys, normalised, or the reason it cannot be read."""

    row: int
    name: str = ""
    id_number: str | None = None
    unit: str | None = None
    birth_date: date | None = None
    region: str | None = None
    error: str | None = None

    @property
    def kind(self) -> RowKind:
        if self.id_number:
            return RowKind.ID_NUMBER
        if self.unit:
            return RowKind.UNIT
        if self.birth_date:
            return RowKind.BIRTH_DATE
        return RowKind.NAME_ONLY


@dataclass(frozen=True, slots=True)
class ScreeningList:
    """What was read: the rows, the format and which known columns the header had."""

    rows: tuple[ListRow, ...]
    format: str  # csv / xlsx
    columns: tuple[ListColumn, ...]


def read_list(content: bytes, max_rows: int) -> ScreeningList:
    """The rows of an uploaded list; `ListUnreadableError` (422) when it is not one,
    `ListTooLongError` (413) when it holds more than ``max_rows`` data rows."""
    if not content.strip():
        raise ListUnreadableError("the list is empty")
    if content.startswith(XLSX_MAGIC):
        fmt, raw_rows = "xlsx", _xlsx_rows(content)
    else:
        fmt, raw_rows = "csv", _csv_rows(content)
    header: dict[int, ListColumn] | None = None
    rows: list[ListRow] = []
    seen = 0
    for number, cells in raw_rows:
        if all(_text(c) == "" for c in cells):
            continue
        if header is None:
            header = _header(cells)
            seen += 1
            if header is None and seen >= HEADER_SEARCH_ROWS:
                break
            continue
        if len(rows) >= max_rows:
            raise ListTooLongError(f"a list may hold at most {max_rows} rows")
        rows.append(read_row(number, {column: cells[i] for i, column in header.items()
                                      if i < len(cells)}))  # fmt: skip
    if header is None:
        raise ListUnreadableError("the list has no header row with a 姓名 column")
    return ScreeningList(tuple(rows), fmt, tuple(sorted(set(header.values()))))


def read_row(number: int, cells: dict[ListColumn, object]) -> ListRow:
    """One row's keys, normalised, or the first reason it cannot be read."""
    name = _text(cells.get(ListColumn.NAME))
    if not name:
        return ListRow(number, error="姓名为空")
    if len(name) > MAX_CELL_CHARS:
        return ListRow(number, error="姓名过长")
    raw_id = _text(cells.get(ListColumn.ID_NUMBER))
    id_number = None
    if raw_id:
        checked = normalise_person_id(raw_id)
        if checked.value is None:
            return ListRow(number, name, error=f"身份证号无效（{checked.error}）")
        id_number = checked.value
    birth = None
    raw_birth = cells.get(ListColumn.BIRTH_DATE)
    if not is_empty(raw_birth):
        parsed = parse_date(raw_birth)
        if parsed.value is None:
            return ListRow(number, name, error=f"出生日期无法识别（{parsed.error}）")
        birth = parsed.value
    region = _text(cells.get(ListColumn.REGION)) or None
    if region is not None and not _REGION.fullmatch(region):
        return ListRow(number, name, error="行政区划代码应为6至12位数字")
    unit = _text(cells.get(ListColumn.UNIT))[:MAX_CELL_CHARS] or None
    return ListRow(number, name, id_number, unit, birth, region)


def template_csv() -> bytes:
    """The template a user fills in: the accepted headers and no rows (UTF-8 with BOM, which
    spreadsheet programs open as UTF-8)."""
    return codecs.BOM_UTF8 + (",".join(TEMPLATE_HEADER) + "\r\n").encode("utf-8")


def _header(cells: list[object]) -> dict[int, ListColumn] | None:
    found: dict[int, ListColumn] = {}
    for index, cell in enumerate(cells):
        column = HEADERS.get(_HEADER_SPACES.sub("", _text(cell)))
        if column is not None and column not in found.values():
            found[index] = column
    return found if ListColumn.NAME in found.values() else None


def _text(value: object) -> str:
    """A cell as text, stripped; numbers as a spreadsheet shows them; dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().strip("\ufeff").strip()


def _decode(content: bytes) -> str:
    """The CSV's text: a BOM names the encoding; strict UTF-8 is UTF-8; else GB18030."""
    encodings: tuple[str, ...]
    if content.startswith(codecs.BOM_UTF8):
        encodings = ("utf-8-sig",)
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ListUnreadableError("the list is neither UTF-8 nor GB18030 text, nor an XLSX workbook")


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[object]]]:
    text = _decode(content)
    if "\x00" in text:
        raise ListUnreadableError("the list is not a CSV text file")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for number, fields in enumerate(reader, start=1):
            yield number, list(fields[:MAX_COLUMNS])
    except csv.Error as exc:
        raise ListUnreadableError(f"the list is not valid CSV: {exc}") from None


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[object]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ListUnreadableError(f"the list is not a readable XLSX workbook ({exc})") from None
    if unpacked > MAX_UNPACKED_BYTES:  # a small upload may unpack to gigabytes of XML
        raise ListUnreadableError("the workbook unpacks to more than a list of this size can")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ListUnreadableError(f"the list is not a readable XLSX workbook ({exc})") from None
    try:
        if not workbook.worksheets:
            raise ListUnreadableError("the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        for number, cells in enumerate(rows, start=1):
            yield number, list(cells)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ListUnreadableError(f"the list is not a readable XLSX workbook ({exc})") from None
    finally:
        workbook.close()
