"""A topic's (议题) events and the models they carry, in the past tense (pure data).

One stream per topic, ``topic-<12 hex>`` (also its workflow id). Like the other streams: frozen pydantic
models whose ``type`` literal is the class name, stored as ``type`` + JSON payload, every event with ``at``
passed in (never defaulted from a clock). What identifies a person in these events is an opaque id chosen by
the service (``owner:O311``, ``phone:<keyed hash>``, ``client:<cookie id>``, ``account:<name>``): a phone number
never enters a stream, only the keyed hash of it (the number itself is kept in a side table the committee reads).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

ActorKind = Literal["committee", "grid_worker", "party_member", "street_office", "resident", "party", "system"]
RaiserKind = Literal["resident", "owner", "tenant", "grid_worker", "party_member"]
Source = Literal["intake", "owner_link", "console"]
Answer = Literal["satisfied", "basically_satisfied", "not_satisfied"]
DecisionKind = Literal["consensus", "vote", "escalated", "deferred"]
ANSWERS: tuple[str, ...] = ("satisfied", "basically_satisfied", "not_satisfied")


class Actor(BaseModel):
    """Who acts on a topic (the contract between topics and meetings): staff name their account."""

    model_config = ConfigDict(frozen=True)
    kind: ActorKind
    name: str
    account: str | None = None
    community: str


class Milestone(BaseModel):
    """One step of a decision's follow-up, due by the end of ``due`` (Beijing time)."""

    model_config = ConfigDict(frozen=True)
    name: str
    due: date


class TopicDecision(BaseModel):
    """What a meeting decided on an agenda item about a topic (recorded by the meetings helper)."""

    model_config = ConfigDict(frozen=True)
    meeting_id: str
    item_id: str
    kind: DecisionKind
    summary: str
    owner: str | None = None
    due: date | None = None
    milestones: tuple[Milestone, ...] = ()
    vote_deliberation_id: str | None = None
    ticket_id: str | None = None


class TopicSummary(BaseModel):
    """A topic as an agenda shows it: no proposer name, phone or room."""

    model_config = ConfigDict(frozen=True)
    topic_id: str
    community: str
    title: str
    status: str
    building: str | None = None


class PhotoRef(BaseModel):
    """A photo kept in the ``blobs`` table under its SHA-256 (type and size checked by its bytes)."""

    model_config = ConfigDict(frozen=True)
    sha256: str
    media_type: Literal["image/jpeg", "image/png", "image/webp"]
    bytes: int
    width: int
    height: int


class Raiser(BaseModel):
    """Who raised the topic: ``id`` (opaque, as for supporters), in what capacity, and (for staff) who typed it."""

    model_config = ConfigDict(frozen=True)
    id: str
    kind: RaiserKind
    account: str | None = None
    contact: str | None = None
    """``hmac-sha256:<hex>`` of the phone number when one was given (the number stays in ``topic_contacts``)."""


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime


class TopicRaised(_Event):
    type: Literal["TopicRaised"] = "TopicRaised"
    topic_id: str
    community: str
    title: str
    description: str
    building: str | None = None
    room: str | None = None
    source: Source
    raised_by: Raiser
    photos: tuple[PhotoRef, ...] = ()


class TakeUpAssigned(_Event):
    """Who must take the topic up (领题) and by when: the committee first, the next level after a miss."""

    type: Literal["TakeUpAssigned"] = "TakeUpAssigned"
    level: int
    level_key: str
    org: str
    roles: tuple[str, ...]
    due_at: AwareDatetime
    reason: Literal["raised", "escalated"]
    fallback_years: tuple[int, ...] = ()
    """Years ``due_at`` was counted with Saturdays and Sundays as the only rest days (no State Council schedule
    loaded for them when it was computed by the ``compute_deadlines`` activity): pages and notices say so."""


class TakeUpDeadlineMissed(_Event):
    type: Literal["TakeUpDeadlineMissed"] = "TakeUpDeadlineMissed"
    level_key: str
    org: str
    due_at: AwareDatetime
    escalated_to: str | None = None
    """The organisation that holds the topic now (None: the top level missed it; it stays there, overdue)."""


class SupportAdded(_Event):
    type: Literal["SupportAdded"] = "SupportAdded"
    supporter: str
    kind: RaiserKind


class SupportersMerged(_Event):
    """A duplicate was merged into this topic: its proposer and supporters support this one now."""

    type: Literal["SupportersMerged"] = "SupportersMerged"
    from_topic: str
    supporters: tuple[str, ...]
    by: Actor


class CommentPosted(_Event):
    type: Literal["CommentPosted"] = "CommentPosted"
    comment_id: str
    author: str
    author_kind: str
    text: str


class CommentHidden(_Event):
    """The comment is no longer shown; its text stays in the stream for auditors."""

    type: Literal["CommentHidden"] = "CommentHidden"
    comment_id: str
    reason: str
    by: Actor


class TopicTaken(_Event):
    type: Literal["TopicTaken"] = "TopicTaken"
    by: Actor
    note: str = ""
    late: bool = False


class TopicDeclined(_Event):
    """Not taken up; ``reason`` is shown to the proposer."""

    type: Literal["TopicDeclined"] = "TopicDeclined"
    by: Actor
    reason: str


class TopicMerged(_Event):
    type: Literal["TopicMerged"] = "TopicMerged"
    into: str
    by: Actor
    supporters: tuple[str, ...]
    note: str = ""


class TopicRouted(_Event):
    """Sent to the escalation ladder (吹哨: a ticket) or straight to a procedure (a deliberation)."""

    type: Literal["TopicRouted"] = "TopicRouted"
    target: Literal["ladder", "procedure"]
    ticket_id: str | None = None
    deliberation_id: str | None = None
    category: str | None = None
    by: Actor
    note: str = ""


class RouteEnded(_Event):
    """The ticket or deliberation ended without settling the topic (cancelled, declined): back with the committee."""

    type: Literal["RouteEnded"] = "RouteEnded"
    stream: str
    outcome: str
    note: str = ""


class TopicScheduled(_Event):
    type: Literal["TopicScheduled"] = "TopicScheduled"
    meeting_id: str
    item_id: str
    by: Actor


class TopicDecided(_Event):
    type: Literal["TopicDecided"] = "TopicDecided"
    decision: TopicDecision
    by: Actor


class TopicVoteCounted(_Event):
    """The vote a meeting put the topic to has its result."""

    type: Literal["TopicVoteCounted"] = "TopicVoteCounted"
    deliberation_id: str
    outcome: str
    approved: bool | None = None


class FollowUpOpened(_Event):
    type: Literal["FollowUpOpened"] = "FollowUpOpened"
    follow_up_id: str
    owner: str
    milestones: tuple[Milestone, ...]
    due_at: tuple[AwareDatetime, ...]
    """When each milestone's day ends (24:00 Beijing time)."""


class MilestoneDone(_Event):
    type: Literal["MilestoneDone"] = "MilestoneDone"
    follow_up_id: str
    index: int
    by: Actor
    note: str = ""
    late: bool = False


class MilestoneMissed(_Event):
    """Flagged: shown overdue; the committee may still record it done, or route the topic to the ladder."""

    type: Literal["MilestoneMissed"] = "MilestoneMissed"
    follow_up_id: str
    index: int
    due_at: AwareDatetime


class TopicResolved(_Event):
    type: Literal["TopicResolved"] = "TopicResolved"
    source: Literal["follow_up", "ticket", "procedure", "committee"]
    resolution: str
    by: Actor


class FeedbackRequested(_Event):
    type: Literal["FeedbackRequested"] = "FeedbackRequested"
    round: int
    respondents: tuple[str, ...]
    due_at: AwareDatetime
    fallback_years: tuple[int, ...] = ()
    """As ``TakeUpAssigned.fallback_years``, of ``due_at``."""


class FeedbackGiven(_Event):
    type: Literal["FeedbackGiven"] = "FeedbackGiven"
    round: int
    respondent: str
    answer: Answer
    comment: str = ""


class TopicReopened(_Event):
    type: Literal["TopicReopened"] = "TopicReopened"
    reason: str


class TopicClosed(_Event):
    type: Literal["TopicClosed"] = "TopicClosed"
    outcome: str
    note: str = ""


TopicEvent = Annotated[
    TopicRaised | TakeUpAssigned | TakeUpDeadlineMissed | SupportAdded | SupportersMerged | CommentPosted
    | CommentHidden | TopicTaken | TopicDeclined | TopicMerged | TopicRouted | RouteEnded | TopicScheduled
    | TopicDecided | TopicVoteCounted | FollowUpOpened | MilestoneDone | MilestoneMissed | TopicResolved
    | FeedbackRequested | FeedbackGiven | TopicReopened | TopicClosed,
    Field(discriminator="type"),
]
TOPIC_EVENT_TYPES = frozenset((
    "TopicRaised", "TakeUpAssigned", "TakeUpDeadlineMissed", "SupportAdded", "SupportersMerged", "CommentPosted",
    "CommentHidden", "TopicTaken", "TopicDeclined", "TopicMerged", "TopicRouted", "RouteEnded", "TopicScheduled",
    "TopicDecided", "TopicVoteCounted", "FollowUpOpened", "MilestoneDone", "MilestoneMissed", "TopicResolved",
    "FeedbackRequested", "FeedbackGiven", "TopicReopened", "TopicClosed"))
_ADAPTER: TypeAdapter[Any] = TypeAdapter(TopicEvent)


def topic_event_from_dict(type_: str, payload: dict[str, Any]) -> TopicEvent:
    return _ADAPTER.validate_python({**payload, "type": type_})
