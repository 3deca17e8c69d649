"""A map from document id to a small value whose memory does not grow with the number of ids.

The ingest remembers something per record of the source it loads (which file's row holds each
record, what each record's digest was before the run: ``indexer.reports``), and a source may
hold tens of millions of records. ``SpillMap`` keeps up to ``cap`` entries in a dict, as fast as
one; past the cap it moves them all, in one ``executemany``, into a scratch SQLite file made then
(in the system's temporary folder, ``TMPDIR``) and deleted by ``close``. Lookups read the dict,
then the file; a write always goes to the dict, so the dict's value of an id is its latest.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Final, Generic, TypeVar, cast

from common.settings import INGEST_MEMORY_IDS

# Entries held in memory before they go to the scratch file: the deployment's default.
SPILL_CAP: Final = INGEST_MEMORY_IDS
SPILL_FILE = "spill.sqlite"
# Pages SQLite caches for the scratch file (negative: KiB), bounded whatever its size.
SPILL_CACHE_KIB = 8 * 1024
# Bits of the filter that tells which ids may be in the scratch file (2**27 bits: 16 MiB,
# fixed): most lookups past the cap are of new ids, answered without SQLite. Two bits per id
# from one hash: about 0.02% false positives at 1M spilled ids, 2% at 10M (a false positive
# costs one SQLite read, never a wrong answer).
FILTER_BITS_LOG2 = 27
_FILTER_MASK = (1 << FILTER_BITS_LOG2) - 1
_SECOND_HASH_SHIFT = 32

Stored = int | str | bytes | None  # what one SQLite column holds
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Codec(Generic[V]):
    """How a value goes into the scratch file's one value column and comes back."""

    decode: Callable[[Stored], V]
    encode: Callable[[V], Stored] | None = None  # None: the value is stored as it is


def _as_int(value: Stored) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an int in the spill file, found {type(value).__name__}")
    return value


def _as_text(value: Stored) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"expected text in the spill file, found {type(value).__name__}")
    return value


INT_CODEC: Final[Codec[int]] = Codec(decode=_as_int)
TEXT_CODEC: Final[Codec[str | None]] = Codec(decode=_as_text)

_ABSENT: Final = object()


class SpillMap(Generic[V]):
    """A dict of ``str`` ids to values of one type, at most ``cap`` of them in memory.

    Iteration yields every id once with its latest value: in insertion order while nothing was
    spilled, else the file's ids (in id order) then the dict's. Not thread-safe: one owner.
    """

    def __init__(self, codec: Codec[V], *, cap: int = SPILL_CAP, directory: Path | None = None):
        if cap < 1:
            raise ValueError(f"a spill map holds at least one entry in memory, not {cap}")
        self._codec = codec
        self._cap = cap
        self._directory = directory
        self._memory: dict[str, V] = {}
        self._db: sqlite3.Connection | None = None
        self._folder: Path | None = None
        self._filter = bytearray()  # made on the first spill (see FILTER_BITS_LOG2)

    @property
    def spilled(self) -> bool:
        """True once entries went to the scratch file."""
        return self._db is not None

    def __contains__(self, key: str) -> bool:
        return key in self._memory or self._read(key) is not _ABSENT

    def get(self, key: str) -> V | None:
        """The value of ``key``; None when absent (use ``in`` when None is a value)."""
        found = self._memory.get(key, _ABSENT)
        if found is _ABSENT:
            if self._db is None:  # below the cap: a dict's cost
                return None
            found = self._read(key)
            if found is _ABSENT:
                return None
        return cast(V, found)

    def set(self, key: str, value: V) -> None:
        self._memory[key] = value
        if len(self._memory) > self._cap:
            self._spill()

    def items(self) -> Iterator[tuple[str, V]]:
        """Every id once with its latest value (see the class docstring for the order)."""
        memory = self._memory
        if self._db is not None:
            decode = self._codec.decode
            for key, stored in self._db.execute("SELECT id, value FROM spill ORDER BY id"):
                if key not in memory:
                    yield key, decode(stored)
        yield from memory.items()

    def close(self) -> None:
        """Forget every entry and delete the scratch file (the map is empty and usable after)."""
        self._memory.clear()
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        self._filter = bytearray()

    def __enter__(self) -> SpillMap[V]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _read(self, key: str) -> object:
        """The file's value of ``key``, or ``_ABSENT``; the filter first (the bits ``_spill``
        set: one hash, salted per process, as the filter lives and dies in one process)."""
        if self._db is None:
            return _ABSENT
        spilled = self._filter
        h = hash(key)
        first, second = h & _FILTER_MASK, (h >> _SECOND_HASH_SHIFT) & _FILTER_MASK
        if not (
            spilled[first >> 3] >> (first & 7) & 1 and spilled[second >> 3] >> (second & 7) & 1
        ):
            return _ABSENT  # never spilled
        row = self._db.execute("SELECT value FROM spill WHERE id = ?", (key,)).fetchone()
        return _ABSENT if row is None else self._codec.decode(row[0])

    def _spill(self) -> None:
        """Move every entry of the dict into the scratch file (made on the first spill), in id
        order: the file's B-tree is then written page after page, not at random."""
        if self._db is None:
            self._db = self._open()
            self._filter = bytearray(1 << (FILTER_BITS_LOG2 - 3))
        found = self._filter
        for key in self._memory:
            h = hash(key)
            first, second = h & _FILTER_MASK, (h >> _SECOND_HASH_SHIFT) & _FILTER_MASK
            found[first >> 3] |= 1 << (first & 7)
            found[second >> 3] |= 1 << (second & 7)
        encode = self._codec.encode
        entries = sorted(self._memory.items(), key=itemgetter(0))
        with self._db:
            self._db.executemany(
                "INSERT INTO spill (id, value) VALUES (?, ?)"
                " ON CONFLICT (id) DO UPDATE SET value = excluded.value",
                entries if encode is None else ((key, encode(value)) for key, value in entries),
            )
        self._memory.clear()

    def _open(self) -> sqlite3.Connection:
        self._folder = Path(tempfile.mkdtemp(prefix="xiansuo-spill-", dir=self._directory))
        db = sqlite3.connect(self._folder / SPILL_FILE)
        # scratch: nothing to recover after a crash, so no journal and no fsync
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute(f"PRAGMA cache_size = -{SPILL_CACHE_KIB}")
        db.execute("CREATE TABLE spill (id TEXT PRIMARY KEY, value) WITHOUT ROWID")
        return db
