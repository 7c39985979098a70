"""A meeting's (议事会 / 周末议事厅 / 民声七点办) events and the models they carry, in the past tense (pure data).

One stream per meeting, ``meeting-<12 hex>`` (also its workflow id); a series of meetings (every Friday 19:00) has
a stream of its own, ``series-<12 hex>`` (:mod:`domain.meeting_series`). As everywhere: frozen pydantic models
whose ``type`` literal is the class name, stored as ``type`` + JSON payload, ``at`` passed in (never defaulted from a
clock). Who acts is a :class:`~domain.topic_events.Actor` (the contract with topics): staff by account, an invited
party through its invitation link (``via="link"`` with the SHA-256 of the link's token, never the token), the
door's sign-in link (``via="door"``) or the clerk (``via="clerk"``). Invitation links themselves are issued and
revoked as ``CapabilityIssued``/``CapabilityRevoked`` events in the same stream (yishi/services/capabilities.py).

The meeting's notices are the procedures' notice events (``NoticePublished``, ``NoticeDelivered``,
``NoticeDeliveryFailed`` of :mod:`domain.stage_events`) in the meeting's stream.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from domain.topic_events import Actor, Milestone

MeetingKind = Literal["council", "weekend_hall", "seven_pm"]
PartyKind = Literal["party_member", "residents_committee", "owner_rep", "property_company", "department"]
DEFAULT_PARTY_NAMES = {"party_member": "党员", "residents_committee": "社居委", "owner_rep": "业主代表",
                       "property_company": "物业公司", "department": "职能部门"}
"""The name a consultation's party is invited under when none is given: data recorded in ``PartyInvited`` (a name,
like 安居物业), not a label; pages show the kind beside it as its label (context ``party_kind``)."""
DecisionKind = Literal["consensus", "vote", "escalated", "deferred"]
Via = Literal["link", "door", "clerk"]
DOOR = "door"
"""The holder of a meeting's door link (the QR code at the door): whoever signs asks which party they are."""


def vote_id(meeting_id: str, item_id: str) -> str:
    """The deliberation id of the ballot box a meeting opens on one agenda item (the same on every retry)."""
    return "vote-" + hashlib.sha256(f"{meeting_id}\x00{item_id}".encode()).hexdigest()[:12]


def ticket_id(meeting_id: str, item_id: str) -> str:
    """The escalation ticket a meeting's decision opens on one item (a child of the meeting: ``<id>/esc-…``)."""
    return f"{meeting_id}/esc-item-{item_id}"


class Option(BaseModel):
    """One option of an agenda item (e.g. one of three charging-pile sites)."""

    model_config = ConfigDict(frozen=True)
    id: str
    text: str


class PartySpec(BaseModel):
    """An invited party: a party member, the residents' committee, an owner representative, the property company or
    a department; ``party_id`` is its id within the meeting (or series), the holder of its invitation link."""

    model_config = ConfigDict(frozen=True)
    party_id: str
    kind: PartyKind
    name: str


class MeetingDecision(BaseModel):
    """What the meeting decided on one agenda item.

    consensus: ``summary`` (what was agreed), ``option`` (which of the item's options, when it has some), ``owner``
    (who does it), ``due`` and ``milestones``. vote: ``question``, ``options`` (the ids put to the vote: one question
    ``option:<id>`` each, or ``main`` for a single one) and ``deliberation_id`` (the ballot box). escalated:
    ``ticket_id`` (吹哨). deferred: ``summary`` says why; the item goes to a next meeting."""

    model_config = ConfigDict(frozen=True)
    kind: DecisionKind
    summary: str
    option: str | None = None
    owner: str | None = None
    due: date | None = None
    milestones: tuple[Milestone, ...] = ()
    question: str | None = None
    options: tuple[str, ...] = ()
    deliberation_id: str | None = None
    ticket_id: str | None = None


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime


class MeetingScheduled(_Event):
    type: Literal["MeetingScheduled"] = "MeetingScheduled"
    meeting_id: str
    community: str
    title: str
    kind: MeetingKind
    starts_at: AwareDatetime
    place: str
    series_id: str | None = None
    deliberation_id: str | None = None
    """The consultation procedure this meeting serves (its issue is the agenda; its vote is the procedure's)."""
    by: Actor


class AgendaItemAdded(_Event):
    type: Literal["AgendaItemAdded"] = "AgendaItemAdded"
    item_id: str
    title: str
    topic_id: str | None = None
    options: tuple[Option, ...] = ()
    by: Actor


class PartyInvited(_Event):
    type: Literal["PartyInvited"] = "PartyInvited"
    party: PartySpec
    link_subject: str
    """The stream whose invitation link the party acts through: this meeting, or its series."""
    by: Actor


class PositionStated(_Event):
    """A party's position on an item before (or at) the meeting; a later one supersedes it (both stay)."""

    type: Literal["PositionStated"] = "PositionStated"
    party_id: str
    item_id: str
    option: str | None = None
    text: str
    via: Via
    link_sha256: str | None = None
    by: Actor


class AttendanceSigned(_Event):
    type: Literal["AttendanceSigned"] = "AttendanceSigned"
    attendee_id: str
    """The party's id, or ``guest-<n>`` for someone attending who was not invited."""
    party_id: str | None = None
    name: str
    via: Via
    link_sha256: str | None = None
    by: Actor


class MinutesRecorded(_Event):
    """The minutes of one item, version ``version`` of that item's text; a correction is a new version (the earlier
    stays in the stream) and the minutes need confirming again."""

    type: Literal["MinutesRecorded"] = "MinutesRecorded"
    item_id: str
    version: int
    minutes_version: int
    """The meeting's minutes version after this (what a party confirms)."""
    text: str
    by: Actor


class DecisionRecorded(_Event):
    type: Literal["DecisionRecorded"] = "DecisionRecorded"
    item_id: str
    decision: MeetingDecision
    minutes_version: int
    by: Actor


class ItemVoteCounted(_Event):
    """The ballot box a decision opened has been counted: each question's deciding outcome and the option selected
    (double majority, then the most owners in favour; a tie or none selects nothing)."""

    type: Literal["ItemVoteCounted"] = "ItemVoteCounted"
    item_id: str
    deliberation_id: str
    outcomes: dict[str, str]
    winner: str | None = None
    reason: Literal["winner", "tie", "none", "approved", "rejected"]
    tied: tuple[str, ...] = ()
    head_seq: int
    head_hash: str


class MeetingHeld(_Event):
    """The clerk closed the session: the minutes go to the parties for confirmation until ``confirm_until``."""

    type: Literal["MeetingHeld"] = "MeetingHeld"
    minutes_version: int
    attendees: int
    confirm_until: AwareDatetime
    fallback_years: tuple[int, ...] = ()
    by: Actor


class ConfirmationReopened(_Event):
    """Minutes corrected after the session: version ``minutes_version`` needs confirming, until ``confirm_until``."""

    type: Literal["ConfirmationReopened"] = "ConfirmationReopened"
    minutes_version: int
    confirm_until: AwareDatetime
    fallback_years: tuple[int, ...] = ()


class MinutesConfirmed(_Event):
    type: Literal["MinutesConfirmed"] = "MinutesConfirmed"
    party_id: str
    minutes_version: int
    via: Via
    link_sha256: str | None = None
    by: Actor


class MinutesPublished(_Event):
    """The minutes as confirmed go to the residents; parties that had not confirmed this version are listed."""

    type: Literal["MinutesPublished"] = "MinutesPublished"
    minutes_version: int
    confirmed: tuple[str, ...]
    unconfirmed: tuple[str, ...]
    reason: Literal["all_confirmed", "window_ended"]


class MeetingCancelled(_Event):
    type: Literal["MeetingCancelled"] = "MeetingCancelled"
    reason: str
    by: Actor


MeetingEvent = Annotated[
    MeetingScheduled | AgendaItemAdded | PartyInvited | PositionStated | AttendanceSigned | MinutesRecorded
    | DecisionRecorded | ItemVoteCounted | MeetingHeld | ConfirmationReopened | MinutesConfirmed | MinutesPublished
    | MeetingCancelled,
    Field(discriminator="type"),
]
_ALL = (MeetingScheduled, AgendaItemAdded, PartyInvited, PositionStated, AttendanceSigned, MinutesRecorded,
        DecisionRecorded, ItemVoteCounted, MeetingHeld, ConfirmationReopened, MinutesConfirmed, MinutesPublished,
        MeetingCancelled)
MEETING_EVENT_TYPES = frozenset(cls.__name__ for cls in _ALL)
_ADAPTER: TypeAdapter[Any] = TypeAdapter(MeetingEvent)


def meeting_event_from_dict(type_: str, payload: dict[str, Any]) -> MeetingEvent:
    return _ADAPTER.validate_python({**payload, "type": type_})
