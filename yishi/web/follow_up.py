"""The owner's follow-up link ``/f/<token>`` (answer the question, rate the resolution) and its printed slip.

The link is a capability: no staff page shows it (yishi/services/follow_up.py). A committee or grid-worker
account prints it for the owner with a POST from the ticket page, under the ticket page's own wall
(yishi/web/inbox.py ``visible_ticket``); the printing is recorded in the ticket's stream first, and the print
view shows the link on paper only (hidden on screen by the print style sheet).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request, Response

from activities.escalation import TicketEndedError
from domain.escalation import ANSWERS, Ticket
from workflows.escalation import TicketAction
from yishi.i18n import N_
from yishi.services.accounts import session_binding
from yishi.services.escalations import RefusedError, act, ticket_view
from yishi.services.follow_up import SLIP_ROLES, follow_up_url, print_slip, slip_key, slip_offered
from yishi.web.inbox import ticket_path, visible_ticket
from yishi.web.render import (
    form_invalid_page,
    link_invalid_page,
    message_page,
    page_translator,
    render,
    workflow_busy,
)
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, form_csrf, new_nonce
from yishi.web.sheets import qr_data_uri
from yishi.web.staff import staff_form
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE, clock, load_holder, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()


def _no_slip(request: Request, ticket_id: str, state: str) -> Response:
    return message_page(request, 409, N_("No slip to print now"), N_(
        "The ticket is '%(state)s': only an owner's ticket waiting for information or a rating has a slip."),
        state=page_translator(request).label(state, "status"), back_url=ticket_path(ticket_id),
        back_label=N_("Back to the ticket"))


@router.post("/console/escalations/t/{ticket_id:path}/slip")
async def print_follow_up_slip(request: Request, ticket_id: str) -> Response:
    """Record who prints the owner's slip, then answer the print view (the one page with the link in it)."""
    posted = await staff_form(request, *SLIP_ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    view = await visible_ticket(request, staff, ticket_id)
    if isinstance(view, Response):
        return view
    ticket = view.ticket
    if not slip_offered(ticket, staff.account):
        return _no_slip(request, ticket_id, ticket.status)
    state = request.app.state
    try:
        issued, seq = await print_slip(state.store, state.pool, ticket, staff.account,
                                       key=slip_key(session_binding(staff.session_id), form.get("nonce", "")),
                                       secret_key=state.secret_key, now=clock(request))
    except TicketEndedError:
        return _no_slip(request, ticket_id, "closed")
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.follow_up_slip_printed", ticket_id=ticket_id, account_id=staff.account.id, seq=seq,
             generation=issued.generation)
    base = state.settings.public_base_url or str(request.base_url)
    url = follow_up_url(base, issued.token)
    return render(request, "follow_up_slip.html", no_store=True, switch_path=ticket_path(ticket_id), staff=staff,
                  logout=staff.form(), ticket=ticket, url=url, qr=qr_data_uri(url), seq=seq)


async def _holder_ticket(request: Request, token: str) -> tuple[Any, Ticket] | Response:
    holder = await load_holder(request, token)  # looked up before any limit of the address, misses counted
    if isinstance(holder, Response):
        return holder
    try:
        view = await ticket_view(request.app.state.store, holder.deliberation_id)
    except UNAVAILABLE:
        return unavailable(request)
    if view is None or view.ticket.initiator != holder.owner_id:
        return link_invalid_page(request, 403)
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
        return form_invalid_page(request, 403)
    action = "provide_info" if ticket.status == "info_requested" else "follow_up"
    arg = TicketAction(role="owner", actor=holder.owner_id, outcome=form.get("answer", "")[:40],
                       text=form.get("text", "")[:4000])
    try:
        await act(await temporal_client(request), ticket.ticket_id, action, arg)
    except RefusedError as exc:
        return message_page(request, 409, N_("This could not be done"), text=page_translator(request).error(exc))
    except TEMPORAL_UNAVAILABLE:
        return workflow_busy(request)
    return message_page(request, 200, N_("Recorded. Thank you."))
