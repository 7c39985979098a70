"""Check-in and check-out by the activity's QR code ``/ck/<token>``, opened with the volunteer's own phone.

WeChat's scanner opens the address printed on the activity's QR code (a ``checkin`` capability naming the
activity); the page knows the volunteer from their own link: opening ``/me/<token>`` on the phone leaves that link
in an HttpOnly cookie sent to ``/ck`` and ``/vt`` only (``yishi.web.person.PERSON_COOKIE``; the token is the
person's own credential, kept on their own phone, never shown to anyone). The page shows the activity and one
button: check in, or check out. The POST carries a CSRF field bound to both links and is decided under the
volunteer stream's lock (the domain's windows: from 30 minutes before the start to the end for a check-in, until 2
hours after the end for a check-out); a revoked person link is refused. Without the cookie the page says to open
one's own link first.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request, Response

from domain.errors import DomainError
from yishi.i18n import N_
from yishi.services import volunteers
from yishi.services.capabilities import CapabilityHolder, resolve_capability
from yishi.services.links import LinkError, RevokedLinkError
from yishi.web.person import PERSON, PERSON_COOKIE, load_capability
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
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
CHECKIN = frozenset({"checkin"})
PURPOSE = "checkin"


async def _both(request: Request, token: str) -> tuple[CapabilityHolder, CapabilityHolder] | Response:
    activity = await load_capability(request, token, CHECKIN)
    if isinstance(activity, Response):
        return activity
    mine = request.cookies.get(PERSON_COOKIE, "")
    try:
        person = await resolve_capability(request.app.state.pool, mine, PERSON) if mine else None
    except RevokedLinkError:
        return link_revoked_page(request, 410)
    except LinkError:
        person = None
    except UNAVAILABLE:
        return unavailable(request)
    if person is None:
        return message_page(request, 200, N_("Open your own link first"), N_(
            "This phone does not know who you are yet. Open your own link (the one the committee gave you for your "
            "points and volunteering) on this phone once, then scan the activity's QR code again."))
    if person.community != activity.community:
        return link_invalid_page(request, 403)
    return activity, person


def _binding(activity: CapabilityHolder, person: CapabilityHolder) -> str:
    return f"{activity.token_hash}:{person.token_hash}"


@router.get("/ck/{token}")
async def checkin_page(request: Request, token: str) -> Response:
    found = await _both(request, token)
    if isinstance(found, Response):
        return found
    activity_link, person = found
    try:
        roster = await volunteers.roster(request.app.state.store, activity_link.community)
    except UNAVAILABLE:
        return unavailable(request)
    activity = roster.activities.get(activity_link.holder)
    if activity is None:
        return link_invalid_page(request, 403)
    attendance = activity.attendance.get(person.holder)
    state = "out" if attendance and attendance.check_out else "in" if attendance and attendance.check_in else "none"
    nonce = new_nonce()
    csrf = form_csrf(request.app.state.secret_key, PURPOSE, _binding(activity_link, person), nonce)
    return render(request, "checkin.html", no_store=True, token=token, activity=activity, state=state,
                  attendance=attendance, nonce=nonce, csrf=csrf)


@router.post("/ck/{token}")
async def scan(request: Request, token: str) -> Response:
    found = await _both(request, token)
    if isinstance(found, Response):
        return found
    activity_link, person = found
    form = await read_form(request)
    if form is None or not check_csrf(request.app.state.secret_key, PURPOSE, _binding(activity_link, person),
                                      form.get("nonce", ""), form.get("csrf", "")):
        return form_invalid_page(request, 403, back_url=f"/ck/{token}")
    now = clock(request)
    tr = page_translator(request)
    try:
        direction = await volunteers.scan(request.app.state.store, activity_link.community, activity_link.holder,
                                          person.holder, now=now, link=person.token_hash)
        roster = await volunteers.roster(request.app.state.store, activity_link.community)
    except RevokedLinkError:
        return link_revoked_page(request, 410)
    except DomainError as exc:
        return message_page(request, 409, N_("This could not be done"), text=tr.error(exc), back_url=f"/ck/{token}")
    except UNAVAILABLE:
        return unavailable(request)
    activity = roster.activities[activity_link.holder]
    log.info("checkin.scanned", community=activity_link.community, activity_id=activity_link.holder,
             direction=direction)
    if direction == "in":
        return message_page(request, 200, N_("You are checked in"), N_("You checked in to '%(activity)s' at %(when)s."),
                            activity=activity.title, when=tr.when(now))
    minutes = activity.attendance[person.holder].minutes
    return message_page(request, 200, N_("You are checked out"), N_(
        "You checked out of '%(activity)s' at %(when)s: %(minutes)s minutes counted. Thank you!"),
        activity=activity.title, when=tr.when(now), minutes=minutes)
