"""Commands on a topic (imperative, frozen models carrying ``at``) and the error they raise when refused.

See :mod:`domain.topics` for the life of a topic and :mod:`domain.topic_rules` for what each command checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.errors import DomainError
from domain.legal_calendar import BEIJING
from domain.topic_events import Actor, RaiserKind, TopicDecision, TopicRaised

MAX_TITLE, MAX_DESCRIPTION, MAX_COMMENT, MAX_REASON = 80, 4000, 1000, 500
STAFF = frozenset(("committee", "grid_worker", "street_office", "system"))
ROUTERS = frozenset(("committee", "street_office", "system"))


class TopicError(DomainError):
    """A topic action is refused (wrong state, role or input); the message says what to do."""


def when(instant: datetime) -> str:
    return instant.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


class TakeUpLevel(BaseModel):
    """A level of the community's ladder that takes topics up (from the committee's level upwards)."""

    model_config = ConfigDict(frozen=True)
    key: str
    org: str
    roles: tuple[str, ...]
    name_zh: str = ""
    name_en: str = ""


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime


class Raise(_Command):
    kind: Literal["raise"] = "raise"
    event: TopicRaised


class AssignTakeUp(_Command):
    kind: Literal["assign_take_up"] = "assign_take_up"
    level: int
    target: TakeUpLevel
    due_at: AwareDatetime
    fallback_years: tuple[int, ...] = ()


class LapseTakeUp(_Command):
    """The take-up deadline may have passed: record it and hand the topic to ``next`` (due ``next_due``)."""

    kind: Literal["lapse_take_up"] = "lapse_take_up"
    next: TakeUpLevel | None = None
    next_due: AwareDatetime | None = None
    next_fallback_years: tuple[int, ...] = ()


class Support(_Command):
    kind: Literal["support"] = "support"
    supporter: str
    supporter_kind: RaiserKind


class Comment(_Command):
    kind: Literal["comment"] = "comment"
    comment_id: str
    author: str
    author_kind: str
    text: str


class HideComment(_Command):
    kind: Literal["hide_comment"] = "hide_comment"
    comment_id: str
    reason: str
    by: Actor


class Take(_Command):
    kind: Literal["take"] = "take"
    by: Actor
    note: str = ""


class Decline(_Command):
    kind: Literal["decline"] = "decline"
    by: Actor
    reason: str


class Merge(_Command):
    kind: Literal["merge"] = "merge"
    into: str
    by: Actor
    note: str = ""


class Absorb(_Command):
    kind: Literal["absorb"] = "absorb"
    from_topic: str
    supporters: tuple[str, ...]
    by: Actor


class Route(_Command):
    kind: Literal["route"] = "route"
    target: Literal["ladder", "procedure"]
    stream: str
    """The ticket id (ladder) or the deliberation id (procedure)."""
    category: str | None = None
    by: Actor
    note: str = ""


class Schedule(_Command):
    kind: Literal["schedule"] = "schedule"
    meeting_id: str
    item_id: str
    by: Actor


class Decide(_Command):
    kind: Literal["decide"] = "decide"
    decision: TopicDecision
    by: Actor


class CompleteMilestone(_Command):
    """A milestone done; the last one resolves the topic and asks for feedback until ``feedback_due``."""

    kind: Literal["complete_milestone"] = "complete_milestone"
    follow_up_id: str
    index: int
    by: Actor
    note: str = ""
    feedback_due: AwareDatetime
    feedback_fallback_years: tuple[int, ...] = ()


class LapseMilestones(_Command):
    kind: Literal["lapse_milestones"] = "lapse_milestones"


class Resolve(_Command):
    """The work is done: resolved, and feedback asked of the proposer and the supporters until ``feedback_due``."""

    kind: Literal["resolve"] = "resolve"
    source: Literal["follow_up", "ticket", "procedure", "committee"]
    resolution: str
    by: Actor
    feedback_due: AwareDatetime
    feedback_fallback_years: tuple[int, ...] = ()


class RouteOutcome(_Command):
    """The ticket or deliberation the topic waits for has ended (``status`` ``closed`` settles it)."""

    kind: Literal["route_outcome"] = "route_outcome"
    stream: str
    status: str
    outcome: str
    resolution: str = ""
    approved: bool | None = None
    feedback_due: AwareDatetime
    feedback_fallback_years: tuple[int, ...] = ()


class GiveFeedback(_Command):
    kind: Literal["give_feedback"] = "give_feedback"
    respondent: str
    answer: str
    comment: str = ""


class CloseFeedback(_Command):
    kind: Literal["close_feedback"] = "close_feedback"


TopicCommand = Annotated[
    Raise | AssignTakeUp | LapseTakeUp | Support | Comment | HideComment | Take | Decline | Merge | Absorb | Route
    | Schedule | Decide | CompleteMilestone | LapseMilestones | Resolve | RouteOutcome | GiveFeedback
    | CloseFeedback,
    Field(discriminator="kind"),
]
