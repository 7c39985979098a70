"""A community's volunteer teams (志愿服务队) and their activities, as events (pure data).

One stream per community, ``volunteers-<community>``: teams and members, activities (time, place, capacity),
sign-ups, check-in and check-out (by the volunteer scanning the activity's QR code with their own phone, or by the
coordinator from the list), and the minutes each person is credited. People are the opaque ids of the points
ledger (``p-<12 hex>``, registered there with their kind: resident, party member, 双报到 party member of an
outside unit); names stay out of the stream. Minutes are integers: hours are shown as exact fractions of them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from domain.operator import Operator

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
JoinedVia = Literal["coordinator", "poster", "link"]
SignUpVia = Literal["link", "poster", "coordinator", "checkin"]
ScanVia = Literal["qr", "coordinator"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime
    by: Operator


class VolunteersOpened(_Event):
    type: Literal["VolunteersOpened"] = "VolunteersOpened"
    community: str


class TeamFormed(_Event):
    type: Literal["TeamFormed"] = "TeamFormed"
    team_id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=60)
    description: str = Field(default="", max_length=500)


class MemberJoined(_Event):
    type: Literal["MemberJoined"] = "MemberJoined"
    team_id: str
    person_id: str
    via: JoinedVia


class MemberLeft(_Event):
    type: Literal["MemberLeft"] = "MemberLeft"
    team_id: str
    person_id: str
    reason: str = ""


class ActivityScheduled(_Event):
    type: Literal["ActivityScheduled"] = "ActivityScheduled"
    activity_id: str = Field(pattern=ID_PATTERN)
    team_id: str
    title: str = Field(min_length=1, max_length=80)
    place: str = Field(min_length=1, max_length=120)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    capacity: int = Field(ge=1, le=10_000)

    @model_validator(mode="after")
    def _ends_after_start(self) -> ActivityScheduled:
        if self.ends_at <= self.starts_at:
            raise ValueError("an activity ends after it starts")
        return self


class ActivityCancelled(_Event):
    type: Literal["ActivityCancelled"] = "ActivityCancelled"
    activity_id: str
    reason: str = Field(min_length=1, max_length=200)


class SignedUp(_Event):
    type: Literal["SignedUp"] = "SignedUp"
    activity_id: str
    person_id: str
    via: SignUpVia


class SignUpWithdrawn(_Event):
    type: Literal["SignUpWithdrawn"] = "SignUpWithdrawn"
    activity_id: str
    person_id: str


class CheckedIn(_Event):
    """``time``: when the person arrived (``at`` unless the coordinator records an earlier arrival)."""

    type: Literal["CheckedIn"] = "CheckedIn"
    activity_id: str
    person_id: str
    via: ScanVia
    time: AwareDatetime


class CheckedOut(_Event):
    """``minutes``: what the stay counts, whole minutes of it within the activity's scheduled time."""

    type: Literal["CheckedOut"] = "CheckedOut"
    activity_id: str
    person_id: str
    via: ScanVia
    time: AwareDatetime
    minutes: int = Field(ge=0)


class HoursRecorded(_Event):
    """The coordinator sets what a person's attendance counts (a forgotten check-out, a longer stay)."""

    type: Literal["HoursRecorded"] = "HoursRecorded"
    activity_id: str
    person_id: str
    minutes: int = Field(ge=0, le=24 * 60)
    reason: str = Field(min_length=1, max_length=200)


VolunteerEvent = Annotated[
    VolunteersOpened | TeamFormed | MemberJoined | MemberLeft | ActivityScheduled | ActivityCancelled | SignedUp
    | SignUpWithdrawn | CheckedIn | CheckedOut | HoursRecorded,
    Field(discriminator="type"),
]
VOLUNTEER_EVENT_TYPES = frozenset((
    "VolunteersOpened", "TeamFormed", "MemberJoined", "MemberLeft", "ActivityScheduled", "ActivityCancelled",
    "SignedUp", "SignUpWithdrawn", "CheckedIn", "CheckedOut", "HoursRecorded"))
_ADAPTER: TypeAdapter[Any] = TypeAdapter(VolunteerEvent)


def volunteer_event_from_dict(type_: str, payload: dict[str, Any]) -> VolunteerEvent:
    return _ADAPTER.validate_python({**payload, "type": type_})


def volunteers_stream(community: str) -> str:
    return f"volunteers-{community}"
