"""Volunteer teams, activities, sign-up and check-in/out, and the points their hours earn: the shared service.

Commands are decided under the ``volunteers-<community>`` stream's lock (yishi/services/folds.py), so an
activity's capacity holds whatever arrives at once. A check-out (or a coordinator's correction of the hours) is
followed by the hours' points in the points ledger: the person's total minutes for that activity are credited under
the community's hours rule (``CreditHours``, idempotent: crediting the same total again changes nothing), so a
credit lost to a crash is made good by :func:`sync_points`. A volunteer's own scan comes through two links: the
activity's QR code (``checkin``) names the activity, the person's own link (``person``) names the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from activities.eventstore import EventStore, StoredEvent
from domain.errors import N_
from domain.operator import Operator
from domain.points_decide import CreditHours
from domain.points_events import PersonKind, SourceRef
from domain.volunteer_decide import (
    CoordinatorCheck,
    JoinTeam,
    OpenVolunteers,
    RecordHours,
    Scan,
    VolunteerCommand,
    decide,
)
from domain.volunteer_events import VOLUNTEER_EVENT_TYPES, volunteer_event_from_dict, volunteers_stream
from domain.volunteers import Roster, VolunteerError
from yishi.services import points
from yishi.services.capabilities import Capability, issue_capability
from yishi.services.folds import FoldSpec, append_decided, load, new_events

log = structlog.get_logger(__name__)
VOLUNTEERS: FoldSpec[Roster] = FoldSpec("volunteers", VOLUNTEER_EVENT_TYPES, volunteer_event_from_dict, Roster,
                                        Roster.apply, Roster.copy)


async def roster(store: EventStore, community: str) -> Roster:
    return await load(store, volunteers_stream(community), VOLUNTEERS)


async def act(store: EventStore, community: str, command: VolunteerCommand, *, key: str | None = None,
              link: str | None = None) -> list[StoredEvent]:
    """Decide ``command`` under the stream's lock (opening the volunteer record first if new); then, for a check-out
    or corrected hours, credit the hours' points."""

    def decide_all(state: Roster) -> list[Any]:
        events = []
        if state.community is None:
            events = decide(state, OpenVolunteers(at=command.at, by=command.by, community=community))
            state = state.copy()
            for event in events:
                state.apply(event)
        return new_events([*events, *decide(state, command)])

    stored = await append_decided(store, volunteers_stream(community), VOLUNTEERS, decide_all, idempotency_key=key,
                                  link=link)
    log.info("volunteers.act", community=community, command=type(command).__name__, by=command.by.name,
             role=command.by.role, events=len(stored))
    for event in stored:
        if event.type in ("CheckedOut", "HoursRecorded"):
            await credit_hours(store, community, event.payload["activity_id"], event.payload["person_id"],
                               by=command.by, now=command.at, recorded=event)
    return stored


async def credit_hours(store: EventStore, community: str, activity_id: str, person_id: str, *, by: Operator,
                       now: datetime, recorded: StoredEvent | None = None) -> list[StoredEvent]:
    """Credit ``person_id``'s total minutes for ``activity_id`` (as the roster holds them now) in the points
    ledger; nothing when they were credited already."""
    state = await roster(store, community)
    attendance = state.activities[activity_id].attendance.get(person_id)
    total = attendance.minutes if attendance is not None and attendance.minutes is not None else 0
    source = SourceRef(kind="volunteer_activity", ref=activity_id, stream=volunteers_stream(community),
                       seq=recorded.seq if recorded is not None else None)
    command = CreditHours(at=now, by=by, entry_id=points.new_id("hr"), person_id=person_id, source=source,
                          total_minutes=total, reason=f"志愿服务 {total} 分钟 / {total} minutes of volunteering")
    # The same check-out again (a retry) is the same append; otherwise the decider credits only a difference.
    key = f"hours:{activity_id}:{person_id}:{recorded.seq}" if recorded is not None else None
    return await points.act(store, community, command, key=key)


async def sync_points(store: EventStore, community: str, *, by: Operator, now: datetime) -> int:
    """Credit every attendance whose points the ledger lacks (after a crash between the two appends); returns how
    many credits were written."""
    state = await roster(store, community)
    written = 0
    for activity_id, activity in sorted(state.activities.items()):
        for person_id, attendance in sorted(activity.attendance.items()):
            if attendance.minutes is not None:
                written += bool(await credit_hours(store, community, activity_id, person_id, by=by, now=now))
    return written


async def enrol(pool: asyncpg.Pool, store: EventStore, community: str, team_id: str, *, name: str, kind: PersonKind,
                by: Operator, now: datetime, phone: str | None = None, unit: str | None = None,
                owner_id: str | None = None, via: str = "coordinator", person_id: str | None = None) -> str:
    """A new member of ``team_id`` (registered in the points ledger first, their name kept out of the streams)."""
    person_id = await points.register_person(pool, store, community, name=name, kind=kind, by=by, now=now,
                                             phone=phone, unit=unit, owner_id=owner_id, person_id=person_id)
    await act(store, community, JoinTeam(at=now, by=by, team_id=team_id, person_id=person_id, via=via),  # type: ignore
              key=f"join:{team_id}:{person_id}")
    return person_id


async def poster_link(pool: asyncpg.Pool, store: EventStore, community: str, team_id: str, *, by: Operator,
                      secret_key: str, now: datetime) -> Capability:
    """The team's sign-up poster (``/vt/<token>``): residents join the team and sign up for its activities."""
    if team_id not in (await roster(store, community)).teams:
        raise VolunteerError(N_("no volunteer team %(team_id)s"), team_id=team_id)
    return await issue_capability(pool, store, kind="team", subject=volunteers_stream(community), holder=team_id,
                                  community=community, issued_by=f"{by.role}:{by.name}", secret_key=secret_key,
                                  now=now)


async def checkin_link(pool: asyncpg.Pool, store: EventStore, community: str, activity_id: str, *, by: Operator,
                       secret_key: str, now: datetime) -> Capability:
    """The activity's check-in QR code (``/ck/<token>``), scanned by volunteers with their own phones."""
    if activity_id not in (await roster(store, community)).activities:
        raise VolunteerError(N_("no activity %(activity_id)s"), activity_id=activity_id)
    return await issue_capability(pool, store, kind="checkin", subject=volunteers_stream(community),
                                  holder=activity_id, community=community, issued_by=f"{by.role}:{by.name}",
                                  secret_key=secret_key, now=now)


async def scan(store: EventStore, community: str, activity_id: str, person_id: str, *, now: datetime,
               link: str | None = None) -> str:
    """The volunteer's own scan: ``"in"`` or ``"out"``. ``link``: the token hash of the person's own link (refused
    once revoked)."""
    by = Operator(name=person_id, role="person", via="link")
    stored = await act(store, community, Scan(at=now, by=by, activity_id=activity_id, person_id=person_id),
                       link=link)
    return "out" if any(e.type == "CheckedOut" for e in stored) else "in"


async def coordinator_check(store: EventStore, community: str, activity_id: str, person_id: str, direction: str, *,
                            by: Operator, now: datetime, time: datetime | None = None) -> list[StoredEvent]:
    command = CoordinatorCheck(at=now, by=by, activity_id=activity_id, person_id=person_id,
                               direction=direction, time=time)  # type: ignore[arg-type]
    return await act(store, community, command)


async def record_hours(store: EventStore, community: str, activity_id: str, person_id: str, minutes: int, *,
                       reason: str, by: Operator, now: datetime) -> list[StoredEvent]:
    return await act(store, community, RecordHours(at=now, by=by, activity_id=activity_id, person_id=person_id,
                                                   minutes=minutes, reason=reason))


@dataclass(frozen=True)
class PersonSummary:
    """What a person's own page and certificate show: their activities, exact hours, points and redemptions."""

    person_id: str
    name: str
    kind: str
    minutes: int
    points: int
    pioneer: int | None
    earned: int
    activities: list[dict[str, Any]]
    redemptions: list[dict[str, Any]]
    opted_in: bool
    certificate: str
    """``<seq>-<ten hex>`` of the volunteer stream's head when made: an auditor finds the record it rests on."""


async def person_summary(pool: asyncpg.Pool, store: EventStore, community: str, person_id: str) -> PersonSummary:
    ledger = await points.ledger(store, community)
    state = await roster(store, community)
    account = ledger.people.get(person_id)
    if account is None:
        raise VolunteerError(N_("no person %(person_id)s in the ledger; register them first"), person_id=person_id)
    names = await points.people_names(pool, [person_id])
    activities = []
    for activity_id, activity in sorted(state.activities.items(), key=lambda item: item[1].starts_at):
        if person_id in activity.signed or person_id in activity.attendance:
            attendance = activity.attendance.get(person_id)
            activities.append({"activity_id": activity_id, "title": activity.title, "place": activity.place,
                               "starts_at": activity.starts_at, "ends_at": activity.ends_at,
                               "cancelled": activity.cancelled, "team": state.teams[activity.team_id].name,
                               "minutes": attendance.minutes if attendance else None,
                               "checked_in": bool(attendance and attendance.check_in),
                               "checked_out": bool(attendance and attendance.check_out)})
    redemptions = [{"redemption_id": rid, "item": ledger.items[r.item_id].item.name_zh, "cost": r.cost,
                    "status": r.status, "at": r.at}
                   for rid, r in ledger.redemptions.items() if r.person_id == person_id]
    seq, digest = await store.head(volunteers_stream(community))
    return PersonSummary(person_id, (names.get(person_id) or {}).get("name", ""), account.kind,
                         state.minutes_of(person_id), account.points,
                         account.pioneer if account.party_member else None, account.earned, activities, redemptions,
                         account.opted_in, f"{seq}-{digest[:10].upper()}")
