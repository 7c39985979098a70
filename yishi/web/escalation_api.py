"""JSON endpoints for the systems of street offices and departments: read a ticket, act on it.

Authenticated by the organisation's bearer token (``yishi user org-token ORG``; only its sha256 is kept):
the token says which organisation acts and with which role. Both routes apply one rule first (``_visible``:
an organisation that owns or owned the ticket, or a transfer's receiver; anyone else gets the 404 of an unknown
id), then the ticket's workflow checks that this organisation may do what it asks. Included by
``yishi.web.api.include_api`` (the routes carry their full ``/api/v1/escalations`` prefix).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from domain.errors import N_, DomainError, Text
from domain.escalation import Ticket
from workflows.escalation import TicketAction
from workflows.escalation_joint import PartAction
from yishi.i18n import bilingual_error
from yishi.services.escalations import (
    RefusedError,
    act,
    act_part,
    complainant,
    may_see_complainant,
    org_for_token,
    org_may_see,
    ticket_view,
)
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE

router = APIRouter(prefix="/api/v1/escalations", tags=["escalations"])
TicketId = Annotated[str, Path(pattern=r"^[\w.~/:-]{1,200}$", description="the ticket's id (its stream id)")]


class EscalationError(BaseModel):
    error: str
    message_zh: str
    message_en: str


class ActionIn(BaseModel):
    """One action on a ticket by the token's organisation."""

    action: Literal["acknowledge", "request_info", "resolve", "request_transfer", "accept_transfer",
                    "decline_transfer"]
    actor: str = Field(min_length=1, max_length=100, description="who in the organisation acts (name or staff id)")
    text: str = Field("", max_length=4000, description="the question, the written resolution or the reason")
    outcome: str = Field("", max_length=40, description="for resolve: one of the ticket's outcomes")
    to_org: str = Field("", max_length=100, description="for request_transfer: the receiving organisation")


class ActionOut(BaseModel):
    ticket_id: str
    seq: int
    hash: str
    status: str


class AssignmentOut(BaseModel):
    n: int
    level: str
    org: str
    assigned_at: datetime
    ack_due: datetime
    resolve_due: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None


class PartOut(BaseModel):
    """A joint ticket's part (吹哨报到): the department called in, who owns it now, its deadlines."""

    part: int
    department: str
    owner: str | None
    status: str
    report_due: datetime
    resolve_due: datetime
    reported_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None


class ComplainantOut(BaseModel):
    name: str = ""
    phone: str = ""
    room: str = ""


class TicketOut(BaseModel):
    ticket_id: str
    parent_id: str | None
    category: str
    subject: str
    detail: str
    status: str
    owner: str | None
    transfer_to: str | None
    outcomes: list[str]
    resolution: str | None
    assignments: list[AssignmentOut]
    channel: str = ""
    grid: str | None = None
    parts: list[PartOut] = []
    complainant: ComplainantOut | None = Field(
        None, description="who complained: only for an organisation that owns or owned a part of the ticket")


class PartActionIn(BaseModel):
    """A department's report-in (报到) or resolution of the part it owns."""

    action: Literal["report_in", "resolve_part"]
    actor: str = Field(min_length=1, max_length=100)
    text: str = Field("", max_length=4000, description="for resolve_part: the department's written resolution")


def _fail(status: int, code: str, message: Text | DomainError) -> JSONResponse:
    zh, en = bilingual_error(message)
    return JSONResponse(EscalationError(error=code, message_zh=zh, message_en=en).model_dump(), status_code=status,
                        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)


async def _org(request: Request, authorization: str | None) -> tuple[str, str] | JSONResponse:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _fail(401, "unauthorised",
                     Text(N_("an organisation's bearer token is needed (Authorization: Bearer …)")))
    try:
        found = await org_for_token(request.app.state.pool, token.strip())
    except UNAVAILABLE:
        return _fail(503, "unavailable", BUSY)
    if found is None:
        return _fail(401, "unauthorised", Text(N_("the token is not valid (or was replaced)")))
    return found


BUSY = Text(N_("service busy; try again shortly"))
_ERRORS = {401: {"model": EscalationError}, 404: {"model": EscalationError}, 409: {"model": EscalationError},
           503: {"model": EscalationError}}


async def _visible(request: Request, org: str, ticket_id: str) -> Ticket | JSONResponse:
    """The ticket if the organisation may see it (services/escalations.py ``org_may_see``), else the answer: the
    one rule of the read route and the action route, so an action on a ticket the organisation may not read
    is refused before it reaches the workflow, with the same 404 an unknown id gets."""
    try:
        view = await ticket_view(request.app.state.store, ticket_id)
    except UNAVAILABLE:
        return _fail(503, "unavailable", BUSY)
    if view is None or not org_may_see(org, view.ticket):
        return _fail(404, "not_found", Text(N_("no ticket %(ticket)s for this organisation"), ticket=ticket_id))
    return view.ticket


@router.get("/{ticket_id:path}/state", response_model=TicketOut, responses=_ERRORS)
async def get_ticket(request: Request, ticket_id: TicketId,
                     authorization: Annotated[str | None, Header()] = None) -> TicketOut | JSONResponse:
    """The ticket as its current or former owner, or a transfer's receiver, sees it."""
    found = await _org(request, authorization)
    if isinstance(found, JSONResponse):
        return found
    t = await _visible(request, found[0], ticket_id)
    if isinstance(t, JSONResponse):
        return t
    try:
        who = await complainant(request.app.state.pool, t.ticket_id) if may_see_complainant(found[0], t) else None
    except UNAVAILABLE:
        return _fail(503, "unavailable", BUSY)
    return TicketOut(
        ticket_id=t.ticket_id, parent_id=t.parent_id, category=t.category, subject=t.subject, detail=t.detail,
        status=t.status, owner=t.owner, transfer_to=t.transfer.to_org if t.transfer else None,
        outcomes=list(t.outcomes), resolution=t.resolution, channel=t.channel, grid=t.grid or None,
        assignments=[AssignmentOut(n=a.n, level=a.level_key, org=a.org, assigned_at=a.assigned_at, ack_due=a.ack_due,
                                   resolve_due=a.resolve_due, acknowledged_at=a.acknowledged_at,
                                   resolved_at=a.resolved_at) for a in t.assignments],
        parts=[PartOut(part=p.part, department=p.department, owner=p.owner, status=p.status,
                       report_due=p.current.report_due, resolve_due=p.current.resolve_due,
                       reported_at=p.current.reported_at, resolved_at=p.current.resolved_at, resolution=p.resolution)
               for p in t.joint.parts],
        complainant=ComplainantOut.model_validate(who) if who else None)


@router.post("/{ticket_id:path}/parts/{part}", response_model=ActionOut, responses=_ERRORS)
async def post_part_action(request: Request, ticket_id: TicketId, part: Annotated[int, Path(ge=1, le=99)],
                           body: PartActionIn, authorization: Annotated[str | None, Header()] = None
                           ) -> ActionOut | JSONResponse:
    """A department called in by the street office (吹哨报到) reports in to its part, or resolves it."""
    found = await _org(request, authorization)
    if isinstance(found, JSONResponse):
        return found
    org, role = found
    visible = await _visible(request, org, ticket_id)
    if isinstance(visible, JSONResponse):
        return visible
    arg = PartAction(role=role, actor=body.actor, org=org, part=part, text=body.text)
    try:
        receipt = await act_part(await temporal_client(request), ticket_id, body.action, arg)
    except RefusedError as exc:
        return _fail(409, "refused", exc)
    except TEMPORAL_UNAVAILABLE:
        return _fail(503, "unavailable", Text(N_("the workflow service cannot be reached; nothing changed")))
    return ActionOut(ticket_id=receipt.ticket_id, seq=receipt.seq, hash=receipt.hash, status=receipt.status)


@router.post("/{ticket_id:path}/actions", response_model=ActionOut, responses=_ERRORS)
async def post_action(request: Request, ticket_id: TicketId, body: ActionIn,
                      authorization: Annotated[str | None, Header()] = None) -> ActionOut | JSONResponse:
    """Acknowledge, ask for information, resolve with a written resolution, or transfer the ticket."""
    found = await _org(request, authorization)
    if isinstance(found, JSONResponse):
        return found
    org, role = found
    visible = await _visible(request, org, ticket_id)
    if isinstance(visible, JSONResponse):
        return visible
    arg = TicketAction(role=role, actor=body.actor, org=org, text=body.text, outcome=body.outcome, to_org=body.to_org)
    try:
        receipt = await act(await temporal_client(request), ticket_id, body.action, arg)
    except RefusedError as exc:
        return _fail(409, "refused", exc)
    except TEMPORAL_UNAVAILABLE:
        return _fail(503, "unavailable", Text(N_("the workflow service cannot be reached; nothing changed")))
    return ActionOut(ticket_id=receipt.ticket_id, seq=receipt.seq, hash=receipt.hash, status=receipt.status)
