"""Stage events of a procedure, in the past tense, beside the ballot-box events in the same stream.

Like :mod:`domain.events`: frozen pydantic models whose ``type`` literal is the class name, stored as
``type`` + JSON payload, no floats (amounts are decimal strings). Every event carries ``at``, passed in by
the workflow (``workflow.now()``), never defaulted from a clock.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
)

from domain.kept import KeptHistory
from domain.numbers import Area
from domain.procedures import Share
from domain.roll import Scope


class _StageEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    _omitted_when_empty: ClassVar[tuple[str, ...]] = ("fallback_years",)

    at: AwareDatetime

    @model_serializer(mode="wrap")
    def _without_empty_optional(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for key in self._omitted_when_empty:
            if key in data and not data[key]:
                del data[key]
        return data


class ProcedureStarted(_StageEvent):
    type: Literal["ProcedureStarted"] = "ProcedureStarted"
    deliberation_id: str
    procedure: str
    title: str
    scope: Scope
    rule_id: str
    roll_digest: str
    periods: dict[str, str]
    initiated_by: str
    initiator_role: str
    previous_id: str | None = None
    petition_signers: tuple[str, ...] = ()


class StageEntered(_StageEvent):
    type: Literal["StageEntered"] = "StageEntered"
    stage: str
    deadline: AwareDatetime | None = None
    fallback_years: tuple[int, ...] = ()
    """Of ``deadline``: the years counted with Saturdays and Sundays as the only rest days (their State Council
    schedule was not loaded when it was computed). Written only when not empty (as every ``fallback_years`` of these
    events): an event without it keeps the payload, and hash, it had before the field existed."""


class TaskOpened(_StageEvent):
    type: Literal["TaskOpened"] = "TaskOpened"
    task_id: str
    kind: str
    stage: str
    roles: tuple[str, ...]
    outcomes: tuple[str, ...]
    title_zh: str
    title_en: str
    due_at: AwareDatetime | None = None
    subject: str | None = None
    fallback_years: tuple[int, ...] = ()
    """Of ``due_at``: see :class:`StageEntered`."""


class TaskCompleted(_StageEvent):
    type: Literal["TaskCompleted"] = "TaskCompleted"
    task_id: str
    role: str
    actor: str
    outcome: str
    note: str = ""
    document_no: str | None = None


class TaskOverdue(_StageEvent):
    type: Literal["TaskOverdue"] = "TaskOverdue"
    task_id: str
    due_at: AwareDatetime
    consequence: str


class NoticePublished(_StageEvent):
    type: Literal["NoticePublished"] = "NoticePublished"
    _omitted_when_empty: ClassVar[tuple[str, ...]] = ("fallback_years", "recipients_list", "histories")
    notice_id: str
    kind: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    recipients: tuple[str, ...] | None = None
    """Owner ids; None = every owner of the scope (and the notice board), unless ``recipients_list`` is given."""
    head_seq: int | None = None
    head_hash: str | None = None
    recipients_list: str | None = None
    """The owners are those of the ``DoorKnockListIssued`` with this ``list_id`` in the same stream: a reminder to
    the non-voters of a large estate names its list, never its (possibly a million) owners, so that no workflow
    payload grows with the roll (patch ``reminder-by-list``). Absent from notices published before."""
    histories: tuple[KeptHistory, ...] = ()
    """Of a result notice: the kept histories of the ballot box it results from (its runs, continue-as-new
    included), each by the SHA-256 of its kept bytes (domain/kept.py). Written only when not empty: a notice
    without it keeps the payload, and hash, it had before the field existed."""


class NoticeDelivered(_StageEvent):
    type: Literal["NoticeDelivered"] = "NoticeDelivered"
    _omitted_when_empty: ClassVar[tuple[str, ...]] = ("fallback_years", "group")
    notice_id: str
    channel: str
    recipients: int
    reference: str = ""
    group: str | None = None
    """The recipient group (an entrance ``3-2``, a robot's groups, ``*``) since notices are queued per group;
    absent from deliveries recorded before (one per channel), whose payload and hash stay as they were."""


class NoticeDeliveryFailed(_StageEvent):
    type: Literal["NoticeDeliveryFailed"] = "NoticeDeliveryFailed"
    _omitted_when_empty: ClassVar[tuple[str, ...]] = ("fallback_years", "group", "retry_at")
    notice_id: str
    channel: str
    attempt: int
    error: str
    final: bool
    """True: no further attempt by itself (the committee may retry it from the delivery board)."""
    group: str | None = None
    retry_at: AwareDatetime | None = None
    """When the next attempt is due (a failure that is not final)."""


class NoticeQueued(_StageEvent):
    """A notice queued on a channel, one delivery per recipient group; the worker's dispatcher sends them (the
    procedure never waits for a gateway) and records each outcome."""

    type: Literal["NoticeQueued"] = "NoticeQueued"
    notice_id: str
    channel: str
    groups: dict[str, int]
    """Recipient group → households (or addresses) in it."""


class NoticeHeld(_StageEvent):
    """A text message held for the quiet hours (no SMS 22:00-08:00 unless the notice kind is urgent)."""

    type: Literal["NoticeHeld"] = "NoticeHeld"
    notice_id: str
    channel: str
    group: str
    until: AwareDatetime


class NoticeRetryRequested(_StageEvent):
    type: Literal["NoticeRetryRequested"] = "NoticeRetryRequested"
    notice_id: str
    channel: str
    group: str
    by: str


class NoticePosted(_StageEvent):
    """A printed notice posted at an entrance: who posted it, when, and the photo of the posted sheet by its
    SHA-256 (the photo itself is in the blob store; an auditor checks it against this hash)."""

    type: Literal["NoticePosted"] = "NoticePosted"
    notice_id: str
    group: str
    by: str
    posted_at: AwareDatetime
    photo_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    photo_bytes: int
    media_type: str


class DocumentAttached(_StageEvent):
    """A document of the matter (the plan, the cost table) uploaded by the committee before voting opens, by its
    SHA-256 (the bytes are in ``attachment_blobs``; the ballot lists it and an auditor checks it against this hash)."""

    type: Literal["DocumentAttached"] = "DocumentAttached"
    kind: Literal["plan", "cost_table"]
    name: str = Field(max_length=200)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int
    media_type: str
    by: str


class DoorKnockListIssued(_StageEvent):
    type: Literal["DoorKnockListIssued"] = "DoorKnockListIssued"
    list_id: str
    box_stream: str
    owners: tuple[str, ...]
    rooms: tuple[str, ...]


class VoteRoundOpened(_StageEvent):
    type: Literal["VoteRoundOpened"] = "VoteRoundOpened"
    round: int
    box_stream: str
    questions: tuple[str, ...]
    closes_at: AwareDatetime
    paper_entry_until: AwareDatetime | None = None
    """Paper ballots are entered until then, when the box seals (None: rounds opened before the window existed)."""
    fallback_years: tuple[int, ...] = ()
    """Of ``closes_at``: see :class:`StageEntered`."""


class VoteCounted(_StageEvent):
    type: Literal["VoteCounted"] = "VoteCounted"
    round: int
    box_stream: str
    head_seq: int
    head_hash: str
    outcomes: dict[str, str]
    """Each question's outcome by the ballots cast."""
    approved: bool
    """The main question's decision: by the tally that decides when ``decided`` is given, else by the ballots cast
    (rounds counted before the deemed tally decided)."""
    decided: dict[str, str] | None = None
    """Each question's outcome by the tally that decides under the rules (``effective_outcome``)."""
    deemed: tuple[str, ...] = ()
    """The questions on which silent-owner deeming applied, so that the deemed tally decided."""


class CandidateSelected(_StageEvent):
    type: Literal["CandidateSelected"] = "CandidateSelected"
    round: int
    candidate: str
    qualified: tuple[str, ...]


class ReVoteCalled(_StageEvent):
    type: Literal["ReVoteCalled"] = "ReVoteCalled"
    round: int
    reason: Literal["tie", "none"]
    tied: tuple[str, ...] = ()


class CostPlanProposed(_StageEvent):
    type: Literal["CostPlanProposed"] = "CostPlanProposed"
    plan_id: str
    total: Area
    shares: tuple[Share, ...]
    coefficients: dict[str, Area]
    ground_floor: str
    by_area: bool


class ShareConfirmed(_StageEvent):
    type: Literal["ShareConfirmed"] = "ShareConfirmed"
    plan_id: str
    owner_id: str
    amount: Area


class SharesUnconfirmed(_StageEvent):
    type: Literal["SharesUnconfirmed"] = "SharesUnconfirmed"
    plan_id: str
    owners: tuple[str, ...]


class ObjectionFiled(_StageEvent):
    type: Literal["ObjectionFiled"] = "ObjectionFiled"
    objection_id: str
    owner_id: str
    text: str


class MediationRecorded(_StageEvent):
    type: Literal["MediationRecorded"] = "MediationRecorded"
    objection_id: str
    task_id: str
    resolved: bool
    note: str = ""


class EscalationPlaceholderOpened(_StageEvent):
    type: Literal["EscalationPlaceholderOpened"] = "EscalationPlaceholderOpened"
    task_id: str
    subject: str
    to: tuple[str, ...]
    reason: str


class EscalationStarted(_StageEvent):
    """An escalation ticket (its own stream ``ticket_id``) was opened for ``subject`` (issue 6)."""

    type: Literal["EscalationStarted"] = "EscalationStarted"
    task_id: str
    subject: str
    ticket_id: str
    category: str
    start_level: str
    reason: str


class EscalationResolved(_StageEvent):
    type: Literal["EscalationResolved"] = "EscalationResolved"
    task_id: str
    subject: str
    outcome: str
    note: str = ""


class PermitDecided(_StageEvent):
    type: Literal["PermitDecided"] = "PermitDecided"
    granted: bool
    document_no: str


class HandoverItemConfirmed(_StageEvent):
    type: Literal["HandoverItemConfirmed"] = "HandoverItemConfirmed"
    item: str
    by: str
    note: str = ""


class InterimServiceRecorded(_StageEvent):
    type: Literal["InterimServiceRecorded"] = "InterimServiceRecorded"
    provider: str
    until: AwareDatetime
    fallback_years: tuple[int, ...] = ()
    """Of ``until``: see :class:`StageEntered`."""


class PositionRecorded(_StageEvent):
    type: Literal["PositionRecorded"] = "PositionRecorded"
    party: str
    option: str
    statement: str


class MeetingConvened(_StageEvent):
    """A consultation convened a meeting (its own stream ``meeting_id``) with the issue as the agenda item: the
    parties state their positions through their invitation links, and the meeting's decision drives the procedure."""

    type: Literal["MeetingConvened"] = "MeetingConvened"
    meeting_id: str
    starts_at: AwareDatetime
    place: str


class MilestoneRecorded(_StageEvent):
    type: Literal["MilestoneRecorded"] = "MilestoneRecorded"
    milestone: str
    by: str
    note: str = ""


class FeedbackRecorded(_StageEvent):
    _omitted_when_empty: ClassVar[tuple[str, ...]] = ("fallback_years", "recorded_by")

    type: Literal["FeedbackRecorded"] = "FeedbackRecorded"
    owner_id: str
    score: int
    comment: str = ""
    recorded_by: str | None = None
    """Who typed it in for the owner (a paper form: name and role); absent when the owner gave it through the link."""


class ProcedureClosed(_StageEvent):
    type: Literal["ProcedureClosed"] = "ProcedureClosed"
    outcome: str
    note: str = ""


_ALL = (ProcedureStarted, StageEntered, TaskOpened, TaskCompleted, TaskOverdue, NoticePublished,
        NoticeDelivered, NoticeDeliveryFailed, DoorKnockListIssued, VoteRoundOpened, VoteCounted,
        CandidateSelected, ReVoteCalled, CostPlanProposed, ShareConfirmed, SharesUnconfirmed, ObjectionFiled,
        MediationRecorded, EscalationPlaceholderOpened, EscalationResolved, PermitDecided, HandoverItemConfirmed,
        InterimServiceRecorded, PositionRecorded, MilestoneRecorded, FeedbackRecorded, ProcedureClosed,
        EscalationStarted, MeetingConvened, NoticeQueued, NoticeHeld, NoticeRetryRequested, NoticePosted,
        DocumentAttached)

StageEvent = Annotated[
    ProcedureStarted | StageEntered | TaskOpened | TaskCompleted | TaskOverdue | NoticePublished
    | NoticeDelivered | NoticeDeliveryFailed | DoorKnockListIssued | VoteRoundOpened | VoteCounted
    | CandidateSelected | ReVoteCalled | CostPlanProposed | ShareConfirmed | SharesUnconfirmed | ObjectionFiled
    | MediationRecorded | EscalationPlaceholderOpened | EscalationResolved | PermitDecided | HandoverItemConfirmed
    | InterimServiceRecorded | PositionRecorded | MilestoneRecorded | FeedbackRecorded | ProcedureClosed
    | EscalationStarted | MeetingConvened | NoticeQueued | NoticeHeld | NoticeRetryRequested | NoticePosted
    | DocumentAttached,
    Field(discriminator="type"),
]
STAGE_EVENT_TYPES: dict[str, type[BaseModel]] = {cls.__name__: cls for cls in _ALL}
_ADAPTER: TypeAdapter[Any] = TypeAdapter(StageEvent)


def stage_event_from_dict(type_: str, payload: dict[str, Any]) -> StageEvent:
    """Decode a stored stage event from its ``type`` and JSON ``payload``."""
    return _ADAPTER.validate_python({**payload, "type": type_})
