"""A party's invitation link (``/m/<token>``, phone first) and the residents' page of a meeting (``/meetings/<id>``).

Through its link a party (党员、社居委、业主代表、物业) sees the agenda, states its position per item before
the meeting, signs in at the meeting (from two hours before) and confirms the minutes (签字确认); the door's link
signs in an invited party or a guest. The token is the credential: the CSRF field is bound to its hash, the acts
are the meeting's workflow updates recorded with the link's SHA-256 (yishi/services/meeting_links.py), and only
misses count against an address (a valid link is always served, as yishi/web/voter.py ``load_holder`` does).

The residents' page shows what the notice shows (title, time, place, the agenda and the kinds of parties invited),
then the decisions and, once published, the confirmed minutes: no name of a party, no phone, no room.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.errors import DomainError
from domain.meeting_commands import DOORS_OPEN
from domain.meeting_state import Meeting
from yishi.services.capabilities import CapabilityHolder, resolve_capability
from yishi.services.links import LinkError, RevokedLinkError
from yishi.services.meeting_links import INVITATION, confirm_by_link, position_by_link, sign_by_link
from yishi.services.meetings import meeting_state
from yishi.web.render import (
    form_invalid_page,
    link_invalid_page,
    link_revoked_page,
    not_found_page,
    page_translator,
    render,
)
from yishi.web.resident import read_form
from yishi.web.security import check_csrf, client_address, form_csrf, new_nonce
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE, clock, too_many, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
PURPOSE = "meeting-invitation"


async def _link(request: Request, token: str) -> CapabilityHolder | Response:
    state = request.app.state
    try:
        holder = await resolve_capability(state.pool, token, INVITATION)
    except LinkError as exc:
        if state.limits.missed(client_address(request)):
            return too_many(request)
        if isinstance(exc, RevokedLinkError):
            return link_revoked_page(request, 410)
        return link_invalid_page(request, 403)
    except UNAVAILABLE:
        return unavailable(request)
    if not state.limits.per_token.hit(holder.token_hash):
        return too_many(request)
    return holder


async def _meetings(request: Request, holder: CapabilityHolder) -> list[Meeting]:
    """The meetings the link opens: its meeting, or its series' occurrences the party is invited to (upcoming and
    the latest held ones)."""
    pool = request.app.state.pool
    if not holder.subject.startswith("series-"):
        return [await meeting_state(pool, holder.subject)]
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT meeting_id FROM meetings WHERE series_id = $1 AND state -> 'parties' ? $2"
                                " ORDER BY starts_at DESC LIMIT 6", holder.subject, holder.holder)
    return [await meeting_state(pool, r["meeting_id"]) for r in reversed(rows)]


def _keys(request: Request, holder: CapabilityHolder) -> dict[str, str]:
    nonce = new_nonce()
    return {"nonce": nonce, "csrf": form_csrf(request.app.state.secret_key, PURPOSE, holder.token_hash, nonce)}


async def _party_page(request: Request, token: str, holder: CapabilityHolder, status: int = 200,
                      error: str | None = None, done: str | None = None) -> Response:
    try:
        meetings = await _meetings(request, holder)
    except UNAVAILABLE:
        return unavailable(request)
    now = clock(request)
    return render(request, "meeting_party.html", status, no_store=True, meetings=meetings, holder=holder.holder,
                  token=token, form=_keys(request, holder), error=error, done=done, now=now, doors_open=DOORS_OPEN)


@router.get("/m/{token}")
async def party_page(request: Request, token: str) -> Response:
    holder = await _link(request, token)
    if isinstance(holder, Response):
        return holder
    return await _party_page(request, token, holder, done=request.query_params.get("done", "")[:20] or None)


async def _act(request: Request, token: str, form: dict[str, str]) -> str:
    client, pool = await temporal_client(request), request.app.state.pool
    meeting_id, action = form.get("meeting_id", "")[:40], form.get("action", "")
    if action == "position":
        await position_by_link(client, pool, token, meeting_id, item_id=form.get("item_id", "")[:10],
                               option=form.get("option") or None, text=form.get("text", "")[:4000])
    elif action == "sign":
        await sign_by_link(client, pool, token, meeting_id, party_id=form.get("party_id") or None,
                           name=form.get("name", "")[:60])
    elif action == "confirm":
        version = form.get("version", "")
        await confirm_by_link(client, pool, token, meeting_id, minutes_version=int(version) if version.isdigit() else 0)
    else:
        raise ValueError(action)
    return action


@router.post("/m/{token}")
async def party_act(request: Request, token: str) -> Response:
    holder = await _link(request, token)
    if isinstance(holder, Response):
        return holder
    form = await read_form(request)
    if form is None or not check_csrf(request.app.state.secret_key, PURPOSE, holder.token_hash,
                                      form.get("nonce", ""), form.get("csrf", "")):
        return form_invalid_page(request, 403)
    tr = page_translator(request)
    try:
        action = await _act(request, token, form)
    except DomainError as exc:
        return await _party_page(request, token, holder, 422, tr.error(exc))
    except ValueError:
        return await _party_page(request, token, holder, 422, tr.gettext("The form is not valid"))
    except LinkError:
        return link_invalid_page(request, 403)
    except TEMPORAL_UNAVAILABLE + UNAVAILABLE:
        return unavailable(request)
    log.info("meeting.link_act", holder=holder.holder, subject=holder.subject, action=action)
    return RedirectResponse(f"/m/{token}?done={action}", status_code=303)


@router.get("/meetings/{meeting_id}")
async def public_page(request: Request, meeting_id: str) -> Response:
    """What residents see of a meeting: the notice, then decisions, then the published minutes."""
    try:
        meeting = await meeting_state(request.app.state.pool, meeting_id)
    except DomainError:
        return not_found_page(request)
    except UNAVAILABLE:
        return unavailable(request)
    kinds: dict[str, int] = {}
    for p in meeting.parties.values():
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    context: dict[str, Any] = {"m": meeting, "party_kinds": kinds, "published": meeting.status == "published"}
    return render(request, "meeting_public.html", 200, **context)
