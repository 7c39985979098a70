"""A meeting folded from its stream (pure): :func:`evolve` applies one event, :func:`fold` a list.

Besides the meeting's own events (:mod:`domain.meeting_events`) the fold reads the invitation links issued and
revoked in the stream (``CapabilityIssued``/``CapabilityRevoked``) and counts the notices published, so that the
state is the stream's and nothing else's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.capability_events import CapabilityIssued, CapabilityRevoked
from domain.meeting_events import (
    AgendaItemAdded,
    AttendanceSigned,
    ConfirmationReopened,
    DecisionRecorded,
    ItemVoteCounted,
    MeetingCancelled,
    MeetingDecision,
    MeetingHeld,
    MeetingKind,
    MeetingScheduled,
    MinutesConfirmed,
    MinutesPublished,
    MinutesRecorded,
    Option,
    PartyInvited,
    PartySpec,
    PositionStated,
    Via,
)
from domain.stage_events import NoticePublished

Status = Literal["", "scheduled", "held", "published", "cancelled"]


class Position(BaseModel):
    model_config = ConfigDict(frozen=True)
    option: str | None
    text: str
    via: Via
    at: datetime


class VoteResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    deliberation_id: str
    winner: str | None
    reason: str
    outcomes: dict[str, str]


class Item(BaseModel):
    model_config = ConfigDict(frozen=True)
    item_id: str
    title: str
    topic_id: str | None = None
    options: tuple[Option, ...] = ()
    positions: dict[str, Position] = {}
    minutes: tuple[str, ...] = ()
    """Every version of the item's minutes, oldest first (the last is current)."""
    decision: MeetingDecision | None = None
    vote: VoteResult | None = None

    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options)


class Party(BaseModel):
    model_config = ConfigDict(frozen=True)
    party_id: str
    kind: str
    name: str
    link_subject: str


class Attendee(BaseModel):
    model_config = ConfigDict(frozen=True)
    attendee_id: str
    party_id: str | None
    name: str
    via: Via


class Meeting(BaseModel):
    model_config = ConfigDict(frozen=True)
    meeting_id: str = ""
    community: str = ""
    title: str = ""
    kind: MeetingKind = "council"
    starts_at: datetime | None = None
    place: str = ""
    series_id: str | None = None
    deliberation_id: str | None = None
    status: Status = ""
    items: dict[str, Item] = {}
    parties: dict[str, Party] = {}
    attendees: dict[str, Attendee] = {}
    minutes_version: int = 0
    confirmed: dict[str, int] = {}
    """Party -> the minutes version it last confirmed."""
    confirm_until: datetime | None = None
    confirm_fallback: tuple[int, ...] = ()
    published_version: int | None = None
    unconfirmed_at_publication: tuple[str, ...] = ()
    cancelled_reason: str | None = None
    links: dict[str, tuple[str, ...]] = {}
    """Holder (a party id, or ``door``) -> SHA-256 of its live invitation links issued in this stream."""
    issued: dict[str, str] = {}
    """SHA-256 of every invitation link ever issued in this stream -> its holder (revoked ones included)."""
    notices: int = 0

    @property
    def finished(self) -> bool:
        return self.status in ("published", "cancelled")

    def confirmed_now(self) -> tuple[str, ...]:
        """Parties that confirmed the current version of the minutes."""
        return tuple(p for p in self.parties if self.confirmed.get(p) == self.minutes_version)

    def unconfirmed(self) -> tuple[str, ...]:
        return tuple(p for p in self.parties if self.confirmed.get(p) != self.minutes_version)

    def undecided(self) -> tuple[str, ...]:
        return tuple(i for i, item in self.items.items() if item.decision is None)

    def votes_pending(self) -> tuple[str, ...]:
        """Items put to a ballot box this meeting opened whose count is not recorded yet."""
        return tuple(i for i, item in self.items.items() if item.decision is not None
                     and item.decision.kind == "vote" and item.vote is None
                     and item.decision.deliberation_id != self.deliberation_id)


def _item(m: Meeting, item_id: str, **changes: Any) -> dict[str, Item]:
    return {**m.items, item_id: m.items[item_id].model_copy(update=changes)}


def evolve(m: Meeting, e: Any) -> Meeting:  # noqa: C901 - one case per event type
    """The meeting after event ``e`` (a meeting, capability or notice event; others leave it as it is)."""
    match e:
        case MeetingScheduled():
            return m.model_copy(update={
                "meeting_id": e.meeting_id, "community": e.community, "title": e.title, "kind": e.kind,
                "starts_at": e.starts_at, "place": e.place, "series_id": e.series_id,
                "deliberation_id": e.deliberation_id, "status": "scheduled"})
        case AgendaItemAdded():
            item = Item(item_id=e.item_id, title=e.title, topic_id=e.topic_id, options=e.options)
            return m.model_copy(update={"items": {**m.items, e.item_id: item}})
        case PartyInvited():
            party = Party(party_id=e.party.party_id, kind=e.party.kind, name=e.party.name,
                          link_subject=e.link_subject)
            return m.model_copy(update={"parties": {**m.parties, party.party_id: party}})
        case PositionStated():
            item = m.items[e.item_id]
            positions = {**item.positions, e.party_id: Position(option=e.option, text=e.text, via=e.via, at=e.at)}
            return m.model_copy(update={"items": _item(m, e.item_id, positions=positions)})
        case AttendanceSigned():
            who = Attendee(attendee_id=e.attendee_id, party_id=e.party_id, name=e.name, via=e.via)
            return m.model_copy(update={"attendees": {**m.attendees, e.attendee_id: who}})
        case MinutesRecorded():
            minutes = (*m.items[e.item_id].minutes, e.text)
            return m.model_copy(update={"items": _item(m, e.item_id, minutes=minutes),
                                        "minutes_version": e.minutes_version})
        case DecisionRecorded():
            return m.model_copy(update={"items": _item(m, e.item_id, decision=e.decision),
                                        "minutes_version": e.minutes_version})
        case ItemVoteCounted():
            vote = VoteResult(deliberation_id=e.deliberation_id, winner=e.winner, reason=e.reason,
                              outcomes=e.outcomes)
            return m.model_copy(update={"items": _item(m, e.item_id, vote=vote)})
        case MeetingHeld():
            return m.model_copy(update={"status": "held", "confirm_until": e.confirm_until,
                                        "confirm_fallback": e.fallback_years})
        case ConfirmationReopened():
            return m.model_copy(update={"confirm_until": e.confirm_until, "confirm_fallback": e.fallback_years})
        case MinutesConfirmed():
            return m.model_copy(update={"confirmed": {**m.confirmed, e.party_id: e.minutes_version}})
        case MinutesPublished():
            return m.model_copy(update={"status": "published", "published_version": e.minutes_version,
                                        "unconfirmed_at_publication": e.unconfirmed})
        case MeetingCancelled():
            return m.model_copy(update={"status": "cancelled", "cancelled_reason": e.reason})
        case CapabilityIssued(kind="invitation"):
            live = m.links.get(e.holder, ())
            links = {**m.links, e.holder: (*live, e.token_sha256) if e.token_sha256 not in live else live}
            return m.model_copy(update={"links": links, "issued": {**m.issued, e.token_sha256: e.holder}})
        case CapabilityRevoked(kind="invitation"):
            live = tuple(h for h in m.links.get(e.holder, ()) if h != e.token_sha256)
            return m.model_copy(update={"links": {**m.links, e.holder: live}})
        case NoticePublished():
            return m.model_copy(update={"notices": m.notices + 1})
    return m


def fold(events: Iterable[Any], start: Meeting | None = None) -> Meeting:
    m = start or Meeting()
    for e in events:
        m = evolve(m, e)
    return m


def parties_of(specs: Iterable[PartySpec]) -> dict[str, PartySpec]:
    return {p.party_id: p for p in specs}
