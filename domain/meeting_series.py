"""A series of meetings (每周五晚七点定时定点开展社区议事会), pure: its events, its fold and its occurrences.

A series is planned once (weekday, time of day in Beijing time, place, the parties invited to every occurrence) in a
stream of its own, ``series-<12 hex>``; its workflow materialises the occurrences a few weeks ahead as meetings
(``OccurrenceScheduled``: the meeting's id and start), so each has its own stream, agenda and minutes. The dates are
plain weekday arithmetic on Beijing time (UTC+8, no daylight saving): no holiday calendar is involved, so a replay
always finds the same dates. Ending the series stops new occurrences; those scheduled stay.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from domain.errors import N_, Label
from domain.legal_calendar import BEIJING
from domain.meeting_commands import MAX_PARTIES, MAX_PLACE, MAX_REASON, MAX_TITLE, STAFF, MeetingError
from domain.meeting_events import MeetingKind, PartySpec
from domain.topic_events import Actor

TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_AHEAD_WEEKS = 8


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime


class SeriesPlanned(_Event):
    type: Literal["SeriesPlanned"] = "SeriesPlanned"
    series_id: str
    community: str
    title: str
    kind: MeetingKind
    weekday: int
    """0 Monday … 6 Sunday."""
    time_of_day: str
    """``HH:MM`` Beijing time."""
    place: str
    parties: tuple[PartySpec, ...] = ()
    first: date
    until: date | None = None
    ahead_weeks: int = 4
    by: Actor


class OccurrenceScheduled(_Event):
    type: Literal["OccurrenceScheduled"] = "OccurrenceScheduled"
    meeting_id: str
    on: date
    starts_at: AwareDatetime


class SeriesEnded(_Event):
    type: Literal["SeriesEnded"] = "SeriesEnded"
    reason: str
    by: Actor


SeriesEvent = Annotated[SeriesPlanned | OccurrenceScheduled | SeriesEnded, Field(discriminator="type")]
SERIES_EVENT_TYPES = frozenset(("SeriesPlanned", "OccurrenceScheduled", "SeriesEnded"))
_ADAPTER: TypeAdapter[Any] = TypeAdapter(SeriesEvent)


def series_event_from_dict(type_: str, payload: dict[str, Any]) -> SeriesEvent:
    return _ADAPTER.validate_python({**payload, "type": type_})


class Series(BaseModel):
    model_config = ConfigDict(frozen=True)
    plan: SeriesPlanned | None = None
    occurrences: dict[str, str] = {}
    """ISO date -> meeting id."""
    ended: bool = False


def evolve(s: Series, e: Any) -> Series:
    match e:
        case SeriesPlanned():
            return s.model_copy(update={"plan": e})
        case OccurrenceScheduled():
            return s.model_copy(update={"occurrences": {**s.occurrences, e.on.isoformat(): e.meeting_id}})
        case SeriesEnded():
            return s.model_copy(update={"ended": True})
    return s


def fold(events: list[Any]) -> Series:
    s = Series()
    for e in events:
        s = evolve(s, e)
    return s


def occurrence_id(series_id: str, on: date) -> str:
    """The meeting id of the series' occurrence on ``on`` (the same on every retry)."""
    return "meeting-" + hashlib.sha256(f"{series_id}\x00{on.isoformat()}".encode()).hexdigest()[:12]


def starts_at(plan: SeriesPlanned, on: date) -> datetime:
    hour, minute = (int(x) for x in plan.time_of_day.split(":"))
    return datetime.combine(on, time(hour, minute), tzinfo=BEIJING)


def due_occurrences(plan: SeriesPlanned, now: datetime) -> list[date]:
    """The dates from ``now`` to ``ahead_weeks`` weeks later (Beijing time) on which the series meets and that have not
    started yet, within ``first`` and ``until``."""
    today = now.astimezone(BEIJING).date()
    day = max(plan.first, today)
    day += timedelta(days=(plan.weekday - day.weekday()) % 7)
    horizon = today + timedelta(weeks=plan.ahead_weeks)
    found = []
    while day <= horizon and (plan.until is None or day <= plan.until):
        if starts_at(plan, day) > now:
            found.append(day)
        day += timedelta(weeks=1)
    return found


def check_plan(plan: SeriesPlanned) -> None:
    """Refuse a plan that cannot be run, saying what to correct."""
    if not plan.series_id.startswith("series-"):
        raise MeetingError(N_("a series id starts with 'series-'"))
    if not plan.title.strip() or len(plan.title) > MAX_TITLE:
        raise MeetingError(N_("give the series a title (at most %(limit)s characters)"), limit=MAX_TITLE)
    if not plan.place.strip() or len(plan.place) > MAX_PLACE:
        raise MeetingError(N_("give the place (at most %(limit)s characters)"), limit=MAX_PLACE)
    if not 0 <= plan.weekday <= 6:
        raise MeetingError(N_("the weekday is 0 (Monday) to 6 (Sunday)"))
    if not TIME.match(plan.time_of_day):
        raise MeetingError(N_("the time %(time)s must be HH:MM (Beijing time), e.g. 19:00"),
                           time=plan.time_of_day[:20])
    if not 1 <= plan.ahead_weeks <= MAX_AHEAD_WEEKS:
        raise MeetingError(N_("weeks ahead is 1 to %(limit)s"), limit=MAX_AHEAD_WEEKS)
    if plan.until is not None and plan.until < plan.first:
        raise MeetingError(N_("the last date %(until)s is before the first %(first)s"),
                           until=plan.until.isoformat(), first=plan.first.isoformat())
    if len(plan.parties) > MAX_PARTIES or len({p.party_id for p in plan.parties}) != len(plan.parties):
        raise MeetingError(N_("party ids repeat, or there are too many parties (at most %(limit)s)"),
                           limit=MAX_PARTIES)
    if plan.by.kind not in STAFF:
        raise MeetingError(N_("%(kind)s cannot plan a series of meetings"), kind=Label("actor", plan.by.kind))


def check_end(s: Series, reason: str, by: Actor) -> None:
    if s.plan is None:
        raise MeetingError(N_("no such series; check the series id"))
    if s.ended:
        raise MeetingError(N_("the series has ended already"))
    if by.kind not in STAFF:
        raise MeetingError(N_("%(kind)s cannot end a series of meetings"), kind=Label("actor", by.kind))
    if not reason.strip() or len(reason) > MAX_REASON:
        raise MeetingError(N_("give a reason (at most %(limit)s characters)"), limit=MAX_REASON)
