"""A drop: one folder of registry export files, each mapped to the `Source` it holds.

A file maps to a source by its stem (`household.csv`, `petition.xlsx`, `benefit.jsonl`; case
does not matter), or through an optional `manifest.toml` in the folder, which wins over the stem:

    [files]
    "户籍导出2024.csv" = { source = "household", encoding = "gbk" }
    "企业登记.xlsx" = "company"

Each key is a file name in the folder (no path); the value is a source key, or a table with
`source` and, for a CSV only, `encoding` (any Python codec name; without it the reader detects
UTF-8 or GB18030). A registry that exposes a read-only database table instead of a file is a
`[tables.<name>]` entry with `source`, the SQLAlchemy URL as `url` or, to keep credentials out of
the file, the name of an environment variable holding it as `url_env`, and `table` or `query`:

    [tables."常住人口库"]
    source = "household"
    url_env = "XIANSUO_HOUSEHOLD_DB"
    table = "常住人口"
 A bad manifest fails the whole drop with a message naming the bad entry.
Several files may map to one source. Files that map to none are listed in `Drop.unknown` for the
caller to report. Hidden files, `_`-prefixed metadata (`_truth.json`), Office lock files
(`~$…`) and our own `*.rejects.jsonl` are ignored.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from common.vocab import Source
from indexer.readers import (
    DropError,
    RawRow,
    read_csv,
    read_jsonl,
    read_sql,
    read_xlsx,
    resolve_encoding,
)

MANIFEST_NAME = "manifest.toml"
REJECTS_SUFFIX = ".rejects.jsonl"
SUPPORTED_SUFFIXES = frozenset({".csv", ".xlsx", ".jsonl"})
_IGNORED_PREFIXES = (".", "~$", "_")
_ENTRY_KEYS = frozenset({"source", "encoding"})
_SOURCE_KEYS = tuple(member.value for member in Source)

_TABLE_KEYS = frozenset({"source", "url", "url_env", "table", "query"})

__all__ = ["Drop", "DropError", "DropFile", "DropInput", "DropTable", "discover_drop", "read_file"]


@dataclass(frozen=True, slots=True)
class DropFile:
    """One export file and the source it holds; `encoding` is the manifest's, if it gave one."""

    path: Path
    source: Source
    encoding: str | None = None

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True, slots=True)
class DropTable:
    """A database table (or query) holding a source, declared in the manifest's [tables]."""

    name: str
    source: Source
    url: str
    table: str | None = None
    query: str | None = None


DropInput = DropFile | DropTable


@dataclass(frozen=True, slots=True)
class Drop:
    """The files of a drop folder, by name order, and the entries that map to no source."""

    path: Path
    files: tuple[DropFile, ...]
    unknown: tuple[Path, ...] = ()
    tables: tuple[DropTable, ...] = ()

    def for_source(self, source: Source) -> tuple[DropInput, ...]:
        """The files, then the tables, holding `source`; possibly none."""
        inputs: tuple[DropInput, ...] = (*self.files, *self.tables)
        return tuple(item for item in inputs if item.source is source)


def discover_drop(path: Path) -> Drop:
    """List the files of the drop folder at `path`; raise `DropError` for a bad manifest."""
    if not path.is_dir():
        raise DropError(f"{path}: not a folder")
    manifest_path = path / MANIFEST_NAME
    declared = load_manifest(manifest_path) if manifest_path.is_file() else {}
    tables = load_tables(manifest_path) if manifest_path.is_file() else ()
    files: list[DropFile] = []
    unknown: list[Path] = []
    for entry in sorted(path.iterdir(), key=lambda item: item.name):
        if entry.name in declared:
            source, encoding = declared[entry.name]
            files.append(DropFile(entry, source, encoding))
        elif not _is_ignored(entry.name):
            source_by_stem = _source_by_stem(entry)
            if source_by_stem is None:
                unknown.append(entry)
            else:
                files.append(DropFile(entry, source_by_stem))
    return Drop(path, tuple(files), tuple(unknown), tables)


def load_manifest(manifest_path: Path) -> dict[str, tuple[Source, str | None]]:
    """Parse and validate a manifest: file name -> (source, encoding or None)."""
    try:
        document = tomllib.loads(manifest_path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DropError(f"{manifest_path}: not valid UTF-8 TOML: {exc}") from None
    extra = sorted(set(document) - {"files", "tables"})
    if extra:
        raise DropError(
            f"{manifest_path}: unknown section or key {extra[0]!r}; only [files] and [tables]"
        )
    files = document.get("files", {} if "tables" in document else None)
    if not isinstance(files, dict):
        raise DropError(f"{manifest_path}: a [files] or [tables] table is required")
    return {
        file_name: _parse_entry(manifest_path, file_name, value)
        for file_name, value in files.items()
    }


def _parse_entry(manifest_path: Path, file_name: str, value: object) -> tuple[Source, str | None]:
    where = f"{manifest_path}: entry {file_name!r}"
    entry: Mapping[str, object]
    if isinstance(value, str):
        entry = {"source": value}
    elif isinstance(value, dict):
        entry = value
    else:
        raise DropError(f"{where}: expected a source key or a table, got {type(value).__name__}")
    extra = sorted(set(entry) - _ENTRY_KEYS)
    if extra:
        raise DropError(f"{where}: unknown key {extra[0]!r}; allowed: source, encoding")
    if file_name != Path(file_name).name or file_name in {"", ".", "..", MANIFEST_NAME}:
        raise DropError(f"{where}: must be the name of a file in the drop folder, not a path")
    suffix = Path(file_name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DropError(f"{where}: unsupported file type {suffix!r}; use .csv, .xlsx or .jsonl")
    if not (manifest_path.parent / file_name).is_file():
        raise DropError(f"{where}: no such file in the drop folder")
    source = entry.get("source")
    if source not in _SOURCE_KEYS:
        raise DropError(f"{where}: source {source!r} is not one of {', '.join(_SOURCE_KEYS)}")
    encoding = entry.get("encoding")
    if encoding is not None:
        if not isinstance(encoding, str):
            raise DropError(f"{where}: encoding must be a string")
        if suffix != ".csv":
            raise DropError(f"{where}: an encoding applies to a .csv file only")
        try:
            resolve_encoding(encoding)
        except DropError as exc:
            raise DropError(f"{where}: {exc}") from None
    return Source(str(source)), encoding


def load_tables(manifest_path: Path) -> tuple[DropTable, ...]:
    """The manifest's [tables] entries, validated; credentials may come from the environment."""
    document = tomllib.loads(manifest_path.read_text(encoding="utf-8-sig"))
    tables = document.get("tables", {})
    if not isinstance(tables, dict):
        raise DropError(f"{manifest_path}: [tables] must be a table of tables")
    return tuple(_parse_table(manifest_path, name, value) for name, value in tables.items())


def _parse_table(manifest_path: Path, name: str, value: object) -> DropTable:
    where = f"{manifest_path}: table {name!r}"
    if not isinstance(value, dict):
        raise DropError(f"{where}: expected a table with source, url or url_env, table or query")
    extra = sorted(set(value) - _TABLE_KEYS)
    if extra:
        raise DropError(
            f"{where}: unknown key {extra[0]!r}; allowed: {', '.join(sorted(_TABLE_KEYS))}"
        )
    source = value.get("source")
    if source not in _SOURCE_KEYS:
        raise DropError(f"{where}: source {source!r} is not one of {', '.join(_SOURCE_KEYS)}")
    url, url_env = value.get("url"), value.get("url_env")
    if (url is None) == (url_env is None):
        raise DropError(f"{where}: give exactly one of url and url_env")
    if url_env is not None:
        url = os.environ.get(str(url_env))
        if not url:
            raise DropError(f"{where}: environment variable {url_env} is not set")
    table, query = value.get("table"), value.get("query")
    if (table is None) == (query is None):
        raise DropError(f"{where}: give exactly one of table and query")
    for key, item in (("url", url), ("table", table), ("query", query)):
        if item is not None and not isinstance(item, str):
            raise DropError(f"{where}: {key} must be a string")
    return DropTable(name, Source(str(source)), str(url), table, query)


def read_file(
    drop_file: DropInput, expected_columns: Collection[str] | None = None
) -> Iterator[RawRow]:
    """Read a drop input with its reader; `expected_columns` finds an XLSX header."""
    if isinstance(drop_file, DropTable):
        return read_sql(drop_file.url, drop_file.table, drop_file.query)
    suffix = drop_file.path.suffix.lower()
    if suffix == ".csv":
        return read_csv(drop_file.path, drop_file.encoding)
    if suffix == ".xlsx":
        return read_xlsx(drop_file.path, expected_columns)
    if suffix == ".jsonl":
        return read_jsonl(drop_file.path)
    raise DropError(f"{drop_file.path}: unsupported file type {suffix!r}")


def _is_ignored(name: str) -> bool:
    return (
        name == MANIFEST_NAME or name.startswith(_IGNORED_PREFIXES) or name.endswith(REJECTS_SUFFIX)
    )


def _source_by_stem(entry: Path) -> Source | None:
    if not entry.is_file() or entry.suffix.lower() not in SUPPORTED_SUFFIXES:
        return None
    try:
        return Source(entry.stem.lower())
    except ValueError:
        return None
