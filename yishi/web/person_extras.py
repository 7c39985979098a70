"""More of a person's own link ``/me/<token>``: the printable certificate of hours (志愿服务时长证明) and the choice to
appear on the community's public leaderboard.

The certificate is made from the volunteer stream's figures as they stand (the minutes each activity counted) and
names that stream's head (its sequence number and hash): an auditor who replays the stream up to that head gets the
same hours. The leaderboard choice is a POST with a CSRF field bound to the link (its own purpose), recorded as a
``LeaderboardOptedIn``/``LeaderboardOptedOut`` event of the points ledger; the name shown is the one the person
chooses here (kept in ``people``, never in the stream), or their surname and stars.
"""

from __future__ import annotations

import hashlib

import structlog
from fastapi import APIRouter, Request, Response

from domain.errors import DomainError
from domain.operator import Operator
from domain.points_decide import SetOptIn
from domain.volunteer_events import volunteers_stream
from yishi.i18n import N_
from yishi.i18n.points import hours_text
from yishi.services import points, volunteers
from yishi.services.links import RevokedLinkError
from yishi.web.person import LEADERBOARD, PERSON, load_capability
from yishi.web.render import (
    form_invalid_page,
    link_invalid_page,
    link_revoked_page,
    message_page,
    page_translator,
    render,
)
from yishi.web.resident import read_form
from yishi.web.security import check_csrf
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
NAME_MAX = 20


@router.get("/me/{token}/certificate")
async def certificate(request: Request, token: str) -> Response:
    holder = await load_capability(request, token, PERSON)
    if isinstance(holder, Response):
        return holder
    state = request.app.state
    community, person_id = holder.community, holder.holder
    try:
        summary = await volunteers.person_summary(state.pool, state.store, community, person_id)
        roster = await volunteers.roster(state.store, community)
        seq, digest = await state.store.head(volunteers_stream(community))
    except UNAVAILABLE:
        return unavailable(request)
    except DomainError:
        return link_invalid_page(request, 403)
    teams = sorted(team.name for team in roster.teams.values() if person_id in team.members)
    counted = [a for a in summary.activities if a["minutes"]]
    tr = page_translator(request)
    return render(request, "person_certificate.html", no_store=True, token=token, summary=summary, teams=teams,
                  activities=counted, hours=hours_text(tr, summary.minutes), community=community, head_seq=seq,
                  head_hash=digest, stream=volunteers_stream(community), issued=clock(request),
                  activity_hours={a["activity_id"]: hours_text(tr, a["minutes"]) for a in counted})


@router.post("/me/{token}/leaderboard")
async def leaderboard_choice(request: Request, token: str) -> Response:
    holder = await load_capability(request, token, PERSON)
    if isinstance(holder, Response):
        return holder
    state = request.app.state
    back = f"/me/{token}"
    form = await read_form(request)
    if form is None or not check_csrf(state.secret_key, LEADERBOARD, holder.token_hash, form.get("nonce", ""),
                                      form.get("csrf", "")):
        return form_invalid_page(request, 403, back_url=back)
    opted_in = form.get("choice") == "in"
    display_name = " ".join(form.get("display_name", "").split())[:NAME_MAX] or None
    by = Operator(name=holder.holder, role="person", via="link")
    key = "optin-" + hashlib.sha256(f"{holder.token_hash}:{form['nonce']}:{opted_in}".encode()).hexdigest()[:32]
    try:
        await points.act(state.store, holder.community, SetOptIn(at=clock(request), by=by, person_id=holder.holder,
                                                                 opted_in=opted_in), key=key, link=holder.token_hash)
        if opted_in:
            await points.set_display_name(state.pool, holder.holder, display_name)
    except RevokedLinkError:
        return link_revoked_page(request, 410)
    except DomainError as exc:
        return message_page(request, 409, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url=back)
    except UNAVAILABLE:
        return unavailable(request)
    log.info("person.leaderboard", community=holder.community, opted_in=opted_in)
    if opted_in:
        return message_page(request, 200, N_("You are on the leaderboard"), N_(
            "The community's public page now shows your points under the name you chose. You can leave it at any "
            "time on your own page."), back_url=back)
    return message_page(request, 200, N_("You are off the leaderboard"), N_(
        "The community's public page no longer shows you."), back_url=back)
