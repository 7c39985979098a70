"""A topic folded from its stream: :func:`evolve` returns a new :class:`Topic` for each event (pure).

The workflow, the services and the auditor fold the same stream with this code. ``slim`` drops what only the
pages need (supporters, comments, answers) from what the workflow keeps in its history.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.legal_calendar import period_end_instant
from domain.topic_events import (
    CommentHidden,
    CommentPosted,
    FeedbackGiven,
    FeedbackRequested,
    FollowUpOpened,
    MilestoneDone,
    MilestoneMissed,
    PhotoRef,
    Raiser,
    RouteEnded,
    SupportAdded,
    SupportersMerged,
    TakeUpAssigned,
    TakeUpDeadlineMissed,
    TopicClosed,
    TopicDecided,
    TopicDecision,
    TopicDeclined,
    TopicEvent,
    TopicMerged,
    TopicRaised,
    TopicReopened,
    TopicResolved,
    TopicRouted,
    TopicScheduled,
    TopicTaken,
    TopicVoteCounted,
)

Status = Literal["new", "raised", "taken", "scheduled", "decided", "voting", "following_up", "routed", "resolved",
                 "declined", "merged", "closed"]
TERMINAL: frozenset[str] = frozenset(("declined", "merged", "closed"))
OPEN: frozenset[str] = frozenset(("raised", "taken", "scheduled", "decided", "voting", "following_up", "routed",
                                  "resolved"))


class Comment(BaseModel):
    model_config = ConfigDict(frozen=True)
    comment_id: str
    author: str
    author_kind: str
    text: str
    at: datetime
    hidden_reason: str | None = None
    hidden_by: str | None = None


class FollowUp(BaseModel):
    model_config = ConfigDict(frozen=True)
    follow_up_id: str
    owner: str
    names: tuple[str, ...]
    due_at: tuple[datetime, ...]
    done: tuple[bool, ...]
    missed: tuple[bool, ...]

    def pending(self) -> list[int]:
        return [i for i, d in enumerate(self.done) if not d]


class Awaiting(BaseModel):
    """The ticket or deliberation whose end the topic waits for."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["ticket", "procedure", "vote"]
    stream: str


class Topic(BaseModel):
    model_config = ConfigDict(frozen=True)
    topic_id: str = ""
    community: str = ""
    title: str = ""
    description: str = ""
    building: str | None = None
    room: str | None = None
    source: str = ""
    proposer: Raiser | None = None
    photos: tuple[PhotoRef, ...] = ()
    status: Status = "new"
    take_up: TakeUpAssigned | None = None
    take_up_missed: tuple[str, ...] = ()
    """The levels (keys) that let the take-up deadline pass."""
    taken_at: datetime | None = None
    taken_by: str | None = None
    supporters: tuple[str, ...] = ()
    supporter_count: int = 0
    comments: tuple[Comment, ...] = ()
    comment_count: int = 0
    declined_reason: str | None = None
    merged_into: str | None = None
    merged_from: tuple[str, ...] = ()
    routes: int = 0
    awaiting: Awaiting | None = None
    scheduled: tuple[str, str] | None = None
    """(meeting id, item id) of the agenda the topic is on."""
    decisions: tuple[TopicDecision, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()
    resolution: str | None = None
    resolved_at: datetime | None = None
    feedback_round: int = 0
    respondents: tuple[str, ...] = ()
    feedback_due: datetime | None = None
    feedback_fallback_years: tuple[int, ...] = ()
    answers: tuple[tuple[int, str, str], ...] = ()
    """Every answer: (round, respondent, answer)."""
    reopens: int = 0
    closed_outcome: str | None = None
    raised_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def proposer_id(self) -> str:
        return self.proposer.id if self.proposer else ""

    def answered(self, round_: int | None = None) -> dict[str, str]:
        wanted = self.feedback_round if round_ is None else round_
        return {who: answer for r, who, answer in self.answers if r == wanted}

    def open_follow_up(self) -> FollowUp | None:
        return next((f for f in reversed(self.follow_ups) if f.pending()), None)

    def slim(self) -> Topic:
        """Without the supporters, comments and answers (counts kept): what the workflow keeps."""
        return self.model_copy(update={"supporters": (), "comments": (), "answers": (), "respondents": ()})


def _follow_up(e: FollowUpOpened) -> FollowUp:
    n = len(e.milestones)
    return FollowUp(follow_up_id=e.follow_up_id, owner=e.owner, names=tuple(m.name for m in e.milestones),
                    due_at=tuple(e.due_at), done=(False,) * n, missed=(False,) * n)


def _mark(t: Topic, follow_up_id: str, index: int, field: str) -> tuple[FollowUp, ...]:
    out = []
    for f in t.follow_ups:
        if f.follow_up_id == follow_up_id and 0 <= index < len(f.done):
            values = list(getattr(f, field))
            values[index] = True
            f = f.model_copy(update={field: tuple(values)})
        out.append(f)
    return tuple(out)


def _decided(t: Topic, e: TopicDecided) -> dict[str, object]:
    d = e.decision
    change: dict[str, object] = {"decisions": (*t.decisions, d), "scheduled": None}
    match d.kind:
        case "deferred":
            change["status"] = "taken"
        case "vote":
            change.update(status="voting", awaiting=Awaiting(kind="vote", stream=d.vote_deliberation_id or ""))
        case "escalated":
            change.update(status="routed", awaiting=Awaiting(kind="ticket", stream=d.ticket_id or ""),
                          routes=t.routes + 1)
        case _:
            change["status"] = "decided"  # a follow-up, when there is one, follows in the same append
    return change


def _change(t: Topic, e: TopicEvent) -> dict[str, object]:  # noqa: C901 - one case per event type
    match e:
        case TakeUpAssigned():
            return {"take_up": e}
        case TakeUpDeadlineMissed():
            return {"take_up_missed": (*t.take_up_missed, e.level_key)}
        case SupportAdded():
            return {"supporters": (*t.supporters, e.supporter), "supporter_count": t.supporter_count + 1}
        case SupportersMerged():
            new = tuple(s for s in dict.fromkeys(e.supporters) if s not in t.supporters and s != t.proposer_id)
            return {"supporters": t.supporters + new, "supporter_count": t.supporter_count + len(new),
                    "merged_from": (*t.merged_from, e.from_topic)}
        case CommentPosted():
            comment = Comment(comment_id=e.comment_id, author=e.author, author_kind=e.author_kind, text=e.text,
                              at=e.at)
            return {"comments": (*t.comments, comment), "comment_count": t.comment_count + 1}
        case CommentHidden():
            return {"comments": tuple(c.model_copy(update={"hidden_reason": e.reason, "hidden_by": e.by.name})
                                      if c.comment_id == e.comment_id else c for c in t.comments)}
        case TopicTaken():
            return {"status": "taken", "taken_at": e.at, "taken_by": e.by.name}
        case TopicDeclined():
            return {"status": "declined", "declined_reason": e.reason}
        case TopicMerged():
            return {"status": "merged", "merged_into": e.into}
        case TopicRouted():
            stream = e.ticket_id if e.target == "ladder" else e.deliberation_id
            kind = "ticket" if e.target == "ladder" else "procedure"
            return {"status": "routed", "routes": t.routes + 1, "scheduled": None,
                    "awaiting": Awaiting(kind=kind, stream=stream or "")}
        case RouteEnded():
            return {"status": "taken", "awaiting": None}
        case TopicScheduled():
            return {"status": "scheduled", "scheduled": (e.meeting_id, e.item_id)}
        case TopicDecided():
            return _decided(t, e)
        case TopicVoteCounted():
            return {"status": "decided", "awaiting": None}
        case FollowUpOpened():
            return {"status": "following_up", "follow_ups": (*t.follow_ups, _follow_up(e))}
        case MilestoneDone():
            return {"follow_ups": _mark(t, e.follow_up_id, e.index, "done")}
        case MilestoneMissed():
            return {"follow_ups": _mark(t, e.follow_up_id, e.index, "missed")}
        case TopicResolved():
            return {"status": "resolved", "resolution": e.resolution, "resolved_at": e.at, "awaiting": None}
        case FeedbackRequested():
            return {"feedback_round": e.round, "respondents": e.respondents, "feedback_due": e.due_at,
                    "feedback_fallback_years": e.fallback_years}
        case FeedbackGiven():
            return {"answers": (*t.answers, (e.round, e.respondent, e.answer))}
        case TopicReopened():
            return {"status": "taken", "reopens": t.reopens + 1, "feedback_due": None, "resolution": None,
                    "resolved_at": None}
        case TopicClosed():
            return {"status": "closed", "closed_outcome": e.outcome, "feedback_due": None}
    return {}


def evolve(topic: Topic, event: TopicEvent) -> Topic:
    """The topic after ``event`` (a new model; ``topic`` is left as it was)."""
    if isinstance(event, TopicRaised):
        return Topic(topic_id=event.topic_id, community=event.community, title=event.title,
                     description=event.description, building=event.building, room=event.room, source=event.source,
                     proposer=event.raised_by, photos=event.photos, status="raised", raised_at=event.at,
                     updated_at=event.at)
    return topic.model_copy(update={**_change(topic, event), "updated_at": event.at})


def fold(events: Iterable[TopicEvent]) -> Topic:
    topic = Topic()
    for event in events:
        topic = evolve(topic, event)
    return topic


def milestone_deadline(day: object) -> datetime:
    """A milestone due on ``day`` is missed when that day ends (24:00 Beijing time)."""
    return period_end_instant(day)  # type: ignore[arg-type]
