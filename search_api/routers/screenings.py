"""List screening (名单筛查, governed): ``POST /screenings`` takes a list (multipart field
``upload``: XLSX or CSV) under the application of ``X-Application-Id`` and answers each row with
its matches and evidence (search_api.screening, shared with the 名单筛查 page). ``?format=xlsx``
answers the same result as a workbook, only under an application approved for export, logged as
an ``export`` entry. The list is read in memory and not kept (docs/screening.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from search_api.access import Access, access
from search_api.deps import Gate, HandlesDep, Provider, SettingsDep
from search_api.models.screening import ScreeningResponse
from search_api.screening import (
    UPLOAD_FIELD,
    ResultFormat,
    Upload,
    export_screening,
    read_upload,
    screen_list,
)

router = APIRouter(tags=["screenings"])


async def uploaded_list(request: Request, settings: SettingsDep) -> Upload:
    return await read_upload(request, settings)


UploadedList = Annotated[Upload, Depends(uploaded_list)]

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [UPLOAD_FIELD],
                    "properties": {UPLOAD_FIELD: {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/screenings",
    response_model=ScreeningResponse,
    openapi_extra=access(Access.GOVERNED) | _BODY,
    responses={
        200: {
            "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
            "description": "the result (JSON, or with format=xlsx a workbook)",
        }
    },
)
def screen(
    upload: UploadedList,
    gate: Gate,
    provider: Provider,
    handles: HandlesDep,
    settings: SettingsDep,
    format: ResultFormat = ResultFormat.JSON,
) -> ScreeningResponse | Response:
    """Screen the uploaded list: per row 匹配 / 未匹配 / 不足以比对 / 无法读取, the matched
    person (handle, masked ID unless the application unmasks, name), the basis of the match and
    the sources with its records in scope (record pseudonyms)."""
    export = format is ResultFormat.XLSX
    screening = screen_list(gate, provider, handles, settings, upload, export=export)
    if not export:
        return screening.response
    result = export_screening(screening)
    return Response(
        content=result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "X-Screening-Rows": str(screening.response.rows),
            "X-Screening-Matched": str(screening.response.matched),
        },
    )
