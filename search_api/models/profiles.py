"""Profiles (一人一档 and the company profile) assembled from the engine's answers (pure: dicts
in, models out).

Masking happens here, once, for everything these responses carry: person ID numbers are masked,
birth dates cut to the month and numbers in free text (names, units, posts) masked unless the
scope unmasks (search_api.masking); record ids are
the server's pseudonyms of the engine's ids, and every person listed carries a handle
(search_api.handles) that names them in an application without the number.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from common.vocab import Source
from registry.fields import ColumnField, Envelope
from search_api.handles import Handles
from search_api.masking import (
    mask_id,
    mask_text,
    shown_birth_date,
    shown_id,
    shown_text,
    shown_texts,
)
from search_api.models.cards import SOURCE_LABELS, SourceCountResponse
from search_api.models.records import RecordResponse, masked_record


class SourceGroupResponse(BaseModel):
    source: str
    label: str
    total: int  # records in scope; more than ``records`` when the group was cut
    records: list[RecordResponse]


class MemberResponse(BaseModel):
    name: str | None
    relation: str | None
    id_number: str | None  # always masked: a member is not a subject of the application
    handle: str | None


class HouseholdResponse(BaseModel):
    household_no: str
    members: list[MemberResponse]  # the other persons of the 户号, in scope
    truncated: bool


class CompanyRoleResponse(BaseModel):
    credit_code: str | None
    company_name: str | None
    role: str  # 法定代表人, 股东 or the officer's post
    share_percent: float | None = None
    subscribed_capital: float | None = None


class EmployerResponse(BaseModel):
    employer_code: str | None
    employer_name: str | None
    insurance_types: list[str]
    statuses: list[str]
    first_insured_on: str | None
    last_stopped_on: str | None


class BenefitSummaryResponse(BaseModel):
    benefit_type: str
    payments: int
    total_amount: float
    first_paid_on: str | None
    last_paid_on: str | None


class PetitionReferenceResponse(BaseModel):
    """A petition that names the company: a reference to look up, not its content."""

    id: str
    petition_no: str | None
    registered_on: str | None
    category: str | None
    status: str | None
    handling_unit: str | None
    handling_tier: str | None
    # 被反映人单位 (a reported person's unit), 文中提及 (named in the text), or 姓名及单位相符 (a
    # reported person without ID number whose name and unit are the subject's)
    link: str


class PersonProfileResponse(BaseModel):
    id_number: str
    handle: str
    names: list[str]
    gender: str | None = None
    birth_date: str | None = None  # the month only unless the application unmasks
    ethnicity: str | None = None
    region_code: str | None = None
    status: str | None = None
    death_date: str | None = None
    household: list[HouseholdResponse]
    companies: list[CompanyRoleResponse]
    employers: list[EmployerResponse]
    benefits: list[BenefitSummaryResponse]
    groups: list[SourceGroupResponse]
    mentions: list[PetitionReferenceResponse]  # reported by name and unit, without ID number
    mentions_total: int


def read_groups(
    answers: list[tuple[Source, dict[str, Any]]], unmask: bool, handles: Handles
) -> list[SourceGroupResponse]:
    """One group per source that holds records, in the fixed order of the registries."""
    groups = []
    for source, answer in sorted(answers, key=lambda a: list(Source).index(a[0])):
        hits = answer.get("hits", {})
        total = int(hits.get("total", {}).get("value", 0))
        if total:
            groups.append(SourceGroupResponse(
                source=str(source), label=SOURCE_LABELS[source], total=total,
                records=[masked_record(h, unmask, handles) for h in hits.get("hits", [])],
            ))  # fmt: skip
    return groups


def _raw(answers: list[tuple[Source, dict[str, Any]]], source: Source) -> list[dict[str, Any]]:
    for found, answer in answers:
        if found is source:
            return [h["_source"] for h in answer.get("hits", {}).get("hits", [])]
    return []


def _company_roles(
    answers: list[tuple[Source, dict[str, Any]]], id_number: str, unmask: bool
) -> list[CompanyRoleResponse]:
    roles = [
        CompanyRoleResponse(
            credit_code=r.get(ColumnField.CREDIT_CODE),
            company_name=r.get(ColumnField.COMPANY_NAME),
            role="法定代表人",
        )
        for r in _raw(answers, Source.COMPANY)
        if r.get(ColumnField.LEGAL_REP_ID) == id_number
    ]
    roles += [
        CompanyRoleResponse(
            credit_code=r.get(ColumnField.CREDIT_CODE),
            company_name=r.get(ColumnField.COMPANY_NAME),
            role="股东",
            share_percent=r.get(ColumnField.SHARE_PERCENT),
            subscribed_capital=r.get(ColumnField.SUBSCRIBED_CAPITAL),
        )
        for r in _raw(answers, Source.SHAREHOLDER)
        if r.get(ColumnField.HOLDER_ID) == id_number
    ]
    roles += [
        CompanyRoleResponse(
            credit_code=r.get(ColumnField.CREDIT_CODE),
            company_name=r.get(ColumnField.COMPANY_NAME),
            role=r.get(ColumnField.POST) or "任职",
        )
        for r in _raw(answers, Source.COMPANY_OFFICER)
        if r.get(ColumnField.ID_NUMBER) == id_number
    ]
    for role in roles:  # a unit's name and a post are free text
        role.company_name = shown_text(role.company_name, unmask)
        role.role = role.role if unmask else mask_text(role.role)
    return roles  # fmt: skip


def _employers(
    answers: list[tuple[Source, dict[str, Any]]], unmask: bool
) -> list[EmployerResponse]:
    by_employer: dict[tuple[str | None, str | None], list[dict[str, Any]]] = {}
    for record in _raw(answers, Source.INSURED):
        key = (record.get(ColumnField.EMPLOYER_CODE), record.get(ColumnField.EMPLOYER_NAME))
        by_employer.setdefault(key, []).append(record)
    employers = []
    for (code, name), records in by_employer.items():
        insured = sorted(
            r[ColumnField.INSURED_ON] for r in records if r.get(ColumnField.INSURED_ON)
        )
        stopped = sorted(
            r[ColumnField.STOPPED_ON] for r in records if r.get(ColumnField.STOPPED_ON)
        )
        employers.append(EmployerResponse(
            employer_code=code, employer_name=shown_text(name, unmask),
            insurance_types=sorted({r[ColumnField.INSURANCE_TYPE] for r in records
                                    if r.get(ColumnField.INSURANCE_TYPE)}),
            statuses=sorted({r[ColumnField.STATUS] for r in records if r.get(ColumnField.STATUS)}),
            first_insured_on=insured[0] if insured else None,
            last_stopped_on=stopped[-1] if stopped else None,
        ))  # fmt: skip
    return employers


def _benefits(answers: list[tuple[Source, dict[str, Any]]]) -> list[BenefitSummaryResponse]:
    answer = next((a for s, a in answers if s is Source.BENEFIT), {})
    buckets = answer.get("aggregations", {}).get("types", {}).get("buckets", [])
    return [
        BenefitSummaryResponse(
            benefit_type=str(b["key"]), payments=int(b["doc_count"]),
            total_amount=round(float(b[ColumnField.AMOUNT]["value"] or 0), 2),
            first_paid_on=b["first"].get("value_as_string"),
            last_paid_on=b["last"].get("value_as_string"),
        )
        for b in buckets
    ]  # fmt: skip


def household_numbers(answers: list[tuple[Source, dict[str, Any]]]) -> list[str]:
    """The 户号 of the person's own household records."""
    return sorted({r[ColumnField.HOUSEHOLD_NO] for r in _raw(answers, Source.HOUSEHOLD)
                   if r.get(ColumnField.HOUSEHOLD_NO)})  # fmt: skip


def read_members(
    answer: dict[str, Any], id_number: str, limit: int, handles: Handles
) -> tuple[list[HouseholdResponse], list[str]]:
    """Households with their other members (masked), and the member record ids for the log."""
    hits = answer.get("hits", {}).get("hits", [])
    households: dict[str, list[MemberResponse]] = {}
    ids = []
    for hit in hits[:limit]:
        member = hit["_source"]
        members = households.setdefault(str(member[ColumnField.HOUSEHOLD_NO]), [])
        if member.get(ColumnField.ID_NUMBER) == id_number:
            continue
        ids.append(hit["_id"])
        number = member.get(ColumnField.ID_NUMBER)
        members.append(
            MemberResponse(
                name=shown_text(member.get(ColumnField.NAME), False),
                relation=member.get(ColumnField.RELATION),
                id_number=mask_id(number) if number else None,
                handle=handles.of(number),
            )
        )
    truncated = len(hits) > limit
    return [HouseholdResponse(household_no=no, members=m, truncated=truncated)
            for no, m in sorted(households.items())], ids  # fmt: skip


def person_profile(
    id_number: str,
    answers: list[tuple[Source, dict[str, Any]]],
    households: list[HouseholdResponse],
    mentions: tuple[list[PetitionReferenceResponse], int],
    unmask: bool,
    handles: Handles,
) -> PersonProfileResponse:
    """The 一人一档 of one person from the answers of ``linked_records_searches``."""
    household = next(iter(_raw(answers, Source.HOUSEHOLD)), {})
    names: list[str] = []
    for source, _ in answers:
        for record in _raw(answers, source):
            if source is Source.PETITION:
                names += [
                    r[ColumnField.NAME]
                    for r in record.get(ColumnField.REPORTED, [])
                    if r.get(ColumnField.ID_NUMBER) == id_number and r.get(ColumnField.NAME)
                ]
            else:
                names += record.get(Envelope.NAMES, [])
    birth_date = household.get(ColumnField.BIRTH_DATE)
    return PersonProfileResponse(
        id_number=shown_id(id_number, unmask),
        handle=handles.handle(id_number),
        names=shown_texts(list(dict.fromkeys(names)), unmask),
        gender=household.get(ColumnField.GENDER),
        birth_date=shown_birth_date(birth_date, unmask),
        ethnicity=household.get(ColumnField.ETHNICITY),
        region_code=household.get(ColumnField.REGION_CODE),
        status=household.get(ColumnField.STATUS),
        death_date=household.get(ColumnField.DEATH_DATE),
        household=households,
        companies=_company_roles(answers, id_number, unmask),
        employers=_employers(answers, unmask),
        benefits=_benefits(answers),
        groups=read_groups(answers, unmask, handles),
        mentions=mentions[0],
        mentions_total=mentions[1],
    )


class ShareholderResponse(BaseModel):
    holder_name: str | None
    holder_type: str | None
    holder_id: str | None  # a person's ID masked unless unmasked; a company's code as is
    handle: str | None  # a person holder's handle
    share_percent: float | None
    subscribed_capital: float | None
    contributed_on: str | None


class OfficerResponse(BaseModel):
    name: str | None
    post: str | None
    id_number: str | None
    handle: str | None


class InvestmentResponse(BaseModel):
    credit_code: str | None
    company_name: str | None
    share_percent: float | None


class EmployeeResponse(BaseModel):
    name: str | None
    id_number: str
    handle: str | None
    status: str | None
    insured_on: str | None
    stopped_on: str | None


class EmployeesResponse(BaseModel):
    count: int  # distinct insured persons in scope
    listed: list[EmployeeResponse]
    truncated: bool


class CompanyProfileResponse(BaseModel):
    credit_code: str
    names: list[str]
    registration: RecordResponse | None
    shareholders: list[ShareholderResponse]
    officers: list[OfficerResponse]
    investments: list[InvestmentResponse]
    employees: EmployeesResponse | None
    petitions: list[PetitionReferenceResponse]
    petitions_total: int
    counts: list[SourceCountResponse]


def _hits(answers: list[tuple[Source, dict[str, Any]]], source: Source) -> list[dict[str, Any]]:
    return next((a.get("hits", {}).get("hits", []) for s, a in answers if s is source), [])


def _employees(
    answers: list[tuple[Source, dict[str, Any]]], unmask: bool, handles: Handles
) -> EmployeesResponse | None:
    answer = next((a for s, a in answers if s is Source.INSURED), None)
    if answer is None:
        return None
    aggs = answer.get("aggregations", {})
    listed = []
    for bucket in aggs.get("staff", {}).get("buckets", []):
        latest = bucket["latest"]["hits"]["hits"][0]["_source"]
        id_number = str(bucket["key"]).upper()
        listed.append(
            EmployeeResponse(
                name=shown_text(latest.get(ColumnField.NAME), unmask),
                id_number=shown_id(id_number, unmask),
                handle=handles.of(id_number),
                status=latest.get(ColumnField.STATUS),
                insured_on=latest.get(ColumnField.INSURED_ON),
                stopped_on=latest.get(ColumnField.STOPPED_ON),
            )
        )
    count = int(aggs.get(Envelope.PERSONS, {}).get("value", 0))
    return EmployeesResponse(count=count, listed=listed, truncated=count > len(listed))


def company_names(answers: list[tuple[Source, dict[str, Any]]], code: str) -> list[str]:
    """The names the registries record for the company itself (not for a company it holds)."""
    names = [h["_source"].get(ColumnField.COMPANY_NAME) for h in _hits(answers, Source.COMPANY)]
    for source in (Source.SHAREHOLDER, Source.COMPANY_OFFICER):
        names += [h["_source"].get(ColumnField.COMPANY_NAME) for h in _hits(answers, source)
                  if h["_source"].get(ColumnField.CREDIT_CODE) == code]  # fmt: skip
    insured = next((a for s, a in answers if s is Source.INSURED), {})
    employer = insured.get("aggregations", {}).get("employer", {}).get("hits", {}).get("hits", [])
    names += [h["_source"].get(ColumnField.EMPLOYER_NAME) for h in employer]
    return list(dict.fromkeys(n for n in names if n))


def petition_references(
    answer: dict[str, Any],
    names: list[str],
    handles: Handles,
    unmask: bool,
    link: str | None = None,
) -> tuple[list[PetitionReferenceResponse], int]:
    """References to the petitions found, and how many there are in scope; the link is
    ``link``, or for a company whether a reported unit or only the text names it."""
    references = []
    for hit in answer.get("hits", {}).get("hits", []):
        petition = hit["_source"]
        units = {r.get(ColumnField.UNIT) for r in petition.get(ColumnField.REPORTED, [])}
        references.append(
            PetitionReferenceResponse(
                id=handles.record_id(hit["_id"]),
                petition_no=petition.get(ColumnField.PETITION_NO),
                registered_on=petition.get(ColumnField.REGISTERED_ON),
                category=shown_text(petition.get(ColumnField.CATEGORY), unmask),
                status=petition.get(ColumnField.STATUS),
                handling_unit=shown_text(petition.get(ColumnField.HANDLING_UNIT), unmask),
                handling_tier=petition.get(ColumnField.HANDLING_TIER),
                link=link or ("被反映人单位" if units & set(names) else "文中提及"),
            )
        )
    return references, int(answer.get("hits", {}).get("total", {}).get("value", 0))


def roster_anchor(answers: list[tuple[Source, dict[str, Any]]]) -> tuple[list[str], str] | None:
    """(names as written and simplified, unit) of the person's roster record, if in scope."""
    roster = next(iter(_raw(answers, Source.OFFICIAL)), None)
    if not roster or not roster.get(ColumnField.UNIT) or not roster.get(ColumnField.NAME):
        return None
    names = list(dict.fromkeys([roster[ColumnField.NAME], *roster.get(Envelope.NAMES, [])]))
    return names, str(roster[ColumnField.UNIT])


def company_profile(
    code: str,
    answers: list[tuple[Source, dict[str, Any]]],
    petitions: tuple[list[PetitionReferenceResponse], int],
    unmask: bool,
    handles: Handles,
) -> CompanyProfileResponse:
    """The company's profile from the answers of ``linked_records_searches`` on ``companies``."""
    registry = next(iter(_hits(answers, Source.COMPANY)), None)
    holders = [h["_source"] for h in _hits(answers, Source.SHAREHOLDER)]
    counts = [(s, int(a.get("hits", {}).get("total", {}).get("value", 0)))
              for s, a in sorted(answers, key=lambda a: list(Source).index(a[0]))]  # fmt: skip
    return CompanyProfileResponse(
        credit_code=code,
        names=shown_texts(company_names(answers, code), unmask),
        registration=masked_record(registry, unmask, handles) if registry else None,
        shareholders=[
            ShareholderResponse(
                holder_name=shown_text(h.get(ColumnField.HOLDER_NAME), unmask),
                holder_type=h.get(ColumnField.HOLDER_TYPE),
                holder_id=h.get(ColumnField.HOLDER_ID)
                if h.get(ColumnField.HOLDER_ID) in h.get(Envelope.COMPANIES, [])
                else shown_id(h.get(ColumnField.HOLDER_ID), unmask),
                handle=handles.of(h.get(ColumnField.HOLDER_ID)),
                share_percent=h.get(ColumnField.SHARE_PERCENT),
                subscribed_capital=h.get(ColumnField.SUBSCRIBED_CAPITAL),
                contributed_on=h.get(ColumnField.CONTRIBUTED_ON),
            )
            for h in holders
            if h.get(ColumnField.CREDIT_CODE) == code
        ],
        officers=[
            OfficerResponse(
                name=shown_text(o.get(ColumnField.NAME), unmask),
                post=shown_text(o.get(ColumnField.POST), unmask),
                id_number=shown_id(o.get(ColumnField.ID_NUMBER), unmask),
                handle=handles.of(o.get(ColumnField.ID_NUMBER)),
            )
            for o in (h["_source"] for h in _hits(answers, Source.COMPANY_OFFICER))
        ],
        investments=[
            InvestmentResponse(
                credit_code=h.get(ColumnField.CREDIT_CODE),
                company_name=shown_text(h.get(ColumnField.COMPANY_NAME), unmask),
                share_percent=h.get(ColumnField.SHARE_PERCENT),
            )
            for h in holders
            if h.get(ColumnField.HOLDER_ID) == code
        ],
        employees=_employees(answers, unmask, handles),
        petitions=petitions[0],
        petitions_total=petitions[1],
        counts=[
            SourceCountResponse(source=str(s), label=SOURCE_LABELS[s], count=n)
            for s, n in counts
            if n
        ],
    )
