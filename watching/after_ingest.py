"""The step after an ingest: notify watchers of new or changed records about their watched
persons, and re-run standing comparison runs, notifying their owners of new clues only.

Both are governed as a query is: each application is re-checked by the gate's own decision
(``query_logs.gate.decide_scope``) for its owner now; a watch or standing run whose application
expired, was revoked or no longer admits its owner is ended (a logged denial, no notification).
A search writes its request entry before the engine is asked and its outcome after; a standing
re-run counts against the application's quota as ``POST /models/{id}/runs`` does. Every
notification stored is logged (``notification`` entries name their ids). Only the records the
ingest wrote with new content are examined (``watching.matching``): the ids it lists per source,
or every record of a source it loaded for the first time (``registry.changes.SourceChanges``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from accounts.users import User, get_user_by_id
from common.errors import EngineUnavailableError, UserNotFoundError
from comparison.definitions import Catalogue
from comparison.execution import execute_run
from comparison.store import Run, clues, start_run
from query_logs.applications import (
    Application,
    ApplicationNotFoundError,
    Subject,
    SubjectKind,
    consume_query_in,
    get_application,
)
from query_logs.audit import AuditKind, AuditOutcome, Recorder, digest_record_ids
from query_logs.gate import GateDeniedError, QueryRequest, QuotaExhaustedError, Scope, decide_scope
from query_logs.grants import active_grant_regions
from registry.changes import SourceChanges
from registry.engine import EngineDoor
from watching.matching import find_watched_records
from watching.store import (
    NotificationIn,
    NotificationKind,
    StandingRun,
    Watch,
    active_standing_runs,
    active_watches,
    add_notifications,
    end_standing,
    end_watches,
    record_rerun,
)

log = structlog.get_logger(__name__)

WATCH_STEP = "watch_match"  # the request entry's step: the records of an ingest matched
RERUN_STEP = "standing_rerun"  # a standing run re-run after an ingest

Filters = Callable[[Scope], tuple[dict[str, Any], ...]]


@dataclass(frozen=True, slots=True)
class WatchStep:
    """What the step needs: the store, the engine, the command line's recorder, the scope's
    filter builder (the API's, so a re-run is filtered as a run through the API is)."""

    db: Engine
    door: EngineDoor
    recorder: Recorder
    run_filters: Filters
    catalogue: Catalogue
    clock: Callable[[], datetime]
    today: date


@dataclass(slots=True)
class WatchReport:
    """What the step did (printed by ``xiansuo ingest``; counts only)."""

    record_notices: int = 0
    clue_notices: int = 0
    reruns: int = 0
    ended_watches: int = 0
    ended_runs: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "record_notices": self.record_notices,
            "clue_notices": self.clue_notices,
            "reruns": self.reruns,
            "ended_watches": self.ended_watches,
            "ended_runs": self.ended_runs,
            "errors": self.errors,
        }


def notify_after_ingest(step: WatchStep, changed: Mapping[str, SourceChanges]) -> WatchReport:
    """Notify watchers and re-run standing runs for the records an ingest created or changed
    (``changed``: per source, the ids or every record). Nothing happens when nothing changed."""
    report = WatchReport()
    if not any(c.records for c in changed.values()):
        return report
    by_application: dict[int, list[Watch]] = defaultdict(list)
    for watch in active_watches(step.db):
        by_application[watch.application_id].append(watch)
    for application_id, group in by_application.items():
        _notify_watchers(step, application_id, group, changed, report)
    for standing in active_standing_runs(step.db):
        _rerun(step, standing, changed, report)
    return report


@dataclass(frozen=True, slots=True)
class _Admitted:
    user: User
    application: Application
    scope: Scope
    recorder: Recorder  # as the owner, under the application and its case


def _admit(
    step: WatchStep,
    owner_id: int,
    application_id: int,
    request: QueryRequest,
    params: dict[str, Any],
) -> _Admitted | None:
    """The owner's scope under the application now, or None after a logged denial."""
    now = step.clock()
    user: User | None = None
    try:
        user = get_user_by_id(step.db, owner_id)
        application = get_application(step.db, application_id)
        grants = active_grant_regions(step.db, user.id, now)
        scope = decide_scope(user, application, request, grants, now)
    except (UserNotFoundError, ApplicationNotFoundError, GateDeniedError) as exc:
        step.recorder.by(user).under(str(application_id)).deny(exc.detail, params=params)
        return None
    caller = step.recorder.by(user)
    return _Admitted(
        user,
        application,
        scope,
        caller.under(str(application.id), application.case_no, application.purpose),
    )


def _logged_scope(scope: Scope) -> dict[str, Any]:
    """The scope as logged: codes only (sources, region prefixes), never a subject's number."""
    return {
        "application_id": scope.application_id,
        "sources": [str(s) for s in scope.sources],
        "regions": list(scope.regions),
        "subjects": len(scope.subjects),
    }


def _changed_params(in_scope: Mapping[str, SourceChanges]) -> dict[str, Any]:
    """What the request entry says of the records matched: how many (a first-loaded source's
    are every record its run indexed) and, when any, which sources are matched whole."""
    params: dict[str, Any] = {"changed_records": sum(c.records for c in in_scope.values())}
    if whole := sorted(s for s, c in in_scope.items() if c.every_record):
        params["every_record_of"] = whole
    return params


def _notify_watchers(
    step: WatchStep,
    application_id: int,
    group: list[Watch],
    changed: Mapping[str, SourceChanges],
    report: WatchReport,
) -> None:
    """One application's watches: admit, match the changed records, store and log notices."""
    by_owner: dict[int, list[Watch]] = defaultdict(list)
    for watch in group:
        by_owner[watch.owner_id].append(watch)
    for owner_id, watches in by_owner.items():
        persons = sorted({w.person_id for w in watches})
        params = {"step": WATCH_STEP, "watches": [w.id for w in watches]}
        subjects = tuple(Subject(SubjectKind.PERSON, p) for p in persons)
        admitted = _admit(
            step, owner_id, application_id, QueryRequest(subjects=subjects, page_size=1), params
        )
        if admitted is None:  # the application no longer admits its owner: the watches end
            end_watches(step.db, [w.id for w in watches], step.clock())
            report.ended_watches += len(watches)
            continue
        sources = [str(s) for s in admitted.scope.sources]
        in_scope = {s: c for s, c in changed.items() if s in sources and c.records}
        if not in_scope:
            continue
        asked = params | _changed_params(in_scope)
        entry = admitted.recorder.intent(
            AuditKind.QUERY_REQUEST, params=asked, scope=_logged_scope(admitted.scope)
        )
        try:
            found = find_watched_records(
                step.door, in_scope, persons, sources, admitted.scope.regions
            )
        except EngineUnavailableError as exc:
            admitted.recorder.done(
                AuditKind.QUERY_OUTCOME,
                outcome=AuditOutcome.ERROR,
                facts={"request_seq": entry.seq, "error": exc.failure},
            )
            report.errors.append(f"application {application_id}: {exc.failure}")
            continue
        record_ids = [r.record_id for r in found]
        admitted.recorder.done(
            AuditKind.QUERY_OUTCOME,
            hit_count=len(found),
            result_digest=digest_record_ids(record_ids),
            facts={"request_seq": entry.seq},
        )
        watch_of = {w.person_id: w for w in watches}
        items = [
            NotificationIn(
                owner_id,
                NotificationKind.RECORD_CHANGE,
                application_id,
                r.source,
                person,
                record_id=r.record_id,
                watch_id=watch_of[person].id,
            )
            for r in found
            for person in r.persons
        ]
        _store_and_log(step, admitted, entry.seq, items)
        report.record_notices += len(items)


def _store_and_log(
    step: WatchStep, admitted: _Admitted, request_seq: int, items: list[NotificationIn]
) -> None:
    """Store notifications and log them: one ``notification`` entry naming every id."""
    if not items:
        return
    ids = add_notifications(step.db, items, step.clock())
    cited = [item.record_id or f"clue:{item.clue_id}" for item in items]
    admitted.recorder.done(
        AuditKind.NOTIFICATION,
        facts={
            "request_seq": request_seq,
            "owner_id": admitted.user.id,
            "kind": str(items[0].kind),
            "notifications": ids,
            "watches": sorted({i.watch_id for i in items if i.watch_id is not None}),
            "clues": [i.clue_id for i in items if i.clue_id is not None],
        },
        hit_count=len(ids),
        result_digest=digest_record_ids(cited),
    )
    log.info(
        "watch.notified", kind=str(items[0].kind), owner_id=admitted.user.id, notifications=len(ids)
    )


def _rerun(
    step: WatchStep,
    standing: StandingRun,
    changed: Mapping[str, SourceChanges],
    report: WatchReport,
) -> None:
    """Re-run a standing run when the ingest changed a record of its model's sources; notify
    its owner of the clues the re-run opened (新增) only."""
    model = step.catalogue.model(standing.model_id)
    params = {"step": RERUN_STEP, "model": standing.model_id, "run_id": standing.run_id}
    if model is None:
        step.recorder.under(str(standing.application_id)).deny(
            "the standing run's model is no longer shipped", params=params
        )
        end_standing(step.db, standing.run_id)
        report.ended_runs += 1
        return
    if not any(str(s) in changed and changed[str(s)].records for s in model.sources):
        return
    request = QueryRequest(sources=frozenset(model.sources), models=(model.id,))
    admitted = _admit(step, standing.owner_id, standing.application_id, request, params)
    if admitted is None:
        end_standing(step.db, standing.run_id)
        report.ended_runs += 1
        return
    application = admitted.application

    def count_quota(conn: Connection) -> None:
        if not consume_query_in(conn, application.id):
            raise QuotaExhaustedError("the application's query quota is spent")

    try:
        entry = admitted.recorder.intent(
            AuditKind.QUERY_REQUEST,
            params=params,
            scope=_logged_scope(admitted.scope),
            first=count_quota,
        )
    except QuotaExhaustedError as exc:
        admitted.recorder.deny(exc.detail, params=params)
        report.errors.append(f"standing run {standing.run_id}: {exc.detail}")
        return
    run = start_run(
        step.db,
        model_id=model.id,
        application_id=application.id,
        case_id=application.case_id,
        user_id=admitted.user.id,
        regions=admitted.scope.regions,
        request_seq=entry.seq,
        now=step.clock(),
    )
    try:
        result = execute_run(
            step.door,
            step.db,
            step.catalogue,
            model,
            step.run_filters(admitted.scope),
            run,
            step.clock,
            step.today,
        )
    except (EngineUnavailableError, SQLAlchemyError) as exc:
        admitted.recorder.done(
            AuditKind.QUERY_OUTCOME,
            outcome=AuditOutcome.ERROR,
            facts={"request_seq": entry.seq, "error": type(exc).__name__},
        )
        report.errors.append(f"standing run {standing.run_id}: {type(exc).__name__}")
        return
    admitted.recorder.done(
        AuditKind.QUERY_OUTCOME,
        hit_count=len(result.hit_digests),
        result_digest=digest_record_ids(result.hit_digests),
        facts={"request_seq": entry.seq, "run_id": run.id},
    )
    record_rerun(step.db, standing.run_id, run.id)
    report.reruns += 1
    items = [
        NotificationIn(
            admitted.user.id,
            NotificationKind.NEW_CLUE,
            application.id,
            model.id,
            person,
            run_id=run.id,
            clue_id=clue_id,
        )
        for clue_id, person in _opened_clues(step.db, run)
    ]
    _store_and_log(step, admitted, entry.seq, items)
    report.clue_notices += len(items)


def _opened_clues(db: Engine, run: Run) -> list[tuple[int, str]]:
    """(clue id, person) of the clues ``run`` opened: its hits that are 新增."""
    query = select(clues.c.id, clues.c.person_id).where(clues.c.first_run_id == run.id)
    with db.connect() as conn:
        return [(row.id, row.person_id) for row in conn.execute(query.order_by(clues.c.id))]
