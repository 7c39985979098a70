"""The inputs and results of the ``Meeting`` workflow (workflows/meeting.py) and its updates, and what it tells the
consultation it serves (``MeetingNote``). One model per workflow, update and signal."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.legal_calendar import HolidayFile
    from domain.meeting_events import MeetingDecision, MeetingScheduled, Option, PartySpec, Via
    from domain.topic_events import Actor

from workflows.meeting_parts import TicketSpec, VoteBox

REMIND_BEFORE = "PT24H"
CONFIRM = "P3D"


class ItemSpec(BaseModel):
    title: str
    topic_id: str | None = None
    options: tuple[Option, ...] = ()


class MeetingInput(BaseModel):
    scheduled: MeetingScheduled
    items: tuple[ItemSpec, ...] = ()
    parties: tuple[PartySpec, ...] = ()
    remind_before: str = REMIND_BEFORE
    confirm: str = CONFIRM
    holiday_file: HolidayFile | None = None
    notice_attempts: int = 5


class MeetingResult(BaseModel):
    meeting_id: str
    status: str
    minutes_version: int | None = None
    unconfirmed: tuple[str, ...] = ()


class ItemInput(BaseModel):
    by: Actor
    title: str
    topic_id: str | None = None
    options: tuple[Option, ...] = ()


class InviteInput(BaseModel):
    by: Actor
    party: PartySpec
    link_subject: str | None = None


class PositionInput(BaseModel):
    by: Actor
    party_id: str
    item_id: str
    option: str | None = None
    text: str = ""
    via: Via = "clerk"
    link_sha256: str | None = None


class AttendanceInput(BaseModel):
    by: Actor
    party_id: str | None = None
    name: str = ""
    via: Via = "clerk"
    link_sha256: str | None = None


class MinutesInput(BaseModel):
    by: Actor
    item_id: str
    text: str


class DecideInput(BaseModel):
    by: Actor
    item_id: str
    decision: MeetingDecision
    vote: VoteBox | None = None
    ticket: TicketSpec | None = None


class ConfirmInput(BaseModel):
    by: Actor
    party_id: str
    minutes_version: int
    via: Via = "link"
    link_sha256: str | None = None


class ActorInput(BaseModel):
    """Hold (close the session), publish now, or cancel (``reason``)."""

    by: Actor
    reason: str = ""


class MeetingReceipt(BaseModel):
    meeting_id: str
    seq: int
    hash: str
    status: str
    item_id: str | None = None
    minutes_version: int = 0


class MeetingNote(BaseModel):
    """What a meeting tells the consultation procedure it serves."""

    meeting_id: str
    kind: Literal["position", "decision", "cancelled"]
    item_id: str
    party_kind: str = ""
    party_name: str = ""
    option: str | None = None
    text: str = ""
    decision: MeetingDecision | None = None
