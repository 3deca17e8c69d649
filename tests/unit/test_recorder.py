"""The audit Recorder on a real SQLite log: one envelope on every entry, text pseudonymised and
facts kept, refusals logged even when what was typed cannot be, intents written ahead, and the
chain checkpointed when due."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine

from accounts.roles import Role
from accounts.users import User
from common.db import create_db_engine
from migrations.store import upgrade_store
from query_logs.audit import (
    AuditEntry,
    AuditKind,
    AuditLog,
    AuditLogUnavailableError,
    Checkpoints,
    Envelope,
    Recorder,
    UnloggableInputError,
    generate_signing_key,
    iter_entries,
    load_signing_key,
)
from query_logs.audit.recorder import WITHHELD
from search_api.masking import protect_identifiers

KEY = b"recorder-test-key"
PERSON_ID = "420102195007030036"
PHONE = "13912345678"
JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
ENVELOPE = Envelope(source_ip="10.0.0.7", route="GET /persons/{id_number}/records")
NOW = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade_store(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def recorder(engine: Engine) -> Recorder:
    return Recorder(AuditLog(engine), ENVELOPE, partial(protect_identifiers, key=KEY))


def account(name: str = "inv.one", *roles: Role) -> User:
    return User(
        id=7, username=name, display_name=None, roles=frozenset(roles or {Role.INVESTIGATOR}),
        jurisdiction="4601", id_number=None, disabled=False, failed_attempts=0,
        locked_until=None, token_epoch=0, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def entries(engine: Engine) -> list[AuditEntry]:
    return [e for e in iter_entries(engine) if e.kind != AuditKind.CHECKPOINT]


def test_every_entry_carries_the_envelope_of_its_actor(recorder: Recorder, engine: Engine) -> None:
    caller = recorder.by(account("inv.one", Role.INVESTIGATOR, Role.APPROVER))
    caller.under("12", "案-2024-01").done(AuditKind.QUERY_OUTCOME, hit_count=3)
    (entry,) = entries(engine)
    envelope = (entry.actor, entry.actor_role, entry.source_ip, entry.route)
    assert envelope == ("inv.one", "approver,investigator", *(ENVELOPE.source_ip, ENVELOPE.route))
    assert (entry.application_id, entry.case_id, entry.hit_count) == ("12", "案-2024-01", 3)


def test_what_people_wrote_is_pseudonymised_and_facts_are_kept(
    recorder: Recorder, engine: Engine
) -> None:
    code = "130102001001"  # a validated region code that reads as a phone number as free text
    recorder.by(account()).under("1", f"案{PHONE}", f"核查{PERSON_ID}的关联企业").done(
        AuditKind.APPLICATION_REQUEST,
        params={"q": PERSON_ID},
        detail={"asked": {"region": code}},
        facts={"regions": [code]},
    )
    (entry,) = entries(engine)
    stored = json.dumps([entry.case_id, entry.purpose, entry.params, entry.detail])
    assert PERSON_ID not in stored
    assert PHONE not in stored
    assert json.loads(entry.detail or "{}")["regions"] == [code]
    assert code not in json.dumps(json.loads(entry.detail or "{}")["asked"])


def test_a_denial_is_logged_and_reported(engine: Engine) -> None:
    told: list[bool] = []
    recorder = Recorder(
        AuditLog(engine), ENVELOPE, partial(protect_identifiers, key=KEY),
        on_deny=lambda: told.append(True),
    )  # fmt: skip
    recorder.by(None).deny(f"no such person {PERSON_ID}", params={"id_number": PERSON_ID})
    (entry,) = entries(engine)
    assert (entry.kind, entry.outcome, entry.actor) == ("denial", "denied", None)
    assert PERSON_ID not in (entry.detail or "") + (entry.params or "")
    assert told == [True]


def test_a_denial_whose_input_cannot_be_logged_is_logged_without_it(
    recorder: Recorder, engine: Engine
) -> None:
    typed = recorder.by(account()).under("3", f"案-{JWT_LIKE}", "核查某单位的问题线索")
    typed.deny("refused", params={"q": JWT_LIKE})
    (entry,) = entries(engine)
    assert (entry.kind, entry.application_id) == ("denial", "3")
    assert (entry.params, entry.case_id, entry.purpose) == (None, None, None)
    assert json.loads(entry.detail or "{}") == {"reason": WITHHELD}


@pytest.mark.parametrize(
    ("case_id", "purpose", "params"),
    [
        ("案-1", f"核查线索 {JWT_LIKE}", None),
        (JWT_LIKE, "核查某单位的问题线索", None),
        ("案-1", "核查某单位的问题线索", {"q": f"Bearer {JWT_LIKE}"}),
        ("案-1", "核查\x00线索", None),
    ],
    ids=["token-in-purpose", "token-as-case", "token-in-params", "nul-in-purpose"],
)
def test_an_intent_the_log_cannot_keep_is_refused_and_not_written(
    recorder: Recorder, engine: Engine, case_id: str, purpose: str, params: dict[str, str] | None
) -> None:
    ran: list[bool] = []
    with pytest.raises(UnloggableInputError):
        recorder.by(account()).under("1", case_id, purpose).intent(
            AuditKind.QUERY_REQUEST, params=params, first=lambda _conn: ran.append(True)
        )
    assert entries(engine) == []
    assert ran == []  # the work meant to commit with the entry never ran


def test_an_intent_is_committed_before_the_change_and_has_no_outcome(
    recorder: Recorder, engine: Engine
) -> None:
    written = recorder.by(account()).intent(AuditKind.ADMIN_ACTION, detail={"asked": {"a": 1}})
    (entry,) = entries(engine)
    assert (entry.seq, entry.kind, entry.outcome) == (written.seq, "admin_action", None)


def test_a_log_that_cannot_be_written_stops_the_intent(tmp_path: Path) -> None:
    broken = create_db_engine(f"sqlite:///{tmp_path / 'no-log.db'}")  # no log table in it
    try:
        recorder = Recorder(AuditLog(broken), ENVELOPE, partial(protect_identifiers, key=KEY))
        with pytest.raises(AuditLogUnavailableError):
            recorder.intent(AuditKind.ADMIN_ACTION)
    finally:
        broken.dispose()


def test_checkpoints_fall_due_on_the_probing_append(engine: Engine, tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "audit-signing.pem"
    generate_signing_key(key_file)
    policy = Checkpoints(load_signing_key(key_file), every_n_entries=3, probe_every=4)
    recorder = Recorder(
        AuditLog(engine), ENVELOPE, partial(protect_identifiers, key=KEY), checkpoints=policy
    )
    kinds = []
    for _ in range(4):
        recorder.done(AuditKind.LOGIN_OK)
        kinds.append([e.kind for e in iter_entries(engine)].count(AuditKind.CHECKPOINT))
    assert kinds == [0, 0, 0, 1]  # probed at the 4th append, when 4 entries wait for one
