"""Watch lists (布控) behind the gate: shared by the JSON routes (routers/watches.py) and the
pages (web/pages/notifications.py), so both check, log and refuse alike.

Watching a person is a governed act under an application: the gate admits it only for the
application's applicant, while it is approved and valid, and only for a person the
application names as a subject (``QueryRequest.subjects``); the request entry is written before
the watch is stored and the outcome after. Every refusal is the gate's logged denial.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from accounts.roles import Permission, role_rules
from accounts.users import User
from common.errors import DomainError, PermissionDeniedError
from comparison.store import RunNotFoundError, get_run
from query_logs.applications import SubjectKind
from query_logs.gate import QueryRequest
from search_api.gatekeeper import Admission, GateKeeper
from watching.store import (
    StandingRun,
    Watch,
    WatchNotFoundError,
    add_watch,
    end_watches,
    get_watch,
    set_standing,
    watches_of,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _refused(admission: Admission, error: DomainError) -> DomainError:
    """An error found after admission: the outcome (nothing done) is logged, then the app's
    handler logs the refusal."""
    admission.complete(0, [])
    return error


def check_watcher(user: User) -> None:
    """Only users who read registry data (and so may watch) have notifications: anyone else
    is refused (403, logged by the app's handler)."""
    if Permission.READ_REGISTRY not in role_rules().permissions_of(user.roles):
        raise PermissionDeniedError("only users who read registry data have notifications")


def watch_person(gate: GateKeeper, db: Engine, subject: str) -> Watch:
    """Watch a subject person (a handle or the number) of the current application."""
    person = gate.subject(SubjectKind.PERSON, subject)
    params = {"subject": subject, "action": "watch"}
    admission = gate.admit(QueryRequest(subjects=(person,), page_size=1), params)
    watch = add_watch(db, admission.user.id, admission.application.id, person.value, _now())
    admission.complete(1, [f"watch:{watch.id}"])
    return watch


def list_watches(gate: GateKeeper, db: Engine) -> list[Watch]:
    """The caller's active watches under the current application."""
    admission = gate.admit(QueryRequest(page_size=1), {"action": "list_watches"})
    found = watches_of(db, admission.user.id, admission.application.id)
    admission.complete(len(found), [f"watch:{w.id}" for w in found])
    return found


def end_watch(gate: GateKeeper, db: Engine, watch_id: int) -> Watch:
    """End one of the caller's watches under the current application."""
    admission = gate.admit(QueryRequest(page_size=1), {"watch_id": watch_id, "action": "unwatch"})
    try:
        watch = get_watch(db, admission.user.id, watch_id)
        if watch.application_id != admission.application.id:
            raise WatchNotFoundError("no watch of yours with this id under this application")
    except DomainError as exc:
        raise _refused(admission, exc) from None
    end_watches(db, [watch.id], _now())
    admission.complete(1, [f"watch:{watch.id}"])
    return get_watch(db, admission.user.id, watch_id)


def mark_standing(gate: GateKeeper, db: Engine, run_id: int, standing: bool) -> StandingRun:
    """Mark one of the application's runs standing (布控运行) or stop it: admitted under a
    专项核查 application (as its ledger is), for a run made under that same application (it
    was admitted for the run's model then)."""
    params = {"run_id": run_id, "standing": standing}
    admission = gate.admit(QueryRequest(models=(), page_size=1), params)
    try:
        run = get_run(db, run_id)
        if run.application_id != admission.application.id:
            raise RunNotFoundError("no run with this id under this application")
    except DomainError as exc:
        raise _refused(admission, exc) from None
    marked = set_standing(db, run.id, admission.user.id, run.application_id, run.model_id,
                          standing, _now())  # fmt: skip
    admission.complete(1, [f"run:{run.id}"])
    return marked
