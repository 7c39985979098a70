"""An owner asks, through their personal link, for no text messages (or for them again) (issue 18: a per-owner
opt-out). Recorded as ``OwnerOptedOut``/``OwnerOptedIn`` with ``via="owner"`` in the community's channel stream
(yishi/services/channels.py); the dispatcher then sends that owner no SMS. The notices still reach everyone on
paper, in the building's group and on the public page. A capability route: the token is the credential, the form's
CSRF field is bound to it (the matter page's other forms do the same)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from activities.notices import load_book
from yishi.i18n import N_
from yishi.services.channels import opt_out
from yishi.services.console import deliberation_community
from yishi.web.render import message_page, not_found_page
from yishi.web.resident import read_form
from yishi.web.security import check_csrf
from yishi.web.voter import UNAVAILABLE, load_holder, unavailable

router = APIRouter()
PURPOSE = "sms"
BACK = N_("Back to the matter")


async def sms_opted_out(request: Request, deliberation_id: str, owner_id: str) -> bool | None:
    """Whether the owner asked for no text messages (None: a deliberation without a community row)."""
    community = await deliberation_community(request.app.state.pool, deliberation_id)
    if community is None:
        return None
    book = await load_book(request.app.state.store, request.app.state.pool, community)
    return owner_id in book.opted_out


@router.post("/v/{token}/sms")
async def sms_choice(request: Request, token: str) -> Response:
    holder = await load_holder(request, token)
    if isinstance(holder, Response):
        return holder
    back = f"/v/{token}/matter"
    form = await read_form(request)
    if form is None or not check_csrf(request.app.state.secret_key, PURPOSE, holder.token_hash,
                                      form.get("nonce", ""), form.get("csrf", "")):
        return message_page(request, 403 if form else 422, N_("The form is not valid"), N_(
            "The form was incomplete or expired; nothing was recorded. Open the page again and resubmit."),
            back_url=back, back_label=BACK)
    out = form.get("again") != "1"
    try:
        community = await deliberation_community(request.app.state.pool, holder.deliberation_id)
        if community is None:
            return not_found_page(request)
        await opt_out(request.app.state.store, community, holder.owner_id, by=holder.owner_id, via="owner",
                      now=datetime.now(UTC), out=out)
    except UNAVAILABLE:
        return unavailable(request)
    done = (N_("Recorded: no more text messages to you about this community's matters. Notices are still posted "
               "at your entrance and on the public page.") if out else
            N_("Recorded: you will get text messages again."))
    return message_page(request, 200, N_("Done"), done, back_url=back, back_label=BACK)
