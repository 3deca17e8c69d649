"""GET /persons/{id}/profile (一人一档), its PDF, and GET /companies/{code}/profile (governed,
subject-bound).

The searches are search_api.profile_search's, shared with the web UI's 一人一档 page; the PDF is
search_api.web.profile_pdf's, shared with the page's export link. The PDF is an export: the
application must allow export, and an ``export`` entry is logged besides the query's own pair.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from search_api.access import Access, access
from search_api.deps import Gate, HandlesDep, Provider
from search_api.models.profiles import CompanyProfileResponse, PersonProfileResponse
from search_api.profile_search import read_company_profile, read_person_profile
from search_api.queries.profiles import DEFAULT_PER_SOURCE, MAX_PER_SOURCE
from search_api.web.profile_pdf import PDF_MEDIA_TYPE, export_profile_pdf

router = APIRouter(tags=["profiles"])

PerSource = Annotated[int, Query(ge=1, le=MAX_PER_SOURCE)]


@router.get("/persons/{id_number}/profile", response_model=PersonProfileResponse,
            openapi_extra=access(Access.GOVERNED))  # fmt: skip
def person_profile_route(
    id_number: str,
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    per_source: PerSource = DEFAULT_PER_SOURCE,
) -> PersonProfileResponse:
    profile, _ = read_person_profile(gate, provider, handles, id_number, per_source)
    return profile


@router.get(
    "/persons/{id_number}/profile.pdf",
    openapi_extra=access(Access.GOVERNED),
    responses={200: {"content": {PDF_MEDIA_TYPE: {}}}},
)
def person_profile_pdf(
    id_number: str,
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    per_source: PerSource = DEFAULT_PER_SOURCE,
) -> Response:
    """The 一人一档 as a PDF (Noto Sans CJK embedded): an export (the application must allow
    it; logged)."""
    return export_profile_pdf(gate, provider, handles, id_number, per_source)


@router.get("/companies/{credit_code}/profile", response_model=CompanyProfileResponse,
            openapi_extra=access(Access.GOVERNED))  # fmt: skip
def company_profile_route(
    credit_code: str,
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    per_source: PerSource = DEFAULT_PER_SOURCE,
) -> CompanyProfileResponse:
    return read_company_profile(gate, provider, handles, credit_code, per_source)
