"""A drop: one folder of registry export files, each mapped to the `Source` it holds.

A file maps to a source by its stem (`household.csv`, `petition.xlsx`, `benefit.jsonl`; case
does not matter), or through an optional `manifest.toml` in the folder, which wins over the stem:

    [files]
    "户籍导出2024.csv" = { source = "household", encoding = "gbk" }
    "企业登记.xlsx" = "company"

Each key is a file name in the folder (no path); the value is a source key, or a table with
`source` and, for a CSV only, `encoding` (any Python codec name; without it the reader detects
UTF-8 or GB18030). A bad manifest fails the whole drop with a message naming the bad entry.
Several files may map to one source. Files that map to none are listed in `Drop.unknown` for the
caller to report. Hidden files, `_`-prefixed metadata (`_truth.json`), Office lock files
(`~$…`) and our own `*.rejects.jsonl` are ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from common.vocab import Source
from indexer.readers import DropError, RawRow, read_csv, read_jsonl, read_xlsx, resolve_encoding

MANIFEST_NAME = "manifest.toml"
REJECTS_SUFFIX = ".rejects.jsonl"
SUPPORTED_SUFFIXES = frozenset({".csv", ".xlsx", ".jsonl"})
_IGNORED_PREFIXES = (".", "~$", "_")
_ENTRY_KEYS = frozenset({"source", "encoding"})
_SOURCE_KEYS = tuple(member.value for member in Source)

__all__ = ["Drop", "DropError", "DropFile", "discover_drop", "read_file"]


@dataclass(frozen=True, slots=True)
class DropFile:
    """One export file and the source it holds; `encoding` is the manifest's, if it gave one."""

    path: Path
    source: Source
    encoding: str | None = None


@dataclass(frozen=True, slots=True)
class Drop:
    """The files of a drop folder, by name order, and the entries that map to no source."""

    path: Path
    files: tuple[DropFile, ...]
    unknown: tuple[Path, ...] = ()

    def for_source(self, source: Source) -> tuple[DropFile, ...]:
        """The files holding `source`, possibly none."""
        return tuple(drop_file for drop_file in self.files if drop_file.source is source)


def discover_drop(path: Path) -> Drop:
    """List the files of the drop folder at `path`; raise `DropError` for a bad manifest."""
    if not path.is_dir():
        raise DropError(f"{path}: not a folder")
    manifest_path = path / MANIFEST_NAME
    declared = load_manifest(manifest_path) if manifest_path.is_file() else {}
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
    return Drop(path, tuple(files), tuple(unknown))


def load_manifest(manifest_path: Path) -> dict[str, tuple[Source, str | None]]:
    """Parse and validate a manifest: file name -> (source, encoding or None)."""
    try:
        document = tomllib.loads(manifest_path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DropError(f"{manifest_path}: not valid UTF-8 TOML: {exc}") from None
    extra = sorted(set(document) - {"files"})
    if extra:
        raise DropError(f"{manifest_path}: unknown section or key {extra[0]!r}; only [files]")
    files = document.get("files")
    if not isinstance(files, dict):
        raise DropError(f"{manifest_path}: a [files] table is required")
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


def read_file(
    drop_file: DropFile, expected_columns: Collection[str] | None = None
) -> Iterator[RawRow]:
    """Read a drop file with the reader for its suffix; `expected_columns` finds an XLSX header."""
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
