"""The gate's decision: may this user run this request under this application, and in what scope.

A pure function of the user, the application, the grants the user holds and the request: it
either returns the `Scope` that the query layer turns into filters inside the OpenSearch query,
or raises `GateDeniedError` with the reason (logged as a denial). The HTTP dependency in
search_api wraps it with authentication, the write-ahead log entry and the quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from accounts.roles import Permission, role_rules
from accounts.user_fields import jurisdiction_covers
from accounts.users import User
from common.errors import DomainError
from common.vocab import Source
from query_logs.applications import Application, Category, State, Subject, within_reach

# Deepest result a request may reach (offset + size), whatever the application allows.
RESULT_WINDOW_CAP = 1000


class GateDeniedError(DomainError):
    """The request is refused; ``detail`` says why, without revealing anyone's data."""

    status: ClassVar[int] = 403


class QuotaExhaustedError(GateDeniedError):
    status: ClassVar[int] = 429


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """What a governed route asks for; None means "everything the application allows"."""

    sources: frozenset[Source] | None = None
    regions: tuple[str, ...] | None = None
    subjects: tuple[Subject, ...] = ()  # the subjects a subject-bound operation starts from
    page_size: int = 20
    offset: int = 0
    export: bool = False
    # The comparison models the request runs or reads: None for any other request; () for the
    # clue ledger (a 专项核查 application, whichever models it names).
    models: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """What the query may touch; applied as filters inside the query, never after it."""

    application_id: int
    case_id: int
    sources: tuple[Source, ...]
    regions: tuple[str, ...]  # 行政区划代码 prefixes
    subjects: tuple[Subject, ...]  # non-empty: only records linked to these subjects
    unmask: bool
    page_size: int
    offset: int


def decide_scope(
    user: User,
    application: Application,
    request: QueryRequest,
    grant_regions: tuple[str, ...],
    now: datetime,
) -> Scope:
    """The scope of an allowed request; raises GateDeniedError naming the first failed check."""
    if Permission.READ_REGISTRY not in role_rules().permissions_of(user.roles):
        raise GateDeniedError("your roles do not allow reading registry data")
    if application.applicant_id != user.id:
        raise GateDeniedError("the application belongs to another user")
    state = application.effective_state(now)
    if state is not State.APPROVED:
        raise GateDeniedError(f"the application is {state}, not approved")
    if now < application.valid_from:
        raise GateDeniedError("the application is not valid yet")
    # The user's reach is re-checked at every query: a jurisdiction can shrink after approval.
    for region in application.regions:
        if not within_reach(region, user.jurisdiction, grant_regions):
            raise GateDeniedError(f"region {region} is no longer within your reach")

    sources = application.sources if request.sources is None else request.sources
    if not sources:
        raise GateDeniedError("no source requested")
    if outside := sorted(sources - application.sources):
        raise GateDeniedError(f"source {outside[0]} is outside the application")

    regions = application.regions if request.regions is None else request.regions
    if not regions:
        raise GateDeniedError("no region requested")
    for region in regions:
        if not any(jurisdiction_covers(allowed, region) for allowed in application.regions):
            raise GateDeniedError(f"region {region} is outside the application")

    if request.subjects:
        if not application.subjects:
            raise GateDeniedError("this operation needs subjects named in the application")
        if outside_subjects := [s for s in request.subjects if s not in application.subjects]:
            raise GateDeniedError(
                f"a {outside_subjects[0].kind} subject is outside the application"
            )

    if request.models is not None:
        if application.category is not Category.SPECIAL_CHECK:
            raise GateDeniedError(
                f"comparison models run only under a {Category.SPECIAL_CHECK} application"
            )
        if any(model not in application.models for model in request.models):
            raise GateDeniedError("the application does not name this comparison model")

    if request.export and not application.export:
        raise GateDeniedError("the application does not allow export")
    if not 1 <= request.page_size <= application.page_size_cap:
        raise GateDeniedError(f"page size must be 1 to {application.page_size_cap}")
    window = min(application.result_cap, RESULT_WINDOW_CAP)
    if request.offset < 0 or request.offset + request.page_size > window:
        raise GateDeniedError(
            f"results beyond the first {window} are not available: refine the query"
        )
    return Scope(
        application_id=application.id,
        case_id=application.case_id,
        sources=tuple(sorted(sources)),
        regions=tuple(sorted(regions)),
        subjects=application.subjects,
        unmask=application.unmask,
        page_size=request.page_size,
        offset=request.offset,
    )
