"""A small JSON API over the same services as the pages: check a receipt, see a deliberation's public status,
cast a ballot with a personal link's token. Its OpenAPI document (only these routes) is at
``/api/openapi.json``.

Same rules as the forms: a ballot is acknowledged only after its commit; the same ``submission_id`` again
returns the first receipt and records nothing; "please try again" is a 503 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import importlib.util
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (
    N_,
    BallotNotChangeableError,
    DomainError,
    InvalidChoiceError,
    Label,
    Text,
    UnknownQuestionError,
)
from yishi.i18n import bilingual, bilingual_error
from yishi.services.links import LinkError, RevokedLinkError, resolve_link
from yishi.services.receipts import check_receipt
from yishi.services.voting import (
    FormAlreadyUsedError,
    NoSuchBoxError,
    VotingClosedError,
    cast_ballot,
    deliberation_info,
    load_box,
    parse_receipt_code,
)
from yishi.web.security import client_address, receipt_key
from yishi.web.voter import UNAVAILABLE, clock

PREFIX = "/api/v1"
router = APIRouter(prefix=PREFIX, tags=["api"])
DeliberationId = Annotated[str, Path(pattern=r"^[\w.~-]{1,100}$", description="the deliberation's id")]
ReceiptCode = Annotated[str, Path(max_length=40, description="a receipt code such as 42-3FA9C-07B1E")]


class ApiError(BaseModel):
    """What went wrong, in Chinese and English, and a stable code for programs."""

    error: str
    message_zh: str
    message_en: str


class ReceiptBallot(BaseModel):
    deliberation_id: str
    seq: int
    recorded_at: datetime
    sealed: bool
    final_seq: int | None = None
    final_hash: str | None = None
    under_final: bool | None = None


class ReceiptStatus(BaseModel):
    code: str
    ballots: list[ReceiptBallot]


class DeliberationStatus(BaseModel):
    id: str
    title: str
    procedure: str
    stage: str | None
    box: Literal["not_open", "open", "closed"]
    opens_at: datetime | None
    closes_at: datetime | None
    head_seq: int | None = Field(None, description="the stream head, once the box is sealed")
    head_hash: str | None = None


class BallotIn(BaseModel):
    token: str = Field(max_length=64, description="the personal link's token (the part after /v/)")
    choice: Literal["for", "against", "abstain"]
    question_id: str | None = Field(None, max_length=64,
                                    description="the question voted on; omitted: the box's first question")
    submission_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$",
                               description="chosen by the client per ballot; sending it again never counts twice")


class ReceiptOut(BaseModel):
    code: str
    deliberation_id: str
    seq: int
    choice: str
    recorded_at: datetime
    closes_at: datetime
    changeable: bool
    precedence: Literal["online_over_paper", "paper_not_counted", "owner_over_proxy", "proxy_not_counted"] | None = (
        Field(None, description="the rule that applied: online_over_paper when the owner had a paper ballot (it no "
                                "longer counts), owner_over_proxy when her proxy had voted for her (his no longer "
                                "counts), proxy_not_counted for a proxy's ballot when the owner had voted herself; "
                                "None when nothing else was cast for the owner"))
    precedence_zh: str | None = None
    precedence_en: str | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ApiError} for status in (403, 404, 409, 410, 422, 429, 503)
}

MESSAGES = {
    "bad_request": N_("the request is not valid; nothing was recorded"),
    "not_found": N_("not found"),
    "bad_code": N_("not a receipt code (like 42-3FA9C-07B1E)"),
    "link_invalid": N_("this voting link is not recognised"),
    "link_revoked": N_("this link was replaced; ask the committee for the new one"),
    "too_many": N_("too many requests; wait a minute and try again"),
    "unavailable": N_("the system could not confirm the ballot, so no receipt was given; try again shortly: the same "
                      "submission_id never counts twice"),
    "not_open": N_("voting has not started"),
}


def fail(status: int, code: str, message: Text | DomainError | None = None,
         headers: dict[str, str] | None = None) -> JSONResponse:
    """The API's error body: the code, and the message in Chinese and English (``MESSAGES`` by default)."""
    zh, en = bilingual_error(message if message is not None else Text(MESSAGES.get(code, N_("%(message)s")),
                                                                      message=code))
    body = ApiError(error=code, message_zh=zh, message_en=en)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _too_many() -> JSONResponse:
    return fail(429, "too_many", headers={"Retry-After": "60"})


def _limited(request: Request) -> JSONResponse | None:
    """The per-address limit of public reads that guess nothing (a deliberation's status)."""
    if not request.app.state.limits.per_address.hit(client_address(request)):
        return _too_many()
    return None


def _missed(request: Request, status: int, code: str) -> JSONResponse:
    """A miss (unknown link, a code naming no ballot): counted against the address, 429 once over budget."""
    if request.app.state.limits.missed(client_address(request)):
        return _too_many()
    return fail(status, code)


def _unavailable() -> JSONResponse:
    return fail(503, "unavailable", headers={"Retry-After": "5"})


@router.get("/receipts/{code}", response_model=ReceiptStatus, responses=ERRORS)
async def get_receipt(request: Request, code: ReceiptCode) -> Any:
    """Whether the ballot with this receipt code is in a stream, and under the sealed box's final head."""
    state = request.app.state
    parsed = parse_receipt_code(code.strip())
    if parsed is None:
        return fail(422, "bad_code")
    if not state.limits.per_token.hit(receipt_key(parsed)):  # by what is asked, looked up before the address
        return _too_many()
    try:
        checks = await check_receipt(state.pool, state.store, code.strip())
    except UNAVAILABLE:
        return _unavailable()
    if not checks:
        return _missed(request, 404, "not_found")
    return ReceiptStatus(code=code.strip(), ballots=[ReceiptBallot(
        deliberation_id=c.deliberation_id, seq=c.seq, recorded_at=c.recorded_at, sealed=c.sealed,
        final_seq=c.final_seq, final_hash=c.final_hash, under_final=c.under_final) for c in checks])


@router.get("/deliberations/{deliberation_id}", response_model=DeliberationStatus, responses=ERRORS)
async def get_deliberation(request: Request, deliberation_id: DeliberationId) -> Any:
    """A deliberation's public status: title, stage, whether its ballot box is open, and its sealed head."""
    if (limited := _limited(request)) is not None:
        return limited
    state = request.app.state
    try:
        info = await deliberation_info(state.pool, deliberation_id)
        if info is None:
            return fail(404, "not_found")
        events = await state.store.read(deliberation_id)
    except UNAVAILABLE:
        return _unavailable()
    stage = next((e.payload["stage"] for e in reversed(events) if e.type == "StageEntered"), None)
    opened = any(e.type == "BoxOpened" for e in events)
    sealed = next((e for e in events if e.type == "BoxSealed"), None)
    now = clock(request)
    box = "not_open" if not opened else "closed" if sealed or (info["closes_at"] and now >= info["closes_at"]) \
        else "open"
    head = events[-1] if sealed else None
    return DeliberationStatus(id=deliberation_id, title=info["title"], procedure=info["procedure"], stage=stage,
                              box=box, opens_at=info["opens_at"], closes_at=info["closes_at"],  # type: ignore[arg-type]
                              head_seq=head.seq if head else None, head_hash=head.hash if head else None)


@router.post("/ballots", response_model=ReceiptOut, responses=ERRORS)
async def post_ballot(request: Request, ballot: BallotIn) -> Any:
    """Cast a ballot with a personal link's token; the receipt comes back only after the commit."""
    state = request.app.state
    try:  # the link first: a valid one is served however many unknown ones its address sent before
        holder = await resolve_link(state.pool, ballot.token, cached=True)  # revocation: checked at the commit
    except LinkError as exc:
        return _missed(request, exc.status, "link_revoked" if isinstance(exc, RevokedLinkError) else "link_invalid")
    except UNAVAILABLE:
        return _unavailable()
    if not state.limits.per_token.hit(holder.token_hash):
        return _too_many()
    try:
        # A re-vote: its round. The box as this process has it; the ballot is decided again under the stream lock.
        box = await load_box(state.store, holder.deliberation_id, follow_rounds=True, fresh=False)
    except NoSuchBoxError:
        return fail(409, "not_open")
    except UNAVAILABLE:
        return _unavailable()
    question = box.question(ballot.question_id)
    if question is None:
        return fail(422, "unknown_question", Text(N_("no question '%(question)s'"), question=ballot.question_id))
    now = clock(request)
    key = "api-" + hashlib.sha256(f"{holder.token_hash}:{ballot.submission_id}".encode()).hexdigest()[:32]
    try:
        receipt = await cast_ballot(state.store, box.deliberation_id, holder.owner_id, ballot.choice,
                                    idempotency_key=key, now=now, question_id=question.id, box=box,
                                    link=holder)
    except RevokedLinkError:
        return fail(410, "link_revoked")
    except VotingClosedError as exc:
        closed = exc.closed_at.astimezone(UTC).isoformat()
        return fail(410, "closed", Text(N_("voting closed at %(when)s; nothing recorded"), when=closed))
    except FormAlreadyUsedError as exc:
        return fail(409, "submission_used", Text(
            N_("this submission_id was used for another ballot (receipt %(code)s)"), code=exc.receipt.code))
    except DomainError as exc:
        status = 409 if isinstance(exc, BallotNotChangeableError) else 403
        status = 422 if isinstance(exc, InvalidChoiceError | UnknownQuestionError) else status
        return fail(status, "refused", exc)
    except UNAVAILABLE:
        return _unavailable()
    rule = receipt.precedence
    said = bilingual(N_("%(message)s"), message=Label("precedence", rule)) if rule else (None, None)
    return ReceiptOut(code=receipt.code, deliberation_id=receipt.deliberation_id, seq=receipt.seq,
                      choice=receipt.choice, recorded_at=receipt.recorded_at, closes_at=box.opened.closes_at,
                      changeable=box.opened.ballots_changeable, precedence=rule,  # type: ignore[arg-type]
                      precedence_zh=said[0], precedence_en=said[1])


def api_schema(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of the JSON API routes only (the pages are not an API)."""
    if not getattr(app.state, "api_schema", None):
        routes = [r for api in app.state.api_routers for r in api.routes if getattr(r, "include_in_schema", False)]
        app.state.api_schema = get_openapi(title="Yishi 议事 API", version="1", routes=routes,
                                           description=__doc__)
    return app.state.api_schema


def include_api(app: FastAPI) -> None:
    """Mount the API (and the escalation API when that module is present) with JSON errors under /api."""
    app.state.api_routers = [router]
    if importlib.util.find_spec("yishi.web.escalation_api") is not None:
        from yishi.web import escalation_api, hotline_api

        app.state.api_routers += [escalation_api.router, hotline_api.router]
    for api in app.state.api_routers:
        app.include_router(api)

    @app.get("/api/openapi.json", include_in_schema=False)
    async def openapi_document() -> JSONResponse:
        return JSONResponse(api_schema(app))

    pages = app.exception_handlers.get(RequestValidationError)

    async def invalid(request: Request, exc: Exception) -> Any:
        if request.url.path.startswith("/api/"):
            return fail(422, "bad_request")
        assert pages is not None
        return await pages(request, exc)

    app.add_exception_handler(RequestValidationError, invalid)
    http_pages = app.exception_handlers.get(StarletteHTTPException)

    async def unreadable(request: Request, exc: Exception) -> Any:
        """A body that is not JSON at all answers as any invalid request does (422, the API's error shape), not
        with the framework's bare 400 that no operation documents (found by schemathesis, issue 19)."""
        if request.url.path.startswith("/api/") and getattr(exc, "status_code", None) == 400:
            return fail(422, "bad_request")
        assert http_pages is not None
        return await http_pages(request, exc)

    app.add_exception_handler(StarletteHTTPException, unreadable)
