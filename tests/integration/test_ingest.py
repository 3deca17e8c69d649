"""The ingest on the real engine: accounting, rejects, supersede, idempotence, sealed fields."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samples import SAMPLE_DROP

from analyzers.ids import id_check_char
from common.settings import Settings
from indexer.context import ingest_context
from indexer.pipeline import IngestReport, ingest_drop
from indexer.reports import changed_by_source
from indexer.sealed import open_sealed_store, read_complainants
from indexer.sealed_keys import load_keyring
from registry.changes import SourceChanges
from registry.engine import EngineDoor

HOUSEHOLD_HEADER = [
    "公民身份号码", "姓名", "曾用名", "性别", "民族", "出生日期", "户号", "与户主关系",
    "户籍地址", "户籍地行政区划代码", "人员状态", "死亡日期", "联系电话", "登记日期",
]  # fmt: skip


def person_id(body17: str) -> str:
    return body17 + id_check_char(body17)


@pytest.fixture
def run_settings(settings: Settings, tmp_path: Path) -> Settings:
    """Settings with an index prefix and state of this test only."""
    return settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-{uuid.uuid4().hex[:6]}",
            "state_dir": tmp_path,
        }
    )


def ingest(settings: Settings, drop: Path, *, reload: bool = False) -> IngestReport:
    with ingest_context(settings, settings.state_dir / "rejects") as ctx:
        return ingest_drop(drop, ctx, reload=reload)


def all_docs(door: EngineDoor, index: str) -> dict[str, dict[str, Any]]:
    door.refresh(index)
    hits = door.search(index, {"query": {"match_all": {}}, "size": 10_000})["hits"]["hits"]
    return {h["_id"]: h["_source"] for h in hits}


def write_household(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HOUSEHOLD_HEADER)
        writer.writerows(rows)


def household_row(
    pid: str, name: str, status: str = "正常", registered: str = "2020-01-01"
) -> list[str]:
    return [pid, name, "", "男", "汉族", "1970-01-01", "H1", "户主", "海口市龙华区某路1号", "460106",  # noqa: E501
            status, "", "13800000000", registered]  # fmt: skip


@pytest.fixture(scope="module")
def sample_report(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, IngestReport]]:
    if not SAMPLE_DROP.is_dir():
        pytest.fail(f"the shared sample drop is missing at {SAMPLE_DROP}", pytrace=False)
    local = settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-sample",
            "state_dir": tmp_path_factory.mktemp("sample"),
        }
    )
    return local, ingest(local, SAMPLE_DROP)


def test_sample_drop_accounts_for_every_row(sample_report: tuple[Settings, IngestReport]) -> None:
    _, report = sample_report
    assert len(report.files) == 9
    for file in report.files:
        assert file.balanced, file
        assert file.read > 0


def test_sample_drop_rejects_carry_file_line_and_reason(
    sample_report: tuple[Settings, IngestReport],
) -> None:
    _, report = sample_report
    rejected = [f for f in report.files if f.rejected]
    assert rejected, "the sample drop has bad rows of the spec's kinds"
    for file in rejected:
        assert file.rejects_file is not None
        lines = Path(file.rejects_file).read_text(encoding="utf-8").splitlines()
        reasons = [json.loads(line)["_reject"] for line in lines]
        assert len(reasons) == file.rejected
        assert all(
            Path(r["file"]).name == file.file and r["line"] > 1 and r["reason"] for r in reasons
        )


def test_sample_drop_reingest_is_idempotent(
    sample_report: tuple[Settings, IngestReport], door: EngineDoor
) -> None:
    local, first = sample_report
    before = {s: all_docs(door, f"{local.index_prefix}-{s}") for s in first.by_source()}
    second = ingest(local, SAMPLE_DROP)
    after = {s: all_docs(door, f"{local.index_prefix}-{s}") for s in first.by_source()}
    assert second.by_source() == first.by_source()
    assert after == before


def test_no_complainant_field_or_value_reaches_an_index(
    sample_report: tuple[Settings, IngestReport], door: EngineDoor
) -> None:
    local, _ = sample_report
    sealed = open_sealed_store(local.effective_sealed_database_url)
    complainants = read_complainants(sealed, load_keyring(local.effective_sealed_key_file))
    sealed.dispose()
    rows = [
        (c.petition_no, c.complainant_name, c.complainant_id, c.complainant_phone)
        for c in complainants.values()
    ]
    assert any(row[1] for row in rows), "the sample petitions have complainants"
    mappings = json.dumps(door.mappings(f"{local.index_prefix}-*"), ensure_ascii=False)
    assert "complainant" not in mappings
    assert "反映人" not in mappings
    petitions = {
        d["petition_no"]: d for d in all_docs(door, f"{local.index_prefix}-petition").values()
    }
    for petition_no, name, id_number, phone in rows:
        doc = petitions[petition_no]
        blob = json.dumps(doc, ensure_ascii=False)
        assert not {"complainant_name", "complainant_id", "complainant_phone"} & set(doc)
        for value in (id_number, phone):
            assert not value or value not in blob, petition_no
        # A complainant's name may only be in the record where the petition names that person too.
        reported = {r.get("name") for r in doc.get("reported", [])}
        assert not name or name not in doc.get("names", []) or name in reported


def test_traditional_name_is_found_by_simplified_form(
    run_settings: Settings, door: EngineDoor, tmp_path: Path
) -> None:
    pid = person_id("46010619700101001")
    write_household(tmp_path / "drop" / "household.csv", [household_row(pid, "陳建國")])
    ingest(run_settings, tmp_path / "drop")
    index = f"{run_settings.index_prefix}-household"
    door.refresh(index)
    for query in (
        {"term": {"names.keyword": "陈建国"}},
        {"match_phrase": {"all_text": "陈建国"}},
        {"match_phrase": {"all_text": "陳建國"}},
        {"term": {"names_pinyin": "chenjianguo"}},
    ):
        hits = door.search(index, {"query": query})["hits"]["hits"]
        assert [h["_source"]["id_number"] for h in hits] == [pid], query
    doc = door.search(index, {"query": {"match_all": {}}})["hits"]["hits"][0]["_source"]
    assert doc["name"] == "陳建國"  # the original is kept for display


@pytest.mark.parametrize("later_first", [False, True])
def test_later_registration_supersedes_earlier(
    run_settings: Settings, door: EngineDoor, tmp_path: Path, later_first: bool
) -> None:
    pid = person_id("46010619500101002")
    rows = [
        household_row(pid, "王伟", "正常", "2020-01-01"),
        household_row(pid, "王伟", "死亡", "2024-06-01"),
    ]
    write_household(tmp_path / "drop" / "household.csv", rows[::-1] if later_first else rows)
    report = ingest(run_settings, tmp_path / "drop")
    totals = report.by_source()["household"]
    assert (totals["read"], totals["indexed"], totals["duplicates"]) == (2, 1, 1)
    docs = all_docs(door, f"{run_settings.index_prefix}-household")
    assert [d["status"] for d in docs.values()] == ["死亡"]


def test_fixed_rejects_file_can_be_fed_back(
    run_settings: Settings, door: EngineDoor, tmp_path: Path
) -> None:
    good = person_id("46010619800101003")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    write_household(tmp_path / "drop" / "household.csv", [household_row(bad, "李娜")])
    first = ingest(run_settings, tmp_path / "drop").by_source()["household"]
    assert (first["rejected"], first["indexed"]) == (1, 0)
    record = json.loads(Path(first["rejects_file"]).read_text(encoding="utf-8"))
    assert "check character" in record["_reject"]["reason"]
    record["公民身份号码"] = good
    fixed = tmp_path / "fixed" / "household.jsonl"
    fixed.parent.mkdir()
    fixed.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    second = ingest(run_settings, fixed.parent).by_source()["household"]
    assert (second["read"], second["indexed"], second["rejected"]) == (1, 1, 0)
    docs = all_docs(door, f"{run_settings.index_prefix}-household")
    assert [d["id_number"] for d in docs.values()] == [good]


def test_reload_swaps_the_alias_to_a_new_index(
    run_settings: Settings, door: EngineDoor, tmp_path: Path
) -> None:
    write_household(
        tmp_path / "drop" / "household.csv", [household_row(person_id("46010619900101004"), "赵敏")]
    )
    ingest(run_settings, tmp_path / "drop")
    alias = f"{run_settings.index_prefix}-household"
    before = door.aliased_index(alias)
    ingest(run_settings, tmp_path / "drop", reload=True)
    after = door.aliased_index(alias)
    assert door.indices(f"{alias}-*") == [after]
    assert before is not None
    assert after != before
    assert len(all_docs(door, alias)) == 1


def test_unparseable_non_key_value_is_kept_raw_with_a_warning(
    run_settings: Settings, door: EngineDoor, tmp_path: Path
) -> None:
    row = household_row(person_id("46010619600101005"), "孙丽")
    row[HOUSEHOLD_HEADER.index("出生日期")] = "2019-13-45"
    write_household(tmp_path / "drop" / "household.csv", [row])
    totals = ingest(run_settings, tmp_path / "drop").by_source()["household"]
    assert (totals["indexed"], totals["warnings"]) == (1, 1)
    doc = next(iter(all_docs(door, f"{run_settings.index_prefix}-household").values()))
    assert "birth_date" not in doc
    assert doc["unparsed"] == {"birth_date": "2019-13-45"}


def test_database_table_in_the_manifest_is_ingested(
    run_settings: Settings, door: EngineDoor, tmp_path: Path
) -> None:
    import sqlite3

    db = tmp_path / "registry.db"
    with sqlite3.connect(db) as conn:
        columns = ", ".join(f'"{h}" TEXT' for h in HOUSEHOLD_HEADER)
        conn.execute(f'CREATE TABLE "常住人口" ({columns})')
        placeholders = ", ".join("?" for _ in HOUSEHOLD_HEADER)
        rows = [
            household_row(person_id("46010619700101006"), "周杰"),
            household_row("4.60102E+17", "吴昊"),
        ]
        conn.executemany(f'INSERT INTO "常住人口" VALUES ({placeholders})', rows)  # noqa: S608
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "manifest.toml").write_text(
        f'[tables."户籍库"]\nsource = "household"\nurl = "sqlite:///{db}"\ntable = "常住人口"\n',
        encoding="utf-8",
    )
    report = ingest(run_settings, drop)
    assert [(f.file, f.read, f.indexed, f.rejected) for f in report.files] == [("户籍库", 2, 1, 1)]
    docs = all_docs(door, f"{run_settings.index_prefix}-household")
    assert [d["name"] for d in docs.values()] == ["周杰"]


def test_an_unreachable_engine_fails_the_source_with_its_reason_in_the_report(
    run_settings: Settings, tmp_path: Path
) -> None:
    write_household(
        tmp_path / "drop" / "household.csv", [household_row(person_id("46010619700101007"), "钱多")]
    )
    dead = run_settings.model_copy(update={"opensearch_url": "http://127.0.0.1:9"})  # closed port
    report = ingest(dead, tmp_path / "drop")
    (file,) = report.files
    assert not report.ok
    assert (file.indexed, file.balanced) == (0, True)
    assert str(file.error).startswith(
        "EngineUnavailableError: the search engine did not answer: ConnectionError"
    )


# --- what the watch step is handed (FileReport.changed, FileReport.new_source) ----------------

WATCHED = [person_id(f"46010619800101{n:03d}") for n in range(1, 4)]


def write_people(drop: Path, moved: str | None = None) -> None:
    """A household file of ``WATCHED``; ``moved``'s row with another address."""
    rows = [household_row(pid, f"居民{n}") for n, pid in enumerate(WATCHED)]
    for row in rows:
        if row[0] == moved:
            row[HOUSEHOLD_HEADER.index("户籍地址")] = "海口市美兰区新址2号"
    write_household(drop / "household.csv", rows)


def doc_id_of(door: EngineDoor, alias: str, person: str) -> str:
    door.refresh(alias)
    body = {"query": {"term": {"persons": person}}, "size": 2}
    (hit,) = door.search(alias, body)["hits"]["hits"]
    return str(hit["_id"])


@pytest.mark.parametrize("reload", [False, True], ids=["plain", "reload"])
def test_a_first_load_lists_no_ids_and_says_every_record_is_new(
    run_settings: Settings, tmp_path: Path, reload: bool
) -> None:
    write_people(tmp_path / "drop")
    report = ingest(run_settings, tmp_path / "drop", reload=reload)
    assert [(f.new_source, f.changed, f.indexed) for f in report.files] == [(True, [], 3)]
    assert changed_by_source(report.files) == {"household": SourceChanges.whole_source(3)}


@pytest.mark.parametrize("reload", [False, True], ids=["plain", "reload"])
def test_a_reingest_with_one_changed_row_lists_exactly_that_id(
    run_settings: Settings, door: EngineDoor, tmp_path: Path, reload: bool
) -> None:
    """A reload's fresh index is not a first load while the alias holds the older one."""
    write_people(tmp_path / "drop")
    ingest(run_settings, tmp_path / "drop")
    write_people(tmp_path / "drop", moved=WATCHED[1])
    report = ingest(run_settings, tmp_path / "drop", reload=reload)
    moved = doc_id_of(door, f"{run_settings.index_prefix}-household", WATCHED[1])
    assert [(f.new_source, f.changed) for f in report.files] == [(False, [moved])]
    assert changed_by_source(report.files) == {"household": SourceChanges(ids=(moved,))}


def test_a_failed_first_load_says_every_record_it_wrote_is_new(
    run_settings: Settings, tmp_path: Path
) -> None:
    """The source stops on its second file: what the first wrote stays, all of it new."""
    write_people(tmp_path / "drop")
    (tmp_path / "drop" / "household.xlsx").write_bytes(b"not a workbook")
    report = ingest(run_settings, tmp_path / "drop")
    assert [(f.file, f.new_source, f.indexed, f.error is None) for f in report.files] == [
        ("household.csv", True, 3, True), ("household.xlsx", True, 0, False)
    ]  # fmt: skip
    assert changed_by_source(report.files) == {"household": SourceChanges.whole_source(3)}
