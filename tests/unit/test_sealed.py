"""The sealed store without the engine: key files, AES-GCM values, the journal, key rotation.

Store tests run on SQLite and on PostgreSQL (the ``sql_engine`` fixture).
"""

from __future__ import annotations

import ast
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from common.vocab import Source
from indexer import sealed
from indexer.sealed import (
    SealedEntry,
    SealedJournalError,
    open_keyring,
    read_complainants,
    settle,
    write_ahead,
)
from indexer.sealed_keys import (
    Keyring,
    SealedKeyError,
    generate_sealed_key,
    load_keyring,
    load_sealed_key,
    next_key_path,
)
from indexer.sealed_rotation import reseal_under_next_key, rotate_sealed_key
from registry.sources import Kind, load_sources

GENERATION = "xstest-petition-1"
NAME, PID, PHONE = "欧阳明珠", "460106198001010019", "13912345678"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "sealed.key"
    generate_sealed_key(path)
    return path


@pytest.fixture
def store(sql_engine: Engine) -> Engine:
    sealed.create_sealed_schema(sql_engine)
    with sql_engine.begin() as conn:
        sealed.set_state(conn, sealed.CURRENT_GENERATION, GENERATION)
    return sql_engine


def entry(petition_no: str, digest: str = "d1", **fields: str) -> SealedEntry:
    return SealedEntry(petition_no, f"id-{petition_no}", fields, 738000, digest, "petition.csv", 2)


def signed(petition_no: str, digest: str = "d1", phone: str = PHONE) -> SealedEntry:
    return entry(
        petition_no, digest, complainant_name=NAME, complainant_id=PID, complainant_phone=phone
    )


def fields(store: Engine, key_file: Path) -> dict[str, tuple[str | None, ...]]:
    rows = read_complainants(store, load_keyring(key_file))
    return {
        no: (c.complainant_name, c.complainant_id, c.complainant_phone) for no, c in rows.items()
    }


# --- key files -----------------------------------------------------------------------------------


def test_key_file_is_created_0600_in_a_0700_folder(key_file: Path) -> None:
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700


def test_key_file_is_never_overwritten(key_file: Path) -> None:
    with pytest.raises(FileExistsError):
        generate_sealed_key(key_file)


def test_key_readable_by_others_is_refused(key_file: Path) -> None:
    key_file.chmod(0o644)
    with pytest.raises(SealedKeyError, match="0600"):
        load_sealed_key(key_file)


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text.replace(text.split()[1], "0" * 16),  # another key's id
        lambda text: text.replace("xiansuo-sealed-key/1", "something-else/1"),
        lambda text: " ".join(text.split()[:2]) + " not-base64!\n",
    ],
)
def test_damaged_key_file_is_refused(key_file: Path, damage: Callable[[str], str]) -> None:
    key_file.write_text(damage(key_file.read_text()))
    with pytest.raises(SealedKeyError):
        load_sealed_key(key_file)


# --- sealed values -------------------------------------------------------------------------------


@pytest.fixture
def keyring(key_file: Path) -> Keyring:
    return load_keyring(key_file)


def active(keyring: Keyring) -> str:
    return keyring.file_key_id()


@pytest.mark.parametrize("value", [NAME, PID, PHONE, "阿依古丽·买买提", "𠀾𡈼", None])
def test_sealed_value_opens_to_itself(keyring: Keyring, value: str | None) -> None:
    blob = keyring.seal(active(keyring), "XF46-1", "complainant_name", value)
    assert keyring.open(active(keyring), "XF46-1", "complainant_name", blob) == value


def test_sealed_values_have_one_length_whatever_they_hold(keyring: Keyring) -> None:
    lengths = {
        len(keyring.seal(active(keyring), "XF46-1", "complainant_id", value))
        for value in (None, "王五", NAME, PID, PHONE, "阿依古丽·买买提")
    }
    assert len(lengths) == 1


def test_the_same_value_seals_differently_each_time(keyring: Keyring) -> None:
    first, second = (keyring.seal(active(keyring), "XF46-1", "complainant_id", PID) for _ in "ab")
    assert first[:12] != second[:12]
    assert first != second


@pytest.mark.parametrize(
    ("petition_no", "field"),
    [("XF46-2", "complainant_phone"), ("XF46-1", "complainant_id"), ("XF46-2", "complainant_id")],
)
def test_a_value_moved_to_another_row_or_field_does_not_open(
    keyring: Keyring, petition_no: str, field: str
) -> None:
    blob = keyring.seal(active(keyring), "XF46-1", "complainant_phone", PHONE)
    with pytest.raises(SealedKeyError, match="does not authenticate"):
        keyring.open(active(keyring), petition_no, field, blob)


def test_a_value_does_not_open_under_another_key(keyring: Keyring, tmp_path: Path) -> None:
    generate_sealed_key(tmp_path / "other.key")
    other = load_keyring(tmp_path / "other.key")
    blob = keyring.seal(active(keyring), "XF46-1", "complainant_phone", PHONE)
    with pytest.raises(SealedKeyError):
        other.open(active(keyring), "XF46-1", "complainant_phone", blob)


def test_sealed_fields_are_the_petition_sources_sealed_columns() -> None:
    spec = load_sources()[Source.PETITION]
    assert tuple(c.field for c in spec.columns if c.kind is Kind.SEALED) == sealed.SEALED_FIELDS


# --- the journal and the rows --------------------------------------------------------------------


def test_accepted_entries_become_rows_and_refused_ones_leave_nothing(
    store: Engine, key_file: Path
) -> None:
    keyring = open_keyring(store, key_file)
    seqs = write_ahead(store, keyring, GENERATION, [signed("XF-1"), signed("XF-2")])
    settle(store, GENERATION, seqs, accepted=[seqs[0]])
    assert fields(store, key_file) == {"XF-1": (NAME, PID, PHONE)}
    with store.connect() as conn:
        assert sealed.journal_size(conn) == 0


def test_a_later_accepted_version_replaces_the_row_even_with_empty_fields(
    store: Engine, key_file: Path
) -> None:
    keyring = open_keyring(store, key_file)
    for version in (signed("XF-1", "d1"), entry("XF-1", "d2")):
        seqs = write_ahead(store, keyring, GENERATION, [version])
        settle(store, GENERATION, seqs, accepted=seqs)
    assert fields(store, key_file) == {"XF-1": (None, None, None)}


def test_journal_entries_wait_until_settled(store: Engine, key_file: Path) -> None:
    keyring = open_keyring(store, key_file)
    write_ahead(store, keyring, GENERATION, [signed("XF-1")])
    assert fields(store, key_file) == {}
    with store.connect() as conn:
        assert [e.petition_no for e in sealed.journal_entries(conn, GENERATION)] == ["XF-1"]


def test_settling_a_batch_whose_entries_another_process_settled_is_refused(
    store: Engine, key_file: Path
) -> None:
    keyring = open_keyring(store, key_file)
    seqs = write_ahead(store, keyring, GENERATION, [signed("XF-1")])
    with store.begin() as conn:
        sealed.discard(conn, seqs)  # as a second ingest's reconciliation would
    write_ahead(store, keyring, GENERATION, [signed("XF-2")])  # must not take the freed seq
    with pytest.raises(SealedJournalError, match="one at a time"):
        settle(store, GENERATION, seqs, accepted=seqs)
    assert fields(store, key_file) == {}


def test_missing_key_file_is_not_replaced_while_values_need_it(
    store: Engine, key_file: Path
) -> None:
    keyring = open_keyring(store, key_file)
    seqs = write_ahead(store, keyring, GENERATION, [signed("XF-1")])
    settle(store, GENERATION, seqs, accepted=seqs)
    key_id = keyring.file_key_id()
    key_file.unlink()
    with pytest.raises(SealedKeyError, match=key_id):
        open_keyring(store, key_file)
    assert not key_file.exists()


def test_first_use_creates_the_key_file(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "state" / "keys" / "sealed.key"
    keyring = open_keyring(store, path)
    assert keyring.file_key_id() == load_sealed_key(path).key_id


# --- key rotation --------------------------------------------------------------------------------


def filled_store(store: Engine, key_file: Path) -> None:
    keyring = open_keyring(store, key_file)
    seqs = write_ahead(store, keyring, GENERATION, [signed(f"XF-{n}") for n in range(5)])
    settle(store, GENERATION, seqs, accepted=seqs)
    write_ahead(store, keyring, GENERATION, [signed("XF-9")])  # an unsettled journal entry


def key_ids(store: Engine) -> set[str]:
    return sealed.stored_key_ids(store)


def test_rotation_reseals_every_value_and_retires_the_old_key(
    store: Engine, key_file: Path
) -> None:
    filled_store(store, key_file)
    before = fields(store, key_file)
    old_id = load_sealed_key(key_file).key_id
    rotation = rotate_sealed_key(store, key_file)
    assert (rotation.old_key_id, rotation.rows, rotation.journal) == (old_id, 5, 1)
    assert load_sealed_key(key_file).key_id == rotation.new_key_id != old_id
    assert not next_key_path(key_file).exists()
    assert key_ids(store) == {rotation.new_key_id}
    # Only the new key exists on disk now, and every value still opens with it.
    assert load_keyring(key_file).key_ids == [rotation.new_key_id]
    assert fields(store, key_file) == before


def test_interrupted_rotation_stays_readable_and_a_second_run_finishes_it(
    store: Engine, key_file: Path
) -> None:
    filled_store(store, key_file)
    before = fields(store, key_file)
    first = reseal_under_next_key(store, key_file)  # committed; the key file not yet replaced
    assert load_sealed_key(key_file).key_id == first.old_key_id
    assert fields(store, key_file) == before  # the reader loads <key file>.next too
    second = rotate_sealed_key(store, key_file)
    assert (second.new_key_id, second.rows, second.journal) == (first.new_key_id, 0, 0)
    assert fields(store, key_file) == before


def test_rotation_reuses_the_next_key_a_crash_left_before_its_commit(
    store: Engine, key_file: Path
) -> None:
    filled_store(store, key_file)
    waiting = generate_sealed_key(next_key_path(key_file))
    assert rotate_sealed_key(store, key_file).new_key_id == waiting.key_id


def test_a_writer_holding_the_old_key_seals_under_the_rotated_one(
    store: Engine, key_file: Path
) -> None:
    filled_store(store, key_file)
    writer = open_keyring(store, key_file)  # loaded before the rotation
    rotation = rotate_sealed_key(store, key_file)
    seqs = write_ahead(store, writer, GENERATION, [signed("XF-20")])
    settle(store, GENERATION, seqs, accepted=seqs)
    assert key_ids(store) == {rotation.new_key_id}
    assert fields(store, key_file)["XF-20"] == (NAME, PID, PHONE)


def test_a_row_whose_value_was_swapped_in_the_database_is_refused(
    store: Engine, key_file: Path
) -> None:
    filled_store(store, key_file)
    with store.begin() as conn:
        phone = conn.execute(
            select(sealed.records.c.complainant_phone).where(sealed.records.c.petition_no == "XF-1")
        ).scalar_one()
        conn.execute(
            update(sealed.records)
            .where(sealed.records.c.petition_no == "XF-2")
            .values(complainant_phone=phone)
        )
    with pytest.raises(SealedKeyError, match="XF-2"):
        fields(store, key_file)


def test_key_files_are_not_world_readable_after_rotation(store: Engine, key_file: Path) -> None:
    filled_store(store, key_file)
    rotate_sealed_key(store, key_file)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


# --- who may read the store ----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
SEALED_MODULES = (
    "indexer.sealed",
    "indexer.sealed_keys",
    "indexer.sealing",
    "indexer.sealed_rotation",
    "indexer.sealed_legacy",
    "indexer.context",  # it opens the store and its keys
)


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update([node.module, *(f"{node.module}.{a.name}" for a in node.names)])
    return found


@pytest.mark.parametrize("package", ["search_api", "graph", "query_logs"])
def test_no_module_serving_requests_can_reach_the_sealed_store(package: str) -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / package).rglob("*.py")
        for module in imported_modules(path)
        if module in SEALED_MODULES
    )
    assert offenders == []
