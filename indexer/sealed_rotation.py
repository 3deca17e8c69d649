"""Key rotation for the sealed store: re-encrypt every value under a new key, then retire the old.

``xiansuo sealed rotate-key`` runs ``rotate_sealed_key``:

1. the next key is written to ``<key file>.next`` (0600), or taken from there when an earlier
   rotation was interrupted;
2. one transaction makes it the store's active key (from then on an ingest seals with it) and
   re-encrypts every row and journal entry that another key sealed;
3. only after that commit, ``<key file>.next`` replaces the key file: the old key is gone.

A crash before 2 commits leaves the store as it was, under the old key; a crash between 2 and 3
leaves values under the new key while the key file still holds the old one, and readers load
``.next`` too, so nothing is unreadable; running the command again finishes either case. Backups
of the database taken before a rotation need the old key: archive the key file first if they must
stay readable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, select, update

from indexer import sealed
from indexer.sealed_keys import (
    Keyring,
    SealedKeyError,
    generate_sealed_key,
    load_sealed_key,
    next_key_path,
    sync_folder,
)


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation did."""

    old_key_id: str
    new_key_id: str
    rows: int  # sealed rows re-encrypted
    journal: int  # journal entries re-encrypted


def rotate_sealed_key(store: Engine, key_file: Path) -> Rotation:
    """Re-encrypt the sealed store under a new key and retire the key in ``key_file``."""
    rotation = reseal_under_next_key(store, key_file)
    retire_old_key(key_file)
    return rotation


def reseal_under_next_key(store: Engine, key_file: Path) -> Rotation:
    """Steps 1 and 2: the next key (made, or kept from an interrupted rotation) becomes active
    and seals every value, in one transaction. The old key file is still in place."""
    old = load_sealed_key(key_file)
    next_file = next_key_path(key_file)
    new = load_sealed_key(next_file) if next_file.exists() else generate_sealed_key(next_file)
    if new.key_id == old.key_id:
        raise SealedKeyError(f"{next_file} holds the same key as {key_file}")
    keyring = Keyring(key_file, [old, new])
    with store.begin() as conn:
        sealed.set_state(conn, sealed.ACTIVE_KEY, new.key_id)  # takes the write lock first
        rows = _reseal(conn, sealed.records, keyring, new.key_id)
        entries = _reseal(conn, sealed.journal, keyring, new.key_id)
    return Rotation(old.key_id, new.key_id, rows, entries)


def retire_old_key(key_file: Path) -> None:
    """Step 3, after the commit: the next key replaces the key file (atomically)."""
    os.replace(next_key_path(key_file), key_file)
    sync_folder(key_file.parent)


def _reseal(conn: Connection, table: Table, keyring: Keyring, key_id: str) -> int:
    """Re-encrypt the rows of ``table`` that a key other than ``key_id`` sealed."""
    keys = list(table.primary_key.columns)
    names = ("petition_no", "key_id", *sealed.SEALED_FIELDS)
    chosen = keys + [table.c[name] for name in names if name not in {c.name for c in keys}]
    rows = conn.execute(select(*chosen).where(table.c.key_id != key_id)).all()
    for row in rows:
        values = {
            name: keyring.seal(
                key_id,
                row.petition_no,
                name,
                keyring.open(row.key_id, row.petition_no, name, getattr(row, name)),
            )
            for name in sealed.SEALED_FIELDS
        }
        match = [column == getattr(row, column.name) for column in keys]
        conn.execute(update(table).where(*match).values(key_id=key_id, **values))
    return len(rows)
