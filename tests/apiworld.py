"""A real API over a real ingested drop, for integration tests: the pieces several files share.

Each test module builds its own world (own index prefix, own SQLite store, own accounts) from
these functions, so modules never see each other's data.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from accounts.roles import Role
from accounts.users import add_user
from common.db import create_db_engine
from common.settings import Settings
from demo import TRUTH_FILE, write_demo_drop
from indexer.context import ingest_context
from indexer.pipeline import ingest_drop
from migrations.store import upgrade_store
from query_logs.audit import AuditEntry, iter_entries

PASSWORD = "a long enough passphrase 42"  # noqa: S105 - fictitious test accounts


def isolated_settings(settings: Settings, root: Path, tag: str) -> Settings:
    """The session's settings with an index prefix, state dir and SQLite store of their own."""
    return settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-{tag}{uuid.uuid4().hex[:4]}",
            "state_dir": root,
            "database_url": f"sqlite:///{root / f'{tag}.db'}",
        }
    )


def ingest_demo(local: Settings, root: Path, *, persons: int, seed: int) -> dict[str, Any]:
    """Generate a demo drop, ingest it under ``local``; returns its ground truth."""
    write_demo_drop(root / "drop", persons=persons, seed=seed)
    with ingest_context(local, root / "rejects") as ctx:
        ingest_drop(root / "drop", ctx)
    truth: dict[str, Any] = json.loads((root / "drop" / TRUTH_FILE).read_text(encoding="utf-8"))
    return truth


Account = tuple[Sequence[Role], str] | tuple[Sequence[Role], str, str | None]


def add_accounts(local: Settings, accounts: Mapping[str, Account]) -> None:
    """Create ``name -> (roles, jurisdiction[, own ID number])`` accounts, all with PASSWORD."""
    engine = create_db_engine(local.effective_database_url)
    try:
        upgrade_store(engine)
        for name, (roles, region, *own) in accounts.items():
            add_user(engine, name, roles, region, PASSWORD, id_number=own[0] if own else None)
    finally:
        engine.dispose()


def log_in(client: TestClient, names: Iterable[str]) -> dict[str, str]:
    """A bearer token for each account."""
    tokens = {}
    for name in names:
        response = client.post("/auth/token", json={"username": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        tokens[name] = response.json()["access_token"]
    return tokens


def bearer(
    tokens: Mapping[str, str], who: str, application_id: int | None = None
) -> dict[str, str]:
    """Request headers of ``who``, naming an application when given."""
    headers = {"Authorization": f"Bearer {tokens[who]}"}
    if application_id is not None:
        headers["X-Application-Id"] = str(application_id)
    return headers


def log_entries(local: Settings) -> list[AuditEntry]:
    """Every entry of the query log, in order."""
    engine = create_db_engine(local.effective_database_url)
    try:
        return list(iter_entries(engine, limit=10_000))
    finally:
        engine.dispose()


def case_number() -> str:
    """A fresh case number. Its hex is cut by a letter: ten random hex characters are all
    digits about once in a hundred cases, and such a run can read as a phone number, which a
    case number may not hold (the log keeps it whole)."""
    token = uuid.uuid4().hex
    return f"案-{token[:5]}x{token[5:10]}"


def approved_application(
    client: TestClient,
    tokens: Mapping[str, str],
    application: Mapping[str, Any],
    *,
    applicant: str = "inv",
    approver: str = "boss",
    title: str = "线索核查",
) -> int:
    """Open a case for ``applicant``, file ``application`` (the body without its case) under it
    and have ``approver`` approve it; returns the application's id."""
    case = client.post(
        "/cases",
        json={"case_no": case_number(), "title": title},
        headers=bearer(tokens, applicant),
    )
    assert case.status_code == 201, case.text
    body = {"case_id": case.json()["id"], **application}
    filed = client.post("/applications", json=body, headers=bearer(tokens, applicant))
    assert filed.status_code == 201, filed.text
    app_id = int(filed.json()["id"])
    decided = client.post(
        f"/applications/{app_id}/decision",
        json={"approve": True, "note": "同意"},
        headers=bearer(tokens, approver),
    )
    assert decided.status_code == 200, decided.text
    return app_id
