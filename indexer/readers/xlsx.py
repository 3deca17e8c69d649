"""XLSX exports: the first sheet, whose header row may follow one title row.

Typed cells become what a person sees in Excel (see `render_cell`), except real date cells,
which stay `date` (or `datetime` when they carry a time of day) for the date parser.
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from indexer.readers.base import (
    DropError,
    RawRow,
    clean_header_name,
    name_columns,
    render_cell,
    render_raw,
)

# A title row (or two) may come before the header; a header further down is not one.
HEADER_SEARCH_ROWS = 3
# A row is taken for the header when it holds this many of the expected column names.
HEADER_MIN_MATCHES = 2


def read_xlsx(
    path: Path | str, expected_columns: Collection[str] | None = None
) -> Iterator[RawRow]:
    """Yield one `RawRow` per non-empty row after the header of the first sheet.

    The header is the first of the first three non-empty rows holding at least two of
    `expected_columns`, or, without them, the first row with more than one non-empty cell.
    A value in a column right of the header is kept under the name 第N列.
    Raise `DropError` if the file is not an xlsx workbook or no header is found.
    """
    name = str(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DropError(f"{name}: not a readable xlsx workbook ({exc})") from None
    try:
        if not workbook.worksheets:
            raise DropError(f"{name}: the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        # Exporters often write a wrong <dimension>; without it openpyxl reads every cell.
        sheet.reset_dimensions()
        rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        header = _find_header(rows, expected_columns, name)
        for number, cells in rows:
            if all(cell is None or cell == "" for cell in cells):
                continue
            values = _row_values(header, cells)
            yield RawRow(name, number, values, render_raw(values))
    finally:
        workbook.close()


def _find_header(
    rows: Iterator[tuple[int, tuple[object, ...]]],
    expected_columns: Collection[str] | None,
    name: str,
) -> list[str]:
    expected = {clean_header_name(column) for column in expected_columns or ()}
    seen = 0
    for _, cells in rows:
        texts = [clean_header_name(str(cell)) for cell in cells if cell is not None]
        texts = [text for text in texts if text]
        if not texts:
            continue
        if expected_columns is None:
            is_header = len(texts) > 1
        else:
            is_header = len(expected.intersection(texts)) >= HEADER_MIN_MATCHES
        if is_header:
            return name_columns(_trim(cells))
        seen += 1
        if seen == HEADER_SEARCH_ROWS:
            break
    wanted = "at least two expected column names" if expected_columns else "two or more cells"
    raise DropError(f"{name}: no header row ({wanted}) in the first {HEADER_SEARCH_ROWS} rows")


def _trim(cells: Sequence[object]) -> Sequence[object]:
    """The header cells up to the last non-empty one."""
    end = len(cells)
    while end and (cells[end - 1] is None or str(cells[end - 1]).strip() == ""):
        end -= 1
    return cells[:end]


def _row_values(header: list[str], cells: Sequence[object]) -> dict[str, object]:
    values: dict[str, object] = {}
    for position, cell in enumerate(cells):
        if position < len(header):
            key = header[position]
        elif cell is None or cell == "":
            continue
        else:
            key = f"第{position + 1}列"
        values[key] = _excel_cell(cell)
    for key in header[len(cells) :]:  # a row shorter than the header: trailing cells are empty
        values[key] = ""
    return values


def _excel_cell(cell: object) -> object:
    # Excel has one date type: a date cell without a time of day is a date.
    if isinstance(cell, datetime) and cell.tzinfo is None and cell.time() == datetime.min.time():
        return cell.date()
    return render_cell(cell)
