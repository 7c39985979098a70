"""A procedure's pages after (and before) the vote: the owner's matter page behind the personal link, with
share confirmation and objections, and the committee's procedure page with its open tasks.

GET pages change nothing; every act is a POST with a CSRF field, and goes to the workflow as an update whose
validator decides (stage, role, scope). The update id comes from the form's nonce, so a double tap acts once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.errors import DomainError
from domain.result_summary import ResultSummary, summary_lines
from workflows.common import TaskCompletion
from yishi.i18n import N_
from yishi.i18n.points import black_list_flag
from yishi.services import plan_documents
from yishi.services.matters import (
    MAX_OBJECTION_CHARS,
    Matter,
    MatterNotRunningError,
    complete_matter_task,
    confirm_share,
    load_matter,
    object_to,
)
from yishi.services.procedures import RefusedError, give_feedback, procedure_status
from yishi.services.results import summaries
from yishi.services.voting import deliberation_info
from yishi.web.owner_sms import sms_opted_out
from yishi.web.render import message_page, not_found_page, page_lang, page_translator, render
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, form_csrf, new_nonce
from yishi.web.staff import Staff, require, staff_form
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE, clock, load_holder, unavailable

router = APIRouter()
STAFF_ROLES = ("committee", "grid_worker", "street_office", "auditor")
ACTING_ROLES = ("committee", "grid_worker", "street_office")  # an auditor reads, never acts
BACK = N_("Back to the matter")


def _keys(request: Request, binding: str, purpose: str) -> dict[str, str]:
    nonce = new_nonce()
    return {"nonce": nonce, "csrf": form_csrf(request.app.state.secret_key, purpose, binding, nonce)}


def _update_id(binding: str, nonce: str, purpose: str) -> str:
    return f"web-{purpose}-" + hashlib.sha256(f"{binding}:{nonce}".encode()).hexdigest()[:32]


def matter_page(request: Request, token: str, binding: str, matter: Matter, status: int = 200,
                message: str | None = None, figures: list[ResultSummary] | None = None,
                sms_out: bool | None = None, mine: list[Any] | None = None, my_vote: str | None = None) -> Response:
    lang = "en" if page_lang(request) == "en" else "zh"
    return render(request, "matter.html", status, no_store=True, matter=matter, token=token, message=message,
                  max_chars=MAX_OBJECTION_CHARS, figures=[summary_lines(f, lang) for f in figures or []],
                  sms_out=sms_out, mine=mine or [], my_vote=my_vote,
                  forms={p: _keys(request, binding, p) for p in ("share", "objection", "sms")})


async def show_matter_or(request: Request, token: str, binding: str, deliberation_id: str, owner_id: str,
                         otherwise: Response, mine: list[Any] | None = None, my_vote: str | None = None) -> Response:
    """The matter page if ``deliberation_id`` is a procedure, else ``otherwise`` (a plain ballot's page); after the
    vote, ``my_vote`` (what she voted and that it counted) and ``mine`` (her receipts) are shown on it."""
    try:
        matter = await load_matter(request.app.state.store, deliberation_id, owner_id)
        # The published figures once the vote is counted: the same lines as the public page and the sheet.
        figures = (await summaries(request.app.state.store, deliberation_id)
                   if matter is not None and matter.approved is not None else [])
        sms_out = await sms_opted_out(request, deliberation_id, owner_id) if matter is not None else None
    except UNAVAILABLE:
        return unavailable(request)
    return otherwise if matter is None else matter_page(request, token, binding, matter, figures=figures,
                                                        sms_out=sms_out, mine=mine, my_vote=my_vote)


@router.get("/v/{token}/matter")
async def show_matter(request: Request, token: str) -> Response:
    holder = await load_holder(request, token)
    if isinstance(holder, Response):
        return holder
    not_found = not_found_page(request)
    return await show_matter_or(request, token, holder.token_hash, holder.deliberation_id, holder.owner_id,
                                not_found)


async def _owner_act(request: Request, token: str, purpose: str) -> Response:
    holder = await load_holder(request, token)
    if isinstance(holder, Response):
        return holder
    back = f"/v/{token}/matter"
    form = await read_form(request)
    if form is None or not check_csrf(request.app.state.secret_key, purpose, holder.token_hash,
                                      (form or {}).get("nonce", ""), (form or {}).get("csrf", "")):
        return message_page(request, 403 if form else 422, N_("The form is not valid"), N_(
            "The form was incomplete or expired; nothing was recorded. Open the page again and resubmit."),
            back_url=back, back_label=BACK)
    tr = page_translator(request)
    update_id = _update_id(holder.token_hash, form["nonce"], purpose)
    try:
        client = await temporal_client(request)
        if purpose == "share":
            await confirm_share(client, holder.deliberation_id, holder.owner_id, update_id)
            done = tr.gettext("Your share is confirmed and recorded in the stream.")
        else:
            text = form.get("text", "").strip()
            if not text:
                matter = await load_matter(request.app.state.store, holder.deliberation_id, holder.owner_id)
                if matter is None:
                    return not_found_page(request)
                return matter_page(request, token, holder.token_hash, matter, 422,
                                   tr.gettext("Write what you object to."))
            receipt = await object_to(client, holder.deliberation_id, holder.owner_id, text, update_id)
            done = tr.gettext("Objection %(id)s is recorded; the community will mediate by %(due)s.",
                              id=receipt.objection_id, due=tr.when(receipt.due_at))
    except RefusedError as exc:
        return message_page(request, 409, N_("This could not be done"), text=tr.error(exc), back_url=back,
                            back_label=BACK)
    except MatterNotRunningError:  # not "try again": nothing will take the act (only Temporal away is a 503)
        return not_running(request, holder.deliberation_id, back)
    except (*UNAVAILABLE, *TEMPORAL_UNAVAILABLE):
        return unavailable(request)
    return message_page(request, 200, N_("Done"), text=done, back_url=back, back_label=BACK)


def not_running(request: Request, deliberation_id: str, back: str) -> Response:
    return message_page(request, 404, N_("This matter is not running"), N_(
        "Matter %(id)s is not running (its procedure was never started, or has ended), so nothing was recorded and "
        "trying again will not help. Go back to the matter page to see where it stands; ask the residents' "
        "committee or the owners' committee if in doubt."), id=deliberation_id, back_url=back, back_label=BACK)


@router.post("/v/{token}/share")
async def post_share(request: Request, token: str) -> Response:
    return await _owner_act(request, token, "share")


@router.post("/v/{token}/objection")
async def post_objection(request: Request, token: str) -> Response:
    return await _owner_act(request, token, "objection")


# ---- the committee's procedure page ----------------------------------------------------------------------

SETTLING = timedelta(seconds=30)
STARTED = "started=1"
"""The start form lands on the matter's page with this query: the page says "now attach the plan" and links to its
documents section."""
"""How long after a stage is entered its page still waits for the stage's first tasks (the workflow opens them
in the activities that follow the stage's entry)."""


def preparing(current: dict[str, Any], now: datetime) -> bool:
    """Whether the procedure is between steps, so the page says "preparing" and reloads itself (issue 21 item 10):
    no stage yet; a voting stage whose ballot box has not opened (the links page would say voting has not
    started); or a stage entered moments ago with nothing after it and no task yet."""
    if current.get("outcome"):
        return False
    if current.get("stage") is None:
        return True
    if current["stage"] == "voting" and not current.get("box_open"):
        return True
    entered = current.get("stage_at")
    return (current.get("last_event") == "StageEntered" and not current["open_tasks"] and entered is not None
            and now - datetime.fromisoformat(entered) < SETTLING)



async def _procedure(request: Request, staff: Staff, deliberation_id: str, status: int = 200,
                     message: str | None = None) -> Response:
    state = request.app.state
    try:
        current = await procedure_status(state.store, deliberation_id)
        info = await deliberation_info(state.pool, deliberation_id)
    except DomainError:
        # Registered but no stream yet: just started (the console's start form lands here), the worker's first
        # activity has not written it. Say so rather than "not found".
        try:
            registered = await deliberation_info(state.pool, deliberation_id) is not None
        except UNAVAILABLE:
            return unavailable(request)
        if registered:
            return message_page(request, 200, N_("The deliberation is starting"), N_(
                "The deliberation is registered and its procedure is starting; this page reloads by itself in a few "
                "seconds and then shows the first task."), refresh=3)  # its reload link: _auto_reload.html
        return not_found_page(request)
    except UNAVAILABLE:
        return unavailable(request)
    acting = staff.account.can(*ACTING_ROLES)
    try:
        docs = await state.store.read_types(deliberation_id, ["DocumentAttached", "VoteRoundOpened"])
    except UNAVAILABLE:
        return unavailable(request)
    may_attach = staff.account.can("committee") and not plan_documents.voting_opened(docs, clock(request))
    tr = page_translator(request)
    black_list = {cid: [black_list_flag(tr, cid, c, flag) for flag in c["black_list"]]
                  for cid, c in (current.get("candidates") or {}).items()}
    return render(request, "console_matter.html", status, no_store=True, staff=staff, logout=staff.form(),
                  documents=plan_documents.documents(docs), upload_form=staff.form() if may_attach else None,
                  matter=current, info=info, message=message, preparing=preparing(current, clock(request)),
                  role=staff.account.role, forms={t["task_id"]: staff.form() for t in current["open_tasks"]}
                  if acting else {}, feedback_form=staff.form(), black_list=black_list)


procedure_page = _procedure  # the page an upload of the matter's documents answers with (yishi/web/plan_documents.py)


@router.get("/console/d/{deliberation_id}/matter")
async def console_matter(request: Request, deliberation_id: str) -> Response:
    staff = await require(request, *STAFF_ROLES)
    if isinstance(staff, Response):
        return staff
    return await _procedure(request, staff, deliberation_id)


@router.post("/console/d/{deliberation_id}/tasks/{task_id}")
async def console_complete_task(request: Request, deliberation_id: str, task_id: str) -> Response:
    posted = await staff_form(request, *ACTING_ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    completion = TaskCompletion(task_id=task_id, role=staff.account.role, actor=staff.account.name,
                                outcome=form.get("outcome", ""), note=form.get("note", "").strip()[:2000],
                                document_no=form.get("document_no", "").strip()[:100] or None)
    try:
        if await deliberation_info(request.app.state.pool, deliberation_id) is None:
            # No such deliberation: the page a hidden one gets too (staff_form's community rule), not "not running".
            return not_found_page(request)
        await complete_matter_task(await temporal_client(request), deliberation_id, completion)
    except RefusedError as exc:
        return await _procedure(request, staff, deliberation_id, 409, page_translator(request).error(exc))
    except MatterNotRunningError:
        return not_running(request, deliberation_id, f"/console/d/{deliberation_id}/matter")
    except (*UNAVAILABLE, *TEMPORAL_UNAVAILABLE):
        return unavailable(request)
    # Post/redirect/get: reloading the page does not send the form again.
    return RedirectResponse(f"/console/d/{deliberation_id}/matter?done={task_id}", status_code=303)


@router.post("/console/d/{deliberation_id}/feedback")
async def console_feedback(request: Request, deliberation_id: str) -> Response:
    """A resident's satisfaction with a consultation (1–5 and a comment) from a paper form, typed in by staff during
    the feedback stage; recorded with who typed it in (the workflow's ``give_feedback``, as ``yishi feedback``)."""
    posted = await staff_form(request, *ACTING_ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    tr = page_translator(request)
    from workflows.consultation import FeedbackInput

    owner_id, score = form.get("owner_id", "").strip()[:100], form.get("score", "")
    who = f"{staff.account.name}（{tr.label(staff.account.role, 'role')}）"
    try:
        if await deliberation_info(request.app.state.pool, deliberation_id) is None:
            return not_found_page(request)
        if not owner_id or score not in ("1", "2", "3", "4", "5"):
            return await _procedure(request, staff, deliberation_id, 422, tr.gettext(
                "Give the owner (owner id) and a score from 1 to 5."))
        arg = FeedbackInput(owner_id=owner_id, score=int(score), comment=form.get("comment", "").strip()[:2000],
                            recorded_by=who)
        await give_feedback(await temporal_client(request), deliberation_id, arg,
                            update_id=_update_id(deliberation_id, form.get("nonce", ""), "feedback"))
    except RefusedError as exc:
        return await _procedure(request, staff, deliberation_id, 409, tr.error(exc))
    except (*UNAVAILABLE, *TEMPORAL_UNAVAILABLE):
        return unavailable(request)
    return RedirectResponse(f"/console/d/{deliberation_id}/matter?feedback={quote(owner_id, safe='')}",
                            status_code=303)
