"""CSV exports: RFC 4180 (quoted commas and newlines, CRLF), UTF-8 with or without BOM, or GB18030.

The encoding is detected from the bytes, never assumed and never left to a statistical guesser:
a UTF-8 BOM means UTF-8; otherwise the file (up to a 4 MiB prefix) is decoded as UTF-8. If that
is strict UTF-8, the file is UTF-8; if most non-ASCII bytes fail, it is GB18030 (a superset of GBK
and GB2312); if a few bytes fail among many valid characters, it is damaged UTF-8. Bytes that do
not decode in the chosen encoding make their row an error row; the other rows read normally.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

from indexer.readers.base import (
    DropError,
    RawRow,
    has_undecodable,
    name_columns,
    replace_undecodable,
)

UTF8 = "utf-8-sig"  # also reads UTF-8 without BOM
GB18030 = "gb18030"
UTF16 = "utf-16"

# The decision reads at least this much (more if it is all ASCII): enough for thousands of rows.
_SAMPLE_BYTES = 4 << 20
_CHUNK_BYTES = 1 << 20
# GB18030 text read as UTF-8 yields about one valid multi-byte character per five to ten bad
# bytes (measured on the sample drop); damaged UTF-8 has many valid characters per bad byte.
_MIN_GOOD_PER_BAD = 2
_NON_ASCII = bytes(range(0x80, 0x100))
# Encodings a manifest may name that are read with a superset codec.
_SUPERSETS = {"utf-8": UTF8, "gbk": GB18030, "gb2312": GB18030, "gb18030": GB18030}


def resolve_encoding(name: str) -> str:
    """The codec to read a file declared as `name` (gbk -> gb18030, utf-8 -> utf-8-sig)."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        raise DropError(f"unknown encoding {name!r}") from None
    return _SUPERSETS.get(canonical, canonical)


def detect_encoding(path: Path | str) -> str:
    """Return "utf-8-sig", "gb18030" or "utf-16" for a CSV file, from its bytes."""
    with open(path, "rb") as stream:
        head = stream.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return UTF8
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return UTF16
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        read = ascii_bytes = chars = bad = 0
        while chunk := stream.read(_CHUNK_BYTES):
            read += len(chunk)
            ascii_bytes += len(chunk.translate(None, _NON_ASCII))
            text = decoder.decode(chunk)
            chars += len(text)
            bad += _count_undecodable(text)
            if read >= _SAMPLE_BYTES and read > ascii_bytes:
                break
        else:
            text = decoder.decode(b"", final=True)
            chars += len(text)
            bad += _count_undecodable(text)
    good = chars - ascii_bytes - bad  # valid multi-byte characters (one may be pending)
    return UTF8 if good >= bad * _MIN_GOOD_PER_BAD else GB18030


def _count_undecodable(text: str) -> int:
    # Each undecodable byte became one lone surrogate, which UTF-8 cannot encode.
    return len(text) - len(text.encode("utf-8", "ignore").decode("utf-8"))


def read_csv(path: Path | str, encoding: str | None = None) -> Iterator[RawRow]:
    """Yield one `RawRow` per record of a CSV file; raise `DropError` if it has no header.

    `encoding` (from a manifest) overrides detection. Blank records and records whose fields
    are all empty are skipped. Values are the field texts, unchanged.
    """
    name = str(path)
    codec = resolve_encoding(encoding) if encoding else detect_encoding(path)
    with open(path, encoding=codec, errors="surrogateescape", newline="") as stream:
        consumed: list[str] = []

        def tap() -> Iterator[str]:
            # csv.reader pulls exactly the physical lines of one record per step, no more.
            for physical in stream:
                consumed.append(physical)
                yield physical

        reader = csv.reader(tap(), strict=True)
        header = _read_header(reader, consumed, name, codec)
        width = len(header)
        previous = reader.line_num
        while True:
            try:
                for fields in reader:
                    start, previous = previous + 1, reader.line_num
                    raw = _record_text(consumed)
                    consumed.clear()
                    if not any(fields):
                        continue
                    error = None
                    if len(fields) != width:
                        error = f"{len(fields)} fields where the header has {width}"
                    values: dict[str, object] = dict(zip(header, fields, strict=False))
                    if has_undecodable(raw):
                        error = _join(error, f"bytes that are not valid {_display(codec)}")
                        raw = replace_undecodable(raw)
                        values = {k: replace_undecodable(str(v)) for k, v in values.items()}
                    yield RawRow(name, start, values, raw, error)
                break
            except csv.Error as exc:
                start, previous = previous + 1, reader.line_num
                raw = replace_undecodable(_record_text(consumed))
                consumed.clear()
                yield RawRow(name, start, {}, raw, _describe(exc))


def _read_header(
    reader: Iterator[list[str]], consumed: list[str], name: str, codec: str
) -> list[str]:
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                text = _record_text(consumed)
                if has_undecodable(text):
                    raise DropError(f"{name}: the header line is not valid {_display(codec)}")
                consumed.clear()
                return name_columns(fields)
            consumed.clear()
    except csv.Error as exc:
        raise DropError(f"{name}: unreadable header line: {exc}") from None
    raise DropError(f"{name}: no header line (the file holds no non-empty record)")


def _record_text(lines: list[str]) -> str:
    """The record's original text, without the line break that ends it."""
    text = lines[0] if len(lines) == 1 else "".join(lines)
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith(("\n", "\r")):
        return text[:-1]
    return text


def _describe(exc: csv.Error) -> str:
    if str(exc) == "unexpected end of data":
        return "malformed CSV record: a quoted field is not closed before the end of the file"
    return f"malformed CSV record: {exc}"


def _display(codec: str) -> str:
    return "UTF-8" if codec == UTF8 else codec.upper()


def _join(first: str | None, second: str) -> str:
    return second if first is None else f"{first}; {second}"
