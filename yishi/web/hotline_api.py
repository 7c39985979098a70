"""接诉即办 intake for 12345 hotline systems (issue 19): create a ticket for a case, read how it stands, relay
the resident's rating.

Every request carries the hotline organisation's bearer token (``yishi hotline register``; role ``hotline``); the
ones that change something are also signed: ``X-Yishi-Timestamp`` (unix seconds, within five minutes of the
server's clock) and ``X-Yishi-Signature: sha256=`` hex HMAC-SHA256 of ``timestamp + "." + body`` under the
hotline's signing secret (printed once at registration; activities/hotline.py). Creating the same case twice
answers with the same ticket (201 the first time, 200 after). Included by ``yishi.web.api.include_api``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from activities.escalation import load_ticket
from activities.hotline import hotline_secret, verify_signature
from domain.errors import N_, DomainError, Text
from workflows.escalation import TicketAction
from yishi.i18n import bilingual_error
from yishi.services.escalations import RefusedError, act, org_for_token
from yishi.services.hotline import CASE, HotlineCase, IntakeError, case_state, case_ticket, intake
from yishi.web.escalation_api import BUSY
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE

router = APIRouter(prefix="/api/v1/hotline", tags=["hotline"])
WINDOW_S = 300
Source = Annotated[str, Path(pattern=r"^[\w.-]{1,32}$")]
CaseNumber = Annotated[str, Path(pattern=CASE)]


class HotlineError(BaseModel):
    error: str
    message_zh: str
    message_en: str


class CaseOut(BaseModel):
    ticket_id: str
    created: bool
    community: str


class PartOut(BaseModel):
    part: int
    department: str
    owner: str | None
    status: str


class StateOut(BaseModel):
    ticket_id: str
    source: str
    case_number: str
    status: str
    community: str
    grid: str | None
    owner: str | None
    level: str | None
    ack_due: datetime | None
    resolve_due: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    rating: str | None
    parts: list[PartOut]


class RatingIn(BaseModel):
    answer: Literal["satisfied", "basically_satisfied", "not_satisfied"]
    comment: str = Field("", max_length=1000)


class RatingOut(BaseModel):
    ticket_id: str
    status: str


_ERRORS = {status: {"model": HotlineError} for status in (401, 404, 409, 422, 503)}


def _fail(status: int, code: str, message: Text | DomainError) -> JSONResponse:
    zh, en = bilingual_error(message)
    return JSONResponse(HotlineError(error=code, message_zh=zh, message_en=en).model_dump(), status_code=status,
                        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)


async def _hotline(request: Request, authorization: str | None) -> str | JSONResponse:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _fail(401, "unauthorised", Text(N_("the hotline's bearer token is needed (Authorization: Bearer …)")))
    try:
        found = await org_for_token(request.app.state.pool, token.strip())
    except UNAVAILABLE:
        return _fail(503, "unavailable", BUSY)
    if found is None or found[1] != "hotline":
        return _fail(401, "unauthorised", Text(N_("the token is not valid for a hotline")))
    return found[0]


async def _signed(request: Request, org: str, timestamp: str | None, signature: str | None) -> JSONResponse | None:
    """None when the body is signed by this hotline within the window; else the refusal."""
    try:
        stamp = int(timestamp or "")
    except ValueError:
        stamp = None
    if stamp is None or abs(time.time() - stamp) > WINDOW_S:
        return _fail(401, "bad_timestamp", Text(N_("X-Yishi-Timestamp is missing or more than %(window)s s from the "
                                                   "server's clock"), window=WINDOW_S))
    secret = hotline_secret(request.app.state.secret_key, org)
    if not verify_signature(secret, str(stamp), await request.body(), signature or ""):
        return _fail(401, "bad_signature", Text(N_("the signature does not match (X-Yishi-Signature: sha256=HMAC of "
                                                   "timestamp.body)")))
    return None


Auth = Annotated[str | None, Header()]


@router.post("/cases", response_model=CaseOut, status_code=201, responses={200: {"model": CaseOut}, **_ERRORS})
async def create_case(request: Request, case: HotlineCase, authorization: Auth = None,
                      x_yishi_timestamp: Auth = None, x_yishi_signature: Auth = None) -> CaseOut | JSONResponse:
    """Create the case's ticket, routed by its address to its grid; the same case again gives the same ticket."""
    org = await _hotline(request, authorization)
    if isinstance(org, JSONResponse):
        return org
    if (refused := await _signed(request, org, x_yishi_timestamp, x_yishi_signature)) is not None:
        return refused
    try:
        done = await intake(await temporal_client(request), request.app.state.pool, org, case,
                            task_queue=request.app.state.settings.task_queue, now=datetime.now(UTC))
    except IntakeError as exc:
        return _fail(exc.status, exc.code, exc)
    except TEMPORAL_UNAVAILABLE:
        return _fail(503, "unavailable", Text(N_("the workflow service cannot be reached; retry with the same case "
                                                 "number")))
    except UNAVAILABLE:
        return _fail(503, "unavailable", BUSY)
    body = CaseOut(ticket_id=done.ticket_id, created=done.created, community=done.community)
    return body if done.created else JSONResponse(body.model_dump(), status_code=200)


async def _case(request: Request, org: str, source: str, case_number: str):  # noqa: ANN202 - Ticket | JSONResponse
    try:
        ticket_id = await case_ticket(request.app.state.pool, org, source, case_number)
        ticket = (await load_ticket(request.app.state.store, ticket_id))[0] if ticket_id else None
    except UNAVAILABLE:
        return _fail(503, "unavailable", BUSY)
    if ticket is None or not ticket.ticket_id:
        return _fail(404, "not_found", Text(N_("no case %(source)s/%(case)s"), source=source, case=case_number))
    return ticket


@router.get("/cases/{source}/{case_number}", response_model=StateOut, responses=_ERRORS)
async def get_case(request: Request, source: Source, case_number: CaseNumber,
                   authorization: Auth = None) -> StateOut | JSONResponse:
    """How the case's ticket stands (only for the hotline that sent it)."""
    org = await _hotline(request, authorization)
    if isinstance(org, JSONResponse):
        return org
    ticket = await _case(request, org, source, case_number)
    if isinstance(ticket, JSONResponse):
        return ticket
    return StateOut.model_validate(case_state(ticket))


@router.post("/cases/{source}/{case_number}/rating", response_model=RatingOut, responses=_ERRORS)
async def rate_case(request: Request, source: Source, case_number: CaseNumber, rating: RatingIn,
                    authorization: Auth = None, x_yishi_timestamp: Auth = None,
                    x_yishi_signature: Auth = None) -> RatingOut | JSONResponse:
    """The resident's rating of the resolution (回访), as the hotline took it: satisfied or basically satisfied
    closes the ticket; not satisfied reopens it once."""
    org = await _hotline(request, authorization)
    if isinstance(org, JSONResponse):
        return org
    if (refused := await _signed(request, org, x_yishi_timestamp, x_yishi_signature)) is not None:
        return refused
    ticket = await _case(request, org, source, case_number)
    if isinstance(ticket, JSONResponse):
        return ticket
    arg = TicketAction(role="hotline", actor=f"{source} 回访", org=org, outcome=rating.answer, text=rating.comment)
    try:
        receipt = await act(await temporal_client(request), ticket.ticket_id, "follow_up", arg)
    except RefusedError as exc:
        return _fail(409, "refused", exc)
    except TEMPORAL_UNAVAILABLE:
        return _fail(503, "unavailable", Text(N_("the workflow service cannot be reached; nothing changed")))
    return RatingOut(ticket_id=receipt.ticket_id, status=receipt.status)
