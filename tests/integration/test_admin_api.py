"""Account, role and grant administration through the real app (三员分立).

Real FastAPI app, real SQLite store, the real OpenSearch node behind the app's provider (no
registry data is needed: everything here is decided before the engine would be asked). Officer
and fixture accounts are provisioned straight into the store, as the command line does.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from accounts.passwords import make_password_hasher
from accounts.roles import Role
from accounts.users import add_user, disable_user, get_user
from analyzers.ids import id_check_char
from common.db import create_db_engine
from common.errors import UserNotFoundError
from common.settings import Settings
from migrations.store import upgrade_store
from query_logs.audit import AuditEntry, AuditLog, iter_entries, read_head, verify_log
from query_logs.grants import create_cross_tier_grant, get_cross_tier_grant, grants
from search_api.access import Access
from search_api.app import create_app, route_inventory

PASSWORD = "a long enough passphrase 42"  # noqa: S105 - fictitious test accounts
NEW_PASSWORD = "another long passphrase 77"  # noqa: S105
WEAK_PASSWORD = "short 9"  # noqa: S105
PURPOSE = "核查举报反映的公职人员配偶经商办企业问题线索"
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
CHEAP_HASHER = make_password_hasher(time_cost=1, memory_cost_kib=8, parallelism=1)

# Fixture accounts: name -> (roles, jurisdiction). "lead" both leads a special task and approves.
ACCOUNTS: dict[str, tuple[tuple[Role, ...], str]] = {
    "sysadmin": ((Role.SYSTEM_ADMIN,), "46"),
    "secadmin": ((Role.SECURITY_ADMIN,), "46"),
    "auditor": ((Role.SECURITY_AUDITOR,), "46"),
    "inv": ((Role.INVESTIGATOR,), "4601"),
    "boss": ((Role.APPROVER,), "46"),
    "far_boss": ((Role.APPROVER,), "4401"),
    "team": ((Role.SPECIAL_TASK,), "4601"),
    "lead": ((Role.SPECIAL_TASK, Role.APPROVER), "46"),
}


def id_number(seed: int) -> str:
    """A valid 18-character ID number, different for each seed."""
    body = f"460106{19700101 + seed % 28:08d}{seed % 1000:03d}"
    return body + id_check_char(body)


@dataclass
class World:
    client: TestClient
    settings: Settings
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {} if who == "anonymous" else {"Authorization": f"Bearer {self.tokens[who]}"}

    def login(self, username: str, password: str = PASSWORD) -> str:
        response = self.client.post(
            "/auth/token", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def provision(self, *roles: Role, jurisdiction: str = "4601") -> str:
        """A fresh account made in the store, as `xiansuo users add` makes one."""
        name = f"u-{uuid.uuid4().hex[:8]}"
        add_user(self.engine, name, roles, jurisdiction, PASSWORD, hasher=CHEAP_HASHER)
        return name

    def mark(self) -> int:
        with self.engine.connect() as conn:
            return read_head(conn)[0]

    def entries_since(self, mark: int) -> list[AuditEntry]:
        """New entries, checkpoints left out."""
        found = iter_entries(self.engine, after_seq=mark, limit=10_000)
        return [e for e in found if e.kind != "checkpoint"]


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("admin")
    local = settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-admin{uuid.uuid4().hex[:4]}",
            "state_dir": root,
            "database_url": f"sqlite:///{root / 'admin.db'}",
        }
    )
    engine = create_db_engine(local.effective_database_url)
    upgrade_store(engine)
    for name, (roles, jurisdiction) in ACCOUNTS.items():
        add_user(engine, name, roles, jurisdiction, PASSWORD, hasher=CHEAP_HASHER)
    try:
        with TestClient(create_app(local)) as client:
            world = World(client, local, engine)
            world.tokens = {name: world.login(name) for name in ACCOUNTS}
            yield world
    finally:
        engine.dispose()


# --- the access table: every route x every kind of caller -------------------------------------


@dataclass(frozen=True)
class Target:
    username: str
    grant_id: int = 0


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {username} and {grant_id} come from the Target
    allowed: Mapping[str, int]  # caller -> status; everyone else 403, anonymous 401
    change_kind: str  # the entry that follows the write-ahead admin_action when allowed
    body: Callable[[Target], dict[str, Any]] | None = None
    target_roles: tuple[Role, ...] = (Role.INVESTIGATOR,)

    def url(self, target: Target) -> str:
        return self.path.format(username=target.username, grant_id=target.grant_id)


SYSADMIN_OK = {"sysadmin": 200}
ROUTES: dict[str, Route] = {
    "list accounts": Route("GET", "/admin/users", {"sysadmin": 200, "secadmin": 200}, ""),
    "create account": Route(
        "POST", "/admin/users", {"sysadmin": 201}, "user_change",
        lambda t: {"username": t.username, "jurisdiction": "4601", "password": PASSWORD},
    ),
    "disable": Route("POST", "/admin/users/{username}/disable", SYSADMIN_OK, "user_change"),
    "enable": Route("POST", "/admin/users/{username}/enable", SYSADMIN_OK, "user_change"),
    "unlock": Route("POST", "/admin/users/{username}/unlock", SYSADMIN_OK, "user_change"),
    "reset password": Route(
        "POST", "/admin/users/{username}/password", SYSADMIN_OK, "user_change",
        lambda t: {"password": NEW_PASSWORD},
    ),
    "set roles": Route(
        "PUT", "/admin/users/{username}/roles", {"secadmin": 200}, "role_change",
        lambda t: {"roles": ["investigator", "analyst"]},
    ),
    "set jurisdiction": Route(
        "PUT", "/admin/users/{username}/jurisdiction", {"secadmin": 200}, "user_change",
        lambda t: {"jurisdiction": "4602"},
    ),
    "propose grant": Route(
        "POST", "/admin/grants", {"secadmin": 201}, "grant_change",
        lambda t: {"username": t.username, "regions": ["4602"], "valid_days": 7},
        target_roles=(Role.SPECIAL_TASK,),
    ),
    "approve grant": Route(
        "POST", "/grants/{grant_id}/approve", {"boss": 200}, "grant_change",
        target_roles=(Role.SPECIAL_TASK,),
    ),
    "reject grant": Route(
        "POST", "/grants/{grant_id}/reject", {"boss": 200}, "grant_change",
        target_roles=(Role.SPECIAL_TASK,),
    ),
    "revoke grant": Route(
        "POST", "/admin/grants/{grant_id}/revoke", {"secadmin": 200}, "grant_change",
        target_roles=(Role.SPECIAL_TASK,),
    ),
}  # fmt: skip
GRANT_ROUTES = ("approve grant", "reject grant", "revoke grant")
CALLERS = ["sysadmin", "secadmin", "auditor", "inv", "boss", "team", "anonymous"]


def prepare(world: World, name: str, route: Route) -> Target:
    if name == "create account":
        return Target(f"new-{uuid.uuid4().hex[:8]}")
    username = world.provision(*route.target_roles)
    if name == "enable":
        disable_user(world.engine, username)
    if name not in GRANT_ROUTES:
        return Target(username)
    grantee, sec = get_user(world.engine, username), get_user(world.engine, "secadmin")
    grant_id = create_cross_tier_grant(world.engine, sec, grantee, ["4602"], 7, datetime.now(UTC))
    return Target(username, grant_id)


def state_of(world: World, name: str, target: Target) -> Any:
    """What the route would change: compared before and after a refusal."""
    if name in GRANT_ROUTES:
        return get_cross_tier_grant(world.engine, target.grant_id).state
    if name == "propose grant":
        user_id = get_user(world.engine, target.username).id
        with world.engine.connect() as conn:
            query = select(func.count()).where(grants.c.grantee_id == user_id)
            return conn.execute(query).scalar_one()
    try:
        return get_user(world.engine, target.username)
    except UserNotFoundError:
        return None


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", list(ROUTES))
def test_route_by_caller_gives_the_expected_status_and_log(
    world: World, name: str, caller: str
) -> None:
    route = ROUTES[name]
    target = prepare(world, name, route)
    expected = 401 if caller == "anonymous" else route.allowed.get(caller, 403)
    before, mark = state_of(world, name, target), world.mark()
    response = world.client.request(
        route.method,
        route.url(target),
        json=route.body(target) if route.body else None,
        headers=world.headers(caller),
    )
    assert response.status_code == expected, response.text
    new = world.entries_since(mark)
    if expected < 300:
        kinds = ["admin_action"] + ([route.change_kind] if route.change_kind else [])
        assert [e.kind for e in new] == kinds
        assert all(e.actor == caller and e.outcome in (None, "ok") for e in new)
        return
    assert [(e.kind, e.outcome) for e in new] == [("denial", "denied")]
    assert new[0].actor == (None if caller == "anonymous" else caller)
    assert new[0].route == f"{route.method} {route.path}"
    assert state_of(world, name, target) == before


def test_every_admin_route_is_classified_and_in_the_openapi_document(world: World) -> None:
    inventory = route_inventory()
    ours = {f"{r.method} {r.path}" for r in ROUTES.values()}
    assert {route: inventory[route] for route in ours} == {
        route: Access.AUTH if route.startswith("POST /grants/") else Access.ADMIN for route in ours
    }
    document = world.client.get("/openapi.json").json()["paths"]
    assert ours <= {f"{m.upper()} {p}" for p, item in document.items() for m in item}


# --- accounts: created bare, given roles by the other officer ---------------------------------


def approved_application(world: World) -> int:
    case = world.client.post(
        "/cases",
        json={"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "配偶经商问题"},
        headers=world.headers("inv"),
    )
    assert case.status_code == 201, case.text
    body = {
        "case_id": case.json()["id"],
        "purpose": PURPOSE,
        "category": "初核",
        "sources": ["household"],
        "regions": ["4601"],
        "subjects": [{"kind": "person_id", "value": id_number(1)}],
    }
    filed = world.client.post("/applications", json=body, headers=world.headers("inv"))
    assert filed.status_code == 201, filed.text
    decided = world.client.post(
        f"/applications/{filed.json()['id']}/decision",
        json={"approve": True},
        headers=world.headers("boss"),
    )
    assert decided.status_code == 200, decided.text
    return int(filed.json()["id"])


def create_account(world: World, **extra: Any) -> str:
    name = f"new-{uuid.uuid4().hex[:8]}"
    body = {"username": name, "jurisdiction": "4601", "password": PASSWORD} | extra
    response = world.client.post("/admin/users", json=body, headers=world.headers("sysadmin"))
    assert response.status_code == 201, response.text
    assert response.json()["roles"] == []
    return name


def open_case(world: World, token: str) -> int:
    """The status of opening a case: the simplest thing a working investigator does."""
    response = world.client.post(
        "/cases",
        json={"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "测试"},
        headers={"Authorization": f"Bearer {token}"},
    )
    return int(response.status_code)


def test_a_new_account_has_no_roles_and_reads_no_registry_data(world: World) -> None:
    app_id = approved_application(world)
    token = world.login(create_account(world))
    headers = {"Authorization": f"Bearer {token}", "X-Application-Id": str(app_id)}
    response = world.client.get(f"/persons/{id_number(1)}/records", headers=headers)
    assert response.status_code == 403
    assert "records" not in response.json()
    assert open_case(world, token) == 403


def test_the_security_admin_gives_investigator_and_the_account_can_then_work(
    world: World,
) -> None:
    name = create_account(world)
    response = world.client.put(
        f"/admin/users/{name}/roles",
        json={"roles": ["investigator"]},
        headers=world.headers("secadmin"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["investigator"]
    assert open_case(world, world.login(name)) == 201


def test_account_creation_refuses_roles_in_the_body(world: World) -> None:
    name = f"new-{uuid.uuid4().hex[:8]}"
    body = {"username": name, "jurisdiction": "4601", "password": PASSWORD, "roles": ["analyst"]}
    response = world.client.post("/admin/users", json=body, headers=world.headers("sysadmin"))
    assert response.status_code == 422
    with pytest.raises(UserNotFoundError):
        get_user(world.engine, name)


OFFICER_ROLE_SETS = [
    ["system_admin"],
    ["security_admin"],
    ["security_auditor"],
    ["investigator", "security_auditor"],
]


@pytest.mark.parametrize("roles", OFFICER_ROLE_SETS)
def test_officer_roles_are_never_given_through_the_api(world: World, roles: list[str]) -> None:
    name = world.provision(Role.INVESTIGATOR)
    mark = world.mark()
    response = world.client.put(
        f"/admin/users/{name}/roles", json={"roles": roles}, headers=world.headers("secadmin")
    )
    assert response.status_code == 403
    assert get_user(world.engine, name).roles == {Role.INVESTIGATOR}
    (denial,) = world.entries_since(mark)
    assert denial.kind == "denial"
    assert "officer role" in json.loads(denial.detail or "{}")["reason"]


# (actor, method, path, body): every officer duty aimed at an officer account
OFFICER_ACTIONS = [
    ("sysadmin", "POST", "/admin/users/{u}/disable", None),
    ("sysadmin", "POST", "/admin/users/{u}/enable", None),
    ("sysadmin", "POST", "/admin/users/{u}/unlock", None),
    ("sysadmin", "POST", "/admin/users/{u}/password", {"password": NEW_PASSWORD}),
    ("secadmin", "PUT", "/admin/users/{u}/roles", {"roles": ["investigator"]}),
    ("secadmin", "PUT", "/admin/users/{u}/jurisdiction", {"jurisdiction": "4602"}),
    ("secadmin", "POST", "/admin/grants", {"username": "{u}", "regions": ["4602"],
                                           "valid_days": 7}),
]  # fmt: skip


def _call(world: World, actor: str, method: str, path: str, body: Any, target: str) -> Any:
    if isinstance(body, dict):
        body = {k: v.format(u=target) if isinstance(v, str) else v for k, v in body.items()}
    return world.client.request(
        method, path.format(u=target), json=body, headers=world.headers(actor)
    )


@pytest.mark.parametrize("officer", ["sysadmin", "secadmin", "auditor"])
@pytest.mark.parametrize(("actor", "method", "path", "body"), OFFICER_ACTIONS)
def test_officers_never_act_on_officer_accounts_or_on_themselves(
    world: World, actor: str, method: str, path: str, body: Any, officer: str
) -> None:
    before, mark = get_user(world.engine, officer), world.mark()
    response = _call(world, actor, method, path, body, officer)
    assert response.status_code == 403
    assert get_user(world.engine, officer) == before
    (denial,) = world.entries_since(mark)
    reason = json.loads(denial.detail or "{}")["reason"]
    expected = "their own account" if officer == actor else "command line"
    assert expected in reason


# --- tokens -------------------------------------------------------------------------------------


def test_disabling_refuses_the_existing_token_and_enabling_does_not_revive_it(
    world: World,
) -> None:
    name = world.provision(Role.INVESTIGATOR)
    token = world.login(name)
    assert open_case(world, token) == 201
    disabled = world.client.post(f"/admin/users/{name}/disable", headers=world.headers("sysadmin"))
    assert disabled.json()["disabled"] is True
    assert open_case(world, token) == 401
    world.client.post(f"/admin/users/{name}/enable", headers=world.headers("sysadmin"))
    assert open_case(world, token) == 401
    assert open_case(world, world.login(name)) == 201


@pytest.mark.parametrize(
    ("who", "method", "path", "body"),
    [
        ("secadmin", "PUT", "/admin/users/{u}/roles", {"roles": ["investigator", "analyst"]}),
        ("secadmin", "PUT", "/admin/users/{u}/roles", {"roles": ["investigator"]}),  # same set
        ("secadmin", "PUT", "/admin/users/{u}/jurisdiction", {"jurisdiction": "4602"}),
        ("sysadmin", "POST", "/admin/users/{u}/password", {"password": NEW_PASSWORD}),
    ],
)
def test_authorisation_changes_void_existing_tokens(
    world: World, who: str, method: str, path: str, body: Any
) -> None:
    name = world.provision(Role.INVESTIGATOR)
    token = world.login(name)
    assert _call(world, who, method, path, body, name).status_code == 200
    assert open_case(world, token) == 401


def test_unlock_ends_a_lockout(world: World) -> None:
    name = world.provision(Role.INVESTIGATOR)
    for _ in range(world.settings.lockout_threshold):
        world.client.post("/auth/token", json={"username": name, "password": "wrong guess 12"})
    locked = world.client.post("/auth/token", json={"username": name, "password": PASSWORD})
    assert locked.status_code == 401
    mark = world.mark()
    unlocked = world.client.post(f"/admin/users/{name}/unlock", headers=world.headers("sysadmin"))
    assert unlocked.status_code == 200
    assert unlocked.json()["locked_until"] is None
    change = world.entries_since(mark)[-1]
    assert json.loads(change.detail or "{}") == {"locked": {"before": True, "after": False}}
    world.login(name)


# --- cross-tier grants --------------------------------------------------------------------------


def file_application(world: World, token: str, region: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    case = world.client.post(
        "/cases", json={"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "粮食购销专项"},
        headers=headers,
    )  # fmt: skip
    assert case.status_code == 201, case.text
    body = {"case_id": case.json()["id"], "purpose": PURPOSE, "category": "专项整治",
            "sources": ["company"], "regions": [region]}  # fmt: skip
    return int(world.client.post("/applications", json=body, headers=headers).status_code)


def propose(world: World, grantee: str, regions: list[str]) -> int:
    response = world.client.post(
        "/admin/grants",
        json={"username": grantee, "regions": regions, "valid_days": 7},
        headers=world.headers("secadmin"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "pending"
    return int(response.json()["id"])


def test_a_grant_widens_reach_only_after_an_approver_approves_it(world: World) -> None:
    name = world.provision(Role.SPECIAL_TASK, jurisdiction="4601")
    token = world.login(name)
    assert file_application(world, token, "4602") == 403
    grant_id = propose(world, name, ["4602"])
    assert file_application(world, token, "4602") == 403  # pending widens nothing
    approved = world.client.post(f"/grants/{grant_id}/approve", headers=world.headers("boss"))
    assert approved.status_code == 200, approved.text
    assert approved.json() | {"valid_until": None} == {
        "id": grant_id, "grantee": name, "regions": ["4602"], "state": "approved",
        "valid_until": None,
    }  # fmt: skip
    assert file_application(world, token, "4602") == 201
    assert file_application(world, token, "4401") == 403  # only the granted region


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        ("lead", "other than its parties"),  # the grantee, who also holds approve
        ("secadmin", "approve permission"),  # its creator: officers never approve
        ("far_boss", "outside your jurisdiction"),
    ],
)
def test_a_grant_is_not_approved_by_its_parties_or_from_outside(
    world: World, who: str, reason: str
) -> None:
    grant_id = propose(world, "lead", ["4602"])
    mark = world.mark()
    response = world.client.post(f"/grants/{grant_id}/approve", headers=world.headers(who))
    assert response.status_code == 403
    assert get_cross_tier_grant(world.engine, grant_id).state == "pending"
    denial = world.entries_since(mark)[-1]
    assert denial.kind == "denial"
    assert reason in json.loads(denial.detail or "{}")["reason"]


def test_a_grant_is_only_for_special_task_accounts(world: World) -> None:
    response = world.client.post(
        "/admin/grants",
        json={"username": "inv", "regions": ["4602"], "valid_days": 7},
        headers=world.headers("secadmin"),
    )
    assert response.status_code == 403


def test_approving_twice_is_a_conflict(world: World) -> None:
    grant_id = propose(world, world.provision(Role.SPECIAL_TASK), ["4602"])
    first = world.client.post(f"/grants/{grant_id}/approve", headers=world.headers("boss"))
    assert first.status_code == 200
    again = world.client.post(f"/grants/{grant_id}/approve", headers=world.headers("boss"))
    assert again.status_code == 409


def test_a_rejected_grant_widens_nothing_and_cannot_be_approved_later(world: World) -> None:
    name = world.provision(Role.SPECIAL_TASK, jurisdiction="4601")
    token = world.login(name)
    grant_id = propose(world, name, ["4602"])
    rejected = world.client.post(f"/grants/{grant_id}/reject", headers=world.headers("boss"))
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected"
    assert file_application(world, token, "4602") == 403
    late = world.client.post(f"/grants/{grant_id}/approve", headers=world.headers("boss"))
    assert late.status_code == 409


def test_a_revoked_grant_stops_the_queries_that_relied_on_it(world: World) -> None:
    name = world.provision(Role.SPECIAL_TASK, jurisdiction="4601")
    token = world.login(name)
    grant_id = propose(world, name, ["4602"])
    world.client.post(f"/grants/{grant_id}/approve", headers=world.headers("boss"))
    assert file_application(world, token, "4602") == 201
    mark = world.mark()
    revoked = world.client.post(
        f"/admin/grants/{grant_id}/revoke", headers=world.headers("secadmin")
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked"
    change = world.entries_since(mark)[-1]
    assert change.kind == "grant_change"
    assert json.loads(change.detail or "{}")["state"] == {"before": "approved", "after": "revoked"}
    assert file_application(world, token, "4602") == 403
    again = world.client.post(f"/admin/grants/{grant_id}/revoke", headers=world.headers("secadmin"))
    assert again.status_code == 409


def test_only_the_security_administrator_revokes_and_only_a_leader_rejects(world: World) -> None:
    grant_id = propose(world, world.provision(Role.SPECIAL_TASK), ["4602"])
    assert (
        world.client.post(
            f"/grants/{grant_id}/reject", headers=world.headers("secadmin")
        ).status_code
        == 403
    )
    assert (
        world.client.post(
            f"/admin/grants/{grant_id}/revoke", headers=world.headers("boss")
        ).status_code
        == 403
    )
    assert get_cross_tier_grant(world.engine, grant_id).state == "pending"


# --- refusals, the log, and what never reaches it -----------------------------------------------


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status", "kinds"),
    [
        ("sysadmin", "POST", "/admin/users/nobody-here/disable", None, 404, ["denial"]),
        ("inv", "POST", "/admin/users/nobody-here/disable", None, 403, ["denial"]),
        ("boss", "POST", "/grants/999999/approve", None, 404, ["denial"]),
        ("team", "POST", "/grants/999999/approve", None, 403, ["denial"]),
        ("secadmin", "PUT", "/admin/users/inv/roles", {"roles": ["wizard"]}, 422, ["denial"]),
        ("secadmin", "PUT", "/admin/users/inv/jurisdiction", {"jurisdiction": "460100"}, 422,
         ["admin_action", "denial"]),
        ("sysadmin", "POST", "/admin/users/inv/password", {"password": WEAK_PASSWORD}, 422,
         ["admin_action", "denial"]),
        ("sysadmin", "POST", "/admin/users", {"username": "inv", "jurisdiction": "4601",
                                              "password": PASSWORD}, 409,
         ["admin_action", "denial"]),
        ("secadmin", "POST", "/admin/grants", {"username": "team", "regions": ["4602"],
                                               "valid_days": 365}, 422,
         ["denial"]),  # the request schema bounds valid_days: refused before any intent
        ("secadmin", "POST", "/admin/grants", {"username": "team", "regions": ["46x"],
                                               "valid_days": 30}, 422,
         ["admin_action", "denial"]),
    ],
)  # fmt: skip
def test_refusals_are_logged_as_denials(
    world: World, who: str, method: str, path: str, body: Any, status: int, kinds: list[str]
) -> None:
    mark = world.mark()
    response = world.client.request(method, path, json=body, headers=world.headers(who))
    assert response.status_code == status, response.text
    new = world.entries_since(mark)
    assert [e.kind for e in new] == kinds
    assert new[-1].outcome == "denied"
    assert new[-1].actor == who


def test_the_account_list_masks_id_numbers_and_holds_no_secrets(world: World) -> None:
    number = id_number(2)
    name = create_account(world, id_number=number, display_name="王小明")
    response = world.client.get("/admin/users", headers=world.headers("secadmin"))
    assert response.status_code == 200
    (mine,) = [u for u in response.json() if u["username"] == name]
    assert mine["id_number"] == number[:6] + "*" * 12
    assert set(mine) == {
        "username", "display_name", "roles", "jurisdiction", "id_number", "disabled",
        "locked_until", "created_at", "updated_at",
    }  # fmt: skip
    assert not FULL_ID.search(response.text)
    assert "argon2" not in response.text
    assert PASSWORD not in response.text


def test_the_log_holds_no_password_and_no_full_id_number(world: World) -> None:
    number = id_number(3)
    mark = world.mark()
    name = create_account(world, id_number=number)
    for password in (NEW_PASSWORD, WEAK_PASSWORD):
        world.client.post(f"/admin/users/{name}/password", json={"password": password},
                          headers=world.headers("sysadmin"))  # fmt: skip
    # An ID number typed where a jurisdiction belongs: the refusal's reason quotes it.
    world.client.put(f"/admin/users/{name}/jurisdiction", json={"jurisdiction": id_number(4)},
                     headers=world.headers("secadmin"))  # fmt: skip
    new = world.entries_since(mark)
    assert len(new) >= 6
    for entry in world.entries_since(0):
        text = json.dumps([entry.actor, entry.params, entry.detail], ensure_ascii=False)
        assert not FULL_ID.search(text), entry.seq
        for secret in (PASSWORD, NEW_PASSWORD, WEAK_PASSWORD):
            assert secret not in text, entry.seq
    created = json.loads(next(e for e in new if e.kind == "user_change").detail or "{}")
    assert created["created"]["id_number"].startswith(number[:6] + "*" * 12 + "~")
    assert created["jurisdiction"] == "4601"


def test_each_change_says_what_changed(world: World) -> None:
    name = world.provision(Role.INVESTIGATOR)
    mark = world.mark()
    world.client.put(f"/admin/users/{name}/roles", json={"roles": ["analyst"]},
                     headers=world.headers("secadmin"))  # fmt: skip
    world.client.put(f"/admin/users/{name}/jurisdiction", json={"jurisdiction": "110101001001"},
                     headers=world.headers("secadmin"))  # fmt: skip
    intent, roles, _intent, place = world.entries_since(mark)
    assert (intent.kind, json.loads(intent.params or "{}")) == (
        "admin_action", {"action": "set_roles", "target": name},
    )  # fmt: skip
    assert roles.kind == "role_change"
    assert json.loads(roles.detail or "{}")["roles"] == {
        "before": ["investigator"], "after": ["analyst"],
    }  # fmt: skip
    # A 12-digit 北京 code would look like a phone number to the identifier pattern: kept whole.
    assert json.loads(place.detail or "{}")["jurisdiction"] == {
        "before": "4601", "after": "110101001001",
    }  # fmt: skip


def test_a_log_that_cannot_be_written_stops_the_change(world: World, tmp_path: Path) -> None:
    name = world.provision(Role.INVESTIGATOR)
    app = world.client.app
    working = app.state.audit_log  # type: ignore[attr-defined]
    copy = tmp_path / "readonly.db"
    copy.write_bytes(Path(world.settings.state_dir / "admin.db").read_bytes())
    readonly = create_db_engine(f"sqlite:///file:{copy}?mode=ro&uri=true")
    app.state.audit_log = AuditLog(readonly)  # type: ignore[attr-defined]
    try:
        response = world.client.post(
            f"/admin/users/{name}/disable", headers=world.headers("sysadmin")
        )
    finally:
        app.state.audit_log = working  # type: ignore[attr-defined]
        readonly.dispose()
    assert response.status_code == 503
    assert get_user(world.engine, name).disabled is False


def test_the_chain_verifies_after_all_of_it(world: World) -> None:
    public_key = world.client.app.state.audit_public_key  # type: ignore[attr-defined]
    report = verify_log(world.engine, public_key)
    assert report.ok, report.reason
