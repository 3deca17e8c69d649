"""Readers: each export file or table of a drop as `RawRow`s, one per record.

A bad record is yielded with `error` set; only an input that cannot be read at all raises
`DropError`.
"""

from indexer.readers.base import DropError, RawRow
from indexer.readers.csvfile import detect_encoding, read_csv, resolve_encoding
from indexer.readers.jsonl import read_jsonl
from indexer.readers.sql import read_sql
from indexer.readers.xlsx import read_xlsx

__all__ = [
    "DropError",
    "RawRow",
    "detect_encoding",
    "read_csv",
    "read_jsonl",
    "read_sql",
    "read_xlsx",
    "resolve_encoding",
]
