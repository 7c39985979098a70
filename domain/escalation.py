"""Escalation (社区吹哨、部门报到): the ladder, a ticket's events, its fold and its commands (pure).

A community that cannot settle a matter "blows the whistle": a ticket climbs a ladder of organisations —
by default the grid / estate party branch, the community party committee, the street office, then the
district department for the ticket's category. Each level owns the ticket under two deadlines counted
from its assignment: acknowledge (``PT24H``) and resolve (``5wd``, working days on the legal calendar).
A missed deadline moves the ticket to the next level; at the top level it is recorded and the ticket
stays where it is. After a resolution the initiator answers a follow-up; "not satisfied" reopens the
ticket once, at the same level.

Commands (``acknowledge`` … ``answer_follow_up``) check the ticket and return the events to append;
:func:`evolve` applies an event and returns the new ticket. Time is always passed in, and so are deadlines: the
workflow has them computed on the legal calendar by an activity (:class:`Dues`, ``PeriodEnd``) and the commands
record them, with the years counted on weekends only (``fallback_years``) when the holiday schedule was not loaded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
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

from domain.errors import N_, DomainError, Items, Label, Text
from domain.joint import (
    PART_EVENT_TYPES,
    Joint,
    JointSpec,
    PartDeadlineMissed,
    PartEscalated,
    PartOpened,
    PartReleased,
    PartReported,
    PartResolved,
    WhistleBlown,
    apply_part,
)
from domain.legal_calendar import PeriodEnd
from domain.stage_events import NoticeDelivered, NoticeDeliveryFailed, NoticePublished

ACK_DEFAULT = "PT24H"
RESOLVE_DEFAULT = "5wd"
FOLLOW_UP_DEFAULT = "P7D"
ANSWERS = ("satisfied", "basically_satisfied", "not_satisfied")
OWNING_ROLES = ("grid_worker", "committee", "party_secretary", "street_office", "department")


class EscalationError(DomainError):
    """A ticket action is refused (wrong organisation, role or state); the message says what to do."""


class Level(BaseModel):
    """One rung: who owns the ticket there, which roles act for it, and its two deadlines."""

    model_config = ConfigDict(frozen=True)
    key: str
    org: str
    name_zh: str
    name_en: str
    roles: tuple[str, ...]
    ack: str = ACK_DEFAULT
    resolve: str = RESOLVE_DEFAULT


class Department(BaseModel):
    model_config = ConfigDict(frozen=True)
    org: str
    name_zh: str
    name_en: str


DEFAULT_DEPARTMENTS: dict[str, Department] = {
    "housing": Department(org="dept:housing", name_zh="区住房和城乡建设委员会（房管）",
                          name_en="District housing and construction (housing management)"),
    "urban_management": Department(org="dept:urban", name_zh="区城市管理委员会（城管）",
                                   name_en="District urban management"),
    "market_regulation": Department(org="dept:market", name_zh="区市场监督管理局",
                                    name_en="District market regulation"),
    "planning": Department(org="dept:planning", name_zh="区规划和自然资源分局", name_en="District planning"),
}


class Ladder(BaseModel):
    """The levels of a community (``org`` of the ``department`` level is filled from the category)."""

    model_config = ConfigDict(frozen=True)
    levels: tuple[Level, ...]
    departments: dict[str, Department] = DEFAULT_DEPARTMENTS

    def for_category(self, category: str) -> tuple[Level, ...]:
        dept = self.departments.get(category)
        if dept is None:
            valid = ", ".join(sorted(self.departments))
            raise EscalationError(N_("no category '%(category)s'; valid: %(valid)s"), category=category, valid=valid)
        return tuple(lv.model_copy(update={"org": dept.org, "name_zh": dept.name_zh, "name_en": dept.name_en})
                     if lv.key == "department" else lv for lv in self.levels)


def default_ladder(community: str) -> Ladder:
    """小事不出网格、大事不出社区、难事不出街道: grid → community committee → street office → department."""
    return Ladder(levels=(
        Level(key="grid", org=f"grid:{community}", name_zh="网格 / 小区党支部", name_en="Grid / estate party branch",
              roles=("grid_worker", "committee")),
        Level(key="community", org=f"committee:{community}", name_zh="社区党委", name_en="Community party committee",
              roles=("committee",)),
        Level(key="street", org="street", name_zh="街道办事处", name_en="Street office", roles=("street_office",)),
        Level(key="department", org="", name_zh="区职能部门", name_en="District department", roles=("department",)),
    ))


class EvidenceRef(BaseModel):
    """An event of the parent deliberation's stream (``seq``, ``hash``) or an attachment (name, sha256)."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["event", "attachment"]
    stream_id: str | None = None
    seq: int | None = None
    hash: str | None = None
    name: str | None = None
    sha256: str | None = None
    note: str = ""


# ---- events -------------------------------------------------------------------------------------------------


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    _omitted_when_empty: ClassVar[tuple[str, ...]] = ("fallback_years", "follow_up_due", "follow_up_fallback_years")
    at: AwareDatetime

    @model_serializer(mode="wrap")
    def _without_empty_optional(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Fields added later are written only when set: older events keep their payload (and hash)."""
        data = handler(self)
        for key in self._omitted_when_empty:
            if key in data and data[key] in (None, "", [], ()):
                del data[key]
        return data


class EscalationOpened(_Event):
    type: Literal["EscalationOpened"] = "EscalationOpened"
    _omitted_when_empty: ClassVar[tuple[str, ...]] = (
        "channel", "ladder_version", "grid", "building", "entrance", "routed_by", "source", "case_number",
        "complainant_digest", "joint")
    ticket_id: str
    parent_id: str | None
    community: str
    category: str
    subject: str
    detail: str
    evidence: tuple[EvidenceRef, ...] = ()
    initiator: str
    initiator_kind: Literal["owner", "committee", "hotline"]
    levels: tuple[Level, ...]
    outcomes: tuple[str, ...]
    # Since the ``grid-routing`` patch (issue 19); written only when set, so older events keep their bytes.
    channel: str = ""
    """Where the ticket came from (domain/ladders.py ``CHANNELS``); "" before channels were recorded."""
    ladder_version: int | None = None
    """The community's ladder version the levels were taken from (0: the default, or a ladder set before
    versions); later versions never change the ticket."""
    grid: str = ""
    """The grid code of the ticket's building when it opened ("" when none was found)."""
    building: str = ""
    entrance: str = ""
    routed_by: str = ""
    """How the grid was found: building, room, owner (the roll), address; none."""
    source: str = ""
    """An outside system's name for a ticket it created (``12345``), with its ``case_number``."""
    case_number: str = ""
    complainant_digest: str = ""
    """sha256 of the complainant's contact (kept in the ``ticket_complainants`` table, never in the stream)."""
    joint: JointSpec | None = None
    """The parts' rule of the ladder version (吹哨报到), kept with the ticket like its levels."""


class LevelAssigned(_Event):
    type: Literal["LevelAssigned"] = "LevelAssigned"
    n: int
    level: int
    level_key: str
    org: str
    ack_due: AwareDatetime
    resolve_due: AwareDatetime
    reason: Literal["opened", "escalated", "transferred", "reopened"]
    fallback_years: tuple[int, ...] = ()
    """Years the deadlines were counted with Saturdays and Sundays as the only rest days (no State Council schedule
    loaded for them when they were computed). Written only when not empty."""


class Acknowledged(_Event):
    type: Literal["Acknowledged"] = "Acknowledged"
    org: str
    by: str


class InfoRequested(_Event):
    type: Literal["InfoRequested"] = "InfoRequested"
    org: str
    by: str
    question: str


class InfoProvided(_Event):
    type: Literal["InfoProvided"] = "InfoProvided"
    by: str
    answer: str


class TransferRequested(_Event):
    type: Literal["TransferRequested"] = "TransferRequested"
    from_org: str
    to_org: str
    by: str
    reason: str


class TransferAccepted(_Event):
    type: Literal["TransferAccepted"] = "TransferAccepted"
    org: str
    by: str


class TransferDeclined(_Event):
    type: Literal["TransferDeclined"] = "TransferDeclined"
    org: str
    by: str
    reason: str


class Resolved(_Event):
    type: Literal["Resolved"] = "Resolved"
    org: str
    by: str
    outcome: str
    resolution: str
    follow_up_due: AwareDatetime | None = None
    """When the initiator's follow-up period ends (absent from tickets resolved before it was recorded)."""
    follow_up_fallback_years: tuple[int, ...] = ()
    """Of ``follow_up_due``: as ``LevelAssigned.fallback_years``."""


class DeadlineMissed(_Event):
    type: Literal["DeadlineMissed"] = "DeadlineMissed"
    n: int
    org: str
    deadline: Literal["acknowledge", "resolve"]
    due_at: AwareDatetime


class Escalated(_Event):
    type: Literal["Escalated"] = "Escalated"
    from_level: int
    to_level: int
    reason: str


class FollowUpAnswered(_Event):
    type: Literal["FollowUpAnswered"] = "FollowUpAnswered"
    answer: Literal["satisfied", "basically_satisfied", "not_satisfied"]
    by: str
    comment: str = ""


class Reopened(_Event):
    type: Literal["Reopened"] = "Reopened"
    level: int
    reason: str


class Closed(_Event):
    type: Literal["Closed"] = "Closed"
    outcome: str
    note: str = ""


class Cancelled(_Event):
    type: Literal["Cancelled"] = "Cancelled"
    reason: str


EscalationEvent = Annotated[
    EscalationOpened | LevelAssigned | Acknowledged | InfoRequested | InfoProvided | TransferRequested
    | TransferAccepted | TransferDeclined | Resolved | DeadlineMissed | Escalated | FollowUpAnswered | Reopened
    | Closed | Cancelled | WhistleBlown | PartOpened | PartReported | PartResolved | PartReleased
    | PartDeadlineMissed | PartEscalated,
    Field(discriminator="type"),
]
ESCALATION_EVENT_TYPES = frozenset(
    ("EscalationOpened", "LevelAssigned", "Acknowledged", "InfoRequested", "InfoProvided", "TransferRequested",
     "TransferAccepted", "TransferDeclined", "Resolved", "DeadlineMissed", "Escalated", "FollowUpAnswered",
     "Reopened", "Closed", "Cancelled")) | PART_EVENT_TYPES
_ADAPTER: TypeAdapter[Any] = TypeAdapter(EscalationEvent)


def escalation_event_from_dict(type_: str, payload: dict[str, Any]) -> EscalationEvent:
    return _ADAPTER.validate_python({**payload, "type": type_})


# ---- state ----------------------------------------------------------------------------------------------------


class Assignment(BaseModel):
    """One organisation's turn with the ticket, from ``LevelAssigned`` until it ends."""

    n: int
    level: int
    level_key: str
    org: str
    assigned_at: datetime
    ack_due: datetime
    resolve_due: datetime
    reason: str
    fallback_years: tuple[int, ...] = ()
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    missed: tuple[str, ...] = ()
    ended_at: datetime | None = None
    ended_by: Literal["resolved", "escalated", "transferred", "cancelled"] | None = None
    follow_up: str | None = None
    reopened: bool = False
    """Its resolution was rated "not satisfied" and the ticket reopened."""


class PendingTransfer(BaseModel):
    from_org: str
    to_org: str
    by: str
    reason: str
    at: datetime


Status = Literal["new", "assigned", "acknowledged", "info_requested", "resolved", "closed", "cancelled"]


class Ticket(BaseModel):
    ticket_id: str = ""
    parent_id: str | None = None
    community: str = ""
    category: str = ""
    subject: str = ""
    detail: str = ""
    initiator: str = ""
    initiator_kind: str = "committee"
    levels: tuple[Level, ...] = ()
    outcomes: tuple[str, ...] = ("resolved",)
    evidence: tuple[EvidenceRef, ...] = ()
    status: Status = "new"
    assignments: list[Assignment] = []
    transfer: PendingTransfer | None = None
    question: str | None = None
    outcome: str | None = None
    resolution: str | None = None
    resolved_at: datetime | None = None
    follow_up_due: datetime | None = None
    follow_up_fallback: tuple[int, ...] = ()
    reopens: int = 0
    closed_outcome: str | None = None
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    channel: str = ""
    ladder_version: int | None = None
    grid: str = ""
    building: str = ""
    entrance: str = ""
    routed_by: str = ""
    source: str = ""
    case_number: str = ""
    complainant_digest: str = ""
    joint_spec: JointSpec | None = None
    joint: Joint = Field(default_factory=Joint)

    @property
    def current(self) -> Assignment | None:
        return self.assignments[-1] if self.assignments else None

    @property
    def owner(self) -> str | None:
        a = self.current
        return a.org if a and self.status in ("assigned", "acknowledged", "info_requested") else None

    @property
    def finished(self) -> bool:
        return self.status in ("closed", "cancelled")

    @property
    def handlers(self) -> set[str]:
        """Every organisation that owns or owned a part of the ticket: a level's turn, or a joint part."""
        return {a.org for a in self.assignments} | self.joint.orgs()

    @property
    def current_handlers(self) -> set[str]:
        """The organisations that own a part of the ticket now: its owner and the owners of its open parts."""
        now = {p.owner for p in self.joint.open_parts if p.owner}
        return now | ({self.owner} if self.owner else set())


def _end(ticket: Ticket, at: datetime, how: str) -> None:
    a = ticket.current
    if a is not None and a.ended_at is None:
        a.ended_at, a.ended_by = at, how  # type: ignore[assignment]


def evolve(state: Ticket, e: EscalationEvent) -> Ticket:  # noqa: C901 - one case per event type
    """The ticket after one event (``state`` is left as it was: the changes are made to a copy)."""
    ticket = state.model_copy(deep=True)  # a ticket is a few assignments: copying is cheap beside an append
    ticket.updated_at = e.at
    a = ticket.current
    match e:
        case EscalationOpened():
            ticket = Ticket(ticket_id=e.ticket_id, parent_id=e.parent_id, community=e.community,
                            category=e.category, subject=e.subject, detail=e.detail, initiator=e.initiator,
                            initiator_kind=e.initiator_kind, levels=e.levels, outcomes=e.outcomes,
                            evidence=e.evidence, opened_at=e.at, updated_at=e.at, channel=e.channel,
                            ladder_version=e.ladder_version, grid=e.grid, building=e.building,
                            entrance=e.entrance, routed_by=e.routed_by, source=e.source,
                            case_number=e.case_number, complainant_digest=e.complainant_digest,
                            joint_spec=e.joint)
        case LevelAssigned():
            _end(ticket, e.at, "escalated" if e.reason == "escalated" else "transferred")
            ticket.assignments.append(Assignment(
                n=e.n, level=e.level, level_key=e.level_key, org=e.org, assigned_at=e.at, ack_due=e.ack_due,
                resolve_due=e.resolve_due, reason=e.reason, fallback_years=e.fallback_years,
                acknowledged_at=e.at if e.reason == "transferred" else None))
            ticket.status = "acknowledged" if e.reason == "transferred" else "assigned"
            ticket.transfer, ticket.question = None, None
        case Acknowledged() if a is not None:
            a.acknowledged_at = a.acknowledged_at or e.at
            ticket.status = "acknowledged"
        case InfoRequested():
            ticket.status, ticket.question = "info_requested", e.question
        case InfoProvided():
            ticket.status, ticket.question = "acknowledged", None
        case TransferRequested():
            ticket.transfer = PendingTransfer(from_org=e.from_org, to_org=e.to_org, by=e.by, reason=e.reason,
                                              at=e.at)
        case TransferAccepted() | TransferDeclined():
            ticket.transfer = None
        case Resolved() if a is not None:
            a.resolved_at = e.at
            _end(ticket, e.at, "resolved")
            ticket.status, ticket.outcome, ticket.resolution, ticket.resolved_at = (
                "resolved", e.outcome, e.resolution, e.at)
            ticket.follow_up_due, ticket.follow_up_fallback = e.follow_up_due, e.follow_up_fallback_years
            ticket.transfer = None
        case DeadlineMissed() if a is not None:
            a.missed = (*a.missed, e.deadline)
        case FollowUpAnswered():
            resolver = next((x for x in reversed(ticket.assignments) if x.ended_by == "resolved"), None)
            if resolver is not None:
                resolver.follow_up = e.answer
        case Reopened():
            resolver = next((x for x in reversed(ticket.assignments) if x.ended_by == "resolved"), None)
            if resolver is not None:
                resolver.reopened = True
            ticket.reopens += 1
            ticket.outcome = ticket.resolution = ticket.resolved_at = ticket.follow_up_due = None
            ticket.follow_up_fallback = ()
        case Closed():
            ticket.status, ticket.closed_outcome = "closed", e.outcome
        case Cancelled():
            _end(ticket, e.at, "cancelled")
            ticket.status, ticket.transfer = "cancelled", None
        case (WhistleBlown() | PartOpened() | PartReported() | PartResolved() | PartReleased()
              | PartDeadlineMissed() | PartEscalated()):
            apply_part(ticket.joint, e)
    return ticket


def fold(events: list[EscalationEvent]) -> Ticket:
    ticket = Ticket()
    for event in events:
        ticket = evolve(ticket, event)
    return ticket


# ---- the end of a ticket's stream -----------------------------------------------------------------------------

TERMINAL_EVENT_TYPES = frozenset(("Closed", "Cancelled"))
"""The events that end a ticket (``Ticket.finished``). ``Resolved`` is not one: a follow-up may reopen it."""
CLOSING_NOTICE_KIND = "escalation_closed"
"""The kind of the notice that announces a closing (the workflow publishes it right after ``Closed``)."""
HOTLINE_CHANNEL = "hotline-callback"
"""The channel of a callback to the hotline that created the ticket: the rating's comes after ``Closed``."""


def may_append(ticket: Ticket, events: Iterable[object], announced: Collection[str] = ()) -> bool:
    """Whether ``events`` may still be appended to the stream ``ticket`` was folded from.

    An open ticket's stream takes anything. A cancelled ticket's stream takes nothing more: a notice whose
    delivery finishes after the cancellation is not written after it as if the ticket were still running.
    A closed ticket's stream takes only the announcement of the closing: the notice of kind
    :data:`CLOSING_NOTICE_KIND` and the delivery records of such a notice (``announced``: the ids of the
    closing notices the stream already holds after ``Closed``), and the record of the callback that tells a
    hotline of the rating that closed it (channel :data:`HOTLINE_CHANNEL`).
    """
    if not ticket.finished:
        return True
    if ticket.status == "cancelled":
        return False
    return all((isinstance(e, NoticePublished) and e.kind == CLOSING_NOTICE_KIND)
               or (isinstance(e, NoticeDelivered | NoticeDeliveryFailed)
                   and (e.notice_id in announced or e.channel == HOTLINE_CHANNEL))
               for e in events)


# ---- commands -------------------------------------------------------------------------------------------------


class Dues(BaseModel):
    """An assignment's deadlines, counted from its time with its level's ``ack`` and ``resolve`` periods. Computed
    outside the domain (the workflow's ``compute_deadlines`` activity, on the calendar installed then) and recorded
    on ``LevelAssigned``, so a ticket's deadlines never change with the calendar afterwards."""

    model_config = ConfigDict(frozen=True)
    ack_due: AwareDatetime
    resolve_due: AwareDatetime
    fallback_years: tuple[int, ...] = ()

    @classmethod
    def of(cls, ack: PeriodEnd, resolve: PeriodEnd) -> Dues:
        return cls(ack_due=ack.ends_at, resolve_due=resolve.ends_at,
                   fallback_years=tuple(sorted(set(ack.fallback_years) | set(resolve.fallback_years))))


def assign(ticket: Ticket, level: int, at: datetime, reason: str, dues: Dues) -> LevelAssigned:
    lv = ticket.levels[level]
    return LevelAssigned(at=at, n=len(ticket.assignments) + 1, level=level, level_key=lv.key, org=lv.org,
                         ack_due=dues.ack_due, resolve_due=dues.resolve_due, reason=reason,  # type: ignore[arg-type]
                         fallback_years=dues.fallback_years)


def start_index(levels: tuple[Level, ...], start_level: str | None) -> int:
    """The index of the level a ticket starts at (the first when none is named)."""
    keys = [lv.key for lv in levels]
    if not keys:
        raise EscalationError(N_("the escalation ladder has no level"))
    if start_level is not None and start_level not in keys:
        raise EscalationError(N_("no level '%(start_level)s' in the ladder (valid: %(keys)s)"),
                              start_level=start_level, keys=Items(keys))
    return keys.index(start_level) if start_level else 0


def open_ticket(opened: EscalationOpened, start_level: str | None, dues: Dues) -> list[EscalationEvent]:
    """The opening events: ``EscalationOpened`` and the first ``LevelAssigned`` (at ``start_level``, with ``dues``
    counted from ``opened.at`` on that level's periods)."""
    level = start_index(opened.levels, start_level)
    return [opened, assign(evolve(Ticket(), opened), level, opened.at, "opened", dues)]


def level_to_assign(ticket: Ticket, command: str, at: datetime, answer: str = "") -> int | None:
    """The level whose deadlines ``command`` (``accept_transfer``, ``follow_up`` with ``answer``, or ``deadline``
    at ``at``) would assign if it is accepted, so that they are computed first; None when it assigns none."""
    a = ticket.current
    if a is None:
        return None
    if command == "accept_transfer" and ticket.transfer is not None:
        return a.level
    if command == "follow_up" and answer == "not_satisfied" and ticket.reopens == 0 and ticket.status == "resolved":
        return a.level
    nxt = next_deadline(ticket)
    if command == "deadline" and nxt is not None and nxt[1] <= at and a.level + 1 < len(ticket.levels):
        return a.level + 1
    return None


def _owner_check(ticket: Ticket, org: str, role: str, verb: str) -> Assignment:
    """The current owner's check before ``verb`` (a msgid: "acknowledged", "resolved"…)."""
    a = ticket.current
    if ticket.owner is None or a is None:
        raise EscalationError(N_("ticket %(ticket_id)s is %(status)s; it cannot be %(verb)s"),
                              ticket_id=ticket.ticket_id,
                              status=Label("status", ticket.status), verb=Text(verb))
    if org != a.org:
        raise EscalationError(N_("ticket %(ticket_id)s is owned by '%(owner)s'; '%(org)s' cannot have it %(verb)s"),
                              ticket_id=ticket.ticket_id, owner=a.org, org=org, verb=Text(verb))
    roles = ticket.levels[a.level].roles if a.reason != "transferred" else OWNING_ROLES
    if role not in roles:
        raise EscalationError(N_("role '%(role)s' cannot have it %(verb)s (allowed: %(roles)s)"),
                              role=Label("role", role),
                              verb=Text(verb), roles=Items(Label("role", r) for r in roles))
    return a


def _no_open_parts(ticket: Ticket, verb: str) -> None:
    """A joint ticket resolves when its parts are done or released, not before (domain/joint.py)."""
    waiting = [str(p.owner) for p in ticket.joint.open_parts]
    if waiting:
        raise EscalationError(N_("ticket %(ticket_id)s still has open parts (%(waiting)s); it cannot be %(verb)s "
                                 "now: it resolves when every part is done or released"),
                              ticket_id=ticket.ticket_id, waiting=Items(waiting), verb=Text(verb))


def _text(value: str, missing: str) -> str:
    """``value`` stripped; ``missing`` (a msgid) says what to write when it is empty."""
    if not value.strip():
        raise EscalationError(missing)
    return value.strip()


def acknowledge(ticket: Ticket, org: str, role: str, by: str, at: datetime) -> list[EscalationEvent]:
    a = _owner_check(ticket, org, role, N_("acknowledged"))
    if a.acknowledged_at is not None:
        raise EscalationError(N_("'%(org)s' acknowledged it at %(acknowledged_at)s"),
                              org=org, acknowledged_at=format(a.acknowledged_at, "%Y-%m-%d %H:%M"))
    return [Acknowledged(at=at, org=org, by=by)]


def request_info(ticket: Ticket, org: str, role: str, by: str, question: str, at: datetime) -> list[EscalationEvent]:
    """Asking the initiator for information also counts as acknowledging (it is a response)."""
    a = _owner_check(ticket, org, role, N_("asked for information"))
    q = _text(question, N_("write what information is needed"))
    ack: list[EscalationEvent] = [Acknowledged(at=at, org=org, by=by)] if a.acknowledged_at is None else []
    return [*ack, InfoRequested(at=at, org=org, by=by, question=q)]


def may_answer(ticket: Ticket, role: str, by: str) -> None:
    """The initiator answers (an owner through their link; a hotline's system; for a committee's ticket, the
    committee)."""
    if ticket.initiator_kind == "hotline":
        if role != "hotline":
            raise EscalationError(N_("only the hotline that created the ticket may answer"))
    elif ticket.initiator_kind == "owner":
        if role != "owner" or by != ticket.initiator:
            raise EscalationError(N_("only the initiator (owner %(initiator)s) may answer, through their link"),
                                  initiator=ticket.initiator)
    elif role != "committee":
        raise EscalationError(N_("only the committee (the initiator) may answer"))


def provide_info(ticket: Ticket, role: str, by: str, answer: str, at: datetime) -> list[EscalationEvent]:
    may_answer(ticket, role, by)
    if ticket.status != "info_requested":
        raise EscalationError(N_("no information was asked for"))
    return [InfoProvided(at=at, by=by, answer=_text(answer, N_("write the information")))]


def resolve(ticket: Ticket, org: str, role: str, by: str, outcome: str, resolution: str,
            at: datetime, follow_up: PeriodEnd | None = None) -> list[EscalationEvent]:
    """``follow_up``: when the initiator's follow-up period ends (recorded on ``Resolved``)."""
    a = _owner_check(ticket, org, role, N_("resolved"))
    _no_open_parts(ticket, N_("resolved"))
    if outcome not in ticket.outcomes:
        raise EscalationError(N_("outcome '%(outcome)s' is not one of: %(outcomes)s"),
                              outcome=outcome, outcomes=Items(Label("outcome", o) for o in ticket.outcomes))
    text = _text(resolution, N_("write the resolution"))
    ack: list[EscalationEvent] = [Acknowledged(at=at, org=org, by=by)] if a.acknowledged_at is None else []
    due = {} if follow_up is None else {"follow_up_due": follow_up.ends_at,
                                        "follow_up_fallback_years": follow_up.fallback_years}
    return [*ack, Resolved(at=at, org=org, by=by, outcome=outcome, resolution=text, **due)]


def request_transfer(ticket: Ticket, org: str, role: str, by: str, to_org: str, reason: str,
                     at: datetime) -> list[EscalationEvent]:
    """Ask another organisation to take the ticket; the asker owns it (and its deadlines) until accepted."""
    _owner_check(ticket, org, role, N_("transferred"))
    _no_open_parts(ticket, N_("transferred"))
    if ticket.transfer is not None:
        raise EscalationError(N_("a transfer to '%(to_org)s' is already waiting"), to_org=ticket.transfer.to_org)
    target = _text(to_org, N_("name the organisation to transfer to"))
    if target == org:
        raise EscalationError(N_("cannot transfer to your own organisation"))
    return [TransferRequested(at=at, from_org=org, to_org=target, by=by,
                              reason=_text(reason, N_("give the reason for the transfer")))]


def _transfer_check(ticket: Ticket, org: str, role: str) -> PendingTransfer:
    pending = ticket.transfer
    if pending is None or ticket.owner is None:
        raise EscalationError(N_("ticket %(ticket_id)s has no transfer waiting"), ticket_id=ticket.ticket_id)
    if org != pending.to_org or role not in OWNING_ROLES:
        raise EscalationError(N_("the transfer is addressed to '%(to_org)s', not '%(org)s'"),
                              to_org=pending.to_org, org=org)
    return pending


def accept_transfer(ticket: Ticket, org: str, role: str, by: str, at: datetime,
                    dues: Dues | None) -> list[EscalationEvent]:
    """The receiver takes ownership: a new assignment at the same level, acknowledged, fresh resolve deadline
    (``dues``, see :func:`level_to_assign`). With ``dues`` None the command is only checked (an update's
    validator): the events then lack the new assignment and are not to be appended."""
    _transfer_check(ticket, org, role)
    a = ticket.current
    assert a is not None
    accepted = TransferAccepted(at=at, org=org, by=by)
    if dues is None:
        return [accepted]
    return [accepted, assign(ticket, a.level, at, "transferred", dues).model_copy(update={"org": org})]


def decline_transfer(ticket: Ticket, org: str, role: str, by: str, reason: str, at: datetime) -> list[EscalationEvent]:
    _transfer_check(ticket, org, role)
    return [TransferDeclined(at=at, org=org, by=by, reason=_text(reason, N_("give the reason for declining")))]


def answer_follow_up(ticket: Ticket, role: str, by: str, answer: str, comment: str, at: datetime,
                     dues: Dues | None) -> list[EscalationEvent]:
    """Satisfied / basically satisfied close the ticket; not satisfied reopens it once at the same level, with
    ``dues`` (None: only checked, as for :func:`accept_transfer`)."""
    may_answer(ticket, role, by)
    if ticket.status != "resolved":
        raise EscalationError(N_("the ticket is not resolved yet; there is nothing to rate"))
    if answer not in ANSWERS:
        raise EscalationError(N_("answer '%(answer)s' is not one of: %(answers)s"), answer=answer,
                              answers=Items(Label("answer", a) for a in ANSWERS))
    answered = FollowUpAnswered(at=at, answer=answer, by=by, comment=comment.strip())  # type: ignore[arg-type]
    a = ticket.current
    assert a is not None
    if answer == "not_satisfied" and ticket.reopens == 0:
        reopened = Reopened(at=at, level=a.level, reason="initiator not satisfied")
        return [answered, reopened] + ([] if dues is None else [assign(ticket, a.level, at, "reopened", dues)])
    return [answered, Closed(at=at, outcome=ticket.outcome or "resolved", note=answer)]


def follow_up_lapsed(ticket: Ticket, at: datetime) -> list[EscalationEvent]:
    """No answer within the follow-up period: closed with the resolution as it stands."""
    return [Closed(at=at, outcome=ticket.outcome or "resolved", note="no follow-up answer")]


def next_deadline(ticket: Ticket) -> tuple[str, datetime] | None:
    """The current assignment's earliest deadline not yet met nor recorded as missed. None while a joint part is
    open: the ticket waits on its parts (domain/joint.py), each with its own deadlines."""
    a = ticket.current
    if a is None or ticket.owner is None or ticket.joint.open_parts:
        return None
    due = []
    if a.acknowledged_at is None and "acknowledge" not in a.missed:
        due.append(("acknowledge", a.ack_due))
    if a.resolved_at is None and "resolve" not in a.missed:
        due.append(("resolve", a.resolve_due))
    return min(due, key=lambda d: d[1]) if due else None


def deadline_passed(ticket: Ticket, at: datetime, dues: Dues | None = None) -> list[EscalationEvent]:
    """The deadline due at ``at`` passed: record it, and move to the next level when there is one (with ``dues``,
    see :func:`level_to_assign`; needed then)."""
    nxt, a = next_deadline(ticket), ticket.current
    if nxt is None or a is None or nxt[1] > at:
        return []
    kind, due = nxt
    missed = DeadlineMissed(at=at, n=a.n, org=a.org, deadline=kind, due_at=due)  # type: ignore[arg-type]
    if a.level + 1 >= len(ticket.levels):
        return [missed]  # the top level: recorded, shown overdue, the ticket stays
    if dues is None:
        raise EscalationError(N_("the next level's deadlines must be computed first"))
    reason = f"{kind} deadline missed by {a.org}"
    return [missed, Escalated(at=at, from_level=a.level, to_level=a.level + 1, reason=reason),
            assign(ticket, a.level + 1, at, "escalated", dues)]
