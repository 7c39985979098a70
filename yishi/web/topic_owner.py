"""An owner raises a topic from their personal voting link (``/v/<token>/topic``): the topic is the owner's, in the
community of the link's deliberation (yishi/services/topic_links.py ``raise_from_owner_link``); the committee sees
that an owner raised it, the public never sees who. The form is urlencoded (photos: the intake link or the CLI)."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.topic_commands import MAX_DESCRIPTION, MAX_TITLE
from yishi.services.topic_intake import TopicFormError
from yishi.services.topic_links import raise_from_owner_link
from yishi.web.render import form_invalid_page, page_translator, render, workflow_busy
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, form_csrf, new_nonce
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE, clock, load_holder, unavailable

router = APIRouter()


def _owner_page(request: Request, holder: Any, token: str, status: int = 200, **context: Any) -> Response:
    nonce = new_nonce()
    keys = {"nonce": nonce, "csrf": form_csrf(request.app.state.secret_key, "owner-topic", holder.token_hash, nonce)}
    return render(request, "topic_owner.html", status, no_store=True, token=token, form=keys,
                  values=context.pop("values", {}), max_title=MAX_TITLE, max_description=MAX_DESCRIPTION, **context)


@router.get("/v/{token}/topic")
async def owner_topic_form(request: Request, token: str) -> Response:
    """An owner raises a topic from their personal voting link (the topic is theirs, in the link's community)."""
    holder = await load_holder(request, token)
    if isinstance(holder, Response):
        return holder
    return _owner_page(request, holder, token)


@router.post("/v/{token}/topic")
async def owner_topic(request: Request, token: str) -> Response:
    holder = await load_holder(request, token)
    if isinstance(holder, Response):
        return holder
    form = await read_form(request)
    if form is None or not check_csrf(request.app.state.secret_key, "owner-topic", holder.token_hash,
                                      form.get("nonce", ""), form.get("csrf", "")):
        return form_invalid_page(request, 403, back_url=f"/v/{token}/topic")
    values = {name: form.get(name, "")[:4000] for name in ("title", "description", "building", "room")}
    topic_id = "topic-" + hashlib.sha256(f"{holder.token_hash}:{form['nonce']}".encode()).hexdigest()[:12]
    state, tr = request.app.state, page_translator(request)
    try:
        raised = await raise_from_owner_link(
            await temporal_client(request), state.pool, holder, title=values["title"],
            description=values["description"], building=values["building"] or None, room=values["room"] or None,
            settings=state.settings, now=clock(request), topic_id=topic_id)
    except TopicFormError as exc:
        return _owner_page(request, holder, token, 422, values=values,
                           problems=[tr.error(p.text) for p in exc.problems])
    except TEMPORAL_UNAVAILABLE:
        return workflow_busy(request)
    except UNAVAILABLE:
        return unavailable(request)
    return RedirectResponse(f"/tt/{raised.tracking.token}?new=1", status_code=303)
