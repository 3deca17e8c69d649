"""The SQL store's migrations on SQLite and PostgreSQL: a store made by the first release (commit
a401d81, its own code run in a subprocess) upgrades with nothing lost and its log still verifies;
revision 0001 makes exactly what that release made; a store at head is exactly the models."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from accounts.passwords import make_password_hasher
from accounts.roles import Role
from accounts.users import add_user, write_role_rows
from common.db import create_db_engine, metadata
from common.settings import Settings
from migrations.errors import StoreNotCurrentError, UpgradeRefusedError
from migrations.store import (
    SERVICE_TABLES,
    current_revision,
    head_revision,
    prepare_store,
    run_migrations,
    upgrade_store,
)
from migrations.versions.r0001_release_a401d81 import release
from query_logs.applications import get_application
from query_logs.cases import get_case
from search_api.app import create_app

ROOT = Path(__file__).resolve().parents[2]
RELEASE = "a401d81"  # the last release before the migrations: revision 0001 is its schema
PASSWORD = "a long enough passphrase 42"  # noqa: S105 - fictitious test accounts
FAST: PasswordHasher = make_password_hasher(time_cost=1, memory_cost_kib=8, parallelism=1)
ACCOUNTS = {  # name -> roles, jurisdiction
    "inv": (["investigator"], "4601"),
    "boss": (["approver"], "46"),
    "sec": (["security_admin"], "46"),
    "team": (["special_task"], "460106"),
    "auditor": (["security_auditor"], "46"),
}
JSON_COLUMNS = {
    "query_application": ("sources", "regions", "subjects", "models"),
    "cross_tier_grant": ("regions",),
}
RELEASE_TABLES = sorted(release.tables)
LOG_TABLES = ("audit_entry", "audit_checkpoint")


# --- stores --------------------------------------------------------------------------------------


def _pg_url() -> str:
    url = os.environ.get("XIANSUO_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail("XIANSUO_TEST_POSTGRES_URL is not set; deploy/test.sh sets it", pytrace=False)
    pytest.skip("XIANSUO_TEST_POSTGRES_URL is not set (deploy/test.sh sets it)")


@pytest.fixture(scope="module")
def new_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """Makes empty stores: ``new_store(backend)`` is the URL of a SQLite file or of a PostgreSQL
    database of its own (the log's tables can be neither emptied nor dropped row by row)."""
    made: list[str] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('store') / 'xiansuo.db'}"
        name = f"xs_migr_{uuid.uuid4().hex[:12]}"
        admin = create_engine(_pg_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        made.append(name)
        return make_url(_pg_url()).set(database=name).render_as_string(hide_password=False)

    yield make
    if made:
        admin = create_engine(_pg_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in made:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def schema_of(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a store's schema consists of, as the database itself states it."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE tbl_name <> 'alembic_version' ORDER BY type, name"
            )
            return {"sqlite_master": [tuple(row) for row in rows]}
        queries = {
            "columns": "SELECT table_name, column_name, ordinal_position, data_type, "
            "character_maximum_length, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name <> 'alembic_version' "
            "ORDER BY 1, 3",
            "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = current_schema()::regnamespace "
            "AND conrelid::regclass::text <> 'alembic_version' ORDER BY 1, 2",
            "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename <> 'alembic_version' ORDER BY 1, 2",
            "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) "
            "FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2",
            "functions": "SELECT proname, prosrc FROM pg_proc "
            "WHERE pronamespace = current_schema()::regnamespace ORDER BY 1",
            "sequences": "SELECT sequencename, data_type FROM pg_sequences "
            "WHERE schemaname = current_schema() ORDER BY 1",
        }
        return {
            name: [tuple(row) for row in conn.execute(text(sql))] for name, sql in queries.items()
        }


def rows_of(engine: Engine, tables: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``tables`` in key order; JSON columns as the values they hold."""
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in tables:
            key = ", ".join(c["name"] for c in _key_columns(engine, table))
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))  # noqa: S608
            out[table] = [_parsed(table, dict(row._mapping)) for row in rows]
    return out


def _key_columns(engine: Engine, table: str) -> list[dict[str, Any]]:
    names = inspect(engine).get_pk_constraint(table)["constrained_columns"]
    return [{"name": name} for name in names]


# Columns later revisions added to the release's tables (revision 0003: the comparison models an
# application names).
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {"query_application": ("models",)}


def _parsed(table: str, row: dict[str, Any]) -> dict[str, Any]:
    for column in JSON_COLUMNS.get(table, ()):
        if isinstance(row.get(column), str):  # a column the release did not have is absent
            row[column] = json.loads(row[column])
    return row


def differences(engine: Engine) -> list[Any]:
    """What Alembic's autogenerate finds between the store and the models (nothing, at head)."""
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


# --- the first release's store, made by its own code ----------------------------------------------


def _release_tree(root: Path) -> Path:
    """The release's code, extracted from this repository's history."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", RELEASE],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        pytest.fail(f"commit {RELEASE} is not in this clone: {archive.stderr.decode()}")
    tree = root / "release"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _environment(code: Path, url: str, state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")}
    return env | {
        "PYTHONPATH": str(code),
        "XIANSUO_DATABASE_URL": url,
        "XIANSUO_STATE_DIR": str(state),
        "XIANSUO_ENVIRONMENT": "development",
        "XIANSUO_OPENSEARCH_URL": os.environ.get("XIANSUO_OPENSEARCH_URL", "http://127.0.0.1:9260"),
        "RELEASE_PASSWORD": PASSWORD,
    }


def run_code(
    code: Path, url: str, state: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``python *args`` with ``code`` as the only source tree, in a folder outside the repository
    (so the release's run imports nothing of today's)."""
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        env=_environment(code, url, state),
        cwd=state,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def xiansuo(
    code: Path, url: str, state: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return run_code(code, url, state, "-m", "xiansuo", *args, stdin=stdin)


@dataclass
class ReleaseStore:
    backend: str
    url: str
    state: Path
    made: dict[str, Any]  # what the release's script printed
    schema: dict[str, list[tuple[Any, ...]]]  # as the release made it, before any upgrade
    rows: dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def release_store(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    new_store: Callable[[str], str],
) -> ReleaseStore:
    """A store the first release's code made and used: its CLI added the accounts, its app
    filed and decided applications and a grant, its log holds entries and signed checkpoints."""
    backend = str(request.param)
    url = new_store(backend)
    root = tmp_path_factory.mktemp(f"release-{backend}")
    tree = _release_tree(root)
    state = root / "state"
    state.mkdir()
    for name, (roles, region) in ACCOUNTS.items():
        flags = [part for role in roles for part in ("--role", role)]
        args = ("users", "add", name, *flags, "--region", region, "--password-stdin")
        added = xiansuo(tree, url, state, *args, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    script = state / "release_store.py"  # run from outside the repository: see run_code
    shutil.copyfile(ROOT / "tests" / "release_store.py", script)
    filled = run_code(tree, url, state, str(script))
    assert filled.returncode == 0, filled.stderr
    engine = create_db_engine(url)
    try:
        assert current_revision(engine) is None  # made before there were migrations
        return ReleaseStore(
            backend,
            url,
            state,
            json.loads(filled.stdout.strip().splitlines()[-1]),
            schema_of(engine),
            rows_of(engine, RELEASE_TABLES),
        )
    finally:
        engine.dispose()


@dataclass
class Upgraded:
    release: ReleaseStore
    engine: Engine
    report: dict[str, Any]  # what `xiansuo db upgrade` printed
    rows: dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def upgraded(release_store: ReleaseStore) -> Iterator[Upgraded]:
    """The release's store after today's `xiansuo db upgrade`."""
    run = xiansuo(ROOT, release_store.url, release_store.state, "db", "upgrade")
    assert run.returncode == 0, run.stderr
    engine = create_db_engine(release_store.url)
    tables = [*RELEASE_TABLES, "query_case_member"]
    yield Upgraded(release_store, engine, json.loads(run.stdout), rows_of(engine, tables))
    engine.dispose()


# --- the upgrade of a release store ---------------------------------------------------------------


def test_the_release_store_is_filled(release_store: ReleaseStore) -> None:
    counts = {table: len(rows) for table, rows in release_store.rows.items()}
    assert counts["users"] == len(ACCOUNTS)
    assert counts["query_application"] == 3
    assert counts["cross_tier_grant"] == 1
    assert counts["graph_match_decision"] == 1
    assert counts["audit_checkpoint"] == 2
    assert counts["audit_entry"] > 20


def test_upgrade_reports_from_nothing_to_head(upgraded: Upgraded) -> None:
    assert upgraded.report == {"before": None, "current": head_revision(), "head": head_revision()}


def test_the_upgraded_log_verifies(upgraded: Upgraded) -> None:
    release = upgraded.release
    verified = xiansuo(ROOT, release.url, release.state, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["checkpoints_checked"] >= len(release.rows["audit_checkpoint"])


@pytest.mark.parametrize(
    "table",
    ["users", "roles", "user_roles", "query_application", "cross_tier_grant",
     "graph_match_decision", "audit_entry", "audit_checkpoint"],
)  # fmt: skip
def test_rows_are_kept_as_they_were(upgraded: Upgraded, table: str) -> None:
    added = ADDED_COLUMNS.get(table, ())
    kept = [{k: v for k, v in row.items() if k not in added} for row in upgraded.rows[table]]
    assert kept == upgraded.release.rows[table]


def test_the_release_applications_name_no_comparison_models(upgraded: Upgraded) -> None:
    applications = upgraded.rows["query_application"]
    assert applications
    assert [row["models"] for row in applications] == [[] for _ in applications]


def test_every_case_is_owned_by_whoever_opened_it(upgraded: Upgraded) -> None:
    cases = upgraded.rows["query_case"]
    before = upgraded.release.rows["query_case"]
    assert [{k: v for k, v in case.items() if k != "owner_id"} for case in cases] == before
    assert [case["owner_id"] for case in cases] == [case["created_by"] for case in before]
    assert upgraded.rows["query_case_member"] == []


def test_todays_code_reads_the_release_applications(upgraded: Upgraded) -> None:
    stored = upgraded.release.rows["query_application"]
    read = [get_application(upgraded.engine, row["id"]) for row in stored]
    assert [
        {
            "sources": sorted(application.sources),
            "regions": list(application.regions),
            "subjects": [{"kind": s.kind, "value": s.value} for s in application.subjects],
            "state": application.state,
        }
        for application in read
    ] == [{k: row[k] for k in ("sources", "regions", "subjects", "state")} for row in stored]


def test_todays_code_reads_the_release_case_with_its_owner(upgraded: Upgraded) -> None:
    case = get_case(upgraded.engine, upgraded.release.made["case"])
    assert (case.owner.username, case.members) == ("inv", ())


def test_todays_app_serves_the_release_applications(upgraded: Upgraded, settings: Settings) -> None:
    release = upgraded.release
    local = settings.model_copy(update={"database_url": release.url, "state_dir": release.state})
    with TestClient(create_app(local)) as client:
        token = client.post("/auth/token", json={"username": "inv", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        served = {
            app_id: client.get(f"/applications/{app_id}", headers=headers).json()
            for app_id in release.made["applications"]
        }
    # subjects are left out: how a number is masked changed after the release (issue 10)
    fields = ("id", "case_no", "applicant_id", "purpose", "category", "sources", "regions",
              "unmask", "export", "valid_from", "valid_until", "state")  # fmt: skip
    assert {a: {f: s[f] for f in fields} for a, s in served.items()} == {
        a: {f: s[f] for f in fields} for a, s in release.made["applications"].items()
    }


def test_the_upgraded_store_is_exactly_the_models(upgraded: Upgraded) -> None:
    assert differences(upgraded.engine) == []
    assert table_names(upgraded.engine) == {*metadata.tables, "alembic_version"}


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entry SET actor = 'someone else' WHERE seq = 1",
     "DELETE FROM audit_checkpoint"],
    ids=["update-entry", "delete-checkpoint"],
)  # fmt: skip
def test_the_upgraded_log_still_refuses_changes(upgraded: Upgraded, statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"), upgraded.engine.begin() as conn:
        conn.execute(text(statement))


# --- revision 0001 and head -------------------------------------------------------------------


def test_revision_0001_makes_what_the_release_made(
    release_store: ReleaseStore, new_store: Callable[[str], str]
) -> None:
    engine = create_db_engine(new_store(release_store.backend))
    try:
        run_migrations(engine, "0001")
        assert schema_of(engine) == release_store.schema
    finally:
        engine.dispose()


def test_a_new_store_at_head_is_exactly_the_models(sql_engine: Engine) -> None:
    upgrade_store(sql_engine)
    assert current_revision(sql_engine) == head_revision()
    assert differences(sql_engine) == []
    assert table_names(sql_engine) == {*metadata.tables, "alembic_version"}


def test_the_models_are_the_service_tables() -> None:
    assert set(metadata.tables) == {table.name for table in SERVICE_TABLES}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_upgrades_at_once_leave_one_store_at_head(
    new_store: Callable[[str], str], tmp_path: Path, backend: str
) -> None:
    url = new_store(backend)
    env = _environment(ROOT, url, tmp_path)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "xiansuo", "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    errors = [run.communicate(timeout=300)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    engine = create_db_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_a_store_of_the_release_cli_alone_gets_the_tables_it_lacked(sql_engine: Engine) -> None:
    """`xiansuo users add` of the release made only the accounts and the log."""
    for name in ("roles", "users", "user_roles", "audit_entry", "audit_checkpoint"):
        release.tables[name].create(sql_engine)
    upgrade_store(sql_engine)
    assert differences(sql_engine) == []


# --- upgrades that must not run -----------------------------------------------------------------


def _release_rows(engine: Engine, **application: Any) -> None:
    """A store at revision 0001 with one account, one case and one application."""
    run_migrations(engine, "0001")
    write_role_rows(engine)  # as the release's start-up did
    add_user(engine, "inv", [Role.INVESTIGATOR], "4601", PASSWORD, hasher=FAST)
    row = {
        "case_id": 1, "applicant_id": 1, "purpose": "核查", "category": "初核",
        "sources": '["household"]', "regions": '["4601"]', "subjects": "[]", "unmask": False,
        "export": False, "state": "pending", "page_size_cap": 50, "result_cap": 1000,
        "query_quota": 500, "queries_used": 0,
    } | application  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO query_case (case_no, title, created_by, created_at) "
                "VALUES ('案-1', '线索', 1, CURRENT_TIMESTAMP)"
            )
        )
        columns = ", ".join(row)
        values = ", ".join(f":{name}" for name in row)
        conn.execute(
            text(
                f"INSERT INTO query_application ({columns}, valid_from, valid_until, created_at) "  # noqa: S608
                f"VALUES ({values}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            row,
        )


@pytest.mark.parametrize(
    ("application", "message"),
    [
        ({"applicant_id": 7}, r"query_application\.applicant_id names 1 users\.id"),
        ({"decided_by": 9}, r"query_application\.decided_by names 1 users\.id"),
        ({"case_id": 5}, r"query_application\.case_id names 1 query_case\.id"),
        ({"regions": "4601"}, r"query_application\.regions of row 1 is not a JSON list"),
        ({"subjects": "[{"}, r"query_application\.subjects of row 1 is not a JSON list"),
    ],
    ids=["unknown-applicant", "unknown-approver", "unknown-case", "not-a-list", "not-json"],
)
def test_a_row_the_new_schema_refuses_stops_the_upgrade_and_changes_nothing(
    sql_engine: Engine, application: dict[str, Any], message: str
) -> None:
    _release_rows(sql_engine, **application)
    before = schema_of(sql_engine)
    with pytest.raises(UpgradeRefusedError, match=message):
        upgrade_store(sql_engine)
    assert current_revision(sql_engine) == "0001"
    assert schema_of(sql_engine) == before


def test_a_store_made_by_other_code_is_not_adopted(sql_engine: Engine) -> None:
    with sql_engine.begin() as conn:
        conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, login VARCHAR(20))"))
    with pytest.raises(UpgradeRefusedError, match="table users has the columns"):
        upgrade_store(sql_engine)
    assert current_revision(sql_engine) is None
    assert table_names(sql_engine) == {"users"}


# --- who upgrades ---------------------------------------------------------------------------------


def test_the_app_upgrades_an_embedded_sqlite_store_at_start(
    settings: Settings, tmp_path: Path
) -> None:
    local = settings.model_copy(
        update={"state_dir": tmp_path, "database_url": f"sqlite:///{tmp_path / 'app.db'}"}
    )
    with TestClient(create_app(local)):
        pass
    engine = create_db_engine(local.effective_database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.parametrize("revision", [None, "0001"], ids=["empty", "release"])
def test_the_app_refuses_a_postgresql_store_behind_the_code(
    settings: Settings, tmp_path: Path, new_store: Callable[[str], str], revision: str | None
) -> None:
    url = new_store("postgresql")
    if revision is not None:
        engine = create_db_engine(url)
        run_migrations(engine, revision)
        engine.dispose()
    local = settings.model_copy(update={"state_dir": tmp_path, "database_url": url})
    with (
        pytest.raises(StoreNotCurrentError, match="run `xiansuo db upgrade`"),
        TestClient(create_app(local)),
    ):
        pass


def test_prepare_store_accepts_a_current_postgresql_store(new_store: Callable[[str], str]) -> None:
    engine = create_db_engine(new_store("postgresql"))
    try:
        upgrade_store(engine)
        prepare_store(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_db_current_tells_whether_the_store_is_behind(
    new_store: Callable[[str], str], tmp_path: Path
) -> None:
    url = new_store("postgresql")
    behind = xiansuo(ROOT, url, tmp_path, "db", "current")
    assert (behind.returncode, json.loads(behind.stdout)) == (
        1,
        {"current": None, "head": head_revision()},
    )
    assert xiansuo(ROOT, url, tmp_path, "db", "upgrade").returncode == 0
    current = xiansuo(ROOT, url, tmp_path, "db", "current")
    assert (current.returncode, json.loads(current.stdout)) == (
        0,
        {"current": head_revision(), "head": head_revision()},
    )
