"""Hostile requests: boundary integers everywhere, every refusal logged, case ownership.

The real app over a real store, once on SQLite and once on PostgreSQL (the world fixture is
parametrised like ``sql_engine``), with the real OpenSearch node behind the provider. Nothing is
ingested: every request here is refused before or without registry data. Accounts are made in
the store with a cheap password hash, as test_admin_api does.

Each refusal must answer 4xx (never 5xx) and leave exactly one ``denial`` entry naming the
authenticated caller (or nobody without a valid token).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text

from accounts.passwords import make_password_hasher
from accounts.roles import Role
from accounts.users import add_user
from analyzers.ids import id_check_char
from common.db import MAX_ROW_ID, create_db_engine
from common.settings import Settings
from migrations.store import upgrade_store
from query_logs.applications import applications
from query_logs.audit import AuditEntry, AuditLog, iter_entries, read_head
from search_api.access import Access
from search_api.app import create_app, route_inventory

PASSWORD = "a long enough passphrase 42"  # noqa: S105 - fictitious test accounts
PURPOSE = "核查举报反映的公职人员配偶经商办企业问题线索"
CHEAP_HASHER = make_password_hasher(time_cost=1, memory_cost_kib=8, parallelism=1)
FULL_ID = re.compile(r"\d{17}[\dXx]")
JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"

# name -> (roles, jurisdiction); "lead" files and approves, so it can try to approve its own.
ACCOUNTS: dict[str, tuple[tuple[Role, ...], str]] = {
    "inv": ((Role.INVESTIGATOR,), "4601"),
    "inv2": ((Role.INVESTIGATOR,), "4601"),
    "analyst": ((Role.ANALYST,), "4601"),
    "boss": ((Role.APPROVER,), "4601"),
    "far_boss": ((Role.APPROVER,), "4402"),
    "lead": ((Role.INVESTIGATOR, Role.APPROVER), "4601"),
    "auditor": ((Role.SECURITY_AUDITOR,), "46"),
    "sysadmin": ((Role.SYSTEM_ADMIN,), "46"),
    "secadmin": ((Role.SECURITY_ADMIN,), "46"),
}


def id_number(seed: int) -> str:
    body = f"460106{19700101 + seed % 28:08d}{seed % 1000:03d}"
    return body + id_check_char(body)


PERSON = id_number(16)
CREDIT_CODE = "91460100MA5T000000"


def filing_body(case_id: int, **overrides: Any) -> dict[str, Any]:
    """An application a member of the case may file (regions 4601, a household subject)."""
    body = {"case_id": case_id, "purpose": PURPOSE, "category": "初核",
            "sources": ["household", "petition"], "regions": ["4601"],
            "subjects": [{"kind": "person_id", "value": PERSON}]}  # fmt: skip
    return body | overrides


@dataclass
class World:
    client: TestClient
    settings: Settings
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    case_id: int = 0  # inv's case
    app_id: int = 0  # inv's approved application (household and petition, region 4601)

    def headers(self, who: str | None, application_id: int | None = None) -> dict[str, str]:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        if application_id is not None:
            headers["X-Application-Id"] = str(application_id)
        return headers

    def mark(self) -> int:
        with self.engine.connect() as conn:
            return read_head(conn)[0]

    def entries_since(self, mark: int) -> list[AuditEntry]:
        """New entries, checkpoints left out."""
        found = iter_entries(self.engine, after_seq=mark, limit=10_000)
        return [e for e in found if e.kind != "checkpoint"]

    def open_case(self, who: str) -> int:
        body = {"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "某局问题线索"}
        response = self.client.post("/cases", json=body, headers=self.headers(who))
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def file(self, who: str, case_id: int, **overrides: Any) -> httpx.Response:
        body = filing_body(case_id, **overrides)
        return self.client.post("/applications", json=body, headers=self.headers(who))

    def filed(self, who: str = "inv", case_id: int | None = None) -> int:
        response = self.file(who, case_id if case_id is not None else self.open_case(who))
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def decide(self, who: str, app_id: int, approve: bool = True) -> httpx.Response:
        body = {"approve": approve, "note": "同意"}
        return self.client.post(
            f"/applications/{app_id}/decision", json=body, headers=self.headers(who)
        )

    def add_member(self, owner: str, case_id: int, member: str) -> httpx.Response:
        return self.client.post(
            f"/cases/{case_id}/members", json={"username": member}, headers=self.headers(owner)
        )


def _postgres_url() -> tuple[str, Callable[[], None]]:
    """A throw-away schema of XIANSUO_TEST_POSTGRES_URL, and how to drop it."""
    url = os.environ.get("XIANSUO_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("XIANSUO_TEST_POSTGRES_URL is not set; deploy/test.sh sets it")
        pytest.skip("XIANSUO_TEST_POSTGRES_URL is not set (deploy/test.sh sets it)")
    schema = f"hx_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}", drop


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    if request.param == "sqlite":
        url, cleanup = f"sqlite:///{root / 'hostile.db'}", (lambda: None)
    else:
        url, cleanup = _postgres_url()
    local = settings.model_copy(
        update={
            "index_prefix": f"{settings.index_prefix}-hx{uuid.uuid4().hex[:4]}",
            "state_dir": root,
            "database_url": url,
        }
    )
    engine = create_db_engine(url)
    upgrade_store(engine)
    for name, (roles, region) in ACCOUNTS.items():
        add_user(engine, name, roles, region, PASSWORD, hasher=CHEAP_HASHER)
    try:
        with TestClient(create_app(local)) as client:
            world = World(client, local, engine)
            for name in ACCOUNTS:
                login = {"username": name, "password": PASSWORD}
                world.tokens[name] = client.post("/auth/token", json=login).json()["access_token"]
            world.case_id = world.open_case("inv")
            world.app_id = world.filed("inv", world.case_id)
            assert world.decide("boss", world.app_id).status_code == 200
            yield world
    finally:
        engine.dispose()
        cleanup()


def _send_raw(world: World, method: str, url: str, headers: list[tuple[bytes, bytes]]) -> Any:
    """A request whose header bytes reach the app unchanged (the test client re-encodes them as
    UTF-8, so it cannot send the byte 0xB2, which a server reads as "²")."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=world.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.request(method, url, headers=headers)

    # In a thread of its own: a session-wide Playwright (tests/browser) keeps an event loop
    # running in this one, and asyncio.run refuses to start a second.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, send()).result()


def _header_bytes(value: str) -> bytes:
    """Latin-1 where it can (what a server decodes headers as), else the client's UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def assert_one_denial(new: list[AuditEntry], actor: str | None) -> AuditEntry:
    denials = [e for e in new if e.kind == "denial"]
    assert len(denials) == 1, [(e.kind, e.actor, e.detail) for e in new]
    (denial,) = denials
    assert (denial.actor, denial.outcome) == (actor, "denied")
    roles = ",".join(sorted(ACCOUNTS[actor][0])) if actor else None
    assert denial.actor_role == roles
    return denial


# --- item 5: every integer input is bounded --------------------------------------------------


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _unbounded_integers(schema: dict[str, Any], doc: dict[str, Any], where: str) -> Iterator[str]:
    schema = _resolve(schema, doc)
    if schema.get("type") == "integer":
        has_low = "minimum" in schema or "exclusiveMinimum" in schema
        has_high = "maximum" in schema or "exclusiveMaximum" in schema
        if not (has_low and has_high):
            yield where
    for name, sub in schema.get("properties", {}).items():
        yield from _unbounded_integers(sub, doc, f"{where}.{name}")
    for combinator in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(combinator, [])):
            yield from _unbounded_integers(sub, doc, f"{where}[{i}]")
    for nested in ("items", "additionalProperties"):
        if isinstance(schema.get(nested), dict):
            yield from _unbounded_integers(schema[nested], doc, f"{where}.{nested}")


def _request_inputs(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(operation, input, schema) of every parameter and request body in the OpenAPI document."""
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                where = f"{parameter['in']} {parameter['name']}"
                yield label, where, parameter["schema"]
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                yield label, f"body ({media})", content["schema"]


def test_every_integer_input_of_the_api_is_bounded(settings: Settings) -> None:
    """Walks the OpenAPI document: an integer without a minimum and a maximum is a defect (an
    unbounded id reaches the database as an out-of-range value: 500 on SQLite and PostgreSQL)."""
    doc = create_app(settings).openapi()
    inputs = list(_request_inputs(doc))
    assert any(where == "path application_id" for _op, where, _s in inputs)  # the walk sees ids
    unbounded = [
        f"{label}: {found}"
        for label, where, schema in inputs
        for found in _unbounded_integers(schema, doc, where)
    ]
    assert not unbounded, "\n".join(unbounded)


def test_every_governed_route_declares_its_bounded_application_header(settings: Settings) -> None:
    doc = create_app(settings).openapi()
    missing = []
    for label, kind in route_inventory().items():
        if kind is not Access.GOVERNED:
            continue
        method, path = label.split(" ", 1)
        parameters = doc["paths"][path][method.lower()].get("parameters", [])
        header = [p for p in parameters if (p["in"], p["name"]) == ("header", "x-application-id")]
        bounded = header and not list(_unbounded_integers(header[0]["schema"], doc, "header"))
        if not bounded:
            missing.append(label)
    assert not missing


@dataclass(frozen=True)
class IntegerInput:
    who: str
    method: str
    url: str  # "{v}" is the value tried
    location: str  # "path", "query", "header" or a body field
    body: dict[str, Any] | None = None
    governed: bool = False  # sent under inv's application


INTEGER_INPUTS: dict[str, IntegerInput] = {
    "application header": IntegerInput("inv", "GET", f"/persons/{PERSON}/records", "header"),
    "application path": IntegerInput("inv", "GET", "/applications/{v}", "path"),
    "decision path": IntegerInput(
        "boss", "POST", "/applications/{v}/decision", "path", {"approve": True}
    ),
    "revoke path": IntegerInput("inv", "POST", "/applications/{v}/revoke", "path"),
    "grant approve path": IntegerInput("boss", "POST", "/grants/{v}/approve", "path"),
    "grant reject path": IntegerInput("boss", "POST", "/grants/{v}/reject", "path"),
    "grant revoke path": IntegerInput("secadmin", "POST", "/admin/grants/{v}/revoke", "path"),
    "case path": IntegerInput("inv", "GET", "/cases/{v}", "path"),
    "case member path": IntegerInput(
        "inv", "POST", "/cases/{v}/members", "path", {"username": "inv2"}
    ),
    "case member removal path": IntegerInput("inv", "DELETE", "/cases/{v}/members/inv2", "path"),
    "case_id in a body": IntegerInput("inv", "POST", "/applications", "case_id"),
    "valid_days in a body": IntegerInput("inv", "POST", "/applications", "valid_days"),
    "grant valid_days": IntegerInput(
        "secadmin", "POST", "/admin/grants", "valid_days", {"username": "inv", "regions": ["4601"]}
    ),
    "search page_size": IntegerInput(
        "inv", "GET", "/search?q=张三&page_size={v}", "query", governed=True
    ),
    "records page_size": IntegerInput(
        "inv", "GET", f"/persons/{PERSON}/records?page_size={{v}}", "query", governed=True
    ),
    "graph hops": IntegerInput(
        "inv", "GET", f"/graph/person_id/{PERSON}/linked?hops={{v}}", "query", governed=True
    ),
    "audit limit": IntegerInput("auditor", "GET", "/audit/entries?limit={v}", "query"),
}
OUT_OF_RANGE = {
    "zero": "0",
    "negative": "-1",
    "past int32": str(MAX_ROW_ID + 1),
    "past int64": "9223372036854775808",
    "twenty digits": "99999999999999999999",
    "superscript two": "²",
    "full-width digits": "１２",
    "arabic-indic digits": "١٢",
    "exponent": "1e3",
}


def _body_for(world: World, spec: IntegerInput, value: str) -> dict[str, Any] | None:
    if spec.location in ("path", "query", "header"):
        return spec.body
    number: Any = (
        int(value) if value.lstrip("-").isascii() and value.lstrip("-").isdigit() else value
    )
    if spec.url == "/applications":
        return filing_body(world.case_id) | {spec.location: number}
    return (spec.body or {}) | {spec.location: number}


@pytest.mark.parametrize("value", list(OUT_OF_RANGE.values()), ids=list(OUT_OF_RANGE))
@pytest.mark.parametrize("label", list(INTEGER_INPUTS))
def test_an_out_of_range_integer_is_a_logged_422(world: World, label: str, value: str) -> None:
    spec = INTEGER_INPUTS[label]
    application = world.app_id if spec.governed or spec.location == "header" else None
    headers = world.headers(spec.who, application)
    if spec.location == "header":
        headers["X-Application-Id"] = value
    url = spec.url.replace("{v}", quote(value))
    mark = world.mark()
    if spec.location == "header" and not value.isascii():
        raw = [(k.lower().encode(), _header_bytes(v)) for k, v in headers.items()]
        response = _send_raw(world, spec.method, url, raw)
    else:
        body = _body_for(world, spec, value)
        response = world.client.request(spec.method, url, json=body, headers=headers)
    assert response.status_code == 422, response.text
    invalid = [".".join(str(p) for p in e["loc"]) for e in response.json()["detail"]]
    assert len(invalid) == 1
    assert invalid[0].split(".")[0] in ("path", "query", "header", "body")
    assert_one_denial(world.entries_since(mark), spec.who)


@pytest.mark.parametrize("path", ["/applications/{v}", "/cases/{v}"])
def test_the_largest_id_is_a_logged_404(world: World, path: str) -> None:
    mark = world.mark()
    response = world.client.get(path.replace("{v}", str(MAX_ROW_ID)), headers=world.headers("inv"))
    assert response.status_code == 404, response.text
    assert_one_denial(world.entries_since(mark), "inv")


def test_the_superscript_two_header_byte_reaches_the_app_as_itself(world: World) -> None:
    """The 0xB2 byte is "²" to the server: str.isdigit() says yes, int() says no (the old 500)."""
    headers = [
        (b"authorization", f"Bearer {world.tokens['inv']}".encode()),
        (b"x-application-id", b"\xb2"),
    ]
    mark = world.mark()
    response = _send_raw(world, "GET", f"/persons/{PERSON}/records", headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "x-application-id"]
    denial = assert_one_denial(world.entries_since(mark), "inv")
    assert json.loads(denial.params or "{}")["header"] == {"x-application-id": ["²"]}


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:00:00-14:00", "0001-01-01T00:30:00+14:00"], ids=["late", "early"]
)
def test_a_period_beyond_utc_is_a_logged_422(world: World, moment: str) -> None:
    mark = world.mark()
    response = world.client.get(
        "/audit/entries", params={"since": moment}, headers=world.headers("auditor")
    )
    assert response.status_code == 422, response.text
    assert_one_denial(world.entries_since(mark), "auditor")


# --- item 6: every refusal on every route is one logged denial ---------------------------------


PATH_VALUES = {
    "case_id": lambda w: w.case_id,
    "application_id": lambda w: w.app_id,
    "grant_id": lambda _w: 1,
    "username": lambda _w: "inv2",
    "id_number": lambda _w: PERSON,
    "credit_code": lambda _w: CREDIT_CODE,
    "petition_no": lambda _w: "XF-0001",
    "kind": lambda _w: "person_id",
    "value": lambda _w: PERSON,
    "mention": lambda _w: "0123456789abcdef",
    "model_id": lambda _w: "duplicate_benefit",
    "run_id": lambda _w: 1,
    "clue_id": lambda _w: 1,
    "watch_id": lambda _w: 1,
    "notification_id": lambda _w: 1,
}
QUERY_VALUES = {
    "q": "张三",
    "from_kind": "person_id",
    "from_value": PERSON,
    "to_kind": "person_id",
    "to_value": id_number(17),
}
BODIES: dict[str, dict[str, Any]] = {
    "POST /cases": {"case_no": "案-walk", "title": "某局问题线索"},
    "POST /cases/{case_id}/members": {"username": "inv2"},
    "POST /applications": filing_body(1),
    "POST /applications/{application_id}/decision": {"approve": True, "note": "同意"},
    "POST /graph/mentions/{mention}/decision": {
        "candidate_id_number": PERSON,
        "decision": "confirm",
    },
    "POST /admin/users": {"username": "walk", "jurisdiction": "4601", "password": PASSWORD},
    "POST /admin/users/{username}/password": {"password": PASSWORD},
    "PUT /admin/users/{username}/roles": {"roles": ["analyst"]},
    "PUT /admin/users/{username}/jurisdiction": {"jurisdiction": "4601"},
    "POST /admin/grants": {"username": "inv2", "regions": ["4601"], "valid_days": 30},
    "PATCH /models/clues/{clue_id}": {"status": "核查中"},
    "POST /watches": {"subject": PERSON},
    "PATCH /models/runs/{run_id}": {"standing": True},
}
# Who may not use a route of each access class (the gate refuses officers; desks refuse others).
OUTSIDER = {
    Access.GOVERNED: "auditor",
    Access.AUTH: "auditor",
    Access.ADMIN: "inv",
    Access.AUDIT: "inv",
}
GUARDED = sorted(label for label, kind in route_inventory().items() if kind is not Access.PUBLIC)


def _walk_request(world: World, label: str, **paths: str) -> tuple[str, str, dict[str, Any] | None]:
    """A request the route would accept from a caller with access (``paths`` overrides path
    parameters)."""
    method, template = label.split(" ", 1)

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return quote(paths[name] if name in paths else str(PATH_VALUES[name](world)))

    url = re.sub(r"{(\w+)}", value, template)
    doc = world.client.app.openapi()  # type: ignore[attr-defined]
    parameters = doc["paths"][template][method.lower()].get("parameters", [])
    query = {p["name"]: QUERY_VALUES[p["name"]] for p in parameters
             if p["in"] == "query" and p.get("required")}  # fmt: skip
    if query:
        url += "?" + "&".join(f"{k}={quote(str(v))}" for k, v in query.items())
    return method, url, BODIES.get(label)


# Routes whose body is a multipart upload, and the upload each would accept.
SCREENED_LIST = "姓名,工作单位\r\n张三,某局\r\n".encode()
UPLOADS: dict[str, dict[str, Any]] = {
    "POST /screenings": {"upload": ("名单.csv", SCREENED_LIST, "text/csv")},
}


def _payload(label: str, body: dict[str, Any] | None) -> dict[str, Any]:
    """The body as the route takes it: JSON, or a multipart upload."""
    return {"files": UPLOADS[label]} if label in UPLOADS else {"json": body}


@pytest.mark.parametrize("label", GUARDED)
def test_every_route_logs_the_refusal_of_a_caller_without_access(world: World, label: str) -> None:
    method, url, body = _walk_request(world, label)
    who = OUTSIDER[route_inventory()[label]]
    mark = world.mark()
    response = world.client.request(
        method, url, **_payload(label, body), headers=world.headers(who, world.app_id)
    )
    assert response.status_code == 403, response.text
    assert_one_denial(world.entries_since(mark), who)


@pytest.mark.parametrize("label", GUARDED)
def test_every_route_logs_the_refusal_of_an_anonymous_caller(world: World, label: str) -> None:
    method, url, body = _walk_request(world, label)
    mark = world.mark()
    response = world.client.request(
        method, url, **_payload(label, body), headers=world.headers(None)
    )
    assert response.status_code == 401, response.text
    assert_one_denial(world.entries_since(mark), None)


# Routes that take no input a caller could get wrong (nothing to refuse but the caller).
NO_INPUT = {"GET /cases", "GET /audit/verify", "GET /admin/users", "GET /admin/grants",
            "GET /approvals/applications", "GET /approvals/grants", "GET /models"}  # fmt: skip
INTEGER_PATH = re.compile(r"{(case_id|application_id|grant_id)}")


def _flawed_request(world: World, label: str) -> tuple[str, str, dict[str, Any]]:
    """The route's request with one flaw in its input, as an httpx ``request`` kwargs."""
    flawed_ids = {name: "0" for name in INTEGER_PATH.findall(label)}
    method, url, body = _walk_request(world, label, **flawed_ids)
    kind = route_inventory()[label]
    who = {Access.ADMIN: "secadmin", Access.AUDIT: "auditor"}.get(kind, "inv")
    headers = world.headers(who, world.app_id if kind is Access.GOVERNED else None)
    if kind is Access.GOVERNED:
        headers["X-Application-Id"] = "99999999999999999999"
    elif flawed_ids:
        pass  # an id out of range
    elif body is not None:
        headers["content-type"] = "application/json"
        return who, method, {"url": url, "content": b"{not json", "headers": headers}
    elif "{username}" in label:
        url = url.replace("inv2", "nobody-here")
    elif label.startswith("GET /audit/"):
        url += ("&" if "?" in url else "?") + "since=yesterday"
    elif label == "GET /notifications":
        url += "?limit=0"  # below the page's minimum
    return who, method, {"url": url, **_payload(label, body), "headers": headers}


@pytest.mark.parametrize("label", [label for label in GUARDED if label not in NO_INPUT])
def test_every_route_logs_an_invalid_request_of_a_known_caller(world: World, label: str) -> None:
    """Each route gets a request whose one flaw is in its input (an application header out of
    range, an id out of range, a body that is not JSON, an unknown account, a malformed time);
    the refusal is one denial of the authenticated caller, whatever refused it."""
    who, method, kwargs = _flawed_request(world, label)
    mark = world.mark()
    response = world.client.request(method, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert_one_denial(world.entries_since(mark), who)


def test_the_routes_without_input_are_still_routes() -> None:
    assert set(GUARDED) >= NO_INPUT


@dataclass(frozen=True)
class Probe:
    who: str | None
    method: str
    url: str
    status: int
    body: dict[str, Any] | None = None
    application: int | None = None
    content: bytes | None = None
    token: str | None = None  # a literal Authorization value instead of the caller's


def _self_approval(w: World) -> Probe:
    return Probe("lead", "POST", f"/applications/{w.filed('lead')}/decision", 403,
                 {"approve": True})  # fmt: skip


def _revoked_twice(w: World) -> Probe:
    app_id = w.filed()
    revoked = w.client.post(f"/applications/{app_id}/revoke", headers=w.headers("inv"))
    assert revoked.status_code == 200, revoked.text
    return Probe("inv", "POST", f"/applications/{app_id}/revoke", 409)


def _member_adds_member(w: World) -> Probe:
    case_id = w.open_case("inv")
    assert w.add_member("inv", case_id, "inv2").status_code == 200
    return Probe("inv2", "POST", f"/cases/{case_id}/members", 403, {"username": "analyst"})


def _member_added_twice(w: World) -> Probe:
    case_id = w.open_case("inv")
    assert w.add_member("inv", case_id, "inv2").status_code == 200
    return Probe("inv", "POST", f"/cases/{case_id}/members", 409, {"username": "inv2"})


def _duplicate_case(w: World) -> Probe:
    case_no = f"案-{uuid.uuid4().hex[:8]}"
    body = {"case_no": case_no, "title": "某局问题线索"}
    assert w.client.post("/cases", json=body, headers=w.headers("inv")).status_code == 201
    return Probe("inv", "POST", "/cases", 409, body)


def _filing(status: int, who: str = "inv", **overrides: Any) -> Callable[[World], Probe]:
    def probe(w: World) -> Probe:
        return Probe(who, "POST", "/applications", status, filing_body(w.case_id) | overrides)

    return probe


REFUSALS: dict[str, Callable[[World], Probe]] = {
    "self-approval": _self_approval,
    "approval outside the approver's jurisdiction": lambda w: Probe(
        "far_boss", "POST", f"/applications/{w.filed()}/decision", 403, {"approve": True}
    ),
    "approval without the permission": lambda w: Probe(
        "inv2", "POST", f"/applications/{w.filed()}/decision", 403, {"approve": True}
    ),
    "approval by an officer": lambda w: Probe(
        "auditor", "POST", f"/applications/{w.filed()}/decision", 403, {"approve": True}
    ),
    "decision on a decided application": lambda w: Probe(
        "boss", "POST", f"/applications/{w.app_id}/decision", 409, {"approve": False}
    ),
    "decision on no application": lambda w: Probe(
        "boss", "POST", f"/applications/{MAX_ROW_ID}/decision", 404, {"approve": True}
    ),
    "revocation outside the approver's jurisdiction": lambda w: Probe(
        "far_boss", "POST", f"/applications/{w.filed()}/revoke", 403
    ),
    "revocation of another's application": lambda w: Probe(
        "inv2", "POST", f"/applications/{w.filed()}/revoke", 403
    ),
    "revocation by an officer": lambda w: Probe(
        "sysadmin", "POST", f"/applications/{w.filed()}/revoke", 403
    ),
    "revocation twice": _revoked_twice,
    "reading another user's application": lambda w: Probe(
        "inv2", "GET", f"/applications/{w.app_id}", 403
    ),
    "reading as an approver of other regions": lambda w: Probe(
        "far_boss", "GET", f"/applications/{w.app_id}", 403
    ),
    "reading no application": lambda _w: Probe("inv", "GET", f"/applications/{MAX_ROW_ID}", 404),
    "filing for regions beyond reach": _filing(403, regions=["4402"]),
    "filing under another's case": _filing(403, who="inv2"),
    "filing under no case": _filing(404, case_id=MAX_ROW_ID),
    "filing with a vague purpose": _filing(422, purpose="查询"),
    "filing with a pasted token as region": _filing(422, regions=[JWT_LIKE]),
    "filing with a pasted token as purpose": _filing(422, purpose=f"核查线索 {JWT_LIKE}"),
    "filing with an unknown subject kind": _filing(
        422, subjects=[{"kind": "passport", "value": "E1234"}]
    ),
    "filing with an unknown source": _filing(422, sources=["weather"]),
    "an officer filing": _filing(403, who="auditor"),
    "an officer opening a case": lambda _w: Probe(
        "sysadmin", "POST", "/cases", 403, {"case_no": "案-officer", "title": "某局"}
    ),
    "an approver opening a case": lambda _w: Probe(
        "boss", "POST", "/cases", 403, {"case_no": "案-boss", "title": "某局"}
    ),
    "a case number taken": _duplicate_case,
    "a case without a title": lambda _w: Probe("inv", "POST", "/cases", 422, {"case_no": "x"}),
    "a body that is not JSON": lambda _w: Probe(
        "inv", "POST", "/applications", 400, content=b"{\x83"
    ),
    "no token": lambda _w: Probe(None, "GET", "/cases", 401),
    "a forged token": lambda _w: Probe(None, "GET", "/cases", 401, token=f"Bearer {JWT_LIKE}"),
    "an unknown path": lambda _w: Probe("inv", "GET", f"/nowhere/{PERSON}", 404),
    "an unknown method": lambda _w: Probe("inv", "PUT", "/cases", 405),
    "a governed route without an application": lambda _w: Probe(
        "inv", "GET", f"/persons/{PERSON}/records", 403
    ),
    "a governed route under another's application": lambda w: Probe(
        "inv2", "GET", f"/persons/{PERSON}/records", 403, application=w.app_id
    ),
    "a governed route with an invalid parameter": lambda w: Probe(
        "inv", "GET", "/search?q=%E5%BC%A0&page_size=0", 422, application=w.app_id
    ),
    "a governed route under an application that does not exist": lambda _w: Probe(
        "inv", "GET", f"/persons/{PERSON}/records", 404, application=MAX_ROW_ID
    ),
    "a governed object not found after admission": lambda w: Probe(
        "inv", "GET", "/petitions/XF-NOPE-0001/similar", 404, application=w.app_id
    ),
    "a governed query holding a pasted token": lambda w: Probe(
        "inv", "GET", f"/search?q={JWT_LIKE}", 422, application=w.app_id
    ),
    "a case number holding a pasted token": lambda _w: Probe(
        "inv", "POST", "/cases", 422, {"case_no": JWT_LIKE, "title": "某局"}
    ),
    "the log read by an investigator": lambda _w: Probe("inv", "GET", "/audit/entries", 403),
    "the timeline of no account": lambda _w: Probe(
        "auditor", "GET", "/audit/users/nobody-here/timeline", 404
    ),
    "accounts listed by an investigator": lambda _w: Probe("inv", "GET", "/admin/users", 403),
    "a grant that does not exist": lambda _w: Probe(
        "boss", "POST", f"/grants/{MAX_ROW_ID}/approve", 404
    ),
    "a case read by a non-member": lambda w: Probe("inv2", "GET", f"/cases/{w.case_id}", 403),
    "a case read by an officer": lambda w: Probe("auditor", "GET", f"/cases/{w.case_id}", 403),
    "a member added by a non-owner": lambda w: Probe(
        "inv2", "POST", f"/cases/{w.case_id}/members", 403, {"username": "analyst"}
    ),
    "a member added by a member": _member_adds_member,
    "a member added twice": _member_added_twice,
    "the owner added as a member": lambda w: Probe(
        "inv", "POST", f"/cases/{w.case_id}/members", 409, {"username": "inv"}
    ),
    "an officer added as a member": lambda w: Probe(
        "inv", "POST", f"/cases/{w.case_id}/members", 422, {"username": "auditor"}
    ),
    "an approver added as a member": lambda w: Probe(
        "inv", "POST", f"/cases/{w.case_id}/members", 422, {"username": "boss"}
    ),
    "no such account added": lambda w: Probe(
        "inv", "POST", f"/cases/{w.case_id}/members", 404, {"username": "nobody-here"}
    ),
    "a member removed who is not one": lambda w: Probe(
        "inv", "DELETE", f"/cases/{w.case_id}/members/analyst", 404
    ),
}


@pytest.mark.parametrize("label", list(REFUSALS))
def test_each_refusal_is_one_denial_of_the_caller(world: World, label: str) -> None:
    probe = REFUSALS[label](world)
    headers = world.headers(probe.who, probe.application)
    if probe.token is not None:
        headers["Authorization"] = probe.token
    if probe.content is not None:
        headers["content-type"] = "application/json"
    mark = world.mark()
    response = world.client.request(
        probe.method, probe.url, json=probe.body, content=probe.content, headers=headers
    )
    assert response.status_code == probe.status, response.text
    new = world.entries_since(mark)
    denial = assert_one_denial(new, probe.who)
    logged = json.dumps([[e.route, e.params, e.detail, e.purpose] for e in new], ensure_ascii=False)
    assert not FULL_ID.search(logged), logged
    assert "eyJ" not in logged
    assert PERSON not in str(denial.route)


def test_a_failed_login_is_logged_once(world: World) -> None:
    mark = world.mark()
    response = world.client.post("/auth/token", json={"username": "inv", "password": "wrong!"})
    assert response.status_code == 401
    new = world.entries_since(mark)
    assert [(e.kind, e.actor, e.outcome) for e in new] == [("login_failed", "inv", "denied")]


# --- item 6: decisions and filings are written ahead ---------------------------------------


def test_a_filing_is_written_ahead(world: World) -> None:
    case_id = world.open_case("inv")
    mark = world.mark()
    filed = world.file("inv", case_id)
    assert filed.status_code == 201, filed.text
    intent, outcome = world.entries_since(mark)
    assert (intent.kind, intent.outcome, intent.application_id) == ("admin_action", None, None)
    assert json.loads(intent.params or "{}")["action"] == "file_application"
    assert (outcome.kind, outcome.outcome) == ("application_request", "ok")
    assert outcome.application_id == str(filed.json()["id"])
    assert outcome.purpose == intent.purpose == PURPOSE


@pytest.mark.parametrize(
    ("action", "kind"), [("decision", "decide_application"), ("revoke", "revoke_application")]
)
def test_a_decision_is_written_ahead(world: World, action: str, kind: str) -> None:
    app_id = world.filed()
    who = "boss" if action == "decision" else "inv"
    mark = world.mark()
    response = world.client.post(
        f"/applications/{app_id}/{action}", json={"approve": True}, headers=world.headers(who)
    )
    assert response.status_code == 200, response.text
    intent, outcome = world.entries_since(mark)
    assert (intent.kind, intent.outcome, intent.application_id) == (
        "admin_action",
        None,
        str(app_id),
    )
    assert json.loads(intent.params or "{}")["action"] == kind
    assert (outcome.kind, outcome.outcome) == ("application_decision", "ok")
    assert json.loads(outcome.detail or "{}")["state"]["before"] == "pending"


def test_a_refused_decision_follows_its_intent(world: World) -> None:
    probe = _self_approval(world)
    mark = world.mark()
    world.client.post(probe.url, json=probe.body, headers=world.headers("lead"))
    assert [e.kind for e in world.entries_since(mark)] == ["admin_action", "denial"]


def _count_applications(world: World) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(applications)).scalar_one())


@pytest.mark.parametrize("step", ["file", "decide", "revoke", "open case", "add member"])
def test_a_log_that_cannot_be_written_stops_the_change(
    world: World, tmp_path: Path, step: str
) -> None:
    app_id, case_id = world.filed(), world.open_case("inv")
    before = (_count_applications(world), world.client.get(
        f"/applications/{app_id}", headers=world.headers("inv")).json()["state"])  # fmt: skip
    app = world.client.app
    working = app.state.audit_log  # type: ignore[attr-defined]
    broken = create_db_engine(f"sqlite:///{tmp_path / 'no-log.db'}")  # no log table in it
    app.state.audit_log = AuditLog(broken)  # type: ignore[attr-defined]
    try:
        if step == "file":
            response = world.file("inv", case_id)
        elif step == "decide":
            response = world.decide("boss", app_id)
        elif step == "revoke":
            response = world.client.post(
                f"/applications/{app_id}/revoke", headers=world.headers("inv")
            )
        elif step == "open case":
            body = {"case_no": f"案-{uuid.uuid4().hex[:8]}", "title": "某局"}
            response = world.client.post("/cases", json=body, headers=world.headers("inv"))
        else:
            response = world.add_member("inv", case_id, "inv2")
    finally:
        app.state.audit_log = working  # type: ignore[attr-defined]
        broken.dispose()
    assert response.status_code == 503, response.text
    after = (_count_applications(world), world.client.get(
        f"/applications/{app_id}", headers=world.headers("inv")).json()["state"])  # fmt: skip
    assert after == before
    members = world.client.get(f"/cases/{case_id}", headers=world.headers("inv")).json()["members"]
    assert members == []


def test_a_refusal_that_cannot_be_logged_is_a_503(world: World, tmp_path: Path) -> None:
    app = world.client.app
    working = app.state.audit_log  # type: ignore[attr-defined]
    broken = create_db_engine(f"sqlite:///{tmp_path / 'no-log.db'}")
    app.state.audit_log = AuditLog(broken)  # type: ignore[attr-defined]
    try:
        response = world.client.get(f"/applications/{MAX_ROW_ID + 1}", headers=world.headers("inv"))
    finally:
        app.state.audit_log = working  # type: ignore[attr-defined]
        broken.dispose()
    assert response.status_code == 503


# --- item 8: cases have an owner and members -------------------------------------------------


def test_only_the_owner_and_members_file_under_a_case(world: World) -> None:
    case_id = world.open_case("inv")
    assert world.file("inv2", case_id).status_code == 403
    assert world.add_member("inv", case_id, "inv2").status_code == 200
    assert world.file("inv2", case_id).status_code == 201
    removed = world.client.delete(f"/cases/{case_id}/members/inv2", headers=world.headers("inv"))
    assert removed.status_code == 200, removed.text
    assert removed.json()["members"] == []
    assert world.file("inv2", case_id).status_code == 403
    assert world.file("inv", case_id).status_code == 201


def test_a_case_lists_its_owner_and_members(world: World) -> None:
    case_id = world.open_case("inv")
    for member in ("inv2", "analyst"):
        assert world.add_member("inv", case_id, member).status_code == 200
    seen = world.client.get(f"/cases/{case_id}", headers=world.headers("analyst"))
    assert seen.status_code == 200, seen.text
    assert (seen.json()["owner"], seen.json()["members"]) == ("inv", ["analyst", "inv2"])


@pytest.mark.parametrize("who", ["inv", "inv2", "analyst", "lead"])
def test_the_case_list_holds_only_the_callers_cases(world: World, who: str) -> None:
    mine, theirs = world.open_case("inv"), world.open_case("lead")
    assert world.add_member("inv", mine, "analyst").status_code == 200
    listed = world.client.get("/cases", headers=world.headers(who))
    assert listed.status_code == 200, listed.text
    ids = {case["id"] for case in listed.json()}
    assert (mine in ids) == (who in ("inv", "analyst"))
    assert (theirs in ids) == (who == "lead")
    for case in listed.json():
        assert who == case["owner"] or who in case["members"]


def test_case_changes_and_reads_are_logged(world: World) -> None:
    mark = world.mark()
    case_id = world.open_case("inv")
    world.add_member("inv", case_id, "inv2")
    world.client.get(f"/cases/{case_id}", headers=world.headers("inv2"))
    world.client.get("/cases", headers=world.headers("inv2"))
    world.client.delete(f"/cases/{case_id}/members/inv2", headers=world.headers("inv"))
    new = world.entries_since(mark)
    steps = [(e.kind, e.actor, json.loads(e.params or "{}").get("action")) for e in new]
    assert steps == [
        ("admin_action", "inv", "open_case"),
        ("case_change", "inv", "open_case"),
        ("admin_action", "inv", "add_case_member"),
        ("case_change", "inv", "add_case_member"),
        ("admin_action", "inv2", "read_case"),
        ("admin_action", "inv2", "list_cases"),
        ("admin_action", "inv", "remove_case_member"),
        ("case_change", "inv", "remove_case_member"),
    ]
    added = json.loads(new[3].detail or "{}")["members"]
    assert added == {"before": [], "after": ["inv2"]}
