"""Similar petitions (governed): more like this petition, hybrid petition search, repeat groups.

Every route asks the gate for the petition source; the scope's filters sit inside every query
(search_api.queries.similar), candidates are reranked in Python
(search_api.queries.similar_ranking) and every record is masked before it leaves. Only hybrid
search needs the model in the API process: it is loaded on the first such request and kept for
the process (analyzers.embeddings).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from analyzers.chinese import simplifier
from analyzers.embeddings import Embedder, EmbeddingModelError, Vector, shared_embedder
from common.errors import DomainError
from common.settings import Settings
from search_api.access import Access, access
from search_api.deps import Gate, HandlesDep, Provider, SettingsDep
from search_api.gatekeeper import Admission
from search_api.models.petitions import (
    PetitionGroupsResponse,
    PetitionSearchResponse,
    SimilarPetitionsResponse,
    petition_group,
    petition_hit,
)
from search_api.queries.similar import (
    SIMILAR_CANDIDATES,
    group_candidates_query,
    petition_search_query,
)
from search_api.queries.similar_ranking import (
    Ranked,
    Ranking,
    candidate_from_hit,
    group_repeats,
    rank_hybrid,
)
from search_api.similar_search import admit_petitions, find_similar_petitions

router = APIRouter(tags=["petitions"])

# Printable text only: control characters are refused (422) before the gate logs anything.
_TEXT = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
PetitionNo = Annotated[str, Path(min_length=1, max_length=64, pattern=_TEXT)]
QueryText = Annotated[str, Query(min_length=1, max_length=200, pattern=_TEXT)]
PageSize = Annotated[int, Query(ge=1, le=50)]


class EmbeddingUnavailableError(DomainError):
    """The embedding model could not be loaded in the API process."""

    status = 503


def _admit(gate: Gate, page_size: int, offset: int, params: dict[str, Any]) -> Admission:
    return admit_petitions(gate, page_size, offset, params)


def query_embedder(settings: Settings) -> Embedder | None:
    """The process's embedder for query text (the ingest's model), or None when disabled.

    The model loads on the first encode; an app lifespan may call this and encode once to
    take that load (seconds) off the first hybrid search."""
    if not settings.embeddings_enabled:
        return None
    return shared_embedder(
        settings.effective_embedding_model_path,
        batch_size=settings.embedding_batch_size,
        threads=settings.embedding_threads,
    )


def _query_vector(settings: Settings, text: str, admission: Admission) -> Vector | None:
    embedder = query_embedder(settings)
    if embedder is None:
        return None
    try:
        return embedder.encode_one(text)
    except (EmbeddingModelError, RuntimeError, OSError, ValueError) as exc:  # onnxruntime's too
        admission.fail("embedding model unavailable")
        raise EmbeddingUnavailableError("the embedding model is not available") from exc


@router.get("/petitions/search", response_model=PetitionSearchResponse,
            openapi_extra=access(Access.GOVERNED))  # fmt: skip
def search_petitions(
    gate: Gate,
    provider: Provider,
    settings: SettingsDep,
    handles: HandlesDep,
    q: QueryText,
    hybrid: bool = False,
    vector_weight: float = Query(default=0.5, ge=0.0, le=1.0),
    page_size: PageSize = 20,
    offset: int = Query(default=0, ge=0, le=1000),
) -> PetitionSearchResponse:
    """Petitions in scope matching ``q``; with ``hybrid``, the keyword candidates are reranked
    by a blend of keyword score and similarity to the embedding of ``q``."""
    params = {"q": q, "hybrid": hybrid, "vector_weight": vector_weight,
              "page_size": page_size, "offset": offset}  # fmt: skip
    admission = _admit(gate, page_size, offset, params)
    scope = admission.scope
    # Documents hold every text simplified (all_text) and were embedded simplified: so is q.
    text = simplifier()(q)
    if hybrid:  # rerank a window of candidates, then page inside it
        window = max(SIMILAR_CANDIDATES, offset + page_size)
        result = admission.search(provider, petition_search_query(scope, text, window))
        candidates = [candidate_from_hit(h) for h in result["hits"]["hits"]]
        query = _query_vector(settings, text, admission)
        ranked = rank_hybrid(query, candidates, vector_weight)[offset : offset + page_size]
        ranking = Ranking.HYBRID if query is not None else Ranking.KEYWORD
    else:
        body = petition_search_query(scope, text, page_size, offset)
        result = admission.search(provider, body)
        hits = result["hits"]["hits"]
        ranked = [Ranked(c, c.keyword_score, None) for c in map(candidate_from_hit, hits)]
        ranking = Ranking.KEYWORD
    total = int(result["hits"]["total"]["value"])
    admission.complete(total, [r.candidate.doc_id for r in ranked])
    return PetitionSearchResponse(
        total=total,
        ranking=ranking,
        results=[petition_hit(r, scope.unmask, handles) for r in ranked],
    )


@router.get("/petitions/groups", response_model=PetitionGroupsResponse,
            openapi_extra=access(Access.GOVERNED))  # fmt: skip
def petition_groups(
    gate: Gate,
    provider: Provider,
    settings: SettingsDep,
    q: QueryText | None = None,
    threshold: float | None = Query(default=None, gt=0.0, le=1.0),
    page_size: PageSize = 20,
) -> PetitionGroupsResponse:
    """Groups of repeated petitions about one matter among the newest in scope (matching ``q``):
    linked by similar text (cosine ≥ ``threshold``) or by the same reported person and 问题类别."""
    limit = settings.petition_group_threshold if threshold is None else threshold
    params = {"q": q, "threshold": limit, "page_size": page_size}
    admission = _admit(gate, page_size, 0, params)
    text = simplifier()(q) if q else None
    result = admission.search(provider, group_candidates_query(admission.scope, text))
    candidates = [candidate_from_hit(h) for h in result["hits"]["hits"]]
    groups = group_repeats(candidates, limit)[:page_size]
    total = int(result["hits"]["total"]["value"])
    admission.complete(total, [c.doc_id for g in groups for c in g.members])
    return PetitionGroupsResponse(
        total=total,
        examined=len(candidates),
        groups=[petition_group(g, admission.scope.unmask) for g in groups],
    )


@router.get("/petitions/{petition_no}/similar", response_model=SimilarPetitionsResponse,
            openapi_extra=access(Access.GOVERNED))  # fmt: skip
def similar_petitions(
    petition_no: PetitionNo,
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    page_size: PageSize = 10,
) -> SimilarPetitionsResponse:
    """Petitions in scope most like this one (itself in scope): keyword candidates reranked by
    the cosine similarity of their stored vectors (search_api.similar_search)."""
    return find_similar_petitions(gate, provider, handles, petition_no, page_size)
