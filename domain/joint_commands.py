"""吹哨报到 commands (issue 19), pure: blow the whistle on departments, report in, resolve or release a part, the
parts' deadlines, and the ticket's resolution once every part is done or released (see domain/joint.py).

Each command checks who acts (:func:`authorise_part`: the same rule the workflow's update validators apply) and the
state, and returns the events to append; a refusal says who may act instead, in Chinese and English.
"""

from __future__ import annotations

import re
from datetime import datetime

from domain.errors import N_, Items, Label, Text
from domain.escalation import Acknowledged, Dues, EscalationError, EscalationEvent, Resolved, Ticket
from domain.joint import (
    JointSpec,
    Part,
    PartDeadlineMissed,
    PartEscalated,
    PartOpened,
    PartReleased,
    PartReported,
    PartResolved,
    WhistleBlown,
)
from domain.legal_calendar import PeriodEnd

WHISTLE_ROLES = ("street_office",)
PART_ROLES = ("department", "street_office")
PART_ACTIONS = ("report_in", "resolve_part")
JOINT_ACTIONS = ("whistle", "release_part", *PART_ACTIONS)
MAX_PARTS = 12
ORG = re.compile(r"^[\w.:-]{1,100}$")


def spec_of(ticket: Ticket) -> JointSpec:
    """The parts' rule the ticket started with (the default for tickets opened before it was recorded)."""
    return ticket.joint_spec or JointSpec()


def _part(ticket: Ticket, number: int) -> Part:
    part = ticket.joint.part(number)
    if part is None:
        numbers = Items(str(p.part) for p in ticket.joint.parts)
        raise EscalationError(N_("ticket %(ticket_id)s has no part %(number)s (parts: %(numbers)s)"),
                              ticket_id=ticket.ticket_id, number=number, numbers=numbers or Text(N_("none")))
    return part


def authorise_part(ticket: Ticket, action: str, *, role: str, org: str, part: int = 0) -> None:
    """Who may act on a joint ticket: the whistle comes from the ticket's owner at the street level (role
    ``street_office``); a part's report-in and resolution from the organisation that owns the part now; a
    release from the organisation that blew the whistle."""
    if not org.strip():
        raise EscalationError(N_("the account acts for no organisation"))
    if action == "whistle":
        if ticket.owner is not None and org != ticket.owner:
            raise EscalationError(N_("ticket %(ticket_id)s is owned by '%(owner)s'; '%(org)s' cannot blow the "
                                     "whistle on it"), ticket_id=ticket.ticket_id, owner=ticket.owner, org=org)
        if role not in WHISTLE_ROLES:
            raise EscalationError(N_("only the street office blows the whistle"))
    elif action in PART_ACTIONS:
        p = _part(ticket, part)
        if p.owner is not None and (org != p.owner or role not in PART_ROLES):
            raise EscalationError(N_("part %(part)s is owned by '%(owner)s', not by '%(org)s'"), part=part,
                                  owner=p.owner, org=org)
    elif action == "release_part":
        _part(ticket, part)
        if org != ticket.joint.org or role not in WHISTLE_ROLES:
            raise EscalationError(N_("only the organisation that blew the whistle (%(org)s) may release a part"),
                                  org=ticket.joint.org)
    else:
        raise EscalationError(N_("unknown action '%(action)s'"), action=action)


def blow_whistle(ticket: Ticket, org: str, role: str, by: str, departments: tuple[str, ...], reason: str,
                 at: datetime, dues: Dues | None) -> list[EscalationEvent]:
    """Call ``departments`` in at once, each to a part with the report-in and resolve deadlines ``dues`` (counted
    from ``at`` on the ticket's joint periods); with ``dues`` None the command is only checked."""
    authorise_part(ticket, "whistle", role=role, org=org)
    if ticket.owner is None or ticket.current is None:
        raise EscalationError(N_("ticket %(ticket_id)s is %(status)s; no whistle can be blown on it"),
                              ticket_id=ticket.ticket_id, status=Label("status", ticket.status))
    wanted = [d.strip() for d in departments if d.strip()]
    taken = {p.owner for p in ticket.joint.open_parts} | {p.department for p in ticket.joint.open_parts}
    bad = [d for d in wanted if not ORG.match(d) or d == org]
    again = sorted({d for d in wanted if wanted.count(d) > 1 or d in taken})
    if not wanted or bad or again or len(wanted) > MAX_PARTS:
        if bad:
            raise EscalationError(N_("name 1 to %(most)s different departments (e.g. dept:housing,dept:urban); "
                                     "not valid: %(bad)s"), most=MAX_PARTS, bad=Items(bad))
        if again:
            raise EscalationError(N_("name 1 to %(most)s different departments (e.g. dept:housing,dept:urban); "
                                     "repeated or already called: %(again)s"), most=MAX_PARTS, again=Items(again))
        raise EscalationError(N_("name 1 to %(most)s different departments (e.g. dept:housing,dept:urban)"),
                              most=MAX_PARTS)
    why = reason.strip()
    if not why:
        raise EscalationError(N_("write why the departments are called in"))
    ack: list[EscalationEvent] = [] if ticket.current.acknowledged_at else [Acknowledged(at=at, org=org, by=by)]
    blown = WhistleBlown(at=at, org=org, by=by, departments=tuple(wanted), reason=why[:2000])
    if dues is None:
        return [*ack, blown]
    first = len(ticket.joint.parts) + 1
    parts = [PartOpened(at=at, part=first + i, org=d, report_due=dues.ack_due, resolve_due=dues.resolve_due,
                        fallback_years=dues.fallback_years) for i, d in enumerate(wanted)]
    return [*ack, blown, *parts]


def _open(ticket: Ticket, number: int, verb: str) -> Part:
    """The open part ``number``; ``verb`` (a msgid) says what cannot be done to a closed one."""
    part = _part(ticket, number)
    if part.status != "open":
        raise EscalationError(N_("part %(number)s is %(state)s; it cannot be %(verb)s"), number=number,
                              state=Label("part_status", part.status), verb=Text(verb))
    return part


def report_in(ticket: Ticket, number: int, org: str, role: str, by: str, at: datetime) -> list[EscalationEvent]:
    """报到: the department (or its supervisor) takes its part up."""
    authorise_part(ticket, "report_in", role=role, org=org, part=number)
    part = _open(ticket, number, N_("reported in"))
    if part.current.reported_at is not None:
        raise EscalationError(N_("'%(org)s' reported in at %(reported_at)s"), org=org,
                              reported_at=format(part.current.reported_at, "%Y-%m-%d %H:%M"))
    return [PartReported(at=at, part=number, org=org, by=by)]


def resolve_part(ticket: Ticket, number: int, org: str, role: str, by: str, text: str,
                 at: datetime) -> list[EscalationEvent]:
    authorise_part(ticket, "resolve_part", role=role, org=org, part=number)
    _open(ticket, number, N_("resolved"))
    if not text.strip():
        raise EscalationError(N_("write the department's resolution"))
    return [PartResolved(at=at, part=number, org=org, by=by, resolution=text.strip()[:4000])]


def release_part(ticket: Ticket, number: int, org: str, role: str, by: str, reason: str,
                 at: datetime) -> list[EscalationEvent]:
    authorise_part(ticket, "release_part", role=role, org=org, part=number)
    _open(ticket, number, N_("released"))
    if not reason.strip():
        raise EscalationError(N_("write why the part is released"))
    return [PartReleased(at=at, part=number, org=org, by=by, reason=reason.strip()[:2000])]


def next_part_deadline(ticket: Ticket) -> datetime | None:
    found = [d[1] for p in ticket.joint.open_parts if (d := p.next_deadline()) is not None]
    return min(found) if found else None


def parts_to_escalate(ticket: Ticket, at: datetime) -> list[int]:
    """The open parts whose deadline has passed at ``at`` and that are still with their department (a part
    moves to the supervisor once; the supervisor's missed deadline is recorded only)."""
    return [p.part for p in ticket.joint.open_parts
            if (d := p.next_deadline()) is not None and d[1] <= at and len(p.turns) == 1]


def part_deadlines_passed(ticket: Ticket, at: datetime, dues: Dues | None) -> list[EscalationEvent]:
    """Every open part's deadline passed at ``at``: recorded; a department's part moves to the supervisor with
    ``dues`` (needed when :func:`parts_to_escalate` names any)."""
    spec, events = spec_of(ticket), []
    for part in ticket.joint.open_parts:
        due = part.next_deadline()
        if due is None or due[1] > at:
            continue
        turn = part.current
        events.append(PartDeadlineMissed(at=at, part=part.part, org=turn.org, deadline=due[0],  # type: ignore[arg-type]
                                         due_at=due[1]))
        if len(part.turns) == 1:
            if dues is None:
                raise EscalationError(N_("the supervisor's deadlines must be computed first"))
            events.append(PartEscalated(at=at, part=part.part, from_org=turn.org, to_org=spec.supervisor,
                                        report_due=dues.ack_due, resolve_due=dues.resolve_due,
                                        reason=f"{due[0]} deadline missed by {turn.org}",
                                        fallback_years=dues.fallback_years))
    return events


def joint_resolution(ticket: Ticket, at: datetime, follow_up: PeriodEnd | None) -> list[EscalationEvent]:
    """The ticket's resolution once every part called in during its current turn is done or released (none
    before, or when it is not open)."""
    current = ticket.current
    if current is None or ticket.owner is None or ticket.joint.open_parts:
        return []
    # The parts of this turn: a ticket reopened after a joint resolution waits for a new whistle (or resolves).
    parts = [p for p in ticket.joint.parts if p.turns[0].assigned_at >= current.assigned_at]
    if not parts:
        return []
    lines = [f"{p.department}：{p.resolution}" if p.status == "done" else
             f"{p.department}：已免除（{p.released_reason}） / released ({p.released_reason})" for p in parts]
    due = {} if follow_up is None else {"follow_up_due": follow_up.ends_at,
                                        "follow_up_fallback_years": follow_up.fallback_years}
    return [Resolved(at=at, org=ticket.owner, by="吹哨报到 / joint parts", outcome="resolved",
                     resolution="\n".join(lines), **due)]
