"""Paper ballots typed in by the committee (issue 21 item 9): the room as it is written on the sheet (``101``,
``3-2-101``, ``3栋2单元101``: domain/room_input.py), the owner found shown to check before and after recording,
every field kept when something is wrong, and the scan's reference required or not as the community chose.

Committee accounts only, under the deliberation's community rule (yishi/web/staff.py). Each sheet records the
clerk's account. "Check the owner" posts the form and records nothing: the page shows the owner the room names
and keeps what was typed; "Record" records the ballot. The community's choice about the scan reference is a form on
the same page, for the deliberation's community.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.ballots import CHOICES
from domain.errors import N_, DomainError, PaperBallotDateError
from domain.procedures import deliberation_of
from domain.roll import RoomEntry
from domain.room_input import RoomInputError, find_room
from yishi.services.community_settings import community_settings, set_paper_ref_required
from yishi.services.console import UNASSIGNED, contacts, deliberation_community, enter_paper_ballot
from yishi.services.paper import entry_ended, fill_in_days, filled_in_at
from yishi.services.voting import Box, FormAlreadyUsedError, VotingClosedError, load_box
from yishi.web.console import PAPER_CLERKS, box_and_info
from yishi.web.render import message_page, page_translator, render
from yishi.web.resident import refused_page
from yishi.web.staff import Staff, require, staff_form
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
FIELDS = ("room", "choice", "question", "filled_date", "filled_time", "paper_ref")
LIMITS = {"room": 40, "choice": 10, "question": 40, "filled_date": 40, "filled_time": 20, "paper_ref": 200}


async def _community(request: Request, deliberation_id: str) -> str:
    return await deliberation_community(request.app.state.pool, deliberation_of(deliberation_id)) or UNASSIGNED


def _in_scope(box: Box) -> list[RoomEntry]:
    return [room for room in box.opened.roll if box.opened.scope.contains(room)]


async def _owner_name(request: Request, box: Box, owner_id: str) -> str:
    book = await contacts(request.app.state.pool, box.opened.roll_digest)
    return (book.get(owner_id) or {}).get("name") or ""


async def _paper_page(request: Request, staff: Staff, box: Box, info: object, status: int = 200, *,
                      values: dict[str, str] | None = None, **context: Any) -> Response:
    """The entry form with the window it is open in: filled in during the vote, entered until the seal."""
    sealed = box.state.sealed.at if box.state.sealed is not None else None
    try:
        settings = await community_settings(request.app.state.pool, await _community(request, box.deliberation_id))
    except UNAVAILABLE:
        return unavailable(request)
    return render(request, "console_paper.html", status, no_store=True, staff=staff, logout=staff.form(), box=box,
                  info=info, form=staff.form(), settings_form=staff.form(), settings=settings,
                  ended=entry_ended(box.opened, sealed, clock(request)), days=fill_in_days(box.opened),
                  values=values or {}, **{"error": None, "receipt": None, "checked": None, **context})


@router.get("/console/d/{deliberation_id}/paper")
async def paper_form(request: Request, deliberation_id: str) -> Response:
    staff = await require(request, *PAPER_CLERKS)
    if isinstance(staff, Response):
        return staff
    loaded = await box_and_info(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    return await _paper_page(request, staff, loaded[0], loaded[1])


def _paper_closed(request: Request, ended: datetime) -> Response:
    return message_page(request, 410, N_("Paper-ballot entry has ended"), N_(
        "Paper-ballot entry ended at %(when)s (the box is sealed or the entry window is over); this ballot was not "
        "entered. Note any sheet left out in the deliberation's record."), when=page_translator(request).when(ended))


def sheet_key(owner_id: str, ref: str, question: str | None, *, clerk_id: int, nonce: str) -> str:
    """The ballot's idempotency key. With a reference, the sheet itself: the same sheet entered twice, by any clerk,
    is one ballot. Without one, the form sent: a double tap records it once."""
    if ref:
        sheet = f"{owner_id}\x00{ref}" + (f"\x00{question}" if question else "")
    else:
        sheet = f"form\x00{clerk_id}\x00{nonce}\x00{owner_id}\x00{question or ''}"
    return "paper-" + hashlib.sha256(sheet.encode()).hexdigest()[:32]


@router.post("/console/d/{deliberation_id}/paper")
async def enter_paper(request: Request, deliberation_id: str) -> Response:
    posted = await staff_form(request, *PAPER_CLERKS)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    loaded = await box_and_info(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    box, info = loaded
    tr, now = page_translator(request), clock(request)
    values = {name: form.get(name, "").strip()[:LIMITS[name]] for name in FIELDS}

    async def again(status: int, error: str | None, **context: Any) -> Response:
        return await _paper_page(request, staff, box, info, status, values=values, error=error, **context)

    ended = entry_ended(box.opened, box.state.sealed.at if box.state.sealed else None, now)
    if ended is not None:  # checked again under the stream lock (VotingClosedError below)
        return _paper_closed(request, ended)
    if not values["room"]:
        return await again(422, tr.gettext("Write the owner's room as on the sheet, e.g. 101 or 3-2-101."))
    try:
        room = find_room(values["room"], _in_scope(box))
        name = await _owner_name(request, box, room.owner_id)
        required = (await community_settings(request.app.state.pool,
                                             await _community(request, deliberation_id))).paper_ref_required
    except RoomInputError as exc:
        return await again(422, tr.error(exc))
    except UNAVAILABLE:
        return unavailable(request)
    checked = {"room": room.room_id, "owner_id": room.owner_id, "name": name}
    if form.get("step") == "check":  # records nothing: the clerk reads the owner's name against the sheet
        return await again(200, None, checked=checked)
    question = box.question(values["question"] or None)
    filled_at = filled_in_at(box.opened, values["filled_date"], values["filled_time"])
    if values["choice"] not in CHOICES or question is None:
        return await again(422, tr.gettext("Choose the owner's choice as ticked on the sheet."), checked=checked)
    if filled_at is None:
        return await again(422, tr.gettext("Give the date the owner filled in the ballot (e.g. 2025-11-03); the "
                                           "time is optional (e.g. 14:30)."), checked=checked)
    ref = values["paper_ref"]
    if required and not ref:
        return await again(422, tr.gettext("Give the scanned sheet's reference (its number or file name): this "
                                           "community requires it."), checked=checked)
    multi = len(box.opened.questions) > 1
    key = sheet_key(room.owner_id, ref, question.id if multi else None, clerk_id=staff.account.id,
                    nonce=form.get("nonce", ""))
    try:
        receipt = await enter_paper_ballot(request.app.state.store, deliberation_id, room.owner_id,
                                           values["choice"], paper_ref=ref or None, clerk_id=staff.account.id,
                                           idempotency_key=key, now=now, question_id=question.id,
                                           filled_at=filled_at)
    except FormAlreadyUsedError as exc:
        return await again(409, tr.gettext(
            "Sheet reference %(ref)s was already entered for another ballot (receipt %(code)s). Check it.", ref=ref,
            code=exc.receipt.code), checked=checked)
    except VotingClosedError as exc:
        return _paper_closed(request, exc.closed_at)
    except PaperBallotDateError as exc:
        return await again(422, tr.error(exc), checked=checked)
    except DomainError as exc:
        return refused_page(request, exc)
    except UNAVAILABLE:
        return unavailable(request)
    box = await load_box(request.app.state.store, deliberation_id)
    return await _paper_page(request, staff, box, info, receipt=receipt, recorded=checked,
                             overridden=receipt.precedence == "paper_not_counted")


@router.post("/console/d/{deliberation_id}/paper/settings")
async def paper_settings(request: Request, deliberation_id: str) -> Response:
    """Whether this deliberation's community requires a scan reference on every paper ballot."""
    posted = await staff_form(request, *PAPER_CLERKS)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    loaded = await box_and_info(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    if form.get("paper_ref") not in ("required", "optional"):
        return message_page(request, 422, N_("The form is not valid"), N_(
            "Choose whether the scan reference is required or optional."),
            back_url=f"/console/d/{deliberation_id}/paper", back_label=N_("Back to paper-ballot entry"))
    try:
        await set_paper_ref_required(request.app.state.pool, await _community(request, deliberation_id),
                                     form["paper_ref"] == "required", by=staff.account.name, now=clock(request))
    except UNAVAILABLE:
        return unavailable(request)
    return RedirectResponse(f"/console/d/{deliberation_id}/paper", status_code=303)
