"""What an applicant does at the desk (search_api.desk): open a case, list their cases, file a
query application. Shared by the JSON routes (search_api.routers.cases, .applications) and the
我的案件 page (search_api.web.pages.cases), so both write the same entries: the intent
(``admin_action``) before the store changes, then the ``case_change`` / ``application_request``,
every refusal a denial.
"""

from __future__ import annotations

from datetime import UTC, datetime

from comparison.definitions import shipped_catalogue
from query_logs.applications import Application, file_application, parse_subject
from query_logs.audit import AuditKind
from query_logs.cases import Case, cases_of, create_case, get_case, require_case_access
from query_logs.grants import active_grant_regions
from search_api.approvals import under_application
from search_api.desk import Action, Desk
from search_api.handles import Handles
from search_api.models.applications import ApplicationRequest


def open_case(desk: Desk, case_no: str, title: str) -> Case:
    """A new case owned by the desk's actor (written ahead, logged as a ``case_change``)."""
    action, case_no = Action.OPEN_CASE, case_no.strip()
    with desk.change(action, case_no, {"title": title}, case_id=case_no):
        case_id = create_case(desk.db, desk.actor, case_no, title, datetime.now(UTC))
    case = get_case(desk.db, case_id)
    opened = {"case": case.id, "owner": case.owner.username}
    desk.done(AuditKind.CASE_CHANGE, action, case.case_no, opened, case_id=case_no)
    return case


def list_cases(desk: Desk) -> list[Case]:
    """The cases the actor owns or is a member of; the read is logged before it is returned."""
    found = cases_of(desk.db, desk.actor)
    desk.read(Action.LIST_CASES, {"cases": len(found)})
    return found


def file_under_case(desk: Desk, body: ApplicationRequest, handles: Handles) -> Application:
    """File under a case the actor owns or is a member of; written ahead (intent, then the
    ``application_request``), each refusal a denial. A subject of kind "handle" is resolved
    here to the person's number (search_api.handles)."""
    now, action = datetime.now(UTC), Action.FILE_APPLICATION
    with desk.refusals(action, f"case {body.case_id}"):
        case = get_case(desk.db, body.case_id)
        require_case_access(case, desk.actor)
        subjects = [parse_subject(s.kind, s.value, handles.open) for s in body.subjects]
    asked = {
        "sources": body.sources,
        "regions": body.regions,
        "subjects": [{"kind": s.kind, "value": s.value} for s in subjects],
        "unmask": body.unmask,
        "export": body.export,
        "valid_days": body.valid_days,
        "models": body.models,
    }
    with desk.change(action, case.case_no, asked, case_id=case.case_no, purpose=body.purpose):
        app = file_application(
            desk.db,
            desk.actor,
            case_id=case.id,
            purpose=body.purpose,
            category=body.category,
            sources=body.sources,
            regions=body.regions,
            subjects=subjects,
            unmask=body.unmask,
            export=body.export,
            valid_days=body.valid_days,
            now=now,
            grant_regions=active_grant_regions(desk.db, desk.actor.id, now),
            models=body.models,
            known_models=shipped_catalogue().ids,
        )
    filed = {"sources": sorted(app.sources), "state": str(app.state),
             "subjects": [{"kind": s.kind, "value": s.value} for s in app.subjects],
             "unmask": app.unmask, "export": app.export, "models": list(app.models)}  # fmt: skip
    desk.done(AuditKind.APPLICATION_REQUEST, action, case.case_no, filed,
              {"regions": list(app.regions)}, **under_application(app))  # fmt: skip
    return app
