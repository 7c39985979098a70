"""The resident's pages behind a personal link: the ballot (GET changes nothing), casting, proxies."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from domain.ballots import CHOICES
from domain.errors import (
    BallotNotChangeableError,
    DomainError,
    InvalidChoiceError,
    UnknownQuestionError,
)
from yishi import i18n
from yishi.i18n import N_
from yishi.services.links import RevokedLinkError
from yishi.services.voting import (
    FormAlreadyUsedError,
    Receipt,
    VotingClosedError,
    authorise_proxy,
    cast_ballot,
    revoke_proxy,
)
from yishi.web.render import (
    Frames,
    form_invalid_page,
    link_revoked_page,
    message_page,
    page_lang,
    page_translator,
    render,
    render_html,
    respond,
)
from yishi.web.room_forms import masked
from yishi.web.security import check_csrf
from yishi.web.voter import (
    UNAVAILABLE,
    Voter,
    ballot_page,
    link_trace,
    load_holder,
    load_voter,
    rooms_label,
    unavailable,
)

router = APIRouter()
MAX_FORM_BYTES = 16 * 1024


async def read_form(request: Request, max_fields: int = 20) -> dict[str, str] | None:
    """The posted fields, or None unless the body is a small urlencoded form with each field once (at most
    ``max_fields`` of them).

    The body is read with a cap (a chunked upload cannot grow past it); our forms are never multipart.
    """
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                          max_num_fields=max_fields, errors="strict")
    except ValueError:  # bad UTF-8, bad syntax or too many fields: the client's problem, answer 422
        return None
    values = dict(pairs)
    return values if len(values) == len(pairs) else None


def closed_page(request: Request, closed_at: datetime) -> Response:
    when = page_translator(request).when(closed_at)
    return message_page(request, 410, N_("Voting has closed"), N_("Voting closed at %(when)s; nothing was recorded."),
                        when=when)


def refused_page(request: Request, exc: DomainError) -> Response:
    status = 409 if isinstance(exc, BallotNotChangeableError) else 403
    if isinstance(exc, InvalidChoiceError | UnknownQuestionError):
        status = 422
    return message_page(request, status, N_("This could not be done"), text=page_translator(request).error(exc))


def _invalid_form(request: Request, voter: Voter) -> Response:
    return form_invalid_page(request, 422, back_url=f"/v/{request.path_params['token']}")


async def _checked_form(request: Request, voter: Voter, purpose: str) -> dict[str, str] | Response:
    form = await read_form(request)
    if form is None or not form.get("nonce") or not form.get("csrf"):
        return _invalid_form(request, voter)
    if not check_csrf(request.app.state.secret_key, purpose, voter.holder.token_hash, form["nonce"],
                      form["csrf"]):
        return form_invalid_page(request, 403, back_url=f"/v/{request.path_params['token']}")
    closed = voter.box.closed_at(voter.now)
    return closed_page(request, closed) if closed else form


@router.get("/v/{token}")
async def show_ballot(request: Request, token: str) -> Response:
    """The ballot while the box is open; before and after it, a procedure's matter page (the link stays the
    owner's identity for the whole matter), or for a plain ballot a page saying when it opens or closed."""
    from yishi.web.appraisal_page import appraisal_page, is_appraisal
    from yishi.web.matters import show_matter_or

    voter = await load_voter(request, token)
    if isinstance(voter, Response):
        if voter.status_code != 200:  # a bad link, a limit, an outage
            return voter
        holder = await load_holder(request, token)  # the box is not open yet
        if isinstance(holder, Response):
            return holder
        if is_appraisal(holder):  # an appraisal of the property company: its owners' links are voting links
            return await appraisal_page(request, token, holder)
        return await show_matter_or(request, token, holder.token_hash, holder.deliberation_id, holder.owner_id,
                                    voter)
    closed = voter.box.closed_at(voter.now)
    if closed:
        from yishi.web.after_close import closed_ballot_page, my_vote
        from yishi.web.my_ballots import my_ballots

        lang = page_lang(request)
        return await show_matter_or(request, token, voter.holder.token_hash, voter.holder.deliberation_id,
                                    voter.owner_id, closed_ballot_page(request, voter, closed, token),
                                    mine=my_ballots(voter.box, voter.owner_id, lang), my_vote=my_vote(voter, lang))
    opens_at = voter.box.opened.opens_at
    if voter.now < opens_at:
        return message_page(request, 200, N_("Voting has not started"),
                            N_("Voting opens at %(when)s; open this link again then."),
                            when=page_translator(request).when(opens_at))
    return await _ballot(request, voter, token)


async def _ballot(request: Request, voter: Voter, token: str, status: int = 200, proxy_error: str | None = None,
                  proxy_value: str = "") -> Response:
    page = ballot_page(request, voter)
    proxy = voter.proxies().active_proxy(voter.owner_id, voter.now)
    if proxy is not None:
        page.proxy_name = await owner_name(request, voter, proxy)
    page.proxy_error, page.proxy_value = proxy_error, proxy_value
    return render(request, "ballot.html", status, no_store=True, page=page, token=token)


async def owner_name(request: Request, voter: Voter, owner_id: str) -> str:
    """The owner's name from the frozen roll's contacts, masked (王*明); empty if the database does not answer."""
    try:
        async with request.app.state.pool.acquire() as conn:
            name = await conn.fetchval("SELECT contacts -> $2 ->> 'name' FROM rolls WHERE digest = $1",
                                       voter.box.opened.roll_digest, owner_id)
    except UNAVAILABLE:
        return ""
    return masked(name)


async def cast(request: Request) -> Response:
    """Cast the posted ballot; the receipt page comes back only after the commit.

    A plain Starlette route (registered below): the ballot path reads its one path parameter itself instead
    of going through FastAPI's parameter validation, a measurable share of its CPU (docs/benchmarks.md).
    """
    token = request.path_params["token"]
    voter = await load_voter(request, token, fresh=False)
    if isinstance(voter, Response):
        return voter
    form = await _checked_form(request, voter, "ballot")
    if isinstance(form, Response):
        return form
    choice = form.get("choice")
    if choice not in CHOICES:
        page = ballot_page(request, voter, error=N_("Please choose For, Against or Abstain before submitting."))
        return render(request, "ballot.html", 422, no_store=True, page=page, token=token)
    question = voter.box.question(form.get("question") or None)
    if question is None:
        return refused_page(request, UnknownQuestionError(N_("no question %(question)s in this vote"),
                                                          question=form.get("question", "")[:64]))
    owner_id = form.get("for_owner") or voter.owner_id
    cast_by = voter.owner_id if owner_id != voter.owner_id else None
    key = "web-" + hashlib.sha256(f"{voter.holder.token_hash}:{form['nonce']}".encode()).hexdigest()[:32]
    try:
        receipt = await cast_ballot(request.app.state.store, voter.box.deliberation_id, owner_id, choice,
                                    idempotency_key=key, now=voter.now, cast_by=cast_by, question_id=question.id,
                                    box=voter.box, link=voter.holder)
    except VotingClosedError as exc:
        return closed_page(request, exc.closed_at)
    except RevokedLinkError:
        return link_revoked_page(request, 410)
    except FormAlreadyUsedError as exc:
        return message_page(request, 409, N_("This form was already submitted"), N_(
            "This form was already used (receipt %(code)s). To change your ballot, open the ballot page again."),
            code=exc.receipt.code, back_url=f"/v/{token}")
    except DomainError as exc:
        return refused_page(request, exc)
    except UNAVAILABLE:
        return unavailable(request)
    return receipt_page(request, voter, receipt, question, rooms_label(voter.box, owner_id) if cast_by else None)


RECEIPTS = Frames(("code", "seq", "recorded", "token"))


def receipt_page(request: Request, voter: Voter, receipt: Receipt, question: Any, for_rooms: str | None) -> Response:
    """The receipt: the template rendered once per box, language, choice and question, then filled in."""
    opened = voter.box.opened
    lang = page_lang(request)
    several = len(opened.questions) > 1
    question_text = ((question.text_en if lang == "en" else None) or question.text_zh) if several else None
    # What staff did to the holder's link: the same for most households (the sheets printed once), so part of the key.
    trace = link_trace(voter, lang)
    key = (voter.box.deliberation_id, lang, receipt.choice, question_text, for_rooms, opened.closes_at,
           opened.ballots_changeable, receipt.precedence, str(request.query_params), trace)

    def make(holes: dict[str, str]) -> str:
        stand_in = {"code": holes["code"], "seq": holes["seq"], "choice": receipt.choice}
        return render_html(request, "receipt.html", lang, f"/v/{holes['token']}", receipt=stand_in,
                           recorded=holes["recorded"], token=holes["token"], question=question_text,
                           closes_at=opened.closes_at, changeable=opened.ballots_changeable, for_rooms=for_rooms,
                           precedence=receipt.precedence, trace=trace)

    values = {"code": receipt.code, "seq": receipt.seq, "recorded": i18n.translator(lang).when(receipt.recorded_at),
              "token": request.path_params["token"]}
    return respond(request, RECEIPTS.fill(key, make, values), no_store=True)


router.add_route("/v/{token}", cast, methods=["POST"])


@router.post("/v/{token}/proxy")
async def authorise(request: Request, token: str) -> Response:
    voter = await load_voter(request, token)
    if isinstance(voter, Response):
        return voter
    form = await _checked_form(request, voter, "proxy")
    if isinstance(form, Response):
        return form
    typed = form.get("room", "")[:40]
    room = voter.room_of(typed)
    if room is None:  # said beside the field, with what she typed kept
        error = page_translator(request).gettext(
            "There is no room '%(room)s' in this vote. Write it as on the notice sheet.", room=typed)
        return await _ballot(request, voter, token, 422, proxy_error=error, proxy_value=typed)
    if room.owner_id == voter.owner_id:
        return await _proxy_change(request, voter, token, authorise_proxy, room.owner_id, N_("Proxy recorded"))
    name = await owner_name(request, voter, room.owner_id)
    return await _proxy_change(request, voter, token, authorise_proxy, room.owner_id, N_("Proxy recorded"), N_(
        "You have authorised the owner of %(rooms)s (%(name)s) to vote for you. If you vote yourself, your own "
        "ballot counts."), rooms=rooms_label(voter.box, room.owner_id), name=name or "—")


@router.post("/v/{token}/proxy/revoke")
async def revoke(request: Request, token: str) -> Response:
    voter = await load_voter(request, token)
    if isinstance(voter, Response):
        return voter
    form = await _checked_form(request, voter, "proxy-revoke")
    if isinstance(form, Response):
        return form
    proxy = voter.proxies().active_proxy(voter.owner_id, voter.now)
    if proxy is None:
        return message_page(request, 200, N_("Proxy revoked"), back_url=f"/v/{token}")
    return await _proxy_change(request, voter, token, revoke_proxy, proxy, N_("Proxy revoked"))


ProxyAction = Callable[..., Awaitable[object]]


async def _proxy_change(request: Request, voter: Voter, token: str, action: ProxyAction, proxy_owner_id: str,
                        title: str, body: str | None = None, **fields: str) -> Response:
    try:
        await action(request.app.state.store, voter.box.deliberation_id, voter.owner_id, proxy_owner_id,
                     now=voter.now)
    except VotingClosedError as exc:
        return closed_page(request, exc.closed_at)
    except DomainError as exc:
        return refused_page(request, exc)
    except UNAVAILABLE:
        return unavailable(request)
    return message_page(request, 200, title, body, back_url=f"/v/{token}", **fields)
