"""An owner raises a topic from their personal voting link (``/v/<token>/topic``): the topic is the owner's, in the
community of the link's deliberation (yishi/services/topic_links.py ``raise_from_owner_link``); the committee sees
that an owner raised it, the public never sees who. As on the intake link, step 1 (title and description, a GET)
leads to the similar open topics (step 2), where "already raised: join it" adds the owner's support
(``support_from_owner_link``) instead of a duplicate. Photos as on the intake link: the form is multipart, its body
bounded by yishi/web/bodylimit.py (``OWNER_TOPIC_PATH``: the link checked before a byte is read)."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.errors import N_
from domain.topic_commands import MAX_DESCRIPTION, MAX_TITLE
from yishi.services.links import LinkError, RevokedLinkError, resolve_link
from yishi.services.topic_intake import TopicFormError, find_similar
from yishi.services.topic_links import deliberation_community, raise_from_owner_link, support_from_owner_link
from yishi.services.topics import TopicRefusedError
from yishi.web.render import (
    form_invalid_page,
    link_invalid_page,
    link_revoked_page,
    message_page,
    page_translator,
    render,
    workflow_busy,
)
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, form_csrf, new_nonce
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.topic_pages import read_multipart, size_text
from yishi.web.voter import UNAVAILABLE, client_address, clock, load_holder, too_many, unavailable

router = APIRouter()
FIELDS = ("title", "description", "building", "room")
SIMILAR_SHOWN = 5


def _keys(request: Request, holder: Any, purpose: str) -> dict[str, str]:
    nonce = new_nonce()
    return {"nonce": nonce, "csrf": form_csrf(request.app.state.secret_key, purpose, holder.token_hash, nonce)}


def _owner_page(request: Request, holder: Any, token: str, status: int = 200, **context: Any) -> Response:
    settings = request.app.state.settings
    return render(request, "topic_owner.html", status, no_store=True, token=token,
                  form=_keys(request, holder, "owner-topic"), values=context.pop("values", {}), max_title=MAX_TITLE,
                  max_description=MAX_DESCRIPTION, max_photos=settings.topic_photo_max_count,
                  max_size=size_text(settings.topic_photo_max_bytes), **context)


async def owner_upload_refusal(request: Request) -> Response | None:
    """For a post to ``/v/<token>/topic`` from its headers alone: the answer unless the token is a live voting link
    and the post is not a browser's cross-site one (a miss counts against the address, as every unknown link)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return form_invalid_page(request, 403)
    state = request.app.state
    try:
        await resolve_link(state.pool, request.url.path.split("/")[2])
    except LinkError as exc:
        if state.limits.missed(client_address(request)):
            return too_many(request)
        return link_revoked_page(request, exc.status) if isinstance(exc, RevokedLinkError) else \
            link_invalid_page(request, exc.status)
    except UNAVAILABLE:
        return unavailable(request)
    return None


@router.get("/v/{token}/topic")
async def owner_topic_form(request: Request, token: str) -> Response:
    """Step 1: title and description; step 2 (``?title=``): similar open topics to join, then the whole form."""
    holder = await load_holder(request, token)
    if isinstance(holder, Response):
        return holder
    values = {name: request.query_params.get(name, "")[:2000] for name in FIELDS}
    if not values["title"].strip():
        return _owner_page(request, holder, token, step=1, values=values)
    pool = request.app.state.pool
    try:
        community = await deliberation_community(pool, holder.deliberation_id)
        found = await find_similar(pool, community, values["title"], values["description"], values["building"] or None)
    except UNAVAILABLE:
        return unavailable(request)
    similar = [{"topic_id": c.topic_id, "title": c.title, "building": c.building,
                "form": _keys(request, holder, "owner-topic-join")} for c, _ in found[:SIMILAR_SHOWN]]
    return _owner_page(request, holder, token, step=2, values=values, similar=similar)


@router.post("/v/{token}/topic/join")
async def owner_topic_join(request: Request, token: str) -> Response:
    """"Already raised: join it": the owner supports a similar open topic of the link's community."""
    holder = await load_holder(request, token)
    if isinstance(holder, Response):
        return holder
    form = await read_form(request)
    if form is None or not check_csrf(request.app.state.secret_key, "owner-topic-join", holder.token_hash,
                                      form.get("nonce", ""), form.get("csrf", "")):
        return form_invalid_page(request, 403, back_url=f"/v/{token}/topic")
    state = request.app.state
    try:
        _, supporter = await support_from_owner_link(state.pool, holder, form.get("topic_id", "")[:64],
                                                     secret_key=state.secret_key, now=clock(request))
    except TopicRefusedError as exc:
        return message_page(request, 409, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url=f"/v/{token}/topic", back_label=N_("Back to the form"))
    except LinkError:
        return form_invalid_page(request, 403, back_url=f"/v/{token}")
    except UNAVAILABLE:
        return unavailable(request)
    return RedirectResponse(f"/tt/{supporter.token}?joined=1", status_code=303)


@router.post("/v/{token}/topic")
async def owner_topic(request: Request, token: str) -> Response:
    holder = await load_holder(request, token)
    if isinstance(holder, Response):
        return holder
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        posted = await read_multipart(request)
        if posted is None:
            return form_invalid_page(request, 422, back_url=f"/v/{token}/topic")
        form, photos = posted
    else:
        form, photos = await read_form(request), []
    if form is None or not check_csrf(request.app.state.secret_key, "owner-topic", holder.token_hash,
                                      form.get("nonce", ""), form.get("csrf", "")):
        return form_invalid_page(request, 403, back_url=f"/v/{token}/topic")
    values = {name: form.get(name, "")[:4000] for name in FIELDS}
    topic_id = "topic-" + hashlib.sha256(f"{holder.token_hash}:{form['nonce']}".encode()).hexdigest()[:12]
    state, tr = request.app.state, page_translator(request)
    try:
        raised = await raise_from_owner_link(
            await temporal_client(request), state.pool, holder, title=values["title"],
            description=values["description"], building=values["building"] or None, room=values["room"] or None,
            photos=photos, settings=state.settings, now=clock(request), topic_id=topic_id)
    except TopicFormError as exc:
        return _owner_page(request, holder, token, 422, step=2, values=values, photos_lost=bool(photos),
                           problems=[tr.error(p.text) for p in exc.problems])
    except TEMPORAL_UNAVAILABLE:
        return workflow_busy(request)
    except UNAVAILABLE:
        return unavailable(request)
    return RedirectResponse(f"/tt/{raised.tracking.token}?new=1", status_code=303)
