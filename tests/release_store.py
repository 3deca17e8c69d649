"""Fill a SQL store the way the first release (commit a401d81) did, with that release's own code.

Run as a script by tests/integration/test_store_migrations.py with PYTHONPATH at an extracted
copy of that release, after its ``xiansuo users add`` made the accounts (inv, boss, sec, team):
its log signs a checkpoint; its app (through TestClient) opens a case, files, approves and
rejects applications, proposes and approves a cross-tier grant and refuses a probe; its graph
code stores a match decision; its log signs a last checkpoint. Prints what the test compares
after the upgrade, as one JSON line.
Imports only modules that release had (its engine factory was ``query_logs.db``); the test copies
this file beside the store, so the run imports nothing of today's code.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from query_logs.db import create_db_engine

from common.settings import Settings
from graph.decisions import MatchDecision, create_decision_schema, record_decision
from graph.resolve import Decision
from query_logs.audit import AuditLog, generate_signing_key, load_signing_key
from search_api.app import create_app

PASSWORD = os.environ["RELEASE_PASSWORD"]
PERSON = "11010519491231002X"  # GB 11643's own example number
PURPOSE = "核查举报反映的某局干部配偶经商办企业问题线索"


def checkpoint(settings: Settings) -> None:
    """Sign the chain's head with the app's key (made here if the app has not made it yet)."""
    key_file = settings.audit_signing_key_file or settings.state_dir / "keys" / "audit-signing.pem"
    if not key_file.exists():
        generate_signing_key(key_file)
    engine = create_db_engine(settings.effective_database_url)
    try:
        AuditLog(engine).checkpoint(load_signing_key(key_file))
    finally:
        engine.dispose()


def main() -> int:
    settings = Settings()
    checkpoint(settings)  # after the entries of the accounts the command line added
    with TestClient(create_app(settings)) as client:

        def call(method: str, url: str, who: str, body: Any = None, status: int = 200) -> Any:
            response = client.request(method, url, json=body, headers=tokens[who])
            if response.status_code != status:
                raise SystemExit(f"{method} {url}: {response.status_code} {response.text}")
            return response.json()

        tokens: dict[str, dict[str, str]] = {}
        for name in ("inv", "boss", "sec", "team"):
            token = client.post("/auth/token", json={"username": name, "password": PASSWORD})
            tokens[name] = {"Authorization": f"Bearer {token.json()['access_token']}"}
        case = call(
            "POST", "/cases", "inv", {"case_no": "案-2026-001", "title": "某局问题线索"}, 201
        )

        def file(**fields: Any) -> int:
            body = {"case_id": case["id"], "purpose": PURPOSE, "category": "初核"} | fields
            return int(call("POST", "/applications", "inv", body, 201)["id"])

        approved = file(
            sources=["household", "company", "official"],
            regions=["460106"],
            subjects=[{"kind": "person_id", "value": PERSON}, {"kind": "name", "value": "王小明"}],
            unmask=True,
        )
        call(
            "POST", f"/applications/{approved}/decision", "boss", {"approve": True, "note": "同意"}
        )
        rejected = file(sources=["petition"], regions=["4601"], valid_days=7)
        decision = {"approve": False, "note": "范围过宽"}
        call("POST", f"/applications/{rejected}/decision", "boss", decision)
        pending = file(sources=["insured", "benefit"], regions=["460106"], export=True)
        call("GET", "/applications/999999", "inv", status=404)  # a probe: a logged refusal
        grant = call(
            "POST",
            "/admin/grants",
            "sec",
            {"username": "team", "regions": ["4602"], "valid_days": 30},
            201,
        )
        call("POST", f"/grants/{grant['id']}/approve", "boss")
        read = {
            str(app_id): call("GET", f"/applications/{app_id}", "inv")
            for app_id in (approved, rejected, pending)
        }
    engine = create_db_engine(settings.effective_database_url)
    try:
        create_decision_schema(engine)
        at = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
        candidate = f"p:{PERSON}"
        record_decision(
            engine,
            MatchDecision(
                "0123456789abcdef", candidate, Decision.CONFIRM, "inv", approved, "同一人", at
            ),
        )
    finally:
        engine.dispose()
    checkpoint(settings)
    print(json.dumps({"applications": read, "grant": grant["id"], "case": case["id"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
