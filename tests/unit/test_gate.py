"""Query applications and the gate's decision, on a real SQLite store."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from accounts.roles import Role
from accounts.user_fields import jurisdiction_covers
from accounts.users import User, add_user
from common.errors import InvalidInputError, PermissionDeniedError
from common.vocab import Source
from migrations.store import upgrade_store
from query_logs.applications import (
    Application,
    ApplicationStateError,
    State,
    Subject,
    SubjectKind,
    consume_query,
    decide_application,
    file_application,
    revoke_application,
)
from query_logs.cases import create_case
from query_logs.gate import GateDeniedError, QueryRequest, decide_scope
from query_logs.grants import (
    active_grant_regions,
    approve_cross_tier_grant,
    create_cross_tier_grant,
    reject_cross_tier_grant,
    revoke_cross_tier_grant,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PURPOSE = "核查举报反映的某局副局长违规插手粮食购销问题线索"
# Cheap hashing: these tests exercise applications and the gate, not password strength.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PW = "correct horse battery staple 7"
CASE_NUMBERS = itertools.count(1)
SUBJECT = Subject(SubjectKind.PERSON, "460106197001010016")


@pytest.fixture
def engine(sql_engine: Engine) -> Engine:
    """A fresh store with users and applications, on SQLite and on PostgreSQL."""
    upgrade_store(sql_engine)
    return sql_engine


def user(engine: Engine, name: str, roles: list[Role], region: str = "4601") -> User:
    return add_user(engine, name, roles, region, PW, hasher=FAST, now=NOW)


def application(engine: Engine, applicant: User, **overrides: object) -> Application:
    case_id = create_case(engine, applicant, f"案-{next(CASE_NUMBERS)}", "某局问题线索", NOW)
    fields: dict[str, object] = {
        "case_id": case_id,
        "purpose": PURPOSE,
        "category": "初核",
        "sources": ["household", "company"],
        "regions": ["460106"],
        "subjects": [SUBJECT],
        "unmask": False,
        "export": False,
        "valid_days": 30,
        "now": NOW,
    } | overrides
    grants = active_grant_regions(engine, applicant.id, NOW)
    return file_application(engine, applicant, grant_regions=grants, **fields)  # type: ignore[arg-type]


@pytest.fixture
def people(engine: Engine) -> dict[str, User]:
    return {
        "inv": user(engine, "inv", [Role.INVESTIGATOR]),
        "boss": user(engine, "boss", [Role.APPROVER]),
        "far_boss": user(engine, "far.boss", [Role.APPROVER], "4402"),
        "other": user(engine, "other", [Role.INVESTIGATOR]),
        "sec": user(engine, "sec", [Role.SECURITY_ADMIN], "46"),
        "team": user(engine, "team", [Role.SPECIAL_TASK], "460106"),
        "prov_boss": user(engine, "prov.boss", [Role.APPROVER], "46"),
    }


def approved(engine: Engine, people: dict[str, User], **overrides: object) -> Application:
    filed = application(engine, people["inv"], **overrides)
    return decide_application(engine, people["boss"], filed.id, approve=True, note="同意", now=NOW)


def test_approved_application_gives_its_scope(engine: Engine, people: dict[str, User]) -> None:
    app = approved(engine, people)
    scope = decide_scope(people["inv"], app, QueryRequest(), (), NOW)
    assert scope.sources == (Source.COMPANY, Source.HOUSEHOLD)
    assert scope.regions == ("460106",)
    assert scope.subjects == (SUBJECT,)
    assert scope.unmask is False


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"purpose": "查询"}, "purpose must say"),
        ({"regions": ["4402"]}, "outside your jurisdiction"),
        ({"regions": ["46"]}, "outside your jurisdiction"),
        ({"sources": ["nonsense"]}, "unknown category or source"),
        ({"sources": []}, "at least one source"),
        ({"valid_days": 365}, "validity must be"),
        ({"category": "随便看看"}, "unknown category"),
    ],
)
def test_bad_application_is_refused(
    engine: Engine, people: dict[str, User], overrides: dict[str, object], error: str
) -> None:
    with pytest.raises((InvalidInputError, PermissionDeniedError), match=error):
        application(engine, people["inv"], **overrides)


def test_no_one_approves_their_own_application(engine: Engine, people: dict[str, User]) -> None:
    both = user(engine, "both", [Role.INVESTIGATOR, Role.APPROVER])
    filed = application(engine, both)
    with pytest.raises(PermissionDeniedError, match="own application"):
        decide_application(engine, both, filed.id, approve=True, note="", now=NOW)


def test_approver_outside_the_regions_cannot_approve(
    engine: Engine, people: dict[str, User]
) -> None:
    filed = application(engine, people["inv"])
    with pytest.raises(PermissionDeniedError, match="outside your jurisdiction"):
        decide_application(engine, people["far_boss"], filed.id, approve=True, note="", now=NOW)


def test_investigator_cannot_approve(engine: Engine, people: dict[str, User]) -> None:
    filed = application(engine, people["inv"])
    with pytest.raises(PermissionDeniedError, match="approve"):
        decide_application(engine, people["other"], filed.id, approve=True, note="", now=NOW)


def test_a_decided_application_cannot_be_decided_again(
    engine: Engine, people: dict[str, User]
) -> None:
    app = approved(engine, people)
    with pytest.raises(ApplicationStateError):
        decide_application(engine, people["boss"], app.id, approve=False, note="", now=NOW)


@pytest.mark.parametrize(
    ("state_of", "reason"),
    [
        ("pending", "pending, not approved"),
        ("rejected", "rejected, not approved"),
        ("revoked", "revoked, not approved"),
        ("expired", "expired, not approved"),
        ("foreign", "another user"),
    ],
)
def test_gate_refuses_unusable_applications(
    engine: Engine, people: dict[str, User], state_of: str, reason: str
) -> None:
    filed = application(engine, people["inv"])
    asker, when = people["inv"], NOW
    if state_of == "rejected":
        filed = decide_application(
            engine, people["boss"], filed.id, approve=False, note="", now=NOW
        )
    elif state_of in ("revoked", "expired", "foreign"):
        filed = decide_application(engine, people["boss"], filed.id, approve=True, note="", now=NOW)
        if state_of == "revoked":
            filed = revoke_application(engine, people["inv"], filed.id, NOW)
        elif state_of == "expired":
            when = NOW + timedelta(days=31)
        else:
            asker = people["other"]
    with pytest.raises(GateDeniedError, match=reason):
        decide_scope(asker, filed, QueryRequest(), (), when)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (QueryRequest(sources=frozenset({Source.PETITION})), "source petition is outside"),
        (QueryRequest(regions=("4601",)), "region 4601 is outside"),
        (QueryRequest(regions=("460107",)), "region 460107 is outside"),
        (
            QueryRequest(subjects=(Subject(SubjectKind.PERSON, "46010619800101001X"),)),
            "outside the application",
        ),
        (QueryRequest(page_size=500), "page size"),
        (QueryRequest(offset=990, page_size=20), "beyond the first"),
        (QueryRequest(export=True), "does not allow export"),
    ],
)
def test_gate_refuses_requests_outside_the_application(
    engine: Engine, people: dict[str, User], request_: QueryRequest, reason: str
) -> None:
    app = approved(engine, people)
    with pytest.raises(GateDeniedError, match=reason):
        decide_scope(people["inv"], app, request_, (), NOW)


def test_gate_allows_narrowing(engine: Engine, people: dict[str, User]) -> None:
    app = approved(engine, people, regions=["4601"])
    scope = decide_scope(
        people["inv"],
        app,
        QueryRequest(sources=frozenset({Source.COMPANY}), regions=("460106001",)),
        (),
        NOW,
    )
    assert (scope.sources, scope.regions) == ((Source.COMPANY,), ("460106001",))


def test_shrunk_jurisdiction_is_enforced_at_query_time(
    engine: Engine, people: dict[str, User]
) -> None:
    app = approved(engine, people)
    moved = replace(people["inv"], jurisdiction="4602")
    with pytest.raises(GateDeniedError, match="no longer within your reach"):
        decide_scope(moved, app, QueryRequest(), (), NOW)


def test_officers_can_never_pass_the_gate(engine: Engine, people: dict[str, User]) -> None:
    app = approved(engine, people)
    officer = replace(people["sec"], id=people["inv"].id)
    with pytest.raises(GateDeniedError, match="do not allow reading"):
        decide_scope(officer, app, QueryRequest(), (), NOW)


def test_cross_tier_grant_widens_reach_only_once_approved(
    engine: Engine, people: dict[str, User]
) -> None:
    team, sec = people["team"], people["sec"]
    grant_id = create_cross_tier_grant(engine, sec, team, ["46"], 30, NOW)
    with pytest.raises(PermissionDeniedError, match="outside your jurisdiction"):
        application(engine, team, regions=["46"])
    approve_cross_tier_grant(engine, people["prov_boss"], grant_id, NOW)
    filed = application(engine, team, regions=["46"])
    assert filed.regions == ("46",)


def test_rejected_and_revoked_grants_give_no_reach(engine: Engine, people: dict[str, User]) -> None:
    team, sec, boss = people["team"], people["sec"], people["prov_boss"]
    rejected = create_cross_tier_grant(engine, sec, team, ["46"], 30, NOW)
    reject_cross_tier_grant(engine, boss, rejected, NOW)
    assert active_grant_regions(engine, team.id, NOW) == ()
    revoked = create_cross_tier_grant(engine, sec, team, ["46"], 30, NOW)
    approve_cross_tier_grant(engine, boss, revoked, NOW)
    assert active_grant_regions(engine, team.id, NOW) == ("46",)
    revoke_cross_tier_grant(engine, sec, revoked, NOW)
    assert active_grant_regions(engine, team.id, NOW) == ()
    with pytest.raises(ApplicationStateError, match="nothing to revoke"):
        revoke_cross_tier_grant(engine, sec, revoked, NOW)
    with pytest.raises(ApplicationStateError, match="not pending"):
        approve_cross_tier_grant(engine, boss, rejected, NOW)


def test_an_expired_grant_is_neither_approved_nor_revoked(
    engine: Engine, people: dict[str, User]
) -> None:
    team, sec, boss = people["team"], people["sec"], people["prov_boss"]
    grant_id = create_cross_tier_grant(engine, sec, team, ["46"], 1, NOW)
    later = NOW + timedelta(days=2)
    with pytest.raises(ApplicationStateError, match="expired"):
        approve_cross_tier_grant(engine, boss, grant_id, later)
    with pytest.raises(ApplicationStateError, match="expired"):
        revoke_cross_tier_grant(engine, sec, grant_id, later)


def test_only_the_grant_permission_revokes(engine: Engine, people: dict[str, User]) -> None:
    grant_id = create_cross_tier_grant(engine, people["sec"], people["team"], ["46"], 30, NOW)
    with pytest.raises(PermissionDeniedError):
        revoke_cross_tier_grant(engine, people["prov_boss"], grant_id, NOW)


def test_quota_is_consumed_and_then_refused(engine: Engine, people: dict[str, User]) -> None:
    app = approved(engine, people)
    used = [consume_query(engine, app.id) for _ in range(app.query_quota)]
    assert all(used)
    assert consume_query(engine, app.id) is False


REGIONS = st.sampled_from(["46", "4601", "460106", "460107", "4602", "460202", "4401", "440106"])
SOURCES = st.sets(st.sampled_from(list(Source)), min_size=1)


@settings(max_examples=300, deadline=None)
@given(
    jurisdiction=st.sampled_from(["46", "4601", "460106", "4401"]),
    app_regions=st.lists(REGIONS, min_size=1, max_size=3),
    app_sources=SOURCES,
    req_regions=st.none() | st.lists(REGIONS, min_size=1, max_size=3).map(tuple),
    req_sources=st.none() | SOURCES.map(frozenset),
)
def test_property_scope_never_leaves_the_application_or_jurisdiction(
    jurisdiction: str,
    app_regions: list[str],
    app_sources: set[Source],
    req_regions: tuple[str, ...] | None,
    req_sources: frozenset[Source] | None,
) -> None:
    who = User(
        1,
        "u",
        None,
        frozenset({Role.INVESTIGATOR}),
        jurisdiction,
        None,
        False,
        0,
        None,
        0,
        NOW,
        NOW,
    )
    app = Application(
        1, 1, "c", 1, PURPOSE, "初核", frozenset(app_sources), tuple(app_regions), (), False, False,  # type: ignore[arg-type]
        NOW, NOW + timedelta(days=1), State.APPROVED, 2, NOW, 50, 1000, 10, 0,
    )  # fmt: skip
    try:
        scope = decide_scope(
            who, app, QueryRequest(sources=req_sources, regions=req_regions), (), NOW
        )
    except GateDeniedError:
        return
    assert set(scope.sources) <= app_sources
    for region in scope.regions:
        assert any(jurisdiction_covers(allowed, region) for allowed in app_regions)
        assert jurisdiction_covers(jurisdiction, region)
