"""The escalation inbox of street offices and departments, the ticket page with its actions, the rates page,
and the initiator's follow-up link. Behind the staff sign-in (sessions, CSRF) except the personal link.

Every action is a POST form with a CSRF token; it goes to the ticket's workflow as an update, which
checks the organisation and the role and answers with a refusal a person can act on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.escalation import ANSWERS, Ticket
from domain.legal_calendar import BEIJING
from workflows.escalation import TicketAction
from yishi import i18n
from yishi.services.accounts import Account, session_binding
from yishi.services.complaints import Complaint, ComplaintError, community_ladder, file_complaint, ticket_id_for
from yishi.services.console import (
    UNASSIGNED,
    deliberation_community,
    home_community,
    list_deliberations,
    may_see_community,
)
from yishi.services.escalations import (
    RefusedError,
    TicketView,
    account_org,
    act,
    community_tickets,
    follow_up_link,
    inbox,
    may_see,
    rates_report,
    ticket_communities,
    ticket_view,
)
from yishi.web.console import community_choice
from yishi.web.render import message_page, page_lang, render
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, form_csrf, new_nonce
from yishi.web.staff import Staff, require, staff_form
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE, clock, load_holder, unavailable

router = APIRouter()
INBOX_ROLES = ("street_office", "department", "committee", "grid_worker", "auditor")
RATES_ROLES = ("street_office", "department", "committee", "auditor")
SHOWN_FIELDS = ("org", "by", "to_org", "from_org", "reason", "question", "answer", "resolution", "outcome",
                "deadline", "level_key", "ack_due", "resolve_due", "comment", "title_zh", "channel")


def _page(request: Request, template: str, staff: Staff, status: int = 200, **context: object) -> Response:
    return render(request, template, status, no_store=True, staff=staff, logout=staff.form(), **context)


def available_actions(ticket: Ticket, account: Account, org: str | None) -> list[str]:
    """What the page offers this account (the workflow decides; this only hides what would be refused)."""
    actions: list[str] = []
    current = ticket.current
    if org is not None and ticket.owner == org and current is not None:
        if current.acknowledged_at is None:
            actions.append("acknowledge")
        actions += ["request_info", "resolve"]
        if ticket.transfer is None:
            actions.append("request_transfer")
    if org is not None and ticket.transfer is not None and ticket.transfer.to_org == org:
        actions += ["accept_transfer", "decline_transfer"]
    if account.role == "committee" and ticket.initiator_kind == "committee":
        actions += {"info_requested": ["provide_info"], "resolved": ["follow_up"]}.get(ticket.status, [])
    return actions


def _history(view: TicketView) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "type": e.type, "at": e.occurred_at,
             "fields": {k: v for k, v in e.payload.items() if k in SHOWN_FIELDS and v not in (None, "", [])}}
            for e in view.events]


@router.get("/console/escalations")
async def show_inbox(request: Request) -> Response:
    staff = await require(request, *INBOX_ROLES)
    if isinstance(staff, Response):
        return staff
    org = account_org(staff.account)
    pool = request.app.state.pool
    try:
        rows = await inbox(pool, org) if org else []
        # The tickets may_see lets a committee open: the console's community rule (services/console.py).
        mine = (await community_tickets(pool, home=home_community(staff.account))
                if staff.account.role == "committee" else [])
    except UNAVAILABLE:
        return unavailable(request)
    return _page(request, "console_escalations.html", staff, org=org, rows=rows, community_rows=mine,
                 now=clock(request))


async def _ticket_page(request: Request, staff: Staff, ticket_id: str, status: int = 200,
                       error: str | None = None) -> Response:
    try:
        view = await ticket_view(request.app.state.store, ticket_id)
    except UNAVAILABLE:
        return unavailable(request)
    if view is None or not may_see(staff.account, view.ticket):
        return message_page(request, 404, "not_found_title")
    org = account_org(staff.account)
    link = None
    t = view.ticket
    if staff.account.role == "committee" and t.initiator_kind == "owner" and t.status == "resolved":
        issued = await follow_up_link(request.app.state.pool, t, secret_key=request.app.state.secret_key,
                                      now=clock(request))
        base = request.app.state.settings.public_base_url or str(request.base_url)
        link = f"{base.rstrip('/')}/f/{issued.token}"
    return _page(request, "console_ticket.html", staff, status, ticket=t, history=_history(view),
                 actions=available_actions(t, staff.account, org), form=staff.form(), error=error, org=org,
                 answers=ANSWERS, link=link, now=clock(request))


@router.get("/console/escalations/t/{ticket_id:path}")
async def show_ticket(request: Request, ticket_id: str) -> Response:
    staff = await require(request, *INBOX_ROLES)
    if isinstance(staff, Response):
        return staff
    return await _ticket_page(request, staff, ticket_id)


@router.post("/console/escalations/t/{ticket_id:path}/act")
async def act_on_ticket(request: Request, ticket_id: str) -> Response:
    posted = await staff_form(request, *INBOX_ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    arg = TicketAction(role=staff.account.role, actor=staff.account.name, org=account_org(staff.account) or "",
                       text=form.get("text", "")[:4000], outcome=form.get("outcome", "")[:40],
                       to_org=form.get("to_org", "").strip()[:100])
    try:
        await act(await temporal_client(request), ticket_id, form.get("action", ""), arg)
    except RefusedError as exc:
        why = i18n.t("esc_refused", page_lang(request), why=str(exc))
        return await _ticket_page(request, staff, ticket_id, 409, error=why)
    except TEMPORAL_UNAVAILABLE:
        return message_page(request, 503, "unavailable_title", body_key="esc_busy")
    return RedirectResponse(f"/console/escalations/t/{ticket_id}", status_code=303)


# ---- a resident's complaint, filed by a grid worker or committee member -------------------------------------

FILE_ROLES = ("committee", "grid_worker")
COMPLAINT_FIELDS = ("resident", "deliberation", "category", "start_level", "subject", "detail", "attachments")


async def _complaint_page(request: Request, staff: Staff, status: int = 200, *, values: dict[str, str] | None = None,
                          errors: list[str] | None = None, filed: str | None = None) -> Response:
    community = staff.account.community or UNASSIGNED
    try:
        ladder = await community_ladder(request.app.state.pool, community)
        deliberations = await list_deliberations(request.app.state.pool, home=home_community(staff.account))
    except UNAVAILABLE:
        return unavailable(request)
    return _page(request, "console_complaint.html", staff, status, community=community, form=staff.form(),
                 categories=list(ladder.departments.items()), levels=ladder.levels, deliberations=deliberations,
                 values=values or {"deliberation": request.query_params.get("d", "")}, errors=errors or [],
                 filed=filed)


@router.get("/console/escalations/new")
async def complaint_form(request: Request) -> Response:
    staff = await require(request, *FILE_ROLES)
    if isinstance(staff, Response):
        return staff
    return await _complaint_page(request, staff)


@router.post("/console/escalations/new")
async def file_complaint_form(request: Request) -> Response:
    posted = await staff_form(request, *FILE_ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    lang = page_lang(request)
    values = {name: form.get(name, "") for name in COMPLAINT_FIELDS}
    account = staff.account
    deliberation = values["deliberation"].strip() or None
    if deliberation is not None:
        known = await deliberation_community(request.app.state.pool, deliberation)
        if known is None or not may_see_community(account, known):
            return await _complaint_page(request, staff, 422, values=values,
                                         errors=[i18n.t("complaint_bad_deliberation", lang)])
    complaint = Complaint(community=account.community or UNASSIGNED, resident=values["resident"],
                          category=values["category"], subject=values["subject"], detail=values["detail"],
                          deliberation_id=deliberation, start_level=values["start_level"] or None,
                          attachments=values["attachments"], filed_by=f"{account.role} {account.name}")
    ticket_id = ticket_id_for(session_binding(staff.session_id), form.get("nonce", ""))
    try:
        await file_complaint(await temporal_client(request), request.app.state.pool, complaint,
                             task_queue=request.app.state.settings.task_queue, ticket_id=ticket_id)
    except ComplaintError as exc:
        return await _complaint_page(request, staff, 422, values=values, errors=exc.message(lang).splitlines())
    except TEMPORAL_UNAVAILABLE:
        return message_page(request, 503, "unavailable_title", body_key="esc_busy")
    except UNAVAILABLE:
        return unavailable(request)
    return await _complaint_page(request, staff, filed=ticket_id)


# ---- rates -------------------------------------------------------------------------------------------------


def _dates(request: Request, today: date) -> tuple[date, date] | None:
    try:
        start = date.fromisoformat(request.query_params.get("from") or today.replace(day=1).isoformat())
        end = date.fromisoformat(request.query_params.get("to") or today.isoformat())
    except ValueError:
        return None
    return (start, end) if start <= end and end - start <= timedelta(days=3660) else None


@router.get("/console/escalations/rates")
async def show_rates(request: Request) -> Response:
    """The rates over a period; ``?community=`` keeps one community's tickets. A community-bound account counts
    its own community's tickets and the unassigned ones only (the console list's community rule)."""
    staff = await require(request, *RATES_ROLES)
    if isinstance(staff, Response):
        return staff
    now: datetime = clock(request)
    period = _dates(request, now.astimezone(BEIJING).date())
    if period is None:
        return message_page(request, 422, "form_invalid_title", body_key="esc_bad_date")
    home = home_community(staff.account)
    chosen, outside = community_choice(request, staff)
    try:
        pool = request.app.state.pool
        report = await rates_report(pool, period[0], period[1], now, chosen, home=home)
        communities = await ticket_communities(pool, home=home)
    except UNAVAILABLE:
        return unavailable(request)
    groups = [("esc_total", [("", report.total)]), ("esc_by_level", sorted(report.by_level.items())),
              ("esc_by_org", sorted(report.by_org.items()))]
    return _page(request, "console_rates.html", staff, start=period[0], end=period[1], groups=groups, as_of=now,
                 communities=communities, chosen=chosen, outside=outside, home=home, unassigned=UNASSIGNED)


# ---- the initiator's follow-up link ------------------------------------------------------------------------


async def _holder_ticket(request: Request, token: str) -> tuple[Any, Ticket] | Response:
    holder = await load_holder(request, token)  # looked up before any limit of the address, misses counted
    if isinstance(holder, Response):
        return holder
    try:
        view = await ticket_view(request.app.state.store, holder.deliberation_id)
    except UNAVAILABLE:
        return unavailable(request)
    if view is None or view.ticket.initiator != holder.owner_id:
        return message_page(request, 403, "link_invalid_title", body_key="link_invalid_body")
    return holder, view.ticket


@router.get("/f/{token}")
async def follow_up_form(request: Request, token: str) -> Response:
    found = await _holder_ticket(request, token)
    if isinstance(found, Response):
        return found
    holder, ticket = found
    nonce = new_nonce()
    csrf = form_csrf(request.app.state.secret_key, "follow-up", holder.token_hash, nonce)
    return render(request, "follow_up.html", no_store=True, ticket=ticket, nonce=nonce, csrf=csrf, answers=ANSWERS,
                  token=token, done=None)


@router.post("/f/{token}")
async def follow_up_answer(request: Request, token: str) -> Response:
    found = await _holder_ticket(request, token)
    if isinstance(found, Response):
        return found
    holder, ticket = found
    form = await read_form(request)
    if form is None or not check_csrf(request.app.state.secret_key, "follow-up", holder.token_hash,
                                      form.get("nonce", ""), form.get("csrf", "")):
        return message_page(request, 403, "form_invalid_title", body_key="form_invalid_body")
    action = "provide_info" if ticket.status == "info_requested" else "follow_up"
    arg = TicketAction(role="owner", actor=holder.owner_id, outcome=form.get("answer", "")[:40],
                       text=form.get("text", "")[:4000])
    try:
        await act(await temporal_client(request), ticket.ticket_id, action, arg)
    except RefusedError as exc:
        return message_page(request, 409, "refused_title", body=str(exc))
    except TEMPORAL_UNAVAILABLE:
        return message_page(request, 503, "unavailable_title", body_key="esc_busy")
    return message_page(request, 200, "esc_thanks")
