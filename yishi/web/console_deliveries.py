"""The delivery board of a deliberation (or of a meeting, whose notice goes to the building groups too): each
notice × channel × recipient group with its state, each failure in plain words with a retry button (what
``yishi channels board`` and ``retry`` do).

A failing channel never blocks the procedure and is never silent: the board shows it until it is sent or retried.
Committee accounts of the deliberation's community (yishi/web/staff.py's wall on ``{deliberation_id}``); the
retry is a POST with the session's CSRF field, recorded as ``NoticeRetryRequested`` with who and when.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.errors import DomainError
from yishi.services import channels as service
from yishi.services.voting import deliberation_info
from yishi.web.channel_words import plain_failure
from yishi.web.render import not_found_page, page_translator, render
from yishi.web.staff import Staff, require, staff_form
from yishi.web.voter import UNAVAILABLE, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
BOARD_STAFF = ("committee",)
FIELD = 120


async def _page(request: Request, staff: Staff, deliberation_id: str, status: int = 200,
                error: str = "") -> Response:
    tr = page_translator(request)
    try:
        rows = await service.board(request.app.state.pool, deliberation_id)
        info = await deliberation_info(request.app.state.pool, deliberation_id)
        meeting_title = None if info is not None else await service.meeting_title(request.app.state.pool,
                                                                                   deliberation_id)
    except UNAVAILABLE:
        return unavailable(request)
    if info is None and meeting_title is None and not rows:  # an unknown id: the 404 a hidden one gets
        return not_found_page(request)
    notices: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        words = plain_failure(tr, row.error) if row.error and row.state in ("failed", "queued", "held") else ""
        notices.setdefault(row.notice_id, []).append({"row": row, "words": words})
    failed = sum(1 for row in rows if row.state == "failed")
    return render(request, "console_deliveries.html", status, no_store=True, staff=staff, logout=staff.form(),
                  form=staff.form(), deliberation_id=deliberation_id, info=info, notices=notices, failed=failed,
                  error=error, meeting_title=meeting_title)


@router.get("/console/d/{deliberation_id}/deliveries")
async def board_page(request: Request, deliberation_id: str) -> Response:
    staff = await require(request, *BOARD_STAFF)
    if isinstance(staff, Response):
        return staff
    return await _page(request, staff, deliberation_id)


@router.post("/console/d/{deliberation_id}/deliveries/retry")
async def retry(request: Request, deliberation_id: str) -> Response:
    """Send a failed delivery again (its attempts start again; owners already reached are not sent twice)."""
    posted = await staff_form(request, *BOARD_STAFF)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    notice, channel, group = (form.get(name, "").strip()[:FIELD] for name in ("notice", "channel", "group"))
    try:
        pool = request.app.state.pool
        if await deliberation_info(pool, deliberation_id) is None and await service.meeting_title(
                pool, deliberation_id) is None:
            return not_found_page(request)
        await service.retry(request.app.state.store, request.app.state.pool, deliberation_id, notice, channel,
                            group, by=staff.account.name, now=datetime.now(UTC))
    except DomainError as exc:
        return await _page(request, staff, deliberation_id, 409, error=page_translator(request).error(exc))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.delivery_retried", account_id=staff.account.id, deliberation_id=deliberation_id,
             notice_id=notice, channel=channel, group=group)
    return RedirectResponse(f"/console/d/{deliberation_id}/deliveries", status_code=303)
