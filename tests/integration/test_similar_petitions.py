"""Similar petitions end to end: vectors at ingest, more-like-this, hybrid search, repeat groups.

Real OpenSearch, the real app and the real packaged model. Besides the generated demo drop, the
world ingests a small drop of its own with planted repeats of two matters (one in traditional
characters, one without the reported person's ID) and a twin of one matter outside the region
of the applications, each signed by a planted complainant.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from apiworld import add_accounts, bearer, isolated_settings, log_entries, log_in
from apiworld import approved_application as approve
from fastapi.testclient import TestClient

from accounts.roles import Role
from analyzers.embeddings import decode_vector, shared_embedder
from analyzers.ids import id_check_char
from analyzers.index_settings import index_settings
from common.settings import Settings
from common.vocab import Source
from demo import TRUTH_FILE, write_demo_drop
from indexer.context import ingest_context
from indexer.pipeline import IngestReport, ingest_drop
from indexer.tasks import ingest_queue, run_queued_ingest
from registry.engine import EngineDoor
from registry.fields import VECTOR_FIELD
from registry.mapping import source_mapping
from registry.sources import load_sources
from search_api.app import create_app

REGION = "4601"  # the applications' region (海口市)
PURPOSE = "核查群众反复反映的粮食收储补贴问题线索"


def _pid(body: str) -> str:
    return body + id_check_char(body)


REPORTED_A = _pid("46010619750308123")
REPORTED_B = _pid("46010819800416201")
COMPLAINANT = {"name": "端木秋水", "id": _pid("46010519850505432"), "phone": "13912340875"}
MATTER_A = (
    "反映海口市龙华区粮食和物资储备局局长欧阳振华在2023年秋粮收购中指使粮库压级压价、"
    "虚报收购数量约八千吨，套取国家粮食收储补贴资金，并安排其妻弟承包粮库运输业务。"
)
MATTER_A_TRADITIONAL = (
    "反映海口市龍華區糧食和物資儲備局局長歐陽振華在2023年秋糧收購中指使糧庫壓級壓價、"
    "虛報收購數量約八千噸，套取國家糧食收儲補貼資金，並安排其妻弟承包糧庫運輸業務。"
)
MATTER_B = (
    "举报海口市美兰区住房和城乡建设局副局长司徒明远在老旧小区改造工程招投标中"
    "向特定企业泄露标底，收受中标企业送予的购物卡和现金，常用手机13907550123与其联络。"
)
# number -> (region, content, reported ID or None, category)
PLANTED: dict[str, tuple[str, str, str | None, str]] = {
    "XFPL0000001": ("460106", MATTER_A, REPORTED_A, "粮食购销领域"),
    "XFPL0000002": (
        "460106",
        MATTER_A + "此前已于去年十月反映，至今未见处理结果。",
        REPORTED_A,
        "粮食购销领域",
    ),
    "XFPL0000003": ("460106", MATTER_A_TRADITIONAL, REPORTED_A, "粮食购销领域"),
    "XFPL0000004": ("460106", "再次" + MATTER_A, None, "粮食购销领域"),
    "XFPL0000005": ("460108", MATTER_B, REPORTED_B, "贪污贿赂"),
    "XFPL0000006": ("460108", MATTER_B + "相关证据材料另附。", REPORTED_B, "贪污贿赂"),
    "XFPL0000009": ("440106", MATTER_A, REPORTED_A, "粮食购销领域"),  # outside every application
}
REPEATS_A = {"XFPL0000002", "XFPL0000003", "XFPL0000004"}
OUTSIDE = "XFPL0000009"


def _planted_rows() -> list[dict[str, str]]:
    rows = []
    for number, (region, content, reported_id, category) in PLANTED.items():
        name = "欧阳振华" if reported_id != REPORTED_B else "司徒明远"
        rows.append({
            "信访件编号": number, "登记日期": f"2024-0{int(number[-1]) % 9 + 1}-15",
            "来源渠道": "网络举报", "反映人姓名": COMPLAINANT["name"],
            "反映人证件号码": COMPLAINANT["id"], "反映人联系电话": COMPLAINANT["phone"],
            "是否匿名": "否", "被反映人姓名": name, "被反映人证件号码": reported_id or "",
            "被反映人单位": "海口市龙华区粮食和物资储备局" if name == "欧阳振华"
            else "海口市美兰区住房和城乡建设局",
            "被反映人职务": "局长", "问题类别": category, "问题属地行政区划代码": region,
            "承办单位": "海口市纪委监委信访室", "承办层级": "市", "办理状态": "办理中",
            "内容": content,
        })  # fmt: skip
    return rows


@dataclass
class World:
    client: TestClient
    settings: Settings
    truth: dict[str, Any]
    tokens: dict[str, str]
    planted_drop: Path
    app_id: int  # petitions in 4601
    narrow_id: int  # petitions in 460106 only
    no_petitions_id: int  # households only
    subject_id: int  # petitions in 4601 linked to REPORTED_A only

    def get(self, url: str, app_id: int | None = None, **params: Any) -> Any:
        headers = bearer(self.tokens, "inv", self.app_id if app_id is None else app_id)
        return self.client.get(url, headers=headers, params=params)

    def sealed_values(self) -> set[str]:
        values = {COMPLAINANT["name"], COMPLAINANT["id"], COMPLAINANT["phone"]}
        for person in self.truth["complainants"]:
            values |= {person["name"], person["id_number"], person["phone"]}
        return {v for v in values if v}


def _ingest(local: Settings, root: Path, drop: Path) -> IngestReport:
    with ingest_context(local, root / "rejects" / drop.name) as ctx:
        return ingest_drop(drop, ctx)


def _application(client: TestClient, tokens: dict[str, str], **fields: Any) -> int:
    body = {"purpose": PURPOSE, "category": "初核", "sources": ["petition"],
            "regions": [REGION], "subjects": []} | fields  # fmt: skip
    return approve(client, tokens, body, title="粮食收储补贴问题")


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("similar")
    local = isolated_settings(settings, root, "sim")
    write_demo_drop(root / "drop", persons=300, seed=17)
    truth: dict[str, Any] = json.loads((root / "drop" / TRUTH_FILE).read_text(encoding="utf-8"))
    planted = root / "planted"
    planted.mkdir()
    lines = [json.dumps(row, ensure_ascii=False) for row in _planted_rows()]
    (planted / "petition.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _ingest(local, root, root / "drop")
    _ingest(local, root, planted)
    add_accounts(local, {"inv": ([Role.INVESTIGATOR], "46"), "boss": ([Role.APPROVER], "46")})
    with TestClient(create_app(local)) as client:
        tokens = log_in(client, ["inv", "boss"])
        yield World(
            client, local, truth, tokens, planted,
            _application(client, tokens), _application(client, tokens, regions=["460106"]),
            _application(client, tokens, sources=["household"]),
            _application(client, tokens, subjects=[{"kind": "person_id", "value": REPORTED_A}]),
        )  # fmt: skip


def _petitions(door: EngineDoor, local: Settings) -> dict[str, dict[str, Any]]:
    hits = door.scan(f"{local.index_prefix}-{Source.PETITION}")
    return {h["_id"]: h["_source"] for h in hits}


def _similar(world: World, number: str, app_id: int | None = None, **params: Any) -> Any:
    return world.get(f"/petitions/{number}/similar", app_id, **params)


# --- vectors at ingest ---------------------------------------------------------------------------


def test_every_petition_has_a_vector_of_the_model_dimension(world: World, door: EngineDoor) -> None:
    docs = _petitions(door, world.settings)
    dimension = shared_embedder(world.settings.effective_embedding_model_path).dimension
    assert len(docs) >= len(PLANTED) + 30
    shapes = {
        doc["petition_no"]: getattr(decode_vector(doc.get(VECTOR_FIELD, "")), "shape", None)
        for doc in docs.values()
    }
    assert set(shapes.values()) == {(dimension,)}, shapes


def test_no_other_source_carries_a_vector(world: World, door: EngineDoor) -> None:
    for source in Source:
        if source is Source.PETITION:
            continue
        alias = f"{world.settings.index_prefix}-{source}"
        mapping = next(iter(door.mappings(alias).values()))
        assert VECTOR_FIELD not in mapping["properties"], source
        body = {"query": {"exists": {"field": VECTOR_FIELD}}}
        assert door.count(alias, body) == 0, source


def test_reingest_with_vectors_is_idempotent(world: World, door: EngineDoor) -> None:
    before = _petitions(door, world.settings)
    report = _ingest(world.settings, world.planted_drop.parent, world.planted_drop)
    assert report.by_source()["petition"]["indexed"] == len(PLANTED)
    assert report.by_source()["petition"]["read"] == len(PLANTED)
    assert _petitions(door, world.settings) == before


def test_an_index_made_before_vectors_gains_the_field_at_ingest(
    world: World, door: EngineDoor, tmp_path: Path
) -> None:
    local = world.settings.model_copy(
        update={"index_prefix": f"{world.settings.index_prefix}-old", "state_dir": tmp_path}
    )
    mapping = source_mapping(load_sources()[Source.PETITION])
    del mapping["properties"][VECTOR_FIELD]
    alias = f"{local.index_prefix}-{Source.PETITION}"
    door.swap_alias(alias, door.create_index(alias, index_settings(), mapping))
    report = _ingest(local, tmp_path, world.planted_drop)
    assert report.by_source()["petition"]["indexed"] == len(PLANTED)
    docs = _petitions(door, local)
    assert len(docs) == len(PLANTED)
    assert all(decode_vector(doc[VECTOR_FIELD]) is not None for doc in docs.values())


# --- more like this petition ---------------------------------------------------------------------


def test_the_most_similar_petitions_are_the_planted_repeats(world: World) -> None:
    response = _similar(world, "XFPL0000001", page_size=5)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ranking"] == "vector"
    numbers = [r["petition_no"] for r in body["results"]]
    assert set(numbers[: len(REPEATS_A)]) == REPEATS_A, numbers
    similarities = [r["similarity"] for r in body["results"]]
    assert similarities == sorted(similarities, reverse=True)
    assert "XFPL0000001" not in numbers


def test_similar_never_leaves_the_applications_regions(world: World) -> None:
    for number in sorted(PLANTED.keys() - {OUTSIDE}):
        body = _similar(world, number, page_size=50).json()
        regions = {r["record"]["region_code"][:4] for r in body["results"]}
        assert regions <= {REGION}, (number, regions)
        assert OUTSIDE not in {r["petition_no"] for r in body["results"]}


def test_a_narrower_application_sees_only_its_county(world: World) -> None:
    body = _similar(world, "XFPL0000001", world.narrow_id, page_size=50).json()
    assert body["results"], body
    assert {r["record"]["region_code"][:6] for r in body["results"]} == {"460106"}


def test_a_subject_bound_application_sees_only_its_subjects_petitions(world: World) -> None:
    body = _similar(world, "XFPL0000001", world.subject_id, page_size=50).json()
    # XFPL0000004 repeats the matter but names nobody by ID: it is not linked to the subject.
    assert {r["petition_no"] for r in body["results"]} == {"XFPL0000002", "XFPL0000003"}
    groups = world.get("/petitions/groups", world.subject_id).json()["groups"]
    assert [g["petition_numbers"] for g in groups] == [["XFPL0000001", "XFPL0000002",
                                                        "XFPL0000003"]]  # fmt: skip
    response = _similar(world, "XFPL0000004", world.subject_id)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("number", "which", "status"),
    [
        (OUTSIDE, "app", 404),  # exists, outside the regions: indistinguishable from absent
        ("XFPL0000005", "narrow", 404),  # 美兰区, outside the narrow application
        ("XF0000000000", "app", 404),
        ("XFPL0000001", "no_petitions", 403),  # the application does not cover petitions
    ],
)
def test_a_source_petition_outside_the_scope_is_refused(
    world: World, number: str, which: str, status: int
) -> None:
    app_id = {"app": world.app_id, "narrow": world.narrow_id,
              "no_petitions": world.no_petitions_id}[which]  # fmt: skip
    response = _similar(world, number, app_id)
    assert response.status_code == status, response.text
    assert "results" not in response.json()


def test_similar_request_and_outcome_are_logged(world: World) -> None:
    before = len(log_entries(world.settings))
    body = _similar(world, "XFPL0000005").json()
    new = [e for e in log_entries(world.settings)[before:] if e.kind != "checkpoint"]
    assert [e.kind for e in new] == ["query_request", "query_outcome"]
    assert new[1].hit_count is not None
    assert new[1].hit_count >= len(body["results"])
    assert new[0].application_id == str(world.app_id)


def test_similar_records_are_masked_and_carry_no_vector(world: World) -> None:
    response = _similar(world, "XFPL0000002", page_size=20)
    assert REPORTED_A not in response.text
    assert REPORTED_A[:6] + "*" * 12 in response.text
    assert VECTOR_FIELD not in response.text


def test_numbers_inside_the_content_are_masked(world: World) -> None:
    response = _similar(world, "XFPL0000005")
    assert "XFPL0000006" in response.text
    assert "13907550123" not in response.text
    assert "139****0123" in response.text


# --- hybrid search and groups --------------------------------------------------------------------


@pytest.mark.parametrize("q", ["秋粮收购 压级压价 套取补贴", "秋糧收購 壓級壓價 套取補貼"])
def test_hybrid_search_ranks_the_matter_first_within_scope(world: World, q: str) -> None:
    response = world.get("/petitions/search", q=q, hybrid="true", page_size=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ranking"] == "hybrid"
    numbers = [r["petition_no"] for r in body["results"]]
    assert set(numbers[:4]) == REPEATS_A | {"XFPL0000001"}, numbers
    assert OUTSIDE not in numbers
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert all(r["similarity"] is not None for r in body["results"])


@pytest.mark.parametrize(
    ("update", "status", "ranking"),
    [
        ({"embeddings_enabled": False}, 200, "keyword"),  # hybrid falls back to keywords
        ({"embedding_model_path": Path("/nonexistent/bge-small-zh-v1.5")}, 503, None),
    ],
)
def test_hybrid_search_without_a_usable_model(
    world: World, update: dict[str, Any], status: int, ranking: str | None
) -> None:
    other = world.settings.model_copy(update=update)
    before = len(log_entries(world.settings))
    with TestClient(create_app(other)) as client:
        response = client.get(
            "/petitions/search",
            params={"q": "粮食购销", "hybrid": "true"},
            headers=bearer(world.tokens, "inv", world.app_id),
        )
    assert response.status_code == status, response.text
    outcome = [e for e in log_entries(world.settings)[before:] if e.kind == "query_outcome"]
    assert [e.outcome for e in outcome] == ["ok" if status == 200 else "error"]
    if ranking is not None:
        assert response.json()["ranking"] == ranking
        assert all(r["similarity"] is None for r in response.json()["results"])


def test_keyword_search_without_hybrid_is_the_engine_order(world: World) -> None:
    body = world.get("/petitions/search", q="老旧小区改造").json()
    assert body["ranking"] == "keyword"
    assert {r["petition_no"] for r in body["results"]} == {"XFPL0000005", "XFPL0000006"}
    assert all(r["similarity"] is None for r in body["results"])


def test_groups_gather_the_repeats_of_each_matter(world: World) -> None:
    response = world.get("/petitions/groups", page_size=50)
    assert response.status_code == 200, response.text
    groups = {frozenset(g["petition_numbers"]): g for g in response.json()["groups"]}
    matter_a = frozenset(REPEATS_A | {"XFPL0000001"})
    assert matter_a in groups, list(groups)
    assert groups[matter_a]["count"] == 4
    assert groups[matter_a]["reported_names"] == ["欧阳振华"]
    assert frozenset({"XFPL0000005", "XFPL0000006"}) in groups
    assert all(OUTSIDE not in numbers for numbers in groups)


def test_groups_of_a_query_hold_only_matching_petitions(world: World) -> None:
    groups = world.get("/petitions/groups", q="老旧小区改造").json()["groups"]
    assert [g["petition_numbers"] for g in groups] == [["XFPL0000005", "XFPL0000006"]]


def test_groups_link_the_same_person_and_category_even_when_texts_differ(world: World) -> None:
    # threshold 1.0: only identical vectors count as similar text; the planted repeats that
    # name 欧阳振华's ID number under one category still form one group by that link.
    groups = world.get("/petitions/groups", q="欧阳振华", threshold=1.0).json()["groups"]
    linked = [g for g in groups if "same_person_and_category" in g["reasons"]]
    assert any({"XFPL0000001", "XFPL0000002", "XFPL0000003"} <= set(g["petition_numbers"])
               for g in linked), groups  # fmt: skip


# --- the complainant is sealed, malformed input is a 4xx ----------------------------------------


def test_no_complainant_value_appears_in_any_response(world: World) -> None:
    sealed = world.sealed_values()
    numbers = list(PLANTED) + [n for ns in world.truth["patterns"]["theme_petitions"]["by_tier"]
                               .values() for n in ns]  # fmt: skip
    texts = [_similar(world, n, page_size=50).text for n in numbers]
    texts += [world.get("/petitions/search", q=q, hybrid="true", page_size=50).text
              for q in ("粮食购销", "反映", COMPLAINANT["name"], COMPLAINANT["phone"])]  # fmt: skip
    texts.append(world.get("/petitions/groups", page_size=50).text)
    leaks = {value for value in sealed for text in texts if value in text}
    assert not leaks


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/petitions/search", {"q": ""}),
        ("/petitions/search", {"q": "   "}),
        ("/petitions/search", {"q": "粮" * 2000}),  # ~18 KB once URL-encoded
        ("/petitions/search", {"q": "粮食\x00购销"}),
        ("/petitions/search", {"q": "粮食", "vector_weight": "2"}),
        ("/petitions/search", {"q": "粮食", "vector_weight": "nan", "hybrid": "true"}),
        ("/petitions/search", {"q": "粮食", "page_size": "0"}),
        ("/petitions/search", {"q": "粮食", "offset": "99999"}),
        ("/petitions/search", {"q": "粮食", "hybrid": "maybe"}),
        ("/petitions/groups", {"threshold": "0"}),
        ("/petitions/groups", {"threshold": "nan"}),
        ("/petitions/groups", {"page_size": "1000"}),
        ("/petitions/XFPL0000001/similar", {"page_size": "-1"}),
        ("/petitions/" + "X" * 10_000 + "/similar", {}),
        ("/petitions/%01%02/similar", {}),
    ],
)
def test_malformed_input_is_refused_with_4xx(
    world: World, url: str, params: dict[str, str]
) -> None:
    response = world.get(url, **params)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)


# --- the Celery path ------------------------------------------------------------------------------


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Warm shutdown of the worker's process group (its pool children too); SIGKILL if stuck."""
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


@pytest.mark.slow
def test_a_prefork_celery_worker_embeds_petitions_without_hanging(
    world: World, door: EngineDoor, tmp_path: Path
) -> None:
    # The prefork pool forks its child after importing indexer.worker: the model must load in
    # the child, inside the task (torch before a fork can hang the child).
    queued = world.settings.model_copy(
        update={"index_prefix": f"{world.settings.index_prefix}-q", "state_dir": tmp_path}
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIANSUO_")} | {
        "XIANSUO_OPENSEARCH_URL": queued.opensearch_url,
        "XIANSUO_REDIS_URL": queued.redis_url,
        "XIANSUO_INDEX_PREFIX": queued.index_prefix,
        "XIANSUO_STATE_DIR": str(tmp_path),
    }
    command = [
        str(Path(sys.executable).parent / "celery"), "-A", "indexer.worker", "worker",
        "--pool", "prefork", "--concurrency", "1", "-Q", ingest_queue(queued),
        "-n", f"sim-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle",
        "--without-heartbeat",
    ]  # fmt: skip
    with (tmp_path / "worker.log").open("ab") as out:
        worker = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        report = run_queued_ingest(
            queued, world.planted_drop, tmp_path / "rejects", reload=True, timeout_s=180
        )
    finally:
        _stop(worker)
        broker = redis.Redis.from_url(queued.redis_url, socket_timeout=5)
        for key in broker.scan_iter(match=f"{queued.index_prefix}:*"):
            broker.delete(key)
        broker.close()
    assert report.by_source()["petition"]["indexed"] == len(PLANTED)
    dimension = shared_embedder(queued.effective_embedding_model_path).dimension
    vectors = [decode_vector(d[VECTOR_FIELD]) for d in _petitions(door, queued).values()]
    assert len(vectors) == len(PLANTED)
    assert all(v is not None and v.shape == (dimension,) for v in vectors)
