"""Response models of the comparison-model routes (search_api.routers.models): the models, a
run, its hits and the clue ledger. A subject's number is masked unless the application unmasks,
every subject carries its handle, and evidence shows the server's pseudonym of each record id."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from comparison.definitions import MODEL_ID_PATTERN, Catalogue, ComparisonModel, Level
from comparison.ledger import Clue, ClueQuery, DueFlag
from comparison.runner import Evidence
from comparison.store import ClueStatus, Run, StoredHit
from search_api.handles import Handles
from search_api.masking import mask_id, mask_text

RELATION_LABELS = {"self": "本人", "spouse": "配偶", "child": "子女"}


class ModelResponse(BaseModel):
    id: str
    name: str  # 名称
    description: str  # 说明
    level: str
    level_label: str
    due_days: int  # a new clue is due this many days after it is opened
    sources: list[str]  # what an application must name to run it
    evidence: list[str]

    @classmethod
    def of(cls, model: ComparisonModel, catalogue: Catalogue) -> ModelResponse:
        rule = catalogue.levels[model.level]
        return cls(
            id=model.id,
            name=model.name,
            description=model.description,
            level=str(model.level),
            level_label=rule.label,
            due_days=rule.due_days,
            sources=sorted(str(s) for s in model.sources),
            evidence=sorted(str(s) for s in model.evidence),
        )


class RunResponse(BaseModel):
    run_id: int
    model_id: str
    application_id: int
    state: str
    hit_count: int | None
    new_count: int | None  # hits that opened a new clue (新增)
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, run: Run) -> RunResponse:
        return cls(
            run_id=run.id,
            model_id=run.model_id,
            application_id=run.application_id,
            state=str(run.state),
            hit_count=run.hit_count,
            new_count=run.new_count,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


class SubjectResponse(BaseModel):
    person_id: str  # masked unless the application unmasks
    name: str
    handle: str

    @classmethod
    def of(cls, person_id: str, name: str, unmask: bool, handles: Handles) -> SubjectResponse:
        return cls(
            person_id=person_id if unmask else mask_id(person_id),
            name=name if unmask else mask_text(name),
            handle=handles.handle(person_id),
        )


class EvidenceResponse(BaseModel):
    source: str
    record_id: str  # the server's pseudonym of the record (search_api.handles)
    relation: str  # whose record: 本人 / 配偶 / 子女

    @classmethod
    def of(cls, item: Evidence, handles: Handles) -> EvidenceResponse:
        return cls(
            source=str(item.source),
            record_id=handles.record_id(item.record_id),
            relation=RELATION_LABELS[str(item.relation)],
        )


class HitResponse(BaseModel):
    clue_no: str
    level: str
    new: bool  # 新增: this run opened the clue
    subject: SubjectResponse
    evidence: list[EvidenceResponse]

    @classmethod
    def of(cls, hit: StoredHit, unmask: bool, handles: Handles) -> HitResponse:
        return cls(
            clue_no=hit.clue_no,
            level=str(hit.level),
            new=hit.is_new,
            subject=SubjectResponse.of(hit.person_id, hit.name, unmask, handles),
            evidence=[EvidenceResponse.of(e, handles) for e in hit.evidence],
        )


class HitPageResponse(BaseModel):
    run: RunResponse
    total: int
    hits: list[HitResponse]


class ClueResponse(BaseModel):
    id: int
    clue_no: str
    model_id: str
    level: str
    status: str
    flag: str | None  # 逾期 / 临期 (临期提醒), for an open clue
    new: bool  # 新增: first found by its model's latest run
    assignee: str | None
    due_on: date
    notes: str
    subject: SubjectResponse
    first_run_id: int
    last_run_id: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls, clue: Clue, *, flag: str | None, new: bool, unmask: bool, handles: Handles
    ) -> ClueResponse:
        return cls(
            id=clue.id,
            clue_no=clue.clue_no,
            model_id=clue.model_id,
            level=str(clue.level),
            status=str(clue.status),
            flag=flag,
            new=new,
            assignee=clue.assignee,
            due_on=clue.due_on,
            notes=clue.notes if unmask else mask_text(clue.notes),
            subject=SubjectResponse.of(clue.person_id, clue.name, unmask, handles),
            first_run_id=clue.first_run_id,
            last_run_id=clue.last_run_id,
            created_at=clue.created_at,
            updated_at=clue.updated_at,
        )


class CluePageResponse(BaseModel):
    total: int
    clues: list[ClueResponse]


class ClueUpdateRequest(BaseModel):
    """What an update sets; a field left out stays as it is (``assignee: ""`` clears it)."""

    status: ClueStatus | None = None
    assignee: str | None = Field(default=None, max_length=64)
    due_on: date | None = None
    notes: str | None = Field(default=None, max_length=2000)


# The ledger's filters, as query parameters (GET /models/clues, its export, the 问题线索台账 page).

Statuses = Annotated[
    list[ClueStatus] | None, Query(description="待处置 / 核查中 / 已办结 / 已了结")
]
Levels = Annotated[list[Level] | None, Query(description="red / yellow / blue")]
ModelIds = Annotated[
    list[Annotated[str, Query(max_length=48, pattern=MODEL_ID_PATTERN)]] | None, Query()
]
Flag = Annotated[DueFlag | None, Query(description="逾期 (overdue) or 临期 (due soon)")]
NewOnly = Annotated[bool, Query(description="新增 only: clues opened by their model's latest run")]


def clue_query(
    status: list[ClueStatus] | None,
    level: list[Level] | None,
    model: list[str] | None,
    flag: DueFlag | None,
    new: bool = False,
) -> ClueQuery:
    """The ledger's filters as the ledger's query (shared with the 问题线索台账 page)."""
    return ClueQuery(tuple(status or ()), tuple(level or ()), tuple(model or ()), flag, new)
