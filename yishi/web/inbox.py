"""The escalation inbox of street offices and departments, the ticket page with its actions, the complaint form
and the rates page. Behind the staff sign-in (sessions, CSRF); the owner's follow-up link and its printed slip
are in yishi/web/follow_up.py.

Every action is a POST form with a CSRF token, under the ticket page's own wall (:func:`visible_ticket`); it
goes to the ticket's workflow as an update, whose validator checks the acting organisation and the role and
answers with a refusal a person can act on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.escalation import ANSWERS, DEFAULT_DEPARTMENTS, EscalationError, Ticket
from domain.escalation_auth import authorise
from domain.legal_calendar import BEIJING
from workflows.escalation import TicketAction
from yishi.i18n import N_
from yishi.services.accounts import Account
from yishi.services.complaints import community_ladder
from yishi.services.console import (
    UNASSIGNED,
    home_community,
)
from yishi.services.escalations import (
    RefusedError,
    TicketView,
    account_orgs,
    act,
    acting_org,
    community_tickets,
    complainant,
    inbox,
    may_see,
    may_see_complainant,
    rates_report,
    ticket_communities,
    ticket_view,
)
from yishi.services.follow_up import slip_offered
from yishi.web.console import community_choice
from yishi.web.joint import joint_context
from yishi.web.render import (
    message_page,
    page_translator,
    workflow_busy,
)
from yishi.web.staff import Staff, require, staff_form, staff_page
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.ticket_history import history, org_names
from yishi.web.ticket_parent import parent_link
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
INBOX_ROLES = ("street_office", "department", "committee", "grid_worker", "auditor")
ACT_ROLES = ("street_office", "department", "committee", "grid_worker")  # an auditor reads, never acts
RATES_ROLES = ("street_office", "department", "committee", "auditor")


def ticket_path(ticket_id: str) -> str:
    return f"/console/escalations/t/{quote(ticket_id, safe='/')}"


def available_actions(ticket: Ticket, account: Account, org: str | None) -> list[str]:
    """What the page offers this account: the actions the ticket's state allows that the workflow's validator
    would let this account do (domain/escalation_auth.py, the same rule); the workflow still decides."""
    if not account.can(*ACT_ROLES):
        return []
    candidates: list[str] = []
    current = ticket.current
    if ticket.owner is not None and current is not None:
        candidates += ["acknowledge"] if current.acknowledged_at is None else []
        candidates += ["request_info", "resolve"] + (["request_transfer"] if ticket.transfer is None else [])
    if ticket.transfer is not None:
        candidates += ["accept_transfer", "decline_transfer"]
    if ticket.initiator_kind == "committee":
        candidates += {"info_requested": ["provide_info"], "resolved": ["follow_up"]}.get(ticket.status, [])
    return [action for action in candidates if _authorised(ticket, action, account, org)]


def _authorised(ticket: Ticket, action: str, account: Account, org: str | None) -> bool:
    try:
        authorise(ticket, action, role=account.role, org=org or "", by=account.name)
    except EscalationError:
        return False
    return True


async def visible_ticket(request: Request, staff: Staff, ticket_id: str) -> TicketView | Response:
    """The ticket if this account may see it (services/escalations.py ``may_see``), else the page to answer with.

    The one wall of the ticket page and of every form posted from it (actions, the printed slip): a ticket the
    account may not see answers the very page an unknown id gets (404), before anything is sent or written."""
    try:
        view = await ticket_view(request.app.state.store, ticket_id)
        orgs = await account_orgs(request.app.state.pool, staff.account)
    except UNAVAILABLE:
        return unavailable(request)
    if view is None or not may_see(staff.account, view.ticket, orgs):
        if view is not None:
            log.info("console.ticket_hidden", ticket_id=ticket_id, account_id=staff.account.id,
                     role=staff.account.role, community=staff.account.community, method=request.method)
        return message_page(request, 404, N_("Page not found"))
    return view


def transfer_choices(ticket: Ticket, names: dict[str, str]) -> list[tuple[str, str]]:
    """The organisations a ticket may be transferred to, by name: its community's levels and departments but the
    owner itself."""
    return [(org, name) for org, name in names.items() if org != ticket.owner]


@router.get("/console/escalations")
async def show_inbox(request: Request) -> Response:
    staff = await require(request, *INBOX_ROLES)
    if isinstance(staff, Response):
        return staff
    pool = request.app.state.pool
    try:
        orgs = await account_orgs(pool, staff.account)  # a grid worker's grids too (一人多格)
        org = orgs[0] if orgs else None
        rows = await inbox(pool, orgs) if orgs else []
        # The tickets may_see lets a committee open: the console's community rule (services/console.py).
        mine = (await community_tickets(pool, home=home_community(staff.account))
                if staff.account.role == "committee" else [])
    except UNAVAILABLE:
        return unavailable(request)
    en = page_translator(request).code == "en"
    names = {d.org: d.name_en if en else d.name_zh for d in DEFAULT_DEPARTMENTS.values()}  # dept:… by name
    return staff_page(request, "console_escalations.html", staff, org=org, rows=rows, community_rows=mine,
                 now=clock(request), org_name=names)


async def ticket_page(request: Request, staff: Staff, ticket_id: str, status: int = 200,
                       error: str | None = None) -> Response:
    """The ticket page. It never shows the initiator's follow-up link (a capability: whoever holds it answers as
    the owner); a committee or grid worker prints it on a slip for the owner (yishi/web/follow_up.py)."""
    view = await visible_ticket(request, staff, ticket_id)
    if isinstance(view, Response):
        return view
    t = view.ticket
    pool = request.app.state.pool
    tr = page_translator(request)
    try:
        orgs = await account_orgs(pool, staff.account)
        names = org_names(t, await community_ladder(pool, t.community), tr.code)
        # Who complained: for the offices that own or owned a part of the ticket only (services/escalations.py).
        who = await complainant(pool, t.ticket_id) if may_see_complainant(orgs, t) else None
        joint = await joint_context(pool, t, staff.account, orgs)  # 吹哨报到 (yishi/web/joint.py)
        parent = await parent_link(pool, staff.account, t.parent_id)  # behind the parent page's own wall
    except UNAVAILABLE:
        return unavailable(request)
    org = acting_org(orgs, t)
    return staff_page(request, "console_ticket.html", staff, status, ticket=t, org_name=names,
                 history=history(tr, t, view.events, names), transfer_to=transfer_choices(t, names),
                 auditor=staff.account.role == "auditor", files=[e for e in t.evidence if e.kind == "attachment"],
                 actions=available_actions(t, staff.account, org), form=staff.form(), error=error, org=org,
                 answers=ANSWERS, slip=slip_offered(t, staff.account), now=clock(request),
                 switch_path=ticket_path(ticket_id), complainant=who, parent=parent, **joint)


@router.get("/console/escalations/t/{ticket_id:path}")
async def show_ticket(request: Request, ticket_id: str) -> Response:
    staff = await require(request, *INBOX_ROLES)
    if isinstance(staff, Response):
        return staff
    return await ticket_page(request, staff, ticket_id)


@router.post("/console/escalations/t/{ticket_id:path}/act")
async def act_on_ticket(request: Request, ticket_id: str) -> Response:
    """An action posted from the ticket page: the same wall as the page (:func:`visible_ticket`), then the
    ticket's workflow, whose validator checks the acting organisation (domain/escalation_auth.py)."""
    posted = await staff_form(request, *ACT_ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    view = await visible_ticket(request, staff, ticket_id)
    if isinstance(view, Response):
        return view
    orgs = await account_orgs(request.app.state.pool, staff.account)
    arg = TicketAction(role=staff.account.role, actor=staff.account.name, org=acting_org(orgs, view.ticket),
                       text=form.get("text", "")[:4000], outcome=form.get("outcome", "")[:40],
                       to_org=form.get("to_org", "").strip()[:100])
    try:
        await act(await temporal_client(request), ticket_id, form.get("action", ""), arg)
    except RefusedError as exc:
        tr = page_translator(request)
        why = tr.gettext("Not done: %(why)s", why=tr.error(exc))
        return await ticket_page(request, staff, ticket_id, 409, error=why)
    except TEMPORAL_UNAVAILABLE:
        return workflow_busy(request)
    return RedirectResponse(f"/console/escalations/t/{ticket_id}", status_code=303)


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
        return message_page(request, 422, N_("The form is not valid"),
                            N_("Dates are YYYY-MM-DD, the end not before the start."))
    home = home_community(staff.account)
    chosen, outside = community_choice(request, staff)
    try:
        pool = request.app.state.pool
        report = await rates_report(pool, period[0], period[1], now, chosen, home=home)
        communities = await ticket_communities(pool, home=home)
    except UNAVAILABLE:
        return unavailable(request)
    tr = page_translator(request)
    levels = [(tr.label(key, "level"), cell) for key, cell in sorted(report.by_level.items())]
    orgs = [(tr.label(org, "org"), cell) for org, cell in sorted(report.by_org.items())]
    groups = [(tr.gettext("Total"), [("", report.total)]), (tr.gettext("By level"), levels),
              (tr.gettext("By organisation"), orgs)]
    return staff_page(request, "console_rates.html", staff, start=period[0], end=period[1], groups=groups, as_of=now,
                 communities=communities, chosen=chosen, outside=outside, home=home, unassigned=UNASSIGNED)
