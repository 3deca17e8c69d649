"""The profile searches themselves (一人一档 and the company profile), shared by the JSON routes
(search_api.routers.profiles), the 一人一档 page and its PDF export (search_api.web).

The gate refuses a subject outside the application. Records come from one multi-search, one
search per source in scope, each inside ``scope_filters``. Three things have no identity link to
the subject and are found by second searches anchored on the subject's own records, within the
application's sources and regions but outside its subject filter (see search_api.queries.entities):
household members (same 户号: name, relation, masked ID only), petitions that report the person by
name and unit without an ID, and petitions that name a company (both as references only).
"""

from __future__ import annotations

from typing import Any

from common.vocab import Source
from query_logs.applications import SubjectKind
from query_logs.gate import QueryRequest
from registry.engine import EngineDoor
from registry.fields import Envelope
from search_api.gatekeeper import Admission, GateKeeper
from search_api.handles import Handles
from search_api.models.profiles import (
    CompanyProfileResponse,
    HouseholdResponse,
    PersonProfileResponse,
    PetitionReferenceResponse,
    company_names,
    company_profile,
    household_numbers,
    person_profile,
    petition_references,
    read_members,
    roster_anchor,
)
from search_api.queries.profiles import (
    household_members_search,
    linked_records_searches,
    person_mentions_search,
    petition_references_search,
)
from search_api.queries.records import MAX_HOUSEHOLD_MEMBERS


def search_sources(
    provider: EngineDoor,
    admission: Admission,
    searches: list[tuple[Source, dict[str, Any]]],
) -> list[tuple[Source, dict[str, Any]]]:
    """One multi-search, a search per source index; any failure is logged, then 503."""
    lines: list[dict[str, Any]] = []
    for source, search in searches:
        lines += [{"index": provider.index_name(str(source)), "ignore_unavailable": True}, search]
    with admission.engine_work():
        answers = provider.msearch_all(lines)
    return [(source, answer) for (source, _), answer in zip(searches, answers, strict=True)]


def _record_ids(answers: list[tuple[Source, dict[str, Any]]]) -> list[str]:
    return [h["_id"] for _, a in answers for h in a.get("hits", {}).get("hits", [])]


def _hit_ids(answer: dict[str, Any]) -> list[str]:
    """The engine's ids of an answer's hits: the outcome entry logs these, not the response's
    pseudonyms."""
    return [h["_id"] for h in answer.get("hits", {}).get("hits", [])]


# What a subject-bound profile links its records by, and names its subject in the log.
_LINKS: dict[SubjectKind, tuple[str, str]] = {
    SubjectKind.PERSON: (Envelope.PERSONS, "id_number"),
    SubjectKind.COMPANY: (Envelope.COMPANIES, "credit_code"),
}


def _admit_with_records(
    gate: GateKeeper,
    provider: EngineDoor,
    kind: SubjectKind,
    value: str,
    per_source: int,
    export: str | None,
) -> tuple[str, Admission, list[tuple[Source, dict[str, Any]]]]:
    """The subject's number or code, the admission, and the subject's linked records (one
    multi-search, ``per_source`` records per source in scope). ``export`` names the format of
    an export: the application must then allow export (the gate's rule)."""
    subject = gate.subject(kind, value)
    field, logged_as = _LINKS[kind]
    params: dict[str, Any] = {logged_as: subject.value, "per_source": per_source}
    if export is not None:
        params["format"] = export
    admission = gate.admit(
        QueryRequest(subjects=(subject,), page_size=per_source, export=export is not None),
        params,
    )
    searches = linked_records_searches(admission.scope, field, subject.value, per_source)
    return subject.value, admission, search_sources(provider, admission, searches)


def read_person_profile(
    gate: GateKeeper,
    provider: EngineDoor,
    handles: Handles,
    id_number: str,
    per_source: int,
    *,
    export: str | None = None,
) -> tuple[PersonProfileResponse, Admission]:
    """The 一人一档 of ``id_number`` (a number or a handle), admitted and logged by ``gate``,
    and its admission (an export notes itself on it)."""
    number, admission, answers = _admit_with_records(
        gate, provider, SubjectKind.PERSON, id_number, per_source, export
    )
    scope = admission.scope
    households: list[HouseholdResponse] = []
    member_ids: list[str] = []
    if numbers := household_numbers(answers):
        found = admission.search(
            provider,
            household_members_search(scope, numbers, MAX_HOUSEHOLD_MEMBERS),
            (Source.HOUSEHOLD,),
        )
        households, member_ids = read_members(found, number, MAX_HOUSEHOLD_MEMBERS, handles)
    mentions: tuple[list[PetitionReferenceResponse], int] = ([], 0)
    mentioned: dict[str, Any] = {}
    if (anchor := roster_anchor(answers)) and Source.PETITION in scope.sources:
        names, unit = anchor
        mentioned = admission.search(
            provider, person_mentions_search(scope, number, names, unit), (Source.PETITION,)
        )
        mentions = petition_references(
            mentioned, names, handles, scope.unmask, link="姓名及单位相符"
        )
    profile = person_profile(number, answers, households, mentions, scope.unmask, handles)
    returned = _record_ids(answers) + member_ids + _hit_ids(mentioned)
    admission.complete(sum(g.total for g in profile.groups) + mentions[1], returned)
    return profile, admission


def read_company_profile(
    gate: GateKeeper,
    provider: EngineDoor,
    handles: Handles,
    credit_code: str,
    per_source: int,
) -> CompanyProfileResponse:
    """The company profile of ``credit_code``, admitted and logged by ``gate``."""
    code, admission, answers = _admit_with_records(
        gate, provider, SubjectKind.COMPANY, credit_code, per_source, None
    )
    scope = admission.scope
    names = company_names(answers, code)
    references: tuple[list[PetitionReferenceResponse], int] = ([], 0)
    found: dict[str, Any] = {}
    if names and Source.PETITION in scope.sources:
        found = admission.search(
            provider, petition_references_search(scope, names), (Source.PETITION,)
        )
        references = petition_references(found, names, handles, scope.unmask)
    profile = company_profile(code, answers, references, scope.unmask, handles)
    returned = _record_ids(answers) + _hit_ids(found)
    admission.complete(sum(c.count for c in profile.counts) + references[1], returned)
    return profile
