"""GET /entities: person and company cards for an ID, code, phone, name or pinyin (governed).

Two engine calls inside the application's scope (see search_api.entity_queries): the matching
records' entity keys, then one card per key. The outcome entry logs the entity keys returned.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from opensearchpy.exceptions import OpenSearchException

from analyzers.chinese import simplifier
from common.vocab import Source
from query_logs.errors import InvalidInputError
from query_logs.gate import QueryRequest
from search_api.access import Access, access
from search_api.cards import EntitySearchResponse, read_cards
from search_api.deps import Admission, Gate, GateKeeper, Provider
from search_api.entity_queries import (
    DEFAULT_CARDS,
    MAX_CARDS,
    MAX_QUERY_CHARS,
    EntityKind,
    EntityQuery,
    candidates_query,
    cards_query,
    parse_entity_query,
    read_candidates,
)
from search_api.provider import EngineUnavailableError, OpenSearchProvider

router = APIRouter(tags=["entities"])


def search_in_scope(
    provider: OpenSearchProvider,
    admission: Admission,
    body: dict[str, Any],
    sources: tuple[Source, ...] | None = None,
) -> dict[str, Any]:
    """One search over the indices of the scope's sources (or of those of ``sources`` in scope);
    an engine failure is logged, then 503."""
    wanted = [s for s in admission.scope.sources if sources is None or s in sources]
    indices = ",".join(provider.index_name(str(s)) for s in wanted)
    try:
        result: dict[str, Any] = provider.client.search(
            index=indices, body=body, params={"ignore_unavailable": "true"}
        )
    except (OpenSearchException, OSError) as exc:
        admission.fail(type(exc).__name__)
        raise EngineUnavailableError("the search engine did not answer") from exc
    return result


def _parse(gate: GateKeeper, q: str, kind: EntityKind) -> EntityQuery:
    try:
        return parse_entity_query(q, kind, simplifier())
    except InvalidInputError as exc:  # a refusal like any other on a governed route: logged
        raise gate.refuse(exc, {"invalid": ["q"]}) from None


@router.get("/entities", response_model=EntitySearchResponse,
            openapi_extra=access(Access.GOVERNED))  # fmt: skip
def search_entities(
    gate: Gate,
    provider: Provider,
    q: str = Query(min_length=1, max_length=MAX_QUERY_CHARS,
                   description="ID number, 统一社会信用代码, phone, name or its pinyin"),
    kind: EntityKind = EntityKind.AUTO,
    limit: int = Query(default=DEFAULT_CARDS, ge=1, le=MAX_CARDS),
) -> EntitySearchResponse:  # fmt: skip
    query = _parse(gate, q, kind)
    admission = gate.admit(
        QueryRequest(page_size=limit),
        {"q": q, "query_type": str(query.type), "kind": str(kind), "limit": limit},
    )
    scope = admission.scope
    found = search_in_scope(provider, admission, candidates_query(scope, query, kind, limit))
    candidates, truncated = read_candidates(found.get("aggregations", {}), limit)
    keyed = []
    if candidates:
        described = search_in_scope(provider, admission, cards_query(scope, candidates))
        keyed = read_cards(
            candidates, described.get("aggregations", {}), query.type, unmask=scope.unmask
        )
    admission.complete(len(keyed), [key for key, _ in keyed])
    return EntitySearchResponse(
        query_type=str(query.type), cards=[card for _, card in keyed], truncated=truncated
    )
