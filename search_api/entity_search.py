"""The entity search itself, shared by ``GET /entities`` (JSON) and the 实体 page (search_api.web):
the typed text is recognised (a malformed one is a logged refusal), the gate admits the request,
two engine calls inside the admitted scope (the matching records' entity keys, then one card per
key; search_api.queries.entities), the outcome entry logs the entity keys returned, and the cards
come back masked. Both doors therefore log, count and mask alike.
"""

from __future__ import annotations

from analyzers.chinese import simplifier
from query_logs.gate import QueryRequest
from registry.engine import EngineDoor
from search_api.gatekeeper import GateKeeper
from search_api.handles import Handles
from search_api.models.cards import EntitySearchResponse, read_cards
from search_api.queries.entities import (
    EntityKind,
    candidates_query,
    cards_query,
    parse_entity_query,
    read_candidates,
)


def find_entities(
    gate: GateKeeper,
    provider: EngineDoor,
    handles: Handles,
    q: str,
    kind: EntityKind,
    limit: int,
) -> EntitySearchResponse:
    """Person and company cards for ``q`` (ID, code, phone, name or pinyin), admitted and
    logged by ``gate``."""
    # a refusal like any other on a governed route: logged, naming the field, never the value
    query = gate.checked(lambda: parse_entity_query(q, kind, simplifier()), {"invalid": ["q"]})
    admission = gate.admit(
        QueryRequest(page_size=limit),
        {"q": q, "query_type": str(query.type), "kind": str(kind), "limit": limit},
    )
    scope = admission.scope
    found = admission.search(provider, candidates_query(scope, query, kind, limit))
    candidates, truncated = read_candidates(found.get("aggregations", {}), limit)
    keyed = []
    if candidates:
        described = admission.search(provider, cards_query(scope, candidates))
        keyed = read_cards(
            candidates,
            described.get("aggregations", {}),
            query.type,
            unmask=scope.unmask,
            handles=handles,
        )
    admission.complete(len(keyed), [key for key, _ in keyed])
    return EntitySearchResponse(
        query_type=str(query.type), cards=[card for _, card in keyed], truncated=truncated
    )
