"""The Topic workflow's input, result, and one input model per update (workflows/topic.py)."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.legal_calendar import HolidayFile
    from domain.topic_events import Actor, TopicDecision, TopicRaised

from workflows.escalation import EscalationInput

TAKE_UP_DEFAULT = "5wd"
FEEDBACK_DEFAULT = "P7D"


class TopicInput(BaseModel):
    topic_id: str
    raised: TopicRaised
    take_up: str = TAKE_UP_DEFAULT
    feedback: str = FEEDBACK_DEFAULT
    holiday_file: HolidayFile | None = None


class TopicResult(BaseModel):
    topic_id: str
    status: str
    outcome: str | None = None


class ActorNote(BaseModel):
    """Take (``text``: a note), decline (the reason the proposer sees) or resolve (the resolution)."""

    by: Actor
    text: str = ""


class MergeInput(BaseModel):
    by: Actor
    into: str
    note: str = ""


class AbsorbInput(BaseModel):
    by: Actor
    from_topic: str
    supporters: tuple[str, ...]


class RouteInput(BaseModel):
    """To the ladder (``ticket``: the escalation to start, its id the stream) or to a started procedure."""

    by: Actor
    target: str
    stream: str
    category: str | None = None
    note: str = ""
    ticket: EscalationInput | None = None


class ScheduleInput(BaseModel):
    by: Actor
    meeting_id: str
    item_id: str


class DecisionInput(BaseModel):
    by: Actor
    decision: TopicDecision


class MilestoneInput(BaseModel):
    by: Actor
    follow_up_id: str
    index: int
    note: str = ""


class TopicReceipt(BaseModel):
    topic_id: str
    seq: int
    hash: str
    status: str
