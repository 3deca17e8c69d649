"""Drop discovery: file stems and manifest entries mapped to sources, and dispatch to a reader.

All data is fictitious; ID numbers use the region part 999999, assigned to no place.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from samples import SAMPLE_DROP

from common.vocab import Source
from indexer.drop import Drop, DropError, DropFile, discover_drop, read_file

ID_1 = "999999199001010011"


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_text("姓名\n张三\n", encoding="utf-8")


def _manifest(folder: Path, text: str) -> None:
    (folder / "manifest.toml").write_text(text, encoding="utf-8")


def _names(drop: Drop) -> list[tuple[str, Source, str | None]]:
    return [(f.path.name, f.source, f.encoding) for f in drop.files]


@pytest.mark.skipif(not SAMPLE_DROP.is_dir(), reason=f"sample drop not found at {SAMPLE_DROP}")
def test_sample_drop_maps_every_file_to_its_source() -> None:
    drop = discover_drop(SAMPLE_DROP)
    assert ({f.path.stem: f.source for f in drop.files}, drop.unknown) == (
        {source.value: source for source in Source},
        (),
    )


def test_file_stems_name_their_sources(tmp_path: Path) -> None:
    _touch(tmp_path, "household.csv", "Petition.XLSX", "benefit.jsonl")
    assert _names(discover_drop(tmp_path)) == [
        ("Petition.XLSX", Source.PETITION, None),
        ("benefit.jsonl", Source.BENEFIT, None),
        ("household.csv", Source.HOUSEHOLD, None),
    ]


def test_files_of_no_source_are_listed_as_unknown(tmp_path: Path) -> None:
    _touch(tmp_path, "household.csv", "notes.txt", "household.xls", "户籍.csv")
    (tmp_path / "old").mkdir()
    drop = discover_drop(tmp_path)
    assert [path.name for path in drop.unknown] == ["household.xls", "notes.txt", "old", "户籍.csv"]


@pytest.mark.parametrize(
    "name", [".household.csv", "~$petition.xlsx", "household.rejects.jsonl", "manifest.toml"]
)
def test_hidden_lock_and_rejects_files_are_ignored(tmp_path: Path, name: str) -> None:
    _touch(tmp_path, name)
    if name == "manifest.toml":
        _manifest(tmp_path, "[files]\n")
    drop = discover_drop(tmp_path)
    assert (drop.files, drop.unknown) == ((), ())


def test_manifest_maps_other_names_in_both_forms(tmp_path: Path) -> None:
    _touch(tmp_path, "户籍导出2024.csv", "企业登记.xlsx", "household.csv")
    _manifest(
        tmp_path,
        '[files]\n"户籍导出2024.csv" = { source = "household", encoding = "gbk" }\n'
        '"企业登记.xlsx" = "company"\n',
    )
    assert _names(discover_drop(tmp_path)) == [
        ("household.csv", Source.HOUSEHOLD, None),
        ("企业登记.xlsx", Source.COMPANY, None),
        ("户籍导出2024.csv", Source.HOUSEHOLD, "gbk"),
    ]


def test_manifest_wins_over_the_file_stem(tmp_path: Path) -> None:
    _touch(tmp_path, "company.csv")
    _manifest(tmp_path, '[files]\n"company.csv" = "shareholder"\n')
    assert _names(discover_drop(tmp_path)) == [("company.csv", Source.SHAREHOLDER, None)]


def test_several_files_of_one_source_are_all_listed(tmp_path: Path) -> None:
    _touch(tmp_path, "household.csv", "户籍2.csv")
    _manifest(tmp_path, '[files]\n"户籍2.csv" = "household"\n')
    drop = discover_drop(tmp_path)
    assert [f.path.name for f in drop.for_source(Source.HOUSEHOLD)] == [
        "household.csv",
        "户籍2.csv",
    ]


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ('[files]\n"a.csv" = "persons"\n', "entry 'a.csv': source 'persons' is not one of"),
        ('[files]\n"a.csv" = { encoding = "gbk" }\n', "entry 'a.csv': source None is not one of"),
        ('[files]\n"a.csv" = 3\n', "entry 'a.csv': expected a source key or a table, got int"),
        (
            '[files]\n"a.csv" = { source = "household", enc = "gbk" }\n',
            "entry 'a.csv': unknown key 'enc'",
        ),
        (
            '[files]\n"a.csv" = { source = "household", encoding = "klingon" }\n',
            "entry 'a.csv': unknown encoding 'klingon'",
        ),
        (
            '[files]\n"a.jsonl" = { source = "household", encoding = "gbk" }\n',
            "entry 'a.jsonl': an encoding applies to a .csv file only",
        ),
        ('[files]\n"a.txt" = "household"\n', "entry 'a.txt': unsupported file type '.txt'"),
        ('[files]\n"b.csv" = "household"\n', "entry 'b.csv': no such file in the drop folder"),
        ('[files]\n"../a.csv" = "household"\n', "entry '../a.csv': must be the name of a file"),
        ('[sources]\n"a.csv" = "household"\n', "unknown section or key 'sources'"),
        ('files = "a.csv"\n', "a [files] or [tables] table is required"),
        ("[files\n", "not valid UTF-8 TOML"),
    ],
)
def test_bad_manifest_is_refused_naming_the_entry(
    tmp_path: Path, manifest: str, message: str
) -> None:
    _touch(tmp_path, "a.csv", "a.jsonl", "a.txt")
    _manifest(tmp_path, manifest)
    with pytest.raises(DropError, match=re.escape(message)):
        discover_drop(tmp_path)


def test_drop_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DropError, match="not a folder"):
        discover_drop(tmp_path / "missing")


def test_read_file_uses_the_manifest_encoding(tmp_path: Path) -> None:
    path = tmp_path / "户籍.csv"
    path.write_bytes("公民身份号码,姓名\n".encode("gbk") + f"{ID_1},王五\n".encode("gbk"))
    rows = list(read_file(DropFile(path, Source.HOUSEHOLD, "gbk")))
    assert [row.values for row in rows] == [{"公民身份号码": ID_1, "姓名": "王五"}]


def test_read_file_finds_an_xlsx_header_with_the_expected_columns(tmp_path: Path) -> None:
    path = tmp_path / "household.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in (["导出", "2024年5月"], ["公民身份号码", "姓名"], [ID_1, "张三"]):
        sheet.append(row)
    workbook.save(path)
    rows = read_file(DropFile(path, Source.HOUSEHOLD), expected_columns={"公民身份号码", "姓名"})
    assert [(row.line, row.values) for row in rows] == [(3, {"公民身份号码": ID_1, "姓名": "张三"})]


def test_read_file_reads_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "benefit.jsonl"
    path.write_text('{"发放流水号": "FF001"}\n', encoding="utf-8")
    assert [row.values for row in read_file(DropFile(path, Source.BENEFIT))] == [
        {"发放流水号": "FF001"}
    ]


def test_read_file_refuses_an_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(DropError, match=re.escape("unsupported file type '.xls'")):
        read_file(DropFile(tmp_path / "household.xls", Source.HOUSEHOLD))


def test_manifest_tables_declare_database_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XS_TEST_DB", "sqlite:///registry.db")
    (tmp_path / "manifest.toml").write_text(
        '[tables."户籍库"]\nsource = "household"\nurl_env = "XS_TEST_DB"\ntable = "常住人口"\n',
        encoding="utf-8",
    )
    drop = discover_drop(tmp_path)
    assert drop.files == ()
    (table,) = drop.for_source(Source.HOUSEHOLD)
    assert (table.name, table.url, table.table, table.query) == (
        "户籍库",
        "sqlite:///registry.db",
        "常住人口",
        None,
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('source = "household"\ntable = "t"', "exactly one of url and url_env"),
        ('source = "household"\nurl = "sqlite://"', "exactly one of table and query"),
        ('source = "nope"\nurl = "sqlite://"\ntable = "t"', "source 'nope' is not one of"),
        ('source = "household"\nurl_env = "XS_UNSET_VAR"\ntable = "t"', "XS_UNSET_VAR is not set"),
        (
            'source = "household"\nurl = "sqlite://"\ntable = "t"\npassword = "x"',
            "unknown key 'password'",
        ),
    ],
)
def test_bad_table_entry_is_refused_naming_it(tmp_path: Path, entry: str, message: str) -> None:
    (tmp_path / "manifest.toml").write_text(f'[tables."db"]\n{entry}\n', encoding="utf-8")
    with pytest.raises(DropError, match="table 'db'") as error:
        discover_drop(tmp_path)
    assert message in str(error.value)
