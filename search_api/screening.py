"""List screening (名单筛查), shared by ``POST /screenings`` (search_api.routers.screenings) and
the 名单筛查 page (search_api.web.pages.screening).

The upload is read in memory (`read_upload`: the body is refused above
``screening_max_bytes``, at most 1 MiB, the size the multipart parser keeps in memory) and never
stored: no file, no table; the log holds counts and a keyed digest of the list, never a number
from it. A list that cannot be read, or holds more than ``screening_max_rows`` rows, is a logged
refusal before the gate counts anything. The gate admits the screening only under an approved
专项核查 application (``QueryRequest.models=()``: a screening, like a model run, is a query over
many people), with its sources, regions and subjects as filters inside every search; the
request entry is written before the searches and the outcome (matched rows, digest of the
records returned) after. Searches are batched: candidates of the name rows in chunks of names,
records of the persons in chunks of person keys, each chunk a line of one multi-search.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from analyzers.chinese import simplifier
from common.errors import DomainError
from common.settings import Settings
from common.vocab import Source
from graph.build import name_normaliser
from query_logs.audit import AuditKind, digest_record_ids
from query_logs.gate import QueryRequest, Scope
from registry.engine import EngineDoor
from search_api.gatekeeper import Admission, GateKeeper
from search_api.handles import Handles
from search_api.models.ledger import MEDIA_TYPES, LedgerFormat, safe_cell, write_ledger
from search_api.models.screening import (
    ID_BASIS,
    INSUFFICIENT_REASON,
    NO_CANDIDATE_SOURCES_REASON,
    TOO_MANY_REASON,
    PersonRecords,
    RowMatch,
    ScreeningResponse,
    ScreeningStatus,
    export_rows,
    match_by_name,
    mention_of,
    reaches_threshold,
    read_candidates,
    read_person_records,
    row_result,
    screening_response,
)
from search_api.queries.screening import (
    CANDIDATE_HITS,
    CANDIDATE_SOURCES,
    NAME_CHUNK,
    PERSON_CHUNK,
    candidates_search,
    chunks,
    person_records_search,
    search_line,
)
from search_api.screening_list import ListRow, ListTooLongError, ListUnreadableError, read_list

UPLOAD_FIELD = "upload"
_DIGEST_KEY_INFO = b"xiansuo screening list digest v1"


class ResultFormat(StrEnum):
    """What ``POST /screenings`` answers: the JSON result, or the result as a workbook."""

    JSON = "json"
    XLSX = "xlsx"


class LengthRequiredError(DomainError):
    """An upload without a Content-Length: its size cannot be checked before it is read."""

    status = 411


@dataclass(frozen=True, slots=True)
class Upload:
    """The uploaded list's bytes (only in memory) and its keyed digest (what the log keeps), or
    why it was not read. The refusal waits for the gate: an anonymous caller is told 401, and
    the denial names the caller, whatever the body held."""

    content: bytes = b""
    digest: str = ""
    error: DomainError | None = None

    def checked(self) -> bytes:
        """The list's bytes, or its refusal raised."""
        if self.error is not None:
            raise self.error
        return self.content


def oversize_error(request: Request, settings: Settings) -> DomainError | None:
    """Why the body may not be read at all (no Content-Length, or above the byte cap)."""
    length = request.headers.get("content-length")
    if length is None or not length.isascii() or not length.isdigit():
        return LengthRequiredError("an upload must state its Content-Length")
    if int(length) > settings.screening_max_bytes:
        return ListTooLongError(f"a list may hold at most {settings.screening_max_bytes} bytes")
    return None


async def read_upload(request: Request, settings: Settings) -> Upload:
    """The list of a multipart upload (field ``upload``), its size checked before the body is
    read (a body above ``screening_max_bytes`` is never parsed). Nothing is raised here: the
    refusal (no Content-Length, too large, no file, not multipart) is the `Upload`'s, raised
    by `screen_list` after the caller is authenticated."""
    if (error := oversize_error(request, settings)) is not None:
        return Upload(error=error)
    try:
        form = await request.form(max_files=1, max_fields=4)
    except HTTPException as exc:  # a malformed multipart body
        return Upload(error=ListUnreadableError(f"the upload is not readable: {exc.detail}"))
    upload = form.get(UPLOAD_FIELD)
    if not isinstance(upload, UploadFile):
        missing = f"the list is sent as the multipart file field {UPLOAD_FIELD!r}"
        return Upload(error=ListUnreadableError(missing))
    content = await upload.read(settings.screening_max_bytes + 1)
    await upload.close()
    if len(content) > settings.screening_max_bytes:
        too_long = f"a list may hold at most {settings.screening_max_bytes} bytes"
        return Upload(error=ListTooLongError(too_long))
    return Upload(content, list_digest(content, settings))


def list_digest(content: bytes, settings: Settings) -> str:
    """HMAC-SHA256 of the list (base32) under a key derived from the server's secret: the same list
    gives the same digest (the review can compare), but a short list cannot be guessed back
    from it as a plain hash of a few numbers could."""
    secret = settings.secret_key.get_secret_value().encode()
    key = hmac.new(secret, _DIGEST_KEY_INFO, hashlib.sha256).digest()
    # base32 (letters and 2-7): hex could hold a run of digits the log reads as a phone number
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return base64.b32encode(digest).decode().rstrip("=").lower()


@dataclass(frozen=True, slots=True)
class Screening:
    """A screening's answer, its admission (an export notes itself on it) and the records it
    returned (by engine id, for the log's digest)."""

    response: ScreeningResponse
    admission: Admission
    record_ids: list[str]


def screen_list(
    gate: GateKeeper,
    provider: EngineDoor,
    handles: Handles,
    settings: Settings,
    upload: Upload,
    *,
    export: bool = False,
) -> Screening:
    """Read the list, admit it, match every row; the outcome is logged before it returns."""
    params: dict[str, Any] = {"list_sha256_hmac": upload.digest, "bytes": len(upload.content),
                              "export": export}  # fmt: skip
    listing = gate.checked(lambda: read_list(upload.checked(), settings.screening_max_rows),
                           params)  # fmt: skip
    kinds = Counter("unreadable" if r.error else str(r.kind) for r in listing.rows)
    params |= {
        "format": listing.format,
        "rows": len(listing.rows),
        "kinds": dict(sorted(kinds.items())),
    }
    admission = gate.admit(QueryRequest(models=(), page_size=1, export=export), params)
    matches = _match_rows(provider, admission, listing.rows)
    persons = sorted({m.person_id for m in matches.values() if m.person_id})
    records = _person_records(provider, admission, persons)
    unmask = admission.scope.unmask
    results = [row_result(row, matches[row.row], records, unmask, handles) for row in listing.rows]
    response = screening_response(results, listing.format, listing.columns)
    returned = [
        record_id
        for person in sorted({m.person_id for m in matches.values()
                              if m.status is ScreeningStatus.MATCHED and m.person_id in records})
        for record_id in records[str(person)].record_ids
    ]  # fmt: skip
    if not export:
        admission.complete(response.matched, returned)
    return Screening(response, admission, returned)


@dataclass(frozen=True, slots=True)
class ResultFile:
    content: bytes
    media_type: str
    filename: str


def export_screening(screening: Screening) -> ResultFile:
    """The answer as a workbook, noted as an ``export`` entry (rows, digests), then the
    admission's outcome. The gate admitted it only under an application approved for export."""
    admission, response = screening.admission, screening.response
    sheet = [[safe_cell(cell) for cell in line] for line in export_rows(response)]
    content = write_ledger(sheet, LedgerFormat.XLSX)
    admission.note(
        AuditKind.EXPORT,
        {"request_seq": admission.request_seq, "format": str(LedgerFormat.XLSX),
         "rows": response.rows, "matched": response.matched, "unmasked": admission.scope.unmask,
         "file_sha256": hashlib.sha256(content).hexdigest()},
        hit_count=response.matched,
        result_digest=digest_record_ids(screening.record_ids),
    )  # fmt: skip
    admission.complete(response.matched, screening.record_ids)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    filename = f"screening-{admission.scope.application_id}-{stamp}.xlsx"
    return ResultFile(content, MEDIA_TYPES[LedgerFormat.XLSX], filename)


def _indices(provider: EngineDoor, sources: tuple[Source, ...]) -> str:
    return ",".join(provider.index_name(str(s)) for s in sources)


def _multi_search(
    provider: EngineDoor, admission: Admission, index: str, bodies: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One multi-search of ``bodies`` over ``index``; a failure is logged, then 503."""
    if not bodies:
        return []
    lines: list[dict[str, Any]] = []
    for body in bodies:
        lines += [search_line(index), body]
    with admission.engine_work():
        return provider.msearch_all(lines)


def _match_rows(
    provider: EngineDoor, admission: Admission, rows: tuple[ListRow, ...]
) -> dict[int, RowMatch]:
    """Each row's match: ID rows by their number; name rows by the graph's resolution among
    the candidates of their names; the others answered without a search."""
    matches: dict[int, RowMatch] = {}
    by_name: list[ListRow] = []
    for row in rows:
        if row.error:
            matches[row.row] = RowMatch(ScreeningStatus.UNREADABLE, reason=row.error)
        elif not reaches_threshold(row):
            matches[row.row] = RowMatch(ScreeningStatus.INSUFFICIENT, reason=INSUFFICIENT_REASON)
        elif row.id_number:
            matches[row.row] = RowMatch(ScreeningStatus.MATCHED, row.id_number, (ID_BASIS,))
        else:
            by_name.append(row)
    scope = admission.scope
    sources = tuple(s for s in scope.sources if s in CANDIDATE_SOURCES)
    if not by_name or not sources:
        unread = RowMatch(ScreeningStatus.UNMATCHED, reason=NO_CANDIDATE_SOURCES_REASON)
        matches |= {r.row: unread for r in by_name}
        return matches
    normalise = name_normaliser(simplifier())
    mentions = {row.row: mention_of(row, normalise) for row in by_name}
    names = sorted({m.name for m in mentions.values()})
    name_chunks = chunks(names, NAME_CHUNK)
    answers = _multi_search(provider, admission, _indices(provider, sources),
                            [candidates_search(_candidate_scope(scope, sources), c)
                             for c in name_chunks])  # fmt: skip
    candidates: dict[str, list[Any]] = {}
    crowded: set[str] = set()
    for chunk, answer in zip(name_chunks, answers, strict=True):
        hits = answer.get("hits", {})
        if hits.get("total", {}).get("value", 0) > CANDIDATE_HITS:
            crowded.update(chunk)
            continue
        candidates |= read_candidates(hits.get("hits", []), normalise)
    for row in by_name:
        mention = mentions[row.row]
        if mention.name in crowded:
            matches[row.row] = RowMatch(ScreeningStatus.UNMATCHED, reason=TOO_MANY_REASON)
        else:
            matches[row.row] = match_by_name(mention, candidates.get(mention.name, []))
    return matches


def _candidate_scope(scope: Scope, sources: tuple[Source, ...]) -> Scope:
    """The scope of the candidates search: the application's, on the roster and register."""
    return replace(scope, sources=sources)


def _person_records(
    provider: EngineDoor, admission: Admission, persons: list[str]
) -> dict[str, PersonRecords]:
    """The records in scope of every matched person, a multi-search line per chunk."""
    person_chunks = chunks(persons, PERSON_CHUNK)
    scope = admission.scope
    answers = _multi_search(provider, admission, _indices(provider, scope.sources),
                            [person_records_search(scope, c) for c in person_chunks])  # fmt: skip
    found: dict[str, PersonRecords] = {}
    for answer in answers:
        found |= read_person_records(answer)
    return found
