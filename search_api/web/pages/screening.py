"""名单筛查: upload a list under the header's application and see each row's answer (the same
shared function as ``POST /screenings``: search_api.screening.screen_list).

- ``GET /ui/screening`` (auth): the upload form and the accepted headers, no registry data.
- ``GET /ui/screening/template.csv`` (auth): an empty list with the accepted headers.
- ``POST /ui/screening`` (governed): the upload (multipart, the session's CSRF token), screened
  under the header's application: a table of rows with their status, the matched person
  (masked unless the application unmasks) linked to the 一人一档 page by handle (which asks
  the gate again), and the sources with records. A whole page, or for htmx the table only.
- ``POST /ui/screening/export`` (governed): the same upload answered as a workbook, only under
  an application approved for export (logged as an ``export`` entry).

The upload is read (and its size checked) before the CSRF check parses the form, so the form
is never larger than the multipart parser keeps in memory; nothing of it is stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from search_api.access import Access, access
from search_api.deps import HandlesDep, Provider, SettingsDep
from search_api.screening import (
    Upload,
    export_screening,
    oversize_error,
    read_upload,
    screen_list,
)
from search_api.screening_list import HEADERS, template_csv
from search_api.web.sessions import CheckedSession, PageChoice, PageGate, PageSession
from search_api.web.templating import is_fragment_request, render

router = APIRouter(include_in_schema=False)
PAGE_PATH = "/ui/screening"
TEMPLATE_PATH = "/ui/screening/template.csv"
EXPORT_PATH = "/ui/screening/export"
GOVERNED = access(Access.GOVERNED)


async def page_upload(request: Request, settings: SettingsDep) -> Upload:
    """The upload, refused at once when too large to read: the page's CSRF check would
    otherwise parse (and spool) the whole form."""
    if (error := oversize_error(request, settings)) is not None:
        raise error
    return await read_upload(request, settings)


PageUpload = Annotated[Upload, Depends(page_upload)]


def _accepted_headers() -> dict[str, list[str]]:
    """The accepted headers by what the column holds (the page lists them)."""
    by_column: dict[str, list[str]] = {}
    for header, column in HEADERS.items():
        by_column.setdefault(str(column), []).append(header)
    return by_column


@router.get(PAGE_PATH, openapi_extra=access(Access.AUTH))
def screening_form(request: Request, session: PageSession, choice: PageChoice) -> HTMLResponse:
    context = {"result": None, "accepted": _accepted_headers()}
    return render(request, "screening/page.html", context, session=session, choice=choice)


@router.get(TEMPLATE_PATH, openapi_extra=access(Access.AUTH))
def screening_template(session: PageSession) -> Response:
    del session  # the page's reader: only a signed-in user downloads the template
    return Response(
        content=template_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="screening-template.csv"'},
    )


@router.post(PAGE_PATH, openapi_extra=GOVERNED)
def screening_results(
    request: Request,
    upload: PageUpload,  # first: the size is checked before the CSRF check reads the form
    session: CheckedSession,
    choice: PageChoice,
    gate: PageGate,
    provider: Provider,
    handles: HandlesDep,
    settings: SettingsDep,
) -> HTMLResponse:
    screening = screen_list(gate, provider, handles, settings, upload)
    context = {
        "result": screening.response,
        "accepted": _accepted_headers(),
        "may_export": bool(choice.current and choice.current.export),
    }
    template = "screening/_results.html" if is_fragment_request(request) else "screening/page.html"
    return render(request, template, context, session=session, choice=choice)


@router.post(EXPORT_PATH, openapi_extra=GOVERNED)
def screening_export(
    upload: PageUpload,
    session: CheckedSession,
    gate: PageGate,
    provider: Provider,
    handles: HandlesDep,
    settings: SettingsDep,
) -> Response:
    del session  # the CSRF check; the gate's authenticator is the session's account
    screening = screen_list(gate, provider, handles, settings, upload, export=True)
    result = export_screening(screening)
    return Response(
        content=result.content,
        media_type=result.media_type,
        headers={"Content-Disposition": f'attachment; filename="{result.filename}"'},
    )
