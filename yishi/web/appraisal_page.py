"""The owner's appraisal ballot behind their personal link ``/v/<token>`` (no account).

An appraisal's links are owners' links of the ``links`` table issued for the appraisal's stream
(yishi/services/appraisals.py), so they open ``/v/<token>`` like a vote's; yishi/web/resident.py hands a link of an
``appraisal-…`` stream to :func:`appraisal_page`. The owner rates every item the street set 1–5; one rating per
owner, as the roll counts owners (several rooms or co-owners are one), refused a second time, after the close or
once the link is revoked (domain/appraisal.py, decided under the stream's lock). GET changes nothing; the rating is
a POST with a CSRF field bound to the link. After the close the page shows the recorded result by item.
"""

from __future__ import annotations

import hashlib

import structlog
from fastapi import APIRouter, Request, Response

from domain.appraisal import Appraisal, AppraisalError
from domain.appraisal_events import SCALE
from yishi.i18n import N_
from yishi.i18n.points import exact, score_digits
from yishi.services import appraisals
from yishi.services.links import LinkHolder, RevokedLinkError
from yishi.web.render import (
    form_invalid_page,
    link_invalid_page,
    link_revoked_page,
    message_page,
    page_translator,
    render,
)
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, form_csrf, new_nonce
from yishi.web.voter import UNAVAILABLE, clock, load_holder, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
PURPOSE = "appraisal"
PREFIX = "appraisal-"


def is_appraisal(holder: LinkHolder) -> bool:
    return holder.deliberation_id.startswith(PREFIX)


async def appraisal_page(request: Request, token: str, holder: LinkHolder, *, error: str | None = None,
                         status: int = 200, state: Appraisal | None = None) -> Response:
    try:
        state = state or await appraisals.appraisal(request.app.state.store, holder.deliberation_id)
    except UNAVAILABLE:
        return unavailable(request)
    opened = state.opened
    if opened is None:
        return link_invalid_page(request, 403)
    now = clock(request)
    nonce = new_nonce()
    csrf = form_csrf(request.app.state.secret_key, PURPOSE, holder.token_hash, nonce)
    result = state.recorded.result if state.recorded is not None else None
    return render(request, "appraisal.html", status, no_store=True, token=token, opened=opened,
                  mine=state.ratings.get(holder.owner_id), rated_at=state.rated_at.get(holder.owner_id),
                  closed=state.closed is not None or now >= opened.closes_at, result=result, scale=sorted(SCALE),
                  nonce=nonce, csrf=csrf, error=error, exact=exact, score_digits=score_digits,
                  items={i.item_id: i for i in opened.items})


@router.post("/v/{token}/appraisal")
async def rate(request: Request, token: str) -> Response:
    holder = await load_holder(request, token)
    if isinstance(holder, Response):
        return holder
    if not is_appraisal(holder):
        return link_invalid_page(request, 403)
    form = await read_form(request)
    back = f"/v/{token}"
    if form is None or not check_csrf(request.app.state.secret_key, PURPOSE, holder.token_hash,
                                      form.get("nonce", ""), form.get("csrf", "")):
        return form_invalid_page(request, 403, back_url=back)
    scores = {name[5:]: int(value) for name, value in form.items()
              if name.startswith("item-") and value.isdigit() and len(value) == 1}
    key = "web-" + hashlib.sha256(f"{holder.token_hash}:{form['nonce']}".encode()).hexdigest()[:32]
    try:
        stored = await appraisals.rate_as(request.app.state.store, holder, scores, now=clock(request), key=key)
    except RevokedLinkError:
        return link_revoked_page(request, 410)
    except AppraisalError as exc:
        return await appraisal_page(request, token, holder, error=page_translator(request).error(exc), status=409)
    except UNAVAILABLE:
        return unavailable(request)
    log.info("appraisal.rated_on_page", appraisal_id=holder.deliberation_id, seq=stored.seq)
    return message_page(request, 200, N_("Your rating is recorded"), N_(
        "Your rating is entry %(seq)s of this appraisal's record. Each owner rates once; the result is published when "
        "the appraisal closes."), seq=stored.seq, back_url=back)
