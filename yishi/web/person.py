"""A person's own page behind their link ``/me/<token>`` (no account): points statement, activities, sign-up.

The link is a capability of kind ``person`` (yishi/services/capabilities.py): whoever holds it sees this person's
account and signs them up. The page lists every entry of the account with its reason and who recorded it
(domain/points_entries.py), the person's activities and hours, and the community's coming activities with room,
each with a sign-up button. GET changes nothing; the sign-up is a POST with a CSRF field bound to the link,
decided under the volunteer stream's lock and refused once the link is revoked.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response

from domain.errors import DomainError
from domain.operator import Operator
from domain.points import Ledger
from domain.points_entries import person_entries
from domain.points_events import POINTS_EVENT_TYPES, points_event_from_dict, points_stream
from domain.volunteer_decide import SignUp
from domain.volunteers import Roster
from yishi.i18n import N_
from yishi.i18n.points import hours_text
from yishi.services import points, volunteers
from yishi.services.capabilities import CapabilityHolder, resolve_capability
from yishi.services.links import LinkError, RevokedLinkError
from yishi.web.render import (
    form_invalid_page,
    link_invalid_page,
    link_revoked_page,
    message_page,
    page_translator,
    render,
)
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, client_address, form_csrf, new_nonce
from yishi.web.sheets import qr_data_uri
from yishi.web.voter import UNAVAILABLE, clock, too_many, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
PERSON = frozenset({"person"})
SIGN_UP = "person-signup"
REDEEM = "person-redeem"
LEADERBOARD = "person-leaderboard"
PERSON_COOKIE = "yishi_person"


def remember_person(request: Request, response: Response, token: str) -> Response:
    """On the person's own page: keep their link for the check-in page ``/ck/<token>`` (yishi/web/checkin.py): this
    phone only, HttpOnly, sent to ``/ck`` and ``/vt`` only."""
    for path in ("/ck", "/vt"):  # and to a volunteer team's poster page (yishi/web/team.py)
        response.set_cookie(PERSON_COOKIE, token, max_age=400 * 86400, httponly=True, samesite="lax", path=path,
                            secure=request.url.scheme == "https")
    return response


async def load_capability(request: Request, token: str, kinds: frozenset[str]) -> CapabilityHolder | Response:
    """Who holds ``token`` among ``kinds``, or the page to answer with; as :func:`yishi.web.voter.load_holder`: the
    link is looked up before any limit of the address, only misses count against it."""
    state = request.app.state
    try:
        holder = await resolve_capability(state.pool, token, kinds)
    except LinkError as exc:
        if state.limits.missed(client_address(request)):
            return too_many(request)
        if isinstance(exc, RevokedLinkError):
            return link_revoked_page(request, exc.status)
        return link_invalid_page(request, exc.status)
    except UNAVAILABLE:
        return unavailable(request)
    if not state.limits.per_token.hit(holder.token_hash):
        return too_many(request)
    return holder


def open_activities(roster: Roster, person_id: str, now: datetime) -> list[dict[str, Any]]:
    """Activities the person may still sign up for: not cancelled, not over, not signed up yet (full ones shown
    as full)."""
    shown = []
    for activity_id, activity in sorted(roster.activities.items(), key=lambda item: item[1].starts_at):
        if activity.cancelled or activity.ends_at <= now or person_id in activity.signed:
            continue
        shown.append({"activity_id": activity_id, "title": activity.title, "place": activity.place,
                      "starts_at": activity.starts_at, "ends_at": activity.ends_at, "room": activity.room,
                      "capacity": activity.capacity, "team": roster.teams[activity.team_id].name})
    return shown


@router.get("/me/{token}")
async def person_page(request: Request, token: str) -> Response:
    holder = await load_capability(request, token, PERSON)
    if isinstance(holder, Response):
        return holder
    state = request.app.state
    community, person_id = holder.community, holder.holder
    try:
        summary = await volunteers.person_summary(state.pool, state.store, community, person_id)
        stored = await state.store.read(points_stream(community))
        roster = await volunteers.roster(state.store, community)
        ledger = await points.ledger(state.store, community)
    except UNAVAILABLE:
        return unavailable(request)
    except DomainError:  # the person is no longer in the ledger
        return link_invalid_page(request, 403)
    events = [points_event_from_dict(e.type, e.payload) for e in stored if e.type in POINTS_EVENT_TYPES]
    entries = list(reversed(person_entries(events, person_id)))
    nonce = new_nonce()
    csrf = form_csrf(state.secret_key, SIGN_UP, holder.token_hash, nonce)
    page = render(request, "person.html", no_store=True, token=token, summary=summary, entries=entries,
                  person_id=person_id, hours=hours_text(page_translator(request), summary.minutes),
                  coming=open_activities(roster, person_id, clock(request)), nonce=nonce, csrf=csrf,
                  shop=shop_items(ledger),
                  waiting=waiting(state.secret_key, community, summary.redemptions,
                                  state.settings.public_base_url or str(request.base_url)),
                  redeem_csrf=form_csrf(state.secret_key, REDEEM, holder.token_hash, nonce),
                  board_csrf=form_csrf(state.secret_key, LEADERBOARD, holder.token_hash, nonce))
    return remember_person(request, page, token)


def shop_items(ledger: Ledger) -> list[dict[str, Any]]:
    return [{"item_id": item_id, "name_zh": s.item.name_zh, "name_en": s.item.name_en, "cost": s.item.cost,
             "stock": s.stock} for item_id, s in sorted(ledger.items.items()) if not s.withdrawn and s.stock > 0]


def waiting(secret_key: str, community: str, redemptions: list[dict[str, Any]], base: str) -> list[dict[str, Any]]:
    """Redemptions not collected yet, with the code the clerk scans (derived again, never stored) and its QR: the
    address ``/sh/r/<code>``, which the shop's counter phone opens (yishi/web/shop.py)."""
    shown = []
    for r in redemptions:
        if r["status"] == "reserved":
            code = points.redemption_code(secret_key, community, r["redemption_id"])
            shown.append({**r, "code": code, "qr": qr_data_uri(f"{base.rstrip('/')}/sh/r/{code}")})
    return shown


@router.post("/me/{token}/redeem")
async def redeem(request: Request, token: str) -> Response:
    holder = await load_capability(request, token, PERSON)
    if isinstance(holder, Response):
        return holder
    state = request.app.state
    back = f"/me/{token}"
    form = await read_form(request)
    if form is None or not check_csrf(state.secret_key, REDEEM, holder.token_hash, form.get("nonce", ""),
                                      form.get("csrf", "")):
        return form_invalid_page(request, 403, back_url=back)
    item_id = form.get("item", "")[:40]
    # One tap, one redemption: the same form posted twice is the same redemption id.
    request_id = "rd-" + hashlib.sha256(f"{holder.token_hash}:{form['nonce']}:{item_id}".encode()).hexdigest()[:24]
    by = Operator(name=holder.holder, role="person", via="link")
    try:
        done = await points.redeem(state.store, holder.community, person_id=holder.holder, item_id=item_id, by=by,
                                   now=clock(request), secret_key=state.secret_key, link=holder.token_hash,
                                   request_id=request_id)
    except RevokedLinkError:
        return link_revoked_page(request, 410)
    except DomainError as exc:
        return message_page(request, 409, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url=back)
    except UNAVAILABLE:
        return unavailable(request)
    log.info("person.redeemed", community=holder.community, item_id=item_id, cost=done.cost)
    return message_page(request, 200, N_("Points redeemed"), N_(
        "%(cost)s points were spent. Show the code on your page to the shop's clerk to collect the item."),
        cost=done.cost, back_url=back)


@router.post("/me/{token}/signup")
async def sign_up(request: Request, token: str) -> Response:
    holder = await load_capability(request, token, PERSON)
    if isinstance(holder, Response):
        return holder
    state = request.app.state
    back = f"/me/{token}"
    form = await read_form(request)
    if form is None or not check_csrf(state.secret_key, SIGN_UP, holder.token_hash, form.get("nonce", ""),
                                      form.get("csrf", "")):
        return form_invalid_page(request, 403, back_url=back)
    activity_id = form.get("activity", "")[:64]
    by = Operator(name=holder.holder, role="person", via="link")
    key = "signup-" + hashlib.sha256(f"{holder.token_hash}:{form['nonce']}:{activity_id}".encode()).hexdigest()[:32]
    try:
        command = SignUp(at=clock(request), by=by, activity_id=activity_id, person_id=holder.holder, via="link")
        await volunteers.act(state.store, holder.community, command, key=key, link=holder.token_hash)
        roster = await volunteers.roster(state.store, holder.community)
    except RevokedLinkError:
        return link_revoked_page(request, 410)
    except DomainError as exc:
        return message_page(request, 409, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url=back)
    except UNAVAILABLE:
        return unavailable(request)
    activity = roster.activities[activity_id]
    log.info("person.signed_up", community=holder.community, activity_id=activity_id)
    tr = page_translator(request)
    return message_page(request, 200, N_("You are signed up"), N_(
        "You are signed up for '%(activity)s' at %(place)s, from %(start)s to %(end)s."), activity=activity.title,
        place=activity.place, start=tr.when(activity.starts_at), end=tr.when(activity.ends_at), back_url=back)
