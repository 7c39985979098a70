"""Printed notices from the console: the A4 sheet of a notice for each entrance it is posted at (large type, the QR
code of the public page), and the record that it was posted, with a photo of the posted sheet.

The list and the sheets are pages (GET: they change nothing and hold no personal data: a notice is public). The
posting is an upload: ``/console/postings`` is one of yishi/web/bodylimit.py's upload paths (bounded before a byte is
read, signed-in committee or grid workers only), the deliberation named in the form is walled like the console's
deliberation pages (a hidden one answers 404), the photo's type is read from its bytes (JPEG, PNG, WebP, HEIC), and
yishi/services/channels.py keeps it by its SHA-256 with a ``NoticePosted`` event in the deliberation's stream.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from domain.errors import DomainError
from domain.legal_calendar import BEIJING
from domain.result_summary import summary_lines
from yishi.services import channels as service
from yishi.services.console import may_see_deliberation
from yishi.services.results import public_url, summaries
from yishi.services.voting import deliberation_info
from yishi.web.middleware import own_styles_policy
from yishi.web.render import environment, not_found_page, page_translator, render, respond
from yishi.web.sheets import address_warning, qr_data_uri
from yishi.web.staff import Staff, require
from yishi.web.voter import UNAVAILABLE, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
POSTING_STAFF = ("committee", "grid_worker")
POSTINGS_PATH = "/console/postings"
MAX_FIELDS = 8
FIELD = 120


def media_type(head: bytes) -> str | None:
    """The photo's type from its first bytes (never from what the client says)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
        return "image/heic"
    return None


async def _rows(request: Request, deliberation_id: str) -> list[dict[str, Any]]:
    async with request.app.state.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT notice_id, notice_kind, grp, state, fields, updated_at FROM notice_deliveries"
            " WHERE deliberation_id = $1 AND kind = 'print' ORDER BY notice_id, grp", deliberation_id)
    return [dict(r) for r in rows]


def _public(request: Request, deliberation_id: str) -> tuple[str, str | None]:
    configured = request.app.state.settings.public_base_url
    base = (configured or str(request.base_url)).rstrip("/")
    return public_url(base, deliberation_id), address_warning(base, configured=bool(configured))


async def _page(request: Request, staff: Staff, deliberation_id: str, status: int = 200, error: str = "") -> Response:
    try:
        rows = await _rows(request, deliberation_id)
        posted = {(e.payload["notice_id"], e.payload["group"]): e.payload
                  for e in await request.app.state.store.read_types(deliberation_id, ["NoticePosted"])}
        info = await deliberation_info(request.app.state.pool, deliberation_id)
    except UNAVAILABLE:
        return unavailable(request)
    if info is None and not rows:  # an unknown id: the 404 a hidden one gets (yishi/web/staff.py)
        return not_found_page(request)
    notices: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        notices.setdefault(row["notice_id"], []).append({**row, "posting": posted.get((row["notice_id"], row["grp"]))})
    return render(request, "console_postings.html", status, no_store=True, staff=staff, logout=staff.form(),
                  form=staff.form(), deliberation_id=deliberation_id, info=info, notices=notices, error=error,
                  max_mib=service.MAX_PHOTO // 2**20, warning=_public(request, deliberation_id)[1])


@router.get("/console/d/{deliberation_id}/postings")
async def postings_page(request: Request, deliberation_id: str) -> Response:
    staff = await require(request, *POSTING_STAFF)
    if isinstance(staff, Response):
        return staff
    return await _page(request, staff, deliberation_id)


@router.get("/console/d/{deliberation_id}/notices/{notice_id}/sheet")
async def notice_sheet(request: Request, deliberation_id: str, notice_id: str) -> Response:
    """The notice as A4 sheets, one per entrance it is to be posted at; print with the browser."""
    staff = await require(request, *POSTING_STAFF)
    if isinstance(staff, Response):
        return staff
    try:
        rows = [r for r in await _rows(request, deliberation_id) if r["notice_id"] == notice_id]
        info = await deliberation_info(request.app.state.pool, deliberation_id)
        figures = await summaries(request.app.state.store, deliberation_id) if rows and rows[0][
            "notice_kind"] == "result" else []
    except UNAVAILABLE:
        return unavailable(request)
    if not rows:
        return not_found_page(request)
    url, warning = _public(request, deliberation_id)
    html = environment("zh").get_template("notice_sheet.html").render(
        rows=rows, fields=rows[0]["fields"], kind=rows[0]["notice_kind"], info=info or {}, url=url, qr=qr_data_uri(url),
        warning=warning, figures=[summary_lines(f, 'zh') for f in figures], deliberation_id=deliberation_id)
    log.info("console.notice_printed", account_id=staff.account.id, deliberation_id=deliberation_id,
             notice_id=notice_id, entrances=len(rows))
    response = respond(request, html, no_store=True)
    response.headers["Content-Security-Policy"] = own_styles_policy(html)  # the sheet's own A4 print CSS applies
    return response


def _posted_at(text: str, now: datetime) -> datetime | None:
    """``2026-05-20T09:30`` (the form's Beijing time) as an instant; empty: now; None if unreadable or future."""
    if not text:
        return now
    try:
        at = datetime.fromisoformat(text[:16]).replace(tzinfo=BEIJING).astimezone(UTC)
    except ValueError:
        return None
    return at if at <= now else None


@router.post(POSTINGS_PATH)
async def record_posting(request: Request) -> Response:
    """The clerk posted the sheet at the entrance: who (the account), when, and the photo of the posted sheet."""
    staff = await require(request, *POSTING_STAFF)
    if isinstance(staff, Response):
        return staff
    try:
        form = await request.form(max_files=1, max_fields=MAX_FIELDS, max_part_size=64 * 1024)
    except HTTPException:
        return _invalid(request)
    try:
        fields = {k: v.strip()[:FIELD] for k, v in form.multi_items() if isinstance(v, str)}
        if not staff.csrf_ok(fields):
            return _invalid(request)
        deliberation_id = fields.get("deliberation", "")
        try:
            if not deliberation_id or not await may_see_deliberation(request.app.state.pool, staff.account,
                                                                     deliberation_id):
                return not_found_page(request)
        except UNAVAILABLE:
            return unavailable(request)
        return await _record(request, staff, deliberation_id, fields, form.get("photo"))
    finally:
        await form.close()


def _invalid(request: Request) -> Response:
    from yishi.web.render import form_invalid_page

    return form_invalid_page(request, 403)


async def _record(request: Request, staff: Staff, deliberation_id: str, fields: dict[str, str],
                  photo: Any) -> Response:
    tr = page_translator(request)
    now = datetime.now(UTC)
    posted_at = _posted_at(fields.get("posted_at", ""), now)
    if posted_at is None:
        return await _page(request, staff, deliberation_id, 422, tr.gettext(
            "The time of posting is not a time before now; type it as shown (date and hour) and upload again."))
    content = await photo.read(service.MAX_PHOTO + 1) if isinstance(photo, UploadFile) else b""
    kind = media_type(content[:16])
    if not content or kind is None or len(content) > service.MAX_PHOTO:
        return await _page(request, staff, deliberation_id, 422, tr.gettext(
            "Upload a photo of the posted sheet (JPEG, PNG, WebP or HEIC, at most %(mb)s MB); nothing was recorded.",
            mb=service.MAX_PHOTO // 2**20))
    try:
        event = await service.record_posting(
            request.app.state.store, request.app.state.pool, deliberation_id, fields.get("notice", ""),
            fields.get("group", ""), by=staff.account.name, posted_at=posted_at, photo=content, media_type=kind,
            now=now)
    except DomainError as exc:
        return await _page(request, staff, deliberation_id, 404, tr.error(exc))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.notice_posted", account_id=staff.account.id, deliberation_id=deliberation_id,
             notice_id=event.notice_id, group=event.group, photo_sha256=event.photo_sha256)
    return RedirectResponse(f"/console/d/{deliberation_id}/postings", status_code=303)
