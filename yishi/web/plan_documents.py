"""The matter's documents (issue 21, item 1): the committee uploads the plan and the cost table on the deliberation's
page before voting opens; the ballot lists them as links under the notice.

``POST /console/documents`` is an upload path (yishi/web/bodylimit.py: bounded before a byte is read, signed-in
committee only); the deliberation named in the form is walled like the console's deliberation pages (a hidden one
answers 404). yishi/services/plan_documents.py checks the file (type from its bytes, size), keeps it by hash in
``attachment_blobs`` and records ``DocumentAttached`` in the deliberation's stream. A document is served to staff
who may see the deliberation and to an owner through her personal link, with its own type, never as a page that
can run script (``Content-Security-Policy: sandbox``, ``nosniff``) and with its name (``Content-Disposition``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from domain.errors import DomainError
from yishi.services import attachments
from yishi.services import plan_documents as service
from yishi.services.console import may_see_deliberation
from yishi.web.render import form_invalid_page, not_found_page, page_translator
from yishi.web.staff import require
from yishi.web.voter import UNAVAILABLE, clock, load_holder, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
DOCUMENTS_PATH = "/console/documents"
UPLOADERS = ("committee",)
READERS = ("committee", "grid_worker", "street_office", "auditor")
MAX_FIELDS = 8
FIELD = 200


def served(document: Any, blob: attachments.Blob) -> Response:
    """The file itself: its own type, never run as a page, with its name for saving."""
    return Response(blob.data, media_type=blob.media_type, headers={
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(document.name, safe='')}",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"})


async def _file(request: Request, deliberation_id: str, sha256: str) -> Response:
    try:
        found = await service.document(request.app.state.store, request.app.state.pool, deliberation_id, sha256)
    except UNAVAILABLE:
        return unavailable(request)
    return not_found_page(request) if found is None else served(*found)


@router.get("/console/d/{deliberation_id}/documents/{sha256}")
async def staff_document(request: Request, deliberation_id: str, sha256: str) -> Response:
    staff = await require(request, *READERS)
    return staff if isinstance(staff, Response) else await _file(request, deliberation_id, sha256)


@router.get("/v/{token}/documents/{sha256}")
async def owner_document(request: Request, token: str, sha256: str) -> Response:
    """A document of the matter the owner's link is for (any other file is not found)."""
    holder = await load_holder(request, token)
    return holder if isinstance(holder, Response) else await _file(request, holder.deliberation_id, sha256)


@router.post(DOCUMENTS_PATH)
async def upload_document(request: Request) -> Response:
    staff = await require(request, *UPLOADERS)
    if isinstance(staff, Response):
        return staff
    try:
        form = await request.form(max_files=1, max_fields=MAX_FIELDS, max_part_size=64 * 1024)
    except HTTPException:
        return form_invalid_page(request, 403)
    try:
        fields = {k: v.strip()[:FIELD] for k, v in form.multi_items() if isinstance(v, str)}
        if not staff.csrf_ok(fields):
            return form_invalid_page(request, 403)
        deliberation_id = fields.get("deliberation", "")
        try:
            if not deliberation_id or not await may_see_deliberation(request.app.state.pool, staff.account,
                                                                     deliberation_id):
                return not_found_page(request)
        except UNAVAILABLE:
            return unavailable(request)
        upload = form.get("document")
        data = await upload.read(attachments.MAX_ATTACHMENT_BYTES + 1) if isinstance(upload, UploadFile) else b""
        name = (upload.filename or "") if isinstance(upload, UploadFile) else ""
        return await _attach(request, staff, deliberation_id, fields.get("kind", ""), name, data, clock(request))
    finally:
        await form.close()


async def _attach(request: Request, staff: Any, deliberation_id: str, kind: str, name: str, data: bytes,
                  now: datetime) -> Response:
    from yishi.web.matters import procedure_page

    try:
        event = await service.attach(request.app.state.store, request.app.state.pool, deliberation_id, kind,
                                     name or "document", data, by=staff.account.name, now=now)
    except DomainError as exc:
        return await procedure_page(request, staff, deliberation_id, 422, page_translator(request).error(exc))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.document_attached", account_id=staff.account.id, deliberation_id=deliberation_id,
             kind=event.kind, sha256=event.sha256, bytes=event.bytes)
    return RedirectResponse(f"/console/d/{quote(deliberation_id, safe='')}/matter?document={event.sha256[:12]}",
                            status_code=303)
