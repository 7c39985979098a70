"""Invitation links of a meeting (the pages come later; these are what they call), through the generic capability
module (yishi/services/capabilities.py, kind ``invitation``): one link per invited party (× the meeting, or × the
series for a series' parties: the same link serves every occurrence) and the door's link (holder ``door``: the QR
code at the door, where whoever signs says which invited party they are, or gives their name as a guest).

Through a link a party states its position per agenda item, signs attendance and confirms the minutes; each act is
an update of the meeting's workflow recorded with ``via`` and the SHA-256 of the link's token (never the token).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg
from temporalio.client import Client

from activities.eventstore import EventStore
from domain.errors import N_
from domain.meeting_events import DOOR
from domain.meeting_state import Meeting
from domain.topic_events import Actor
from workflows.meeting import AttendanceInput, ConfirmInput, MeetingReceipt, PositionInput
from yishi.services.capabilities import Capability, issue_capability, reissue_capability, resolve_capability
from yishi.services.meetings import MeetingRefusedError, meeting_state, update

INVITATION = frozenset(("invitation",))


async def invitation_links(pool: asyncpg.Pool, store: EventStore, meeting_id: str, *, by: str, secret_key: str,
                           now: datetime, reissue: str | None = None) -> list[Capability]:
    """Every invited party's link and the door's (issued when missing; the same links again otherwise, for
    reprinting). ``reissue``: a party id (or ``door``) whose link is revoked and replaced (a lost phone)."""
    meeting = await meeting_state(pool, meeting_id)
    holders = [(p.party_id, p.link_subject) for p in meeting.parties.values()] + [(DOOR, meeting_id)]
    if reissue is not None and reissue not in dict(holders):
        raise MeetingRefusedError(N_("no party %(party)s at this meeting"), party=reissue)
    links = []
    for holder, subject in holders:
        if holder == reissue:
            links.append(await reissue_capability(pool, store, kind="invitation", subject=subject, holder=holder,
                                                  community=meeting.community, by=by, secret_key=secret_key, now=now,
                                                  reason="link replaced"))
        else:
            links.append(await issue_capability(pool, store, kind="invitation", subject=subject, holder=holder,
                                                community=meeting.community, issued_by=by, secret_key=secret_key,
                                                now=now))
    return links


@dataclass(frozen=True)
class LinkAct:
    """Whose link acts on which meeting: ``party_id`` None for the door's link."""

    meeting: Meeting
    party_id: str | None
    token_hash: str
    actor: Actor


async def through_link(pool: asyncpg.Pool, token: str, meeting_id: str) -> LinkAct:
    """The invited party (or the door) a token stands for at this meeting; refused when it is not this meeting's
    (or its series') link, or its holder is not invited to it. An unknown or revoked token raises
    :class:`~yishi.services.links.UnknownLinkError` / ``RevokedLinkError``."""
    holder = await resolve_capability(pool, token, INVITATION)
    meeting = await meeting_state(pool, meeting_id)
    if holder.subject not in (meeting.meeting_id, meeting.series_id):
        raise MeetingRefusedError(N_("this link is not an invitation to this meeting"))
    if holder.holder == DOOR:
        door = Actor(kind="resident", name="door", community=meeting.community)
        return LinkAct(meeting, None, holder.token_hash, door)
    party = meeting.parties.get(holder.holder)
    if party is None:
        raise MeetingRefusedError(N_("the link's holder is not invited to this meeting"))
    return LinkAct(meeting, party.party_id, holder.token_hash,
                   Actor(kind="party", name=party.name, community=meeting.community))


def _party_only(act: LinkAct) -> str:
    if act.party_id is None:
        raise MeetingRefusedError(N_("the door's code only signs in; use your own invitation link"))
    return act.party_id


async def position_by_link(client: Client, pool: asyncpg.Pool, token: str, meeting_id: str, *, item_id: str,
                           option: str | None, text: str, update_id: str | None = None) -> MeetingReceipt:
    act = await through_link(pool, token, meeting_id)
    return await update(client, meeting_id, "state_position", PositionInput(
        by=act.actor, party_id=_party_only(act), item_id=item_id, option=option, text=text, via="link",
        link_sha256=act.token_hash), update_id=update_id)


async def sign_by_link(client: Client, pool: asyncpg.Pool, token: str, meeting_id: str, *, party_id: str | None = None,
                       name: str = "", update_id: str | None = None) -> MeetingReceipt:
    """Sign in: through a party's own link (that party), or at the door (the party chosen, or a guest's name)."""
    act = await through_link(pool, token, meeting_id)
    if act.party_id is not None:
        arg = AttendanceInput(by=act.actor, party_id=act.party_id, name=name, via="link", link_sha256=act.token_hash)
    else:
        who = act.meeting.parties[party_id].name if party_id in act.meeting.parties else name.strip()
        by = act.actor.model_copy(update={"kind": "party" if party_id else "resident", "name": who or "guest"})
        arg = AttendanceInput(by=by, party_id=party_id, name=name, via="door", link_sha256=act.token_hash)
    return await update(client, meeting_id, "sign_attendance", arg, update_id=update_id)


async def confirm_by_link(client: Client, pool: asyncpg.Pool, token: str, meeting_id: str, *, minutes_version: int,
                          update_id: str | None = None) -> MeetingReceipt:
    """签字确认: the party confirms the version of the minutes it read."""
    act = await through_link(pool, token, meeting_id)
    return await update(client, meeting_id, "confirm", ConfirmInput(
        by=act.actor, party_id=_party_only(act), minutes_version=minutes_version, via="link",
        link_sha256=act.token_hash), update_id=update_id)


async def meetings_of_link(pool: asyncpg.Pool, token: str) -> list[str]:
    """The meetings a party's link opens: its meeting, or every occurrence of its series it is invited to."""
    holder = await resolve_capability(pool, token, INVITATION)
    if not holder.subject.startswith("series-"):
        return [holder.subject]
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT meeting_id FROM meetings WHERE series_id = $1 AND state -> 'parties' ? $2"
                                " ORDER BY starts_at", holder.subject, holder.holder)
    return [r["meeting_id"] for r in rows]
