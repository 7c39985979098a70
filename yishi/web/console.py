"""The committee console: progress per building and entrance, non-voters, paper ballots. Behind sign-in.

Who sees what: every staff role sees progress; names and phones of non-voters are for the committee and
grid workers; paper-ballot entry is for committee accounts only, and each sheet records the clerk's account.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.ballots import CHOICES
from domain.errors import N_, DomainError, PaperBallotDateError
from domain.roll_parse import roll_template
from yishi.services.accounts import account_names
from yishi.services.console import (
    UNASSIGNED,
    contacts,
    enter_paper_ballot,
    home_community,
    list_communities,
    list_deliberations,
    may_see_community,
    non_voters,
    paper_ballots,
    paper_clerk_ids,
    progress,
)
from yishi.services.paper import entry_ended, fill_in_days, filled_in_at
from yishi.services.voting import (
    Box,
    FormAlreadyUsedError,
    NoSuchBoxError,
    VotingClosedError,
    deliberation_info,
    load_box,
)
from yishi.web.render import message_page, not_found_page, page_translator, render
from yishi.web.resident import refused_page
from yishi.web.staff import Staff, require, staff_form
from yishi.web.staff import router as staff_router
from yishi.web.voter import UNAVAILABLE, clock, unavailable

router = APIRouter()
router.include_router(staff_router)
ALL_STAFF = ("committee", "grid_worker", "street_office", "department", "auditor")
FIELD_STAFF = ("committee", "grid_worker")
PAPER_CLERKS = ("committee",)  # who may type in paper ballots (the owners' vote is the committee's to run)


def _page(request: Request, template: str, staff: Staff, status: int = 200, **context: object) -> Response:
    return render(request, template, status, no_store=True, staff=staff, logout=staff.form(), **context)


def community_choice(request: Request, staff: Staff) -> tuple[str | None, str | None]:
    """The ``?community=`` filter of a list page: (the community to keep or None for all the account may see,
    the community asked for that the account may not see or None). The community rule itself is
    services/console.py's ``may_see_community``."""
    chosen = request.query_params.get("community", "").strip()[:100] or None
    if chosen is not None and not may_see_community(staff.account, chosen):
        return None, chosen
    return chosen, None


@router.get("/console")
async def deliberations(request: Request) -> Response:
    """The deliberations, newest first; ``?community=`` keeps one community's (a filter: GET changes nothing)."""
    staff = await require(request, *ALL_STAFF)
    if isinstance(staff, Response):
        return staff
    home = home_community(staff.account)
    chosen, outside = community_choice(request, staff)
    try:
        pool = request.app.state.pool
        rows = await list_deliberations(pool, community=chosen, home=home)
        communities = await list_communities(pool, home=home)
    except UNAVAILABLE:
        return unavailable(request)
    return _page(request, "console_list.html", staff, rows=rows, communities=communities,
                 chosen=chosen, outside=outside, home=home, unassigned=UNASSIGNED)


@router.get("/console/roll-template.csv")
async def roll_template_csv(request: Request) -> Response:
    """The roll to fill in (UTF-8 with BOM so that Excel shows the Chinese headers); ``?header=en`` for English."""
    staff = await require(request, *ALL_STAFF)
    if isinstance(staff, Response):
        return staff
    header = "en" if request.query_params.get("header") == "en" else "zh"
    return Response(roll_template(header).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="yishi-roll-template-{header}.csv"'})


async def _box_and_info(request: Request, deliberation_id: str):  # type: ignore[no-untyped-def]
    # The community rule was applied by require/staff_form (yishi/web/staff.py): a hidden deliberation is a 404.
    state = request.app.state
    try:
        return await load_box(state.store, deliberation_id), await deliberation_info(state.pool, deliberation_id)
    except NoSuchBoxError:
        info = await deliberation_info(state.pool, deliberation_id)
        if info is not None:  # a procedure before its vote: its page shows the stage and the open tasks
            return RedirectResponse(f"/console/d/{deliberation_id}/matter", status_code=303)
        return not_found_page(request)
    except UNAVAILABLE:
        return unavailable(request)


@router.get("/console/d/{deliberation_id}")
async def show_progress(request: Request, deliberation_id: str) -> Response:
    staff = await require(request, *ALL_STAFF)
    if isinstance(staff, Response):
        return staff
    loaded = await _box_and_info(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    box, info = loaded
    question = box.question(request.query_params.get("q") or None) or box.opened.questions[0]
    try:
        clerks = await account_names(request.app.state.pool, paper_clerk_ids(box))
    except UNAVAILABLE:
        return unavailable(request)
    return _page(request, "console_progress.html", staff, box=box, info=info, progress=progress(box, question.id),
                 question=question, paper=paper_ballots(box, clerks), now=clock(request),
                 field=staff.account.can(*FIELD_STAFF), paper_clerk=staff.account.can(*PAPER_CLERKS))


@router.get("/console/d/{deliberation_id}/non-voters")
async def show_non_voters(request: Request, deliberation_id: str) -> Response:
    staff = await require(request, *FIELD_STAFF)
    if isinstance(staff, Response):
        return staff
    loaded = await _box_and_info(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    box, info = loaded
    book = await contacts(request.app.state.pool, box.opened.roll_digest)
    return _page(request, "console_non_voters.html", staff, box=box, info=info, households=non_voters(box, book))


@router.get("/console/d/{deliberation_id}/paper")
async def paper_form(request: Request, deliberation_id: str) -> Response:
    staff = await require(request, *PAPER_CLERKS)
    if isinstance(staff, Response):
        return staff
    loaded = await _box_and_info(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    return _paper_page(request, staff, loaded[0], loaded[1])


def _paper_page(request: Request, staff: Staff, box: Box, info: object, status: int = 200, **context: object
                ) -> Response:
    """The entry form with the window it is open in: filled in during the vote, entered until the seal."""
    sealed = box.state.sealed.at if box.state.sealed is not None else None
    return _page(request, "console_paper.html", staff, status, box=box, info=info, form=staff.form(),
                 ended=entry_ended(box.opened, sealed, clock(request)), days=fill_in_days(box.opened),
                 **{"error": None, "receipt": None, **context})


def _paper_closed(request: Request, ended: datetime) -> Response:
    return message_page(request, 410, N_("Paper-ballot entry has ended"), N_(
        "Paper-ballot entry ended at %(when)s (the box is sealed or the entry window is over); this ballot was not "
        "entered. Note any sheet left out in the deliberation's record."), when=page_translator(request).when(ended))


@router.post("/console/d/{deliberation_id}/paper")
async def enter_paper(request: Request, deliberation_id: str) -> Response:
    posted = await staff_form(request, *PAPER_CLERKS)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    loaded = await _box_and_info(request, deliberation_id)
    if isinstance(loaded, Response):
        return loaded
    box, info = loaded
    tr, now = page_translator(request), clock(request)
    room = next((r for r in box.opened.roll if r.room_id.upper() == form.get("room", "").strip().upper()), None)
    ref = form.get("paper_ref", "").strip()[:200]
    choice = form.get("choice")
    question = box.question(form.get("question") or None)
    filled_at = filled_in_at(box.opened, form.get("filled_date", "")[:40], form.get("filled_time", "")[:20])

    def again(status: int, error: str) -> Response:
        return _paper_page(request, staff, box, info, status, error=error)

    ended = entry_ended(box.opened, box.state.sealed.at if box.state.sealed else None, now)
    if ended is not None:  # checked again under the stream lock (VotingClosedError below)
        return _paper_closed(request, ended)
    if room is None or not ref or choice not in CHOICES or question is None:
        return again(422, tr.gettext("Give the room, a choice and the sheet reference."))
    if filled_at is None:
        return again(422, tr.gettext("Give the date the owner filled in the ballot (e.g. 2025-11-03); the time is "
                                     "optional (e.g. 14:30)."))
    # One scanned sheet is one ballot per question: entering the same sheet twice records it once.
    sheet = f"{room.owner_id}\x00{ref}" + (f"\x00{question.id}" if len(box.opened.questions) > 1 else "")
    key = "paper-" + hashlib.sha256(sheet.encode()).hexdigest()[:32]
    try:
        receipt = await enter_paper_ballot(request.app.state.store, deliberation_id, room.owner_id, choice,
                                           paper_ref=ref, clerk_id=staff.account.id, idempotency_key=key,
                                           now=now, question_id=question.id, filled_at=filled_at)
    except FormAlreadyUsedError as exc:
        return again(409, tr.gettext(
            "Sheet reference %(ref)s was already entered for another ballot (receipt %(code)s). Check it.", ref=ref,
            code=exc.receipt.code))
    except VotingClosedError as exc:
        return _paper_closed(request, exc.closed_at)
    except PaperBallotDateError as exc:
        return again(422, tr.error(exc))
    except DomainError as exc:
        return refused_page(request, exc)
    except UNAVAILABLE:
        return unavailable(request)
    box = await load_box(request.app.state.store, deliberation_id)
    return _paper_page(request, staff, box, info, receipt=receipt, room=room.room_id,
                       overridden=receipt.precedence == "paper_not_counted")
