"""Volunteer teams and activities folded from their stream, and the decider for them (pure, exact minutes).

Check-in and check-out: a volunteer scans the activity's QR code with their own phone (the first scan checks
in, the next checks out), or the coordinator records them from the list, with the time they arrived or left.
A scan checks in from :data:`EARLY` before the start until the end, and checks out until :data:`LATE` after the
end. A volunteer who scans in without having signed up is signed up then, if there is room.

What a stay counts: the whole minutes of ``[check-in, check-out]`` that fall within the activity's scheduled time
(``floor(seconds / 60)``); arriving early or staying late counts only if the coordinator records it
(:class:`HoursRecorded`, with a reason). Hours are ``Fraction(minutes, 60)``: never a float.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from fractions import Fraction

from domain.errors import DomainError
from domain.volunteer_events import (
    ActivityCancelled,
    ActivityScheduled,
    CheckedIn,
    CheckedOut,
    HoursRecorded,
    MemberJoined,
    MemberLeft,
    SignedUp,
    SignUpWithdrawn,
    TeamFormed,
    VolunteerEvent,
    VolunteersOpened,
)

EARLY = timedelta(minutes=30)
LATE = timedelta(hours=2)


class VolunteerError(DomainError):
    """A volunteer command is refused; the message says why and what to do."""


@dataclass(slots=True)
class Attendance:
    check_in: datetime | None = None
    check_out: datetime | None = None
    minutes: int | None = None
    """What the attendance counts: from the check-out, or as the coordinator recorded it."""


@dataclass(slots=True)
class Team:
    name: str
    members: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Activity:
    team_id: str
    title: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    cancelled: bool = False
    signed: dict[str, str] = field(default_factory=dict)
    """person -> how they signed up, in order."""
    attendance: dict[str, Attendance] = field(default_factory=dict)

    def copy(self) -> Activity:
        return replace(self, signed=dict(self.signed),
                       attendance={k: replace(v) for k, v in self.attendance.items()})

    @property
    def room(self) -> int:
        return self.capacity - len(self.signed)


@dataclass
class Roster:
    community: str | None = None
    teams: dict[str, Team] = field(default_factory=dict)
    activities: dict[str, Activity] = field(default_factory=dict)
    events: int = 0

    def copy(self) -> Roster:
        return Roster(self.community, {k: Team(v.name, set(v.members)) for k, v in self.teams.items()},
                      {k: v.copy() for k, v in self.activities.items()}, self.events)

    def minutes_of(self, person_id: str) -> int:
        """Every counted minute of ``person_id`` (their hours are ``Fraction(minutes, 60)``)."""
        return sum(a.attendance[person_id].minutes or 0 for a in self.activities.values()
                   if person_id in a.attendance)

    def apply(self, event: VolunteerEvent) -> None:
        self.events += 1
        match event:
            case VolunteersOpened():
                self.community = event.community
            case TeamFormed():
                self.teams[event.team_id] = Team(event.name)
            case MemberJoined():
                self.teams[event.team_id].members.add(event.person_id)
            case MemberLeft():
                self.teams[event.team_id].members.discard(event.person_id)
            case ActivityScheduled():
                self.activities[event.activity_id] = Activity(event.team_id, event.title, event.place,
                                                              event.starts_at, event.ends_at, event.capacity)
            case ActivityCancelled():
                self.activities[event.activity_id].cancelled = True
            case SignedUp():
                self.activities[event.activity_id].signed[event.person_id] = event.via
            case SignUpWithdrawn():
                self.activities[event.activity_id].signed.pop(event.person_id, None)
            case CheckedIn():
                self.activities[event.activity_id].attendance[event.person_id] = Attendance(event.time)
            case CheckedOut():
                attendance = self.activities[event.activity_id].attendance[event.person_id]
                attendance.check_out, attendance.minutes = event.time, event.minutes
            case HoursRecorded():
                found = self.activities[event.activity_id].attendance.setdefault(event.person_id, Attendance())
                found.minutes = event.minutes
            case _:
                raise TypeError(f"not a volunteer event: {event!r}")


def evolve(state: Roster, event: VolunteerEvent) -> Roster:
    after = state.copy()
    after.apply(event)
    return after


def fold(events: list[VolunteerEvent] | tuple[VolunteerEvent, ...], state: Roster | None = None) -> Roster:
    roster = state.copy() if state is not None else Roster()
    for event in events:
        roster.apply(event)
    return roster


def counted_minutes(activity: Activity, check_in: datetime, check_out: datetime) -> int:
    """Whole minutes of the stay within the scheduled time."""
    start, end = max(check_in, activity.starts_at), min(check_out, activity.ends_at)
    return max(0, (end - start) // timedelta(minutes=1))  # timedelta // timedelta: an exact int


def hours(minutes: int) -> Fraction:
    return Fraction(minutes, 60)


def roster_problem(events: list[VolunteerEvent]) -> tuple[int, str] | None:
    """The auditor's replay: ``(index, what)`` of the first event that does not follow from the ones before it
    (a team, an activity or a check-in it refers to is missing, an activity over capacity, a check-out before its
    check-in, or minutes that are not what the stay counts), or None."""
    roster = Roster()
    for index, event in enumerate(events):
        problem = _event_problem(roster, event)
        if problem is not None:
            return index, problem
        roster.apply(event)
    return None


def _event_problem(roster: Roster, event: VolunteerEvent) -> str | None:
    if roster.community is None and not isinstance(event, VolunteersOpened):
        return f"{event.type} before VolunteersOpened"
    team = getattr(event, "team_id", None)
    if team is not None and not isinstance(event, TeamFormed) and team not in roster.teams:
        return f"{event.type} names team {team}, never formed"
    activity_id = getattr(event, "activity_id", None)
    if activity_id is None or isinstance(event, ActivityScheduled):
        return None
    activity = roster.activities.get(activity_id)
    if activity is None:
        return f"{event.type} names activity {activity_id}, never scheduled"
    match event:
        case SignedUp() if event.person_id not in activity.signed and activity.room < 1:
            return f"{event.person_id} signed up for {activity_id} beyond its capacity {activity.capacity}"
        case CheckedIn() if event.person_id not in activity.signed:
            return f"{event.person_id} checked in to {activity_id} without a sign-up"
        case CheckedOut():
            found = activity.attendance.get(event.person_id)
            if found is None or found.check_in is None or found.check_out is not None or event.time < found.check_in:
                return f"{event.person_id} checked out of {activity_id} without a check-in before it"
            expected = counted_minutes(activity, found.check_in, event.time)
            if event.minutes != expected:
                return (f"{event.person_id}'s stay at {activity_id} counts {expected} minutes, the check-out "
                        f"records {event.minutes}")
    return None
