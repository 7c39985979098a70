"""Commands on a community's volunteer teams and activities, and the decider (pure; time and ids passed in)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.errors import N_
from domain.operator import Operator
from domain.volunteer_events import (
    ID_PATTERN,
    ActivityCancelled,
    ActivityScheduled,
    CheckedIn,
    CheckedOut,
    HoursRecorded,
    JoinedVia,
    MemberJoined,
    MemberLeft,
    ScanVia,
    SignedUp,
    SignUpVia,
    SignUpWithdrawn,
    TeamFormed,
    VolunteerEvent,
    VolunteersOpened,
)
from domain.volunteers import EARLY, LATE, Activity, Roster, VolunteerError, counted_minutes


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime
    by: Operator


class OpenVolunteers(_Command):
    community: str


class FormTeam(_Command):
    team_id: str = Field(pattern=ID_PATTERN)
    name: str
    description: str = ""


class JoinTeam(_Command):
    team_id: str
    person_id: str
    via: JoinedVia = "coordinator"


class LeaveTeam(_Command):
    team_id: str
    person_id: str
    reason: str = ""


class ScheduleActivity(_Command):
    activity_id: str = Field(pattern=ID_PATTERN)
    team_id: str
    title: str
    place: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    capacity: int = Field(ge=1, le=10_000)


class CancelActivity(_Command):
    activity_id: str
    reason: str = Field(min_length=1)


class SignUp(_Command):
    activity_id: str
    person_id: str
    via: SignUpVia = "link"


class WithdrawSignUp(_Command):
    activity_id: str
    person_id: str


class Scan(_Command):
    """The volunteer's own scan of the activity's QR code: checks in, or out when checked in already."""

    activity_id: str
    person_id: str


class CoordinatorCheck(_Command):
    """The coordinator checks a person in or out from the list, at ``time`` (default: now)."""

    activity_id: str
    person_id: str
    direction: Literal["in", "out"]
    time: AwareDatetime | None = None


class RecordHours(_Command):
    activity_id: str
    person_id: str
    minutes: int = Field(ge=0, le=24 * 60)
    reason: str = Field(min_length=1, max_length=200)


VolunteerCommand = (OpenVolunteers | FormTeam | JoinTeam | LeaveTeam | ScheduleActivity | CancelActivity | SignUp
                    | WithdrawSignUp | Scan | CoordinatorCheck | RecordHours)


def decide(state: Roster, command: VolunteerCommand) -> list[VolunteerEvent]:
    if isinstance(command, OpenVolunteers):
        return [] if state.community is not None else [VolunteersOpened(at=command.at, by=command.by,
                                                                        community=command.community)]
    if state.community is None:
        raise VolunteerError(N_("the volunteer record is not open yet"))
    return _DECIDERS[type(command)](state, command)


def _team(state: Roster, team_id: str) -> None:
    if team_id not in state.teams:
        raise VolunteerError(N_("no volunteer team %(team_id)s"), team_id=team_id)


def _activity(state: Roster, activity_id: str) -> Activity:
    found = state.activities.get(activity_id)
    if found is None:
        raise VolunteerError(N_("no activity %(activity_id)s"), activity_id=activity_id)
    if found.cancelled:
        raise VolunteerError(N_("the activity '%(title)s' was cancelled"), title=found.title)
    return found


def _form(state: Roster, c: FormTeam) -> list[VolunteerEvent]:
    if c.team_id in state.teams:
        return []
    return [TeamFormed(at=c.at, by=c.by, team_id=c.team_id, name=c.name, description=c.description)]


def _join(state: Roster, c: JoinTeam) -> list[VolunteerEvent]:
    _team(state, c.team_id)
    if c.person_id in state.teams[c.team_id].members:
        return []
    return [MemberJoined(at=c.at, by=c.by, team_id=c.team_id, person_id=c.person_id, via=c.via)]


def _leave(state: Roster, c: LeaveTeam) -> list[VolunteerEvent]:
    _team(state, c.team_id)
    if c.person_id not in state.teams[c.team_id].members:
        return []
    return [MemberLeft(at=c.at, by=c.by, team_id=c.team_id, person_id=c.person_id, reason=c.reason)]


def _schedule(state: Roster, c: ScheduleActivity) -> list[VolunteerEvent]:
    _team(state, c.team_id)
    if c.activity_id in state.activities:
        raise VolunteerError(N_("activity %(activity_id)s exists already"), activity_id=c.activity_id)
    if c.ends_at <= c.starts_at:
        raise VolunteerError(N_("an activity must end after it starts"))
    return [ActivityScheduled(at=c.at, by=c.by, activity_id=c.activity_id, team_id=c.team_id, title=c.title,
                              place=c.place, starts_at=c.starts_at, ends_at=c.ends_at, capacity=c.capacity)]


def _cancel(state: Roster, c: CancelActivity) -> list[VolunteerEvent]:
    _activity(state, c.activity_id)
    return [ActivityCancelled(at=c.at, by=c.by, activity_id=c.activity_id, reason=c.reason)]


def _sign_up_events(activity: Activity, c: SignUp | Scan, via: str) -> list[VolunteerEvent]:
    if c.person_id in activity.signed:
        return []
    if c.at >= activity.ends_at:
        raise VolunteerError(N_("the activity '%(title)s' is over: sign-up has closed"), title=activity.title)
    if activity.room < 1:
        raise VolunteerError(N_("the activity '%(title)s' is full (%(capacity)s people); choose another one"),
                             title=activity.title, capacity=activity.capacity)
    return [SignedUp(at=c.at, by=c.by, activity_id=c.activity_id, person_id=c.person_id,
                     via=via)]  # type: ignore[arg-type]


def _sign_up(state: Roster, c: SignUp) -> list[VolunteerEvent]:
    return _sign_up_events(_activity(state, c.activity_id), c, c.via)


def _withdraw(state: Roster, c: WithdrawSignUp) -> list[VolunteerEvent]:
    activity = _activity(state, c.activity_id)
    if c.person_id not in activity.signed:
        return []
    if c.person_id in activity.attendance:
        raise VolunteerError(N_("checked in already: the sign-up cannot be withdrawn"))
    return [SignUpWithdrawn(at=c.at, by=c.by, activity_id=c.activity_id, person_id=c.person_id)]


def _scan(state: Roster, c: Scan) -> list[VolunteerEvent]:
    activity = _activity(state, c.activity_id)
    found = activity.attendance.get(c.person_id)
    if found is None or found.check_in is None:
        if not activity.starts_at - EARLY <= c.at <= activity.ends_at:
            raise VolunteerError(N_("check-in to '%(title)s' is open from 30 minutes before the start until the "
                                    "end; ask the coordinator to record you"), title=activity.title)
        signed = _sign_up_events(activity, c, "checkin")
        return [*signed, CheckedIn(at=c.at, by=c.by, activity_id=c.activity_id, person_id=c.person_id, via="qr",
                                   time=c.at)]
    return _check_out(activity, c, found.check_in, found.check_out, c.at, "qr")


def _check_out(activity: Activity, c: Scan | CoordinatorCheck, check_in: datetime, check_out: datetime | None,
               time: datetime, via: ScanVia) -> list[VolunteerEvent]:
    if check_out is not None:
        raise VolunteerError(N_("checked out already; ask the coordinator to correct the hours if they are wrong"))
    if time < check_in or (via == "qr" and time > activity.ends_at + LATE):
        raise VolunteerError(N_("check-out must follow check-in, within 2 hours of the end; ask the coordinator "
                                "to record it"))
    minutes = counted_minutes(activity, check_in, time)
    return [CheckedOut(at=c.at, by=c.by, activity_id=c.activity_id, person_id=c.person_id, via=via,
                       time=time, minutes=minutes)]


def _coordinator(state: Roster, c: CoordinatorCheck) -> list[VolunteerEvent]:
    activity = _activity(state, c.activity_id)
    time = c.time or c.at
    if time > c.at:
        raise VolunteerError(N_("a time in the future cannot be recorded"))
    found = activity.attendance.get(c.person_id)
    if c.direction == "in":
        if found is not None and found.check_in is not None:
            raise VolunteerError(N_("checked in already"))
        if not activity.starts_at - EARLY <= time <= activity.ends_at:
            raise VolunteerError(N_("the arrival must fall between 30 minutes before the start and the end"))
        signed = [] if c.person_id in activity.signed else [
            SignedUp(at=c.at, by=c.by, activity_id=c.activity_id, person_id=c.person_id, via="coordinator")]
        return [*signed, CheckedIn(at=c.at, by=c.by, activity_id=c.activity_id, person_id=c.person_id,
                                   via="coordinator", time=time)]
    if found is None or found.check_in is None:
        raise VolunteerError(N_("not checked in: record the arrival first"))
    return _check_out(activity, c, found.check_in, found.check_out, time, "coordinator")


def _record(state: Roster, c: RecordHours) -> list[VolunteerEvent]:
    activity = state.activities.get(c.activity_id)
    if activity is None:
        raise VolunteerError(N_("no activity %(activity_id)s"), activity_id=c.activity_id)
    if c.person_id not in activity.signed and c.person_id not in activity.attendance:
        raise VolunteerError(N_("this person neither signed up for nor attended the activity"))
    return [HoursRecorded(at=c.at, by=c.by, activity_id=c.activity_id, person_id=c.person_id, minutes=c.minutes,
                          reason=c.reason)]


_DECIDERS = {FormTeam: _form, JoinTeam: _join, LeaveTeam: _leave, ScheduleActivity: _schedule,
             CancelActivity: _cancel, SignUp: _sign_up, WithdrawSignUp: _withdraw, Scan: _scan,
             CoordinatorCheck: _coordinator, RecordHours: _record}
