"""The 一人一档 as a PDF (WeasyPrint), shared by ``GET /persons/{id}/profile.pdf`` (JSON routes'
router) and the page's export link (search_api.web.pages.profile).

It is an export: the gate admits it only under an application that allows export, the query's
own pair is logged like the profile's, and an ``export`` entry (format, records, file digest)
follows before the file is returned. The PDF shows exactly what the page shows (the same masked
profile, arranged by search_api.web.profile_view). Fonts: Noto Sans CJK from the system's
fontconfig, embedded (subset) in the file; the URL fetcher refuses anything but the
stylesheet's own local file, so nothing is ever fetched over the network.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from weasyprint import CSS, HTML, Document
from weasyprint.text.fonts import FontConfiguration

from query_logs.audit import AuditKind
from registry.engine import EngineDoor
from search_api.gatekeeper import GateKeeper
from search_api.handles import Handles
from search_api.profile_search import read_person_profile
from search_api.web.labels import PROFILE_PAGE
from search_api.web.profile_view import ProfileView, profile_view, summary
from search_api.web.templating import SHOWN_ZONE, environment

PDF_MEDIA_TYPE: Final = "application/pdf"
PDF_FORMAT: Final = "pdf"
STYLESHEET: Final = Path(__file__).resolve().parent / "templates" / "profile" / "pdf.css"


class LocalOnlyFetcherError(ValueError):
    """A resource the PDF asked for that is not ours: refused (no network access, ever)."""


def refuse_fetch(url: str, *_args: Any, **_kwargs: Any) -> dict[str, Any]:
    """WeasyPrint's URL fetcher: the PDF's HTML names no external resource; anything asked
    for is refused rather than fetched."""
    raise LocalOnlyFetcherError(f"the profile PDF fetches nothing: {url[:40]}")


def render_profile_document(view: ProfileView, meta: dict[str, str]) -> Document:
    """The laid-out PDF document of ``view``; ``meta`` names the case, application, user and
    time printed on every page."""
    html = (
        environment()
        .get_template("profile/pdf.html")
        .render(view=view, meta=meta, summary=summary, pdf=True)
    )
    fonts = FontConfiguration()
    stylesheet = CSS(string=STYLESHEET.read_text(encoding="utf-8"), font_config=fonts)
    document = HTML(string=html, url_fetcher=refuse_fetch).render(
        stylesheets=[stylesheet], font_config=fonts
    )
    return document


def shown_now() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo(SHOWN_ZONE)).strftime("%Y-%m-%d %H:%M")


def export_profile_pdf(
    gate: GateKeeper,
    provider: EngineDoor,
    handles: Handles,
    person: str,
    per_source: int,
) -> Response:
    """The 一人一档 of ``person`` (number or handle) as a PDF attachment; logged as an export."""
    profile, admission = read_person_profile(
        gate, provider, handles, person, per_source, export=PDF_FORMAT
    )
    view = profile_view(profile, dict(PROFILE_PAGE))
    meta = {
        "case_no": admission.application.case_no,
        "application_id": str(admission.application.id),
        "user": admission.user.username,
        "time": shown_now(),
    }
    content = render_profile_document(view, meta).write_pdf()
    admission.note(
        AuditKind.EXPORT,
        {
            "request_seq": admission.request_seq,
            "format": PDF_FORMAT,
            "records": sum(len(s.rows) for s in view.sections),
            "unmasked": admission.scope.unmask,
            "file_sha256": hashlib.sha256(content).hexdigest(),
        },
        params={"handle": profile.handle, "format": PDF_FORMAT},
        hit_count=sum(s.total for s in view.sections),
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        content=content,
        media_type=PDF_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="profile-{profile.handle}-{stamp}.pdf"'
        },
    )
