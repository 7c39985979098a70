"""吹哨报到 on one ticket (issue 19): the parts of a joint ticket, their events and how they fold, pure.

The organisation that owns a ticket at the street level "blows the whistle" (``WhistleBlown``) on several
departments at once. Each department gets a **part** (``PartOpened``): its own report-in (报到) deadline and its own
resolve deadline, counted from the whistle. A department reports in (``PartReported``) and resolves its part
(``PartResolved``, with its written resolution); the street office may release a department from its part
(``PartReleased``). A part whose deadline passes is recorded (``PartDeadlineMissed``) and moves, alone, to the
supervisor of the ticket's ladder version (``PartEscalated``, fresh deadlines); a supervisor's missed deadline is
recorded only. While a part is open the ticket's own deadlines wait; when every part is done or released the ticket
is resolved by the organisation that blew the whistle, with the parts' resolutions.

This module holds the parts' state and events (imported by domain/escalation.py, which folds them into the ticket);
the commands are in domain/joint_commands.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict


class JointSpec(BaseModel):
    """A ladder version's rule for parts: the report-in and resolve periods counted from the whistle, and the
    supervisor a part moves to when one of them passes (once), with fresh deadlines of the same length."""

    model_config = ConfigDict(frozen=True)
    report: str = "PT24H"
    resolve: str = "5wd"
    supervisor: str = "dept:supervision"
    supervisor_zh: str = "区接诉即办工作专班（督办）"
    supervisor_en: str = "District 12345 supervision office"


class _PartEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime


class WhistleBlown(_PartEvent):
    type: Literal["WhistleBlown"] = "WhistleBlown"
    org: str
    by: str
    departments: tuple[str, ...]
    reason: str


class PartOpened(_PartEvent):
    type: Literal["PartOpened"] = "PartOpened"
    part: int
    org: str
    report_due: AwareDatetime
    resolve_due: AwareDatetime
    fallback_years: tuple[int, ...] = ()


class PartReported(_PartEvent):
    type: Literal["PartReported"] = "PartReported"
    part: int
    org: str
    by: str


class PartResolved(_PartEvent):
    type: Literal["PartResolved"] = "PartResolved"
    part: int
    org: str
    by: str
    resolution: str


class PartReleased(_PartEvent):
    type: Literal["PartReleased"] = "PartReleased"
    part: int
    org: str
    by: str
    reason: str


class PartDeadlineMissed(_PartEvent):
    type: Literal["PartDeadlineMissed"] = "PartDeadlineMissed"
    part: int
    org: str
    deadline: Literal["report", "resolve"]
    due_at: AwareDatetime


class PartEscalated(_PartEvent):
    type: Literal["PartEscalated"] = "PartEscalated"
    part: int
    from_org: str
    to_org: str
    report_due: AwareDatetime
    resolve_due: AwareDatetime
    reason: str
    fallback_years: tuple[int, ...] = ()


PartEvent = (WhistleBlown | PartOpened | PartReported | PartResolved | PartReleased | PartDeadlineMissed
             | PartEscalated)
PART_EVENT_TYPES = frozenset(("WhistleBlown", "PartOpened", "PartReported", "PartResolved", "PartReleased",
                              "PartDeadlineMissed", "PartEscalated"))


class PartTurn(BaseModel):
    """One organisation's turn with a part: the department, or the supervisor after an escalation."""

    org: str
    assigned_at: datetime
    report_due: datetime
    resolve_due: datetime
    fallback_years: tuple[int, ...] = ()
    reported_at: datetime | None = None
    resolved_at: datetime | None = None
    missed: tuple[str, ...] = ()
    ended_at: datetime | None = None
    ended_by: Literal["resolved", "released", "escalated"] | None = None


class Part(BaseModel):
    part: int
    department: str
    """The department the whistle called in (it keeps seeing the part after an escalation)."""
    status: Literal["open", "done", "released"] = "open"
    turns: list[PartTurn] = []
    resolution: str | None = None
    released_reason: str | None = None

    @property
    def current(self) -> PartTurn:
        return self.turns[-1]

    @property
    def owner(self) -> str | None:
        return self.current.org if self.status == "open" else None

    def next_deadline(self) -> tuple[str, datetime] | None:
        """The current turn's earliest deadline not yet met nor recorded as missed (None once closed)."""
        if self.status != "open":
            return None
        t = self.current
        due = []
        if t.reported_at is None and "report" not in t.missed:
            due.append(("report", t.report_due))
        if t.resolved_at is None and "resolve" not in t.missed:
            due.append(("resolve", t.resolve_due))
        return min(due, key=lambda d: d[1]) if due else None


class Joint(BaseModel):
    """A ticket's whistle: who blew it, and its parts (numbered from 1 across every whistle on the ticket)."""

    org: str | None = None
    parts: list[Part] = []

    @property
    def open_parts(self) -> list[Part]:
        return [p for p in self.parts if p.status == "open"]

    def part(self, number: int) -> Part | None:
        return next((p for p in self.parts if p.part == number), None)

    def orgs(self) -> set[str]:
        """Every organisation that owns or owned a part."""
        return {t.org for p in self.parts for t in p.turns}


def _end(turn: PartTurn, at: datetime, how: str) -> None:
    if turn.ended_at is None:
        turn.ended_at, turn.ended_by = at, how  # type: ignore[assignment]


def apply_part(joint: Joint, e: PartEvent) -> None:  # noqa: C901 - one case per event type
    """Apply a part event to ``joint`` in place (the ticket's evolve works on a copy)."""
    match e:
        case WhistleBlown():
            joint.org = e.org
        case PartOpened():
            joint.parts.append(Part(part=e.part, department=e.org, turns=[PartTurn(
                org=e.org, assigned_at=e.at, report_due=e.report_due, resolve_due=e.resolve_due,
                fallback_years=e.fallback_years)]))
        case PartReported():
            if (p := joint.part(e.part)) is not None and p.current.reported_at is None:
                p.current.reported_at = e.at
        case PartResolved():
            if (p := joint.part(e.part)) is not None:
                p.current.reported_at = p.current.reported_at or e.at
                p.current.resolved_at = e.at
                _end(p.current, e.at, "resolved")
                p.status, p.resolution = "done", e.resolution
        case PartReleased():
            if (p := joint.part(e.part)) is not None:
                _end(p.current, e.at, "released")
                p.status, p.released_reason = "released", e.reason
        case PartDeadlineMissed():
            if (p := joint.part(e.part)) is not None:
                p.current.missed = (*p.current.missed, e.deadline)
        case PartEscalated():
            if (p := joint.part(e.part)) is not None:
                _end(p.current, e.at, "escalated")
                p.turns.append(PartTurn(org=e.to_org, assigned_at=e.at, report_due=e.report_due,
                                        resolve_due=e.resolve_due, fallback_years=e.fallback_years))
