"""吹哨报到 in the console (issue 19): the street office blows the whistle on a ticket to several departments at
once from the ticket page; each department reports in (报到) to its own part and resolves it by its own deadlines;
the street office may release a department from its part. The ticket resolves when every part is done or
released (the ticket's workflow, workflows/escalation_joint.py).

The wall of both forms is the ticket page's (yishi/web/inbox.py ``visible_ticket``); the ticket's workflow then
checks the acting organisation and role (domain/joint_commands.py ``authorise_part``). What the page offers is
the same rule, applied to the state it shows.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.escalation import EscalationError, Ticket
from domain.joint_commands import authorise_part
from workflows.escalation_joint import PartAction, Whistle
from yishi.services.accounts import Account
from yishi.services.complaints import community_ladder
from yishi.services.escalations import RefusedError, account_orgs, act_part, acting_org, whistle
from yishi.web.render import page_translator, workflow_busy
from yishi.web.staff import staff_form
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE, unavailable

router = APIRouter()
WHISTLE_ROLES = ("street_office",)
PART_ROLES = ("street_office", "department")
PART_ACTIONS = ("report_in", "resolve_part", "release_part")


def _may(ticket: Ticket, action: str, account: Account, org: str, part: int = 0) -> bool:
    try:
        authorise_part(ticket, action, role=account.role, org=org, part=part)
    except EscalationError:
        return False
    return True


async def joint_context(pool: asyncpg.Pool, ticket: Ticket, account: Account, orgs: list[str]) -> dict[str, Any]:
    """What the ticket page shows of the whistle: the parts, the departments one may call in (the ladder's,
    those not already called), and the part actions this account may take on each open part."""
    org = acting_org(orgs, ticket)
    departments: list[tuple[str, Any]] = []
    if ticket.owner is not None and ticket.current is not None and _may(ticket, "whistle", account, org):
        taken = {p.department for p in ticket.joint.open_parts}
        ladder = await community_ladder(pool, ticket.community)
        seen: set[str] = set()
        for dept in ladder.departments.values():
            if dept.org not in taken and dept.org not in seen:
                seen.add(dept.org)
                departments.append((dept.org, dept))
    part_actions: dict[int, list[str]] = {}
    for p in ticket.joint.open_parts:
        mine = [o for o in orgs if o == p.owner] or [org]
        allowed = [a for a in PART_ACTIONS if _may(ticket, a, account, mine[0], p.part)]
        if p.current.reported_at is not None:
            allowed = [a for a in allowed if a != "report_in"]
        if allowed:
            part_actions[p.part] = allowed
    return {"parts": ticket.joint.parts, "whistle_departments": departments, "part_actions": part_actions}


async def _posted(request: Request, roles: tuple[str, ...],
                  ticket_id: str) -> tuple[Any, dict[str, str], Any] | Response:
    from yishi.web.inbox import visible_ticket

    posted = await staff_form(request, *roles)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    view = await visible_ticket(request, staff, ticket_id)
    if isinstance(view, Response):
        return view
    return staff, form, view


async def _refused(request: Request, staff: Any, ticket_id: str, exc: RefusedError) -> Response:
    from yishi.web.inbox import ticket_page

    tr = page_translator(request)
    return await ticket_page(request, staff, ticket_id, 409, error=tr.gettext("Not done: %(why)s", why=tr.error(exc)))


@router.post("/console/escalations/t/{ticket_id:path}/whistle")
async def blow_whistle(request: Request, ticket_id: str) -> Response:
    """吹哨: the departments ticked on the ticket page are called in at once, each to a part of its own."""
    got = await _posted(request, WHISTLE_ROLES, ticket_id)
    if isinstance(got, Response):
        return got
    staff, form, view = got
    try:
        orgs = await account_orgs(request.app.state.pool, staff.account)
    except UNAVAILABLE:
        return unavailable(request)
    # One checkbox per department, named dept-1, dept-2 … (a form's fields are read one value per name).
    chosen = tuple(dict.fromkeys(v.strip()[:100] for k, v in form.items() if k.startswith("dept-") and v.strip()))
    arg = Whistle(role=staff.account.role, actor=staff.account.name, org=acting_org(orgs, view.ticket),
                  departments=chosen[:12], text=form.get("text", "")[:2000])
    try:
        await whistle(await temporal_client(request), ticket_id, arg)
    except RefusedError as exc:
        return await _refused(request, staff, ticket_id, exc)
    except TEMPORAL_UNAVAILABLE:
        return workflow_busy(request)
    return RedirectResponse(f"/console/escalations/t/{ticket_id}", status_code=303)


@router.post("/console/escalations/t/{ticket_id:path}/parts/{part}")
async def act_on_part(request: Request, ticket_id: str, part: int) -> Response:
    """A department's report-in or resolution of its part, or the street office's release of one."""
    got = await _posted(request, PART_ROLES, ticket_id)
    if isinstance(got, Response):
        return got
    staff, form, view = got
    try:
        orgs = await account_orgs(request.app.state.pool, staff.account)
    except UNAVAILABLE:
        return unavailable(request)
    owned = view.ticket.joint.part(part)
    org = owned.owner if owned is not None and owned.owner in orgs else acting_org(orgs, view.ticket)
    arg = PartAction(role=staff.account.role, actor=staff.account.name, org=org or "", part=part,
                     text=form.get("text", "")[:4000])
    try:
        await act_part(await temporal_client(request), ticket_id, form.get("action", ""), arg)
    except RefusedError as exc:
        return await _refused(request, staff, ticket_id, exc)
    except TEMPORAL_UNAVAILABLE:
        return workflow_busy(request)
    return RedirectResponse(f"/console/escalations/t/{ticket_id}", status_code=303)
