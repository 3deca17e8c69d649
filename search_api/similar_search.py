"""More like this petition, shared by ``GET /petitions/{no}/similar`` (JSON) and the similar
petitions shown on a petition in the 一人一档 page (search_api.web): the gate admits the
petition source only, keyword candidates inside the scope (search_api.queries.similar) are
reranked by the cosine similarity of their stored vectors, and every record is masked.
"""

from __future__ import annotations

from typing import Any

from common.errors import NotFoundError
from common.vocab import Source
from query_logs.gate import QueryRequest
from registry.engine import EngineDoor
from search_api.gatekeeper import Admission, GateKeeper
from search_api.handles import Handles
from search_api.models.petitions import SimilarPetitionsResponse, petition_hit
from search_api.queries.similar import more_like_petition_query, petition_query
from search_api.queries.similar_ranking import Ranking, candidate_from_hit, rank_by_similarity


def admit_petitions(
    gate: GateKeeper, page_size: int, offset: int, params: dict[str, Any]
) -> Admission:
    """The gate's admission of a request that reads the petition source only."""
    query = QueryRequest(sources=frozenset({Source.PETITION}), page_size=page_size, offset=offset)
    return gate.admit(query, params)


def find_similar_petitions(
    gate: GateKeeper,
    provider: EngineDoor,
    handles: Handles,
    petition_no: str,
    page_size: int,
) -> SimilarPetitionsResponse:
    """Petitions in scope most like ``petition_no`` (itself in scope; a logged 404 otherwise)."""
    admission = admit_petitions(
        gate, page_size, 0, {"petition_no": petition_no, "page_size": page_size}
    )
    scope = admission.scope
    found = admission.search(provider, petition_query(scope, petition_no))["hits"]["hits"]
    if not found:
        admission.complete(0, [])
        raise NotFoundError("no petition with this number within the application's scope")
    source = candidate_from_hit(found[0])
    body = more_like_petition_query(scope, str(found[0]["_index"]), source.doc_id)
    result = admission.search(provider, body)
    candidates = [candidate_from_hit(h) for h in result["hits"]["hits"]]
    ranked = rank_by_similarity(source.vector, candidates)[:page_size]
    admission.complete(
        int(result["hits"]["total"]["value"]),
        [source.doc_id, *(r.candidate.doc_id for r in ranked)],
    )
    return SimilarPetitionsResponse(
        petition_no=source.petition_no,
        ranking=Ranking.VECTOR if source.vector is not None else Ranking.KEYWORD,
        candidates=len(candidates),
        results=[petition_hit(r, scope.unmask, handles) for r in ranked],
    )
