"""The `xiansuo` command line as a person runs it: accounts, log verification, ingest."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

from common.settings import Settings
from demo import write_demo_drop
from registry.engine import EngineDoor

PASSWORD = "a long enough passphrase 42\n"  # noqa: S105 - a fictitious test account


def run(
    state: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")}
    environment |= {"XIANSUO_STATE_DIR": str(state)} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "xiansuo", *args],
        input=stdin,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_users_add_refuses_an_officer_with_a_data_role(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "users",
        "add",
        "mixed",
        "--role",
        "security_admin",
        "--role",
        "analyst",
        "--region",
        "46",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert result.returncode == 1
    assert "cannot be combined" in result.stderr


def test_audit_verify_passes_then_names_the_tampered_entry(tmp_path: Path) -> None:
    for name in ("auditor.one", "admin.one"):
        role = "security_auditor" if name == "auditor.one" else "system_admin"
        added = run(
            tmp_path,
            "users",
            "add",
            name,
            "--role",
            role,
            "--region",
            "46",
            "--password-stdin",
            stdin=PASSWORD,
        )
        assert added.returncode == 0, added.stderr
    keys = tmp_path / "keys"
    signed = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import sys; from pathlib import Path; from query_logs.audit import *; "
                "from common.db import create_db_engine; p = Path(sys.argv[1]); "
                "generate_signing_key(p); "
                "AuditLog(create_db_engine(sys.argv[2])).checkpoint(load_signing_key(p))"
            ),
            str(keys / "audit-signing.pem"),
            f"sqlite:///{tmp_path / 'xiansuo.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert signed.returncode == 0, signed.stderr
    ok = run(tmp_path, "audit", "verify")
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["ok"] is True

    with sqlite3.connect(tmp_path / "xiansuo.db") as conn:  # the database owner tampers
        conn.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
        for (trigger,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='trigger'"
        ).fetchall():
            conn.execute(f'DROP TRIGGER "{trigger}"')
        conn.execute("UPDATE audit_entry SET actor = 'someone else' WHERE seq = 2")
    bad = run(tmp_path, "audit", "verify")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["first_bad_seq"] == 2


def test_officer_account_is_disabled_and_enabled_from_the_command_line(tmp_path: Path) -> None:
    added = run(
        tmp_path,
        "users",
        "add",
        "sysadmin.one",
        "--role",
        "system_admin",
        "--region",
        "46",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert added.returncode == 0, added.stderr
    assert run(tmp_path, "users", "disable", "sysadmin.one").returncode == 0
    with sqlite3.connect(tmp_path / "xiansuo.db") as conn:
        (disabled,) = conn.execute(
            "SELECT disabled FROM users WHERE username = 'sysadmin.one'"
        ).fetchone()
        kinds = [k for (k,) in conn.execute("SELECT kind FROM audit_entry ORDER BY seq")]
    assert disabled
    assert kinds == ["user_change"] * 4  # add and disable, each logged before and after
    assert run(tmp_path, "users", "enable", "nobody.here").returncode == 1


def _logged(state: Path) -> list[tuple[str, str, str | None, str, dict[str, object]]]:
    with sqlite3.connect(state / "xiansuo.db") as conn:
        rows = conn.execute(
            "SELECT kind, actor, source_ip, route, detail FROM audit_entry ORDER BY seq"
        ).fetchall()
    return [(kind, actor, ip, route, json.loads(detail)) for kind, actor, ip, route, detail in rows]


def test_an_account_command_is_logged_before_and_after_as_the_command_line(
    tmp_path: Path,
) -> None:
    args = ("users", "add", "auditor.two", "--role", "security_auditor", "--region", "4601")
    assert run(tmp_path, *args, "--password-stdin", stdin=PASSWORD).returncode == 0
    asked = {"target": "auditor.two", "roles": ["security_auditor"], "region": "4601"}
    assert _logged(tmp_path) == [
        ("user_change", "command-line", None, "xiansuo users add", asked | {"step": step})
        for step in ("intent", "done")
    ]


def test_a_number_typed_into_an_account_command_never_reaches_the_log(tmp_path: Path) -> None:
    phone = "13912345678"
    args = ("users", "add", "auditor.three", "--role", "security_auditor", "--region", phone)
    refused = run(tmp_path, *args, "--password-stdin", stdin=PASSWORD)
    assert refused.returncode == 1
    ((kind, _actor, _ip, _route, detail),) = _logged(tmp_path)  # the intent; nothing was done
    assert (kind, detail["step"]) == ("user_change", "intent")
    assert phone not in json.dumps(detail)


def test_ingest_builds_the_graph_after_the_sources(tmp_path: Path, settings: Settings) -> None:
    """`xiansuo ingest --json` reports the sources, then the edges index it rebuilt from them."""
    drop = tmp_path / "drop"
    write_demo_drop(drop, persons=120, seed=3)
    prefix = f"{settings.index_prefix}-cli{uuid.uuid4().hex[:4]}"
    extra = {"XIANSUO_OPENSEARCH_URL": settings.opensearch_url, "XIANSUO_INDEX_PREFIX": prefix}
    done = run(tmp_path / "state", "ingest", str(drop), "--json", env=extra)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["sources"]["household"]["indexed"] > 100
    graph = report["graph"]
    assert graph["failed"] == 0
    assert graph["edges"] > 100
    assert {"household", "shareholder", "legal_rep"} <= set(graph["by_kind"])
    door = EngineDoor.for_ingest(settings.model_copy(update={"index_prefix": prefix}))
    try:
        door.refresh(door.index_name("edges"))
        assert door.count(door.index_name("edges")) == graph["edges"]
        skipped = run(tmp_path / "state", "ingest", str(drop), "--json", "--no-graph", env=extra)
        assert skipped.returncode == 0, skipped.stderr
        assert "graph" not in json.loads(skipped.stdout)
    finally:
        door.drop_index(f"{prefix}-*")
        door.close()
