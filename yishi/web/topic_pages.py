"""A resident's topic pages, no account: the community's intake link ``/t/<token>`` (the A4 poster's QR code) and the
tracking link ``/tt/<token>`` (the proposer's, or a supporter's).

Raising is two pages, without JavaScript: the title and description first (a GET: nothing is recorded), then the
open topics of the community that read alike, each with "join it" (support instead of a duplicate), and the whole
form (building, room, an optional phone number, photos). The form is multipart; its body is bounded before it is
read (yishi/web/bodylimit.py: a live intake link, then at most the photos a topic may carry). The throttle
(yishi/services/intake_limit.py) may ask to wait, or for a short proof of effort (the page's one script).

The tracking page shows every step of the topic in plain words (yishi/web/topic_steps.py), the thread, and, when the
work is done, the feedback form. Nothing on these pages names a person, a phone number or a room.
"""

from __future__ import annotations

import hashlib
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from activities.eventstore import EventStore
from domain.topic_commands import MAX_DESCRIPTION, MAX_TITLE
from yishi.i18n import N_
from yishi.services.capabilities import CapabilityHolder, resolve_capability
from yishi.services.links import LinkError, RevokedLinkError
from yishi.services.topic_intake import TopicFormError, find_similar, post_comment
from yishi.services.topic_links import feedback_with_link, raise_through_intake, support_with_intake
from yishi.services.topics import TopicRefusedError, topic_state
from yishi.web.render import (
    form_invalid_page,
    link_revoked_page,
    message_page,
    page_translator,
    render,
    workflow_busy,
)
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, client_address, form_csrf, new_nonce, sign, unsign
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.topic_steps import topic_steps
from yishi.web.voter import UNAVAILABLE, clock, too_many, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
BACK_TO_TOPIC = N_("Back to the topic")
BACK_TO_FORM = N_("Back to the form")
DEVICE_COOKIE = "yishi_intake"
FIELDS = ("title", "description", "building", "room", "phone", "kind")
KINDS = ("resident", "owner", "tenant")
INTAKE = frozenset(("intake",))
FOLLOW = frozenset(("tracking", "supporter"))


def _invalid_link(request: Request, status: int = 403) -> Response:
    return message_page(request, status, N_("This link is not valid"), N_(
        "This link is not recognised. Check that it is complete, or scan the QR code on the community's poster "
        "again."))


async def _link(request: Request, token: str, kinds: frozenset[str]) -> CapabilityHolder | Response:
    """Whose link ``token`` is; a miss is counted against the address (a valid link is never slowed by others)."""
    state = request.app.state
    try:
        holder = await resolve_capability(state.pool, token, kinds)
    except LinkError as exc:
        if state.limits.missed(client_address(request)):
            return too_many(request)
        return link_revoked_page(request, 410) if isinstance(exc, RevokedLinkError) else _invalid_link(request)
    except UNAVAILABLE:
        return unavailable(request)
    # An intake link is shared by the whole community: only a personal link has a limit of its own.
    if kinds != INTAKE and not state.limits.per_token.hit(holder.token_hash):
        return too_many(request)
    return holder


async def intake_upload_refusal(request: Request) -> Response | None:
    """For a post to ``/t/<token>`` from its headers alone: the answer unless the token is a live intake link and
    the post is not a browser's cross-site one (yishi/web/bodylimit.py reads no byte of the body before)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return form_invalid_page(request, 403)
    found = await _link(request, request.url.path.rsplit("/", 1)[-1], INTAKE)
    return found if isinstance(found, Response) else None


def _device(request: Request) -> str | None:
    return unsign(request.app.state.secret_key, request.cookies.get(DEVICE_COOKIE))


def _keys(request: Request, purpose: str, link: CapabilityHolder) -> dict[str, str]:
    nonce = new_nonce()
    return {"nonce": nonce, "csrf": form_csrf(request.app.state.secret_key, purpose, link.token_hash, nonce)}


def _csrf_ok(request: Request, purpose: str, link: CapabilityHolder, form: Any) -> bool:
    return check_csrf(request.app.state.secret_key, purpose, link.token_hash, str(form.get("nonce", "")),
                      str(form.get("csrf", "")))


def size_text(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def _intake_page(request: Request, link: CapabilityHolder, token: str, status: int = 200, **context: Any) -> Response:
    values = context.pop("values", None) or {}
    response = render(request, "topic_intake.html", status, no_store=True, token=token, link=link,
                      fixed_building=None if link.holder == "*" else link.holder, values=values, kinds=KINDS,
                      raise_form=_keys(request, "topic-raise", link), max_title=MAX_TITLE,
                      max_description=MAX_DESCRIPTION, max_photos=request.app.state.settings.topic_photo_max_count,
                      max_size=size_text(request.app.state.settings.topic_photo_max_bytes), **context)
    if _device(request) is None:
        response.set_cookie(DEVICE_COOKIE, sign(request.app.state.secret_key, new_nonce()), max_age=365 * 86400,
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


@router.get("/t/{token}")
async def intake_form(request: Request, token: str) -> Response:
    """Step 1: title and description; step 2 (``?title=``): similar open topics to join, then the whole form."""
    link = await _link(request, token, INTAKE)
    if isinstance(link, Response):
        return link
    query = request.query_params
    values = {name: query.get(name, "")[:2000] for name in FIELDS}
    similar: list[dict[str, Any]] = []
    step = 2 if values["title"].strip() else 1
    if step == 2:
        try:
            found = await find_similar(request.app.state.pool, link.community, values["title"],
                                       values["description"], values["building"] or None)
        except UNAVAILABLE:
            return unavailable(request)
        similar = [{"topic_id": c.topic_id, "title": c.title, "building": c.building,
                    "form": _keys(request, "topic-join", link)} for c, _ in found[:5]]
    return _intake_page(request, link, token, step=step, values=values, similar=similar)


async def read_multipart(request: Request) -> tuple[dict[str, str], list[tuple[str, bytes]]] | None:
    """The posted fields and the photos chosen (empty file inputs left out), or None for a malformed form."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    settings = request.app.state.settings
    try:
        async with request.form(max_files=settings.topic_photo_max_count + 1, max_fields=20,
                                max_part_size=64 * 1024) as form:
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            photos = [(v.filename or "photo", await v.read()) for k, v in form.multi_items()
                      if isinstance(v, UploadFile) and k == "photos" and (v.filename or v.size)]
    except (HTTPException, MultiPartException, ValueError):
        return None
    return fields, [p for p in photos if p[1]]


def _topic_id(link: CapabilityHolder, nonce: str) -> str:
    """The topic a form raises: the same form sent twice (a double tap, a retry) raises it once."""
    return "topic-" + hashlib.sha256(f"{link.token_hash}:{nonce}".encode()).hexdigest()[:12]


@router.post("/t/{token}")
async def intake_raise(request: Request, token: str) -> Response:
    link = await _link(request, token, INTAKE)
    if isinstance(link, Response):
        return link
    posted = await read_multipart(request)
    if posted is None:
        return form_invalid_page(request, 422, back_url=f"/t/{token}")
    fields, photos = posted
    if not _csrf_ok(request, "topic-raise", link, fields):
        return form_invalid_page(request, 403, back_url=f"/t/{token}")
    values = {name: fields.get(name, "")[:4000] for name in FIELDS}
    proof = (fields["challenge"], fields["proof"]) if fields.get("challenge") and fields.get("proof") else None
    state, tr = request.app.state, page_translator(request)
    try:
        answer = await raise_through_intake(
            await temporal_client(request), state.pool, token, title=values["title"],
            description=values["description"], kind=values["kind"] if values["kind"] in KINDS else "resident",
            building=values["building"] or None, room=values["room"] or None, phone=values["phone"] or None,
            photos=photos, address=client_address(request), device=_device(request), proof=proof,
            settings=state.settings, now=clock(request), topic_id=_topic_id(link, fields.get("nonce", "")))
    except TopicFormError as exc:
        problems = {p.field: tr.error(p.text) for p in exc.problems}
        return _intake_page(request, link, token, 422, step=2, values=values, similar=[], problems=problems,
                            photos_lost=bool(photos))
    except TopicRefusedError as exc:
        return message_page(request, 409, N_("This could not be done"), text=tr.error(exc), back_url=f"/t/{token}",
                            back_label=BACK_TO_FORM)
    except LinkError:
        return _invalid_link(request)
    except TEMPORAL_UNAVAILABLE:
        return workflow_busy(request)
    except UNAVAILABLE:
        return unavailable(request)
    if answer.raised is None:
        admission = answer.admission
        response = _intake_page(request, link, token, 200 if admission.challenge else 429, step=2, values=values,
                                similar=[], wait=tr.error(admission.text) if admission.text else "",
                                challenge=admission.challenge, photos_lost=bool(photos))
        if admission.retry_after:
            response.headers["Retry-After"] = str(admission.retry_after)
        return response
    log.info("topic.raised_through_intake", topic_id=answer.raised.topic_id, community=link.community,
             photos=len(photos))
    return RedirectResponse(f"/tt/{answer.raised.tracking.token}?new=1", status_code=303)


@router.post("/t/{token}/join")
async def intake_join(request: Request, token: str) -> Response:
    """"Already raised: join it": support a similar open topic instead of raising a duplicate."""
    link = await _link(request, token, INTAKE)
    if isinstance(link, Response):
        return link
    form = await read_form(request)
    if form is None or not _csrf_ok(request, "topic-join", link, form):
        return form_invalid_page(request, 403, back_url=f"/t/{token}")
    state = request.app.state
    try:
        _, supporter = await support_with_intake(state.pool, token, form.get("topic_id", "")[:64],
                                                 device=_device(request), phone=form.get("phone") or None,
                                                 secret_key=state.secret_key, now=clock(request))
    except TopicRefusedError as exc:
        return message_page(request, 409, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url=f"/t/{token}", back_label=BACK_TO_FORM)
    except LinkError:
        return _invalid_link(request)
    except UNAVAILABLE:
        return unavailable(request)
    return RedirectResponse(f"/tt/{supporter.token}?joined=1", status_code=303)


# ---- the tracking page -----------------------------------------------------------------------------------


@router.get("/tt/{token}")
async def tracking_page(request: Request, token: str) -> Response:
    holder = await _link(request, token, FOLLOW)
    if isinstance(holder, Response):
        return holder
    state, tr = request.app.state, page_translator(request)
    try:
        topic = await topic_state(state.pool, holder.subject)
        events = await EventStore(state.pool).read(holder.subject)
        merged = await topic_state(state.pool, topic.merged_into) if topic.merged_into else None
        merged_events = await EventStore(state.pool).read(topic.merged_into) if topic.merged_into else []
    except UNAVAILABLE:
        return unavailable(request)
    asked = topic.status == "resolved" and holder.holder in topic.respondents
    return render(request, "topic_track.html", no_store=True, token=token, topic=topic,
                  steps=topic_steps(tr, events), merged=merged, merged_steps=topic_steps(tr, merged_events),
                  proposer=topic.proposer is not None and topic.proposer.id == holder.holder,
                  comment_form=_keys(request, "topic-comment", holder),
                  feedback_form=_keys(request, "topic-feedback", holder) if asked else None,
                  new=request.query_params.get("new") == "1", joined=request.query_params.get("joined") == "1")


async def _follower_form(request: Request, token: str,
                         purpose: str) -> tuple[CapabilityHolder, dict[str, str]] | Response:
    holder = await _link(request, token, FOLLOW)
    if isinstance(holder, Response):
        return holder
    form = await read_form(request)
    if form is None or not _csrf_ok(request, purpose, holder, form):
        return form_invalid_page(request, 403, back_url=f"/tt/{token}")
    return holder, form


@router.post("/tt/{token}/comment")
async def tracking_comment(request: Request, token: str) -> Response:
    posted = await _follower_form(request, token, "topic-comment")
    if isinstance(posted, Response):
        return posted
    holder, form = posted
    comment_id = "c-" + hashlib.sha256(f"{holder.token_hash}:{form['nonce']}".encode()).hexdigest()[:12]
    try:
        await post_comment(request.app.state.pool, holder.subject, author=holder.holder, author_kind="resident",
                           text=form.get("text", "")[:4000], now=clock(request), comment_id=comment_id)
    except TopicRefusedError as exc:
        return message_page(request, 409, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url=f"/tt/{token}", back_label=BACK_TO_TOPIC)
    except UNAVAILABLE:
        return unavailable(request)
    return RedirectResponse(f"/tt/{token}#comments", status_code=303)


@router.post("/tt/{token}/feedback")
async def tracking_feedback(request: Request, token: str) -> Response:
    posted = await _follower_form(request, token, "topic-feedback")
    if isinstance(posted, Response):
        return posted
    _, form = posted
    state = request.app.state
    try:
        await feedback_with_link(await temporal_client(request), state.pool, token, answer=form.get("answer", "")[:40],
                                 comment=form.get("text", "")[:4000], now=clock(request))
    except TopicRefusedError as exc:
        return message_page(request, 409, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url=f"/tt/{token}", back_label=BACK_TO_TOPIC)
    except TEMPORAL_UNAVAILABLE:
        return workflow_busy(request)
    except UNAVAILABLE:
        return unavailable(request)
    return message_page(request, 200, N_("Recorded. Thank you."), back_url=f"/tt/{token}", back_label=BACK_TO_TOPIC)

