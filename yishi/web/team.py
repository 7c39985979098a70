"""A volunteer team's sign-up page ``/vt/<token>`` (the QR code of the team's A4 poster) and the poster itself.

The committee prints the team's poster from the volunteer console (``POST /console/volunteers/poster``: the ``team``
capability is issued on first print, the same link again after). A resident scans it with their own phone: the page
shows the team and its coming activities. As the check-in code (yishi/web/checkin.py), the page knows the resident
from their own link, which ``/me/<token>`` leaves in an HttpOnly cookie on their phone (sent to ``/ck`` and ``/vt``
only); with it, one button joins the team (``MemberJoined`` via ``poster``) and one per activity signs up for it
(``SignedUp`` via ``poster``); without it, the page asks them to open their own link once (the committee registers
residents and gives them their link: a poster never creates a person). GET changes nothing; the POST carries a CSRF
field bound to both links and is decided under the volunteer stream's lock; a revoked own link is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response

from domain.errors import DomainError
from domain.operator import Operator
from domain.volunteer_decide import JoinTeam, SignUp
from domain.volunteers import Roster
from yishi.i18n import N_
from yishi.services import volunteers
from yishi.services.capabilities import Capability, CapabilityHolder, resolve_capability
from yishi.services.links import LinkError, RevokedLinkError
from yishi.web.console_points import ROLES, no_community, operator
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
from yishi.web.sheets import address_warning, qr_data_uri
from yishi.web.staff import staff_form
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
TEAM = frozenset({"team"})
PURPOSE = "team-poster"


async def _holders(request: Request, token: str) -> tuple[CapabilityHolder, CapabilityHolder | None] | Response:
    team = await load_capability(request, token, TEAM)
    if isinstance(team, Response):
        return team
    mine = request.cookies.get(PERSON_COOKIE, "")
    try:
        person = await resolve_capability(request.app.state.pool, mine, PERSON) if mine else None
    except RevokedLinkError:
        return link_revoked_page(request, 410)
    except LinkError:
        person = None
    except UNAVAILABLE:
        return unavailable(request)
    if person is not None and person.community != team.community:
        return link_invalid_page(request, 403)
    return team, person


def coming(roster: Roster, team_id: str, person_id: str | None, now: Any) -> list[dict[str, Any]]:
    return [{"activity_id": aid, "title": a.title, "place": a.place, "starts_at": a.starts_at, "ends_at": a.ends_at,
             "room": a.room, "capacity": a.capacity, "signed": person_id in a.signed}
            for aid, a in sorted(roster.activities.items(), key=lambda item: item[1].starts_at)
            if a.team_id == team_id and not a.cancelled and a.ends_at > now]


@router.get("/vt/{token}")
async def team_page(request: Request, token: str) -> Response:
    found = await _holders(request, token)
    if isinstance(found, Response):
        return found
    team_link, person = found
    try:
        roster = await volunteers.roster(request.app.state.store, team_link.community)
    except UNAVAILABLE:
        return unavailable(request)
    team = roster.teams.get(team_link.holder)
    if team is None:
        return link_invalid_page(request, 403)
    person_id = person.holder if person else None
    nonce = new_nonce()
    csrf = form_csrf(request.app.state.secret_key, PURPOSE, f"{team_link.token_hash}:{person.token_hash}",
                     nonce) if person else ""
    return render(request, "team.html", no_store=True, token=token, team=team, known=person is not None,
                  member=person_id in team.members, activities=coming(roster, team_link.holder, person_id,
                                                                      clock(request)), nonce=nonce, csrf=csrf)


@router.post("/vt/{token}")
async def team_act(request: Request, token: str) -> Response:
    found = await _holders(request, token)
    if isinstance(found, Response):
        return found
    team_link, person = found
    back = f"/vt/{token}"
    form = await read_form(request)
    if person is None or form is None or not check_csrf(
            request.app.state.secret_key, PURPOSE, f"{team_link.token_hash}:{person.token_hash}",
            form.get("nonce", ""), form.get("csrf", "")):
        return form_invalid_page(request, 403, back_url=back)
    by, now = Operator(name=person.holder, role="person", via="link"), clock(request)
    activity_id = form.get("activity", "")[:64]
    command: JoinTeam | SignUp = JoinTeam(at=now, by=by, team_id=team_link.holder, person_id=person.holder,
                                          via="poster")
    if activity_id:
        command = SignUp(at=now, by=by, activity_id=activity_id, person_id=person.holder, via="poster")
    key = "poster-" + hashlib.sha256(f"{person.token_hash}:{form['nonce']}:{activity_id}".encode()).hexdigest()[:32]
    store = request.app.state.store
    try:
        roster = await volunteers.roster(store, team_link.community)
        if activity_id and (roster.activities.get(activity_id) is None
                            or roster.activities[activity_id].team_id != team_link.holder):
            return link_invalid_page(request, 403)
        await volunteers.act(store, team_link.community, command, key=key, link=person.token_hash)
    except RevokedLinkError:
        return link_revoked_page(request, 410)
    except DomainError as exc:
        return message_page(request, 409, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url=back)
    except UNAVAILABLE:
        return unavailable(request)
    team = roster.teams[team_link.holder].name
    log.info("team.poster_act", community=team_link.community, team_id=team_link.holder, activity_id=activity_id)
    if activity_id:
        activity = roster.activities[activity_id]
        tr = page_translator(request)
        return message_page(request, 200, N_("You are signed up"), N_(
            "You are signed up for '%(activity)s' at %(place)s, from %(start)s to %(end)s."), activity=activity.title,
            place=activity.place, start=tr.when(activity.starts_at), end=tr.when(activity.ends_at), back_url=back)
    return message_page(request, 200, N_("You joined the team"), N_(
        "You are a member of %(team)s. Its activities are on this page and on your own page."), team=team,
        back_url=back)


def printed(request: Request, url_of: Any) -> dict[str, Any]:
    """A printed QR code's address under the public base URL, with the warning a sheet to post must carry when that
    address is the server's own or only guessed (as the topic poster: yishi/web/sheets.py address_warning)."""
    configured = request.app.state.settings.public_base_url
    base = configured or str(request.base_url)
    url = url_of(base)
    return {"url": url, "qr": qr_data_uri(url), "base_url": base,
            "warning": address_warning(base, configured=bool(configured))}


@router.post("/console/volunteers/poster")
async def poster(request: Request) -> Response:
    """The team's A4 poster with its sign-up QR code (the link issued on first print, recorded in the stream)."""
    return await _print(request, "team", volunteers.poster_link, lambda roster: roster.teams, "team_poster.html",
                        "console.team_poster")


@router.post("/console/volunteers/qr")
async def checkin_sheet(request: Request) -> Response:
    """An activity's check-in QR code (``/ck/<token>``) to print and put up at the place (issued on first print)."""
    return await _print(request, "activity", volunteers.checkin_link, lambda roster: roster.activities,
                        "checkin_sheet.html", "console.checkin_sheet")


async def _print(request: Request, field: str, issue: Callable[..., Awaitable[Capability]],
                 shown: Callable[[Roster], Mapping[str, Any]], template: str, event: str) -> Response:
    """A printed sheet of the committee's own community: the link of the team or activity named in the form's
    ``field``, issued by ``issue`` on first print (the same link again after), and the sheet ``template`` showing
    that team or activity (``shown`` picks it from the roster) with the link's QR code."""
    posted = await staff_form(request, *ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    community = staff.account.community
    if community is None:
        return no_community(request)
    state = request.app.state
    try:
        link = await issue(state.pool, state.store, community, form.get(field, "")[:64], by=operator(staff),
                           secret_key=state.secret_key, now=clock(request))
        roster = await volunteers.roster(state.store, community)
    except DomainError as exc:
        return message_page(request, 409, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url="/console/volunteers")
    except UNAVAILABLE:
        return unavailable(request)
    log.info(event, community=community, **{f"{field}_id": link.holder}, account_id=staff.account.id)
    return render(request, template, no_store=True, switch_path="/console/volunteers", community=community,
                  **{field: shown(roster)[link.holder]}, **printed(request, link.url))
