"""A resident's complaint filed at a desk (issue 21 item 12): by a grid worker or committee member, or by the
street office itself (phone calls arrive there). How it came in (居民反映, 网格员上报, 书记直通车) and the building or
room it is about route it to that building's grid (issue 19, activities/routing.py). The person's name, room and
phone are kept beside the ticket, not in its stream, which keeps their digest (services/escalations.py
``keep_complainant``), and shown to the offices that own or owned a part of the ticket only; photos and
scans are uploaded with the form, checked by their bytes and size and stored by SHA-256
(yishi/services/attachments.py), the ticket naming them by hash. ``GET /console/escalations/file/{sha256}`` shows
one to whoever may see a ticket that names it (the ticket page's wall).
"""

from __future__ import annotations

import re
from pathlib import PurePath

from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from domain.errors import DomainError
from yishi.i18n import N_
from yishi.services import attachments
from yishi.services.accounts import session_binding
from yishi.services.complaints import Complaint, ComplaintError, community_ladder, file_complaint, ticket_id_for
from yishi.services.console import (
    UNASSIGNED,
    deliberation_community,
    home_community,
    list_communities,
    list_deliberations,
    may_see_community,
)
from yishi.web.bodylimit import UPLOADS
from yishi.web.inbox import visible_ticket
from yishi.web.render import form_invalid_page, message_page, page_translator, render, workflow_busy
from yishi.web.staff import Staff, require
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE, unavailable

router = APIRouter()
COMPLAINT_PATH = "/console/escalations/new"
FILE_ROLES = ("committee", "grid_worker", "street_office")
assert UPLOADS[COMPLAINT_PATH].roles == FILE_ROLES, "the complaint form's body cap and sign-in check (bodylimit.py)"
COMPLAINT_FIELDS = ("resident", "room", "phone", "community", "deliberation", "category", "start_level", "subject",
                    "detail", "channel", "building", "about_room")
CHANNELS = ("resident", "grid_report", "secretary")  # 居民反映, 网格员上报, 书记直通车
MAX_FIELDS, MAX_FIELD_BYTES = 20, 16 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _community(staff: Staff, chosen: str) -> str:
    """The community of the complaint: a community-bound account's own, else the one chosen on the form."""
    return staff.account.community or chosen or UNASSIGNED


async def _communities(pool) -> list[str]:  # type: ignore[no-untyped-def]
    return [c for c, _n in await list_communities(pool) if c != UNASSIGNED]


async def _page(request: Request, staff: Staff, status: int = 200, *, values: dict[str, str] | None = None,
                errors: list[str] | None = None, filed: str | None = None) -> Response:
    values = values or {"deliberation": request.query_params.get("d", "")}
    community = _community(staff, values.get("community", ""))
    try:
        pool = request.app.state.pool
        ladder = await community_ladder(pool, community)
        deliberations = await list_deliberations(pool, home=home_community(staff.account))
        communities = [] if staff.account.community else await _communities(pool)
    except UNAVAILABLE:
        return unavailable(request)
    if "start_level" not in values and staff.account.role == "street_office":
        values = {**values, "start_level": "street"}  # a call taken at the street office starts there
    return render(request, "console_complaint.html", status, no_store=True, staff=staff, logout=staff.form(),
                  community=community, communities=communities, form=staff.form(),
                  categories=list(ladder.departments.items()), levels=ladder.levels, deliberations=deliberations,
                  values=values, errors=errors or [], filed=filed, channels=CHANNELS, max_files=attachments.MAX_FILES,
                  max_mib=attachments.MAX_ATTACHMENT_BYTES // (1024 * 1024))


@router.get(COMPLAINT_PATH)
async def complaint_form(request: Request) -> Response:
    staff = await require(request, *FILE_ROLES)
    if isinstance(staff, Response):
        return staff
    return await _page(request, staff)


@router.post(COMPLAINT_PATH)
async def file_complaint_form(request: Request) -> Response:
    staff = await require(request, *FILE_ROLES)
    if isinstance(staff, Response):
        return staff
    try:
        form = await request.form(max_files=attachments.MAX_FILES, max_fields=MAX_FIELDS,
                                  max_part_size=MAX_FIELD_BYTES)
    except HTTPException:  # not a form, too many files or fields, a field over its cap
        return form_invalid_page(request, 403)
    try:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        if not staff.csrf_ok(fields):
            return form_invalid_page(request, 403)
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename and f.size]
        return await _file(request, staff, fields, uploads)
    finally:
        await form.close()


async def _file(request: Request, staff: Staff, fields: dict[str, str], uploads: list[UploadFile]) -> Response:
    tr = page_translator(request)
    pool = request.app.state.pool
    values = {name: fields.get(name, "") for name in COMPLAINT_FIELDS}
    account = staff.account
    again_errors: list[str] = []
    deliberation = values["deliberation"].strip() or None
    if deliberation is not None:
        known = await deliberation_community(pool, deliberation)
        if known is None or not may_see_community(account, known):
            again_errors.append(tr.gettext("The chosen deliberation is not one of your community's; choose again."))
    if not account.community and values["community"] not in (*await _communities(pool), UNASSIGNED):
        again_errors.append(tr.gettext("Choose the community from the list."))
    blobs: list[tuple[str, attachments.Blob]] = []
    for upload in uploads[:attachments.MAX_FILES]:
        name = PurePath((upload.filename or "").replace("\\", "/")).name[:200]
        try:
            blobs.append((name, attachments.check(name, await upload.read(attachments.MAX_ATTACHMENT_BYTES + 1))))
        except DomainError as exc:
            again_errors.append(tr.error(exc))
    lines = "\n".join(f"{name}, {blob.sha256}" for name, blob in blobs)
    complaint = Complaint(community=_community(staff, values["community"]), resident=values["resident"],
                          category=values["category"], subject=values["subject"], detail=values["detail"],
                          deliberation_id=deliberation, start_level=values["start_level"] or None,
                          attachments=lines, filed_by=account.name, filed_by_role=account.role,
                          channel=values["channel"] or "resident", building=values["building"][:32],
                          room=values["about_room"][:32])
    contact = {"name": values["resident"].strip()[:100], "room": values["room"].strip()[:40],
               "phone": values["phone"].strip()[:30]}
    ticket_id = ticket_id_for(session_binding(staff.session_id), fields.get("nonce", ""))
    try:
        if again_errors:
            return await _page(request, staff, 422, values=values, errors=again_errors)
        for _name, blob in blobs:
            await attachments.store(pool, blob)
        await file_complaint(await temporal_client(request), pool, complaint,
                             task_queue=request.app.state.settings.task_queue, ticket_id=ticket_id, contact=contact)
    except ComplaintError as exc:
        return await _page(request, staff, 422, values=values, errors=tr.error(exc).splitlines())
    except TEMPORAL_UNAVAILABLE:
        return workflow_busy(request)
    except UNAVAILABLE:
        return unavailable(request)
    return await _page(request, staff, filed=ticket_id)


@router.get("/console/escalations/file/{sha256}")
async def attached_file(request: Request, sha256: str) -> Response:
    """An attached file, for an account that may see ``?ticket=``, a ticket that names it."""
    staff = await require(request, "street_office", "department", "committee", "grid_worker", "auditor")
    if isinstance(staff, Response):
        return staff
    view = await visible_ticket(request, staff, request.query_params.get("ticket", ""))
    if isinstance(view, Response):
        return view
    named = {e.sha256 for e in view.ticket.evidence if e.kind == "attachment"}
    blob = await attachments.load(request.app.state.pool, sha256) if SHA256.match(sha256) and sha256 in named else None
    if blob is None:
        return message_page(request, 404, N_("Page not found"))
    return Response(blob.data, media_type=blob.media_type, headers={
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline" if blob.media_type != "application/pdf" else "inline; filename=\"file.pdf\"",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"})
