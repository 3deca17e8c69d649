"""JSONL exports: one UTF-8 JSON object per line, keyed by the same Chinese names as the CSV header.

A rejects file that a person has fixed is fed back through this reader: its `_reject` key (the
reason and origin our pipeline wrote) is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import orjson

from indexer.readers.base import (
    RawRow,
    has_undecodable,
    name_columns,
    render_cell,
    replace_undecodable,
)

REJECT_KEY = "_reject"
_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


def read_jsonl(path: Path | str) -> Iterator[RawRow]:
    """Yield one `RawRow` per non-blank line; a line that is not a JSON object gets `error`."""
    name = str(path)
    keys: tuple[str, ...] = ()
    names: list[str] = []
    clean = True
    # Split on "\n" only: a lone "\r" or U+2028 is no line break in JSONL.
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="\n") as stream:
        for number, line in enumerate(stream, start=1):
            raw = line.rstrip("\r\n")
            if not raw.strip():
                continue
            if has_undecodable(raw):
                raw = replace_undecodable(raw)
                yield RawRow(name, number, {}, raw, "bytes that are not valid UTF-8")
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                # The standard parser reads what orjson refuses (integers past 64 bits) and
                # words its errors the way people know them.
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError as exc:
                    error = f"invalid JSON: {exc.msg} (column {exc.colno})"
                    yield RawRow(name, number, {}, raw, error)
                    continue
            if not isinstance(record, dict):
                kind = _JSON_TYPES.get(type(record), "null")
                yield RawRow(name, number, {}, raw, f"a JSON {kind} where an object is expected")
                continue
            record.pop(REJECT_KEY, None)
            if tuple(record) != keys:  # most files repeat one key order: clean it once
                keys = tuple(record)
                names = name_columns(keys)
                clean = list(keys) == names
            values: dict[str, object] = (
                record if clean else dict(zip(names, record.values(), strict=True))
            )
            for key, value in values.items():
                if type(value) is not str:
                    values[key] = _json_value(value)  # same key: the dict does not change size
            yield RawRow(name, number, values, raw)


def _json_value(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return render_cell(value)
