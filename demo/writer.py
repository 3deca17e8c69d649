"""Write tables as the registries export them: CSV in three encodings, XLSX, JSON Lines.

The files are byte-identical for the same rows: XLSX archives get fixed timestamps (openpyxl
stamps the save time into the ZIP entries and into docProps/core.xml).
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from common.vocab import Source
from demo.table import Cell, Table

_FIXED_TIME = (2024, 12, 31, 0, 0, 0)
_CORE_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


@dataclass(frozen=True, slots=True)
class FileFormat:
    """How one source's file is written."""

    suffix: str
    encoding: str | None = "utf-8"  # None for XLSX
    newline: str | None = "\n"
    title: str | None = None

    def name(self, source: Source) -> str:
        return source.value + self.suffix


def write_table(directory: Path, table: Table, fmt: FileFormat) -> list[int]:
    """Write ``table`` and return, per data row, the line (CSV/JSONL) or sheet row it starts on."""
    path = directory / fmt.name(table.source)
    if fmt.suffix == ".csv":
        return _write_csv(path, table, fmt)
    if fmt.suffix == ".jsonl":
        return _write_jsonl(path, table)
    return _write_xlsx(path, table, fmt)


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, float):
        return f"{cell:g}"
    return cell


def _write_csv(path: Path, table: Table, fmt: FileFormat) -> list[int]:
    lines = []
    line = 2  # the header is line 1
    with path.open("w", encoding=fmt.encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator=fmt.newline or "\n")
        writer.writerow(table.header)
        for row in table.rows:
            cells = [_text(row.values.get(column)) for column in table.header]
            writer.writerow(cells)
            lines.append(line)
            line += 1 + sum(cell.count("\n") for cell in cells)
    return lines


def _write_jsonl(path: Path, table: Table) -> list[int]:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in table.rows:
            record = {column: row.values.get(column) for column in table.header}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return list(range(1, len(table.rows) + 1))


def _write_xlsx(path: Path, table: Table, fmt: FileFormat) -> list[int]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.source.value)
    offset = 1
    if fmt.title:
        sheet.append([fmt.title])
        offset += 1
    sheet.append(table.header)
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, row.values.get(column)) for column in table.header])
    workbook.save(path)
    _freeze_archive(path)
    return [offset + index for index in range(1, len(table.rows) + 1)]


def _xlsx_cell(sheet: object, cell: Cell) -> object:
    if isinstance(cell, datetime):
        written = WriteOnlyCell(sheet, value=cell)
        written.number_format = "yyyy-mm-dd"
        return written
    return cell


def _freeze_archive(path: Path) -> None:
    """Rewrite the XLSX archive with fixed entry times and document dates."""
    with zipfile.ZipFile(path) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = _CORE_TIME.sub(rb"\g<1>2024-12-31T00:00:00Z\g<2>", data)
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
