"""Appraisal of grids, grid workers, departments and communities (考核评价, issue 19), pure.

Per month or half-year (每半年开展一次考核评价), the figures of domain/escalation_rates.py — received, responded within
the deadline (响应率), resolved within it (解决率), satisfied (满意率), overdue, reopened, the mean times to respond
and to resolve — counted over **turns**: an assignment of a ticket at a level, or a turn with a joint part (吹哨报到),
assigned in the period, judged as of a moment. The same :class:`RateCell`, so the same definitions as the rates.

Whose figures a turn counts for, by dimension:

* ``grid`` — turns of a grid's own organisation (``grid:<community>:<code>``);
* ``worker`` — the same turns, for each grid worker who served that grid when the turn was assigned (the
  structure's history: a worker who left keeps the figures of their time, a new one starts from theirs);
* ``department`` — turns of ``dept:*`` organisations, levels and parts alike;
* ``community`` — every turn of the community's tickets; ``org``, ``level`` and ``channel`` (书记直通车 shows as
  ``secretary``) likewise.

yishi/services/appraisal.py computes the same cells in SQL over the read model; tests hold the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from domain.errors import N_, DomainError
from domain.escalation import Assignment, Ticket
from domain.escalation_rates import RateCell
from domain.legal_calendar import BEIJING

DIMENSIONS = ("grid", "worker", "department", "community", "org", "level", "channel")


class PeriodLabelError(DomainError, ValueError):
    """A period written in a form that is neither a month nor a half-year."""


def period_of(label: str) -> tuple[datetime, datetime]:
    """``2026-03`` (a month) or ``2026-H1`` / ``2026-H2`` (a half-year) as ``[start, end)`` instants, Beijing."""
    try:
        year_text, part = label.strip().upper().split("-")
        year = int(year_text)
        if part in ("H1", "H2"):
            first, last = (1, 7) if part == "H1" else (7, 13)
        else:
            first = int(part)
            if not 1 <= first <= 12:
                raise ValueError
            last = first + 1
    except ValueError:
        raise PeriodLabelError(N_("period '%(label)s' must be like 2026-03 (a month) or 2026-H1 (a half-year)"),
                               label=label) from None
    end = date(year + 1, 1, 1) if last == 13 else date(year, last, 1)
    return datetime.combine(date(year, first, 1), time(), BEIJING), datetime.combine(end, time(), BEIJING)


@dataclass(frozen=True)
class Turn:
    """A turn with its ticket's community, grid and channel (a part's turn as an :class:`Assignment`)."""

    community: str
    grid: str
    channel: str
    kind: str
    a: Assignment


def turns_of(ticket: Ticket) -> list[Turn]:
    out = [Turn(ticket.community, ticket.grid, ticket.channel, "level", a) for a in ticket.assignments]
    for part in ticket.joint.parts:
        for n, t in enumerate(part.turns, start=1):
            as_assignment = Assignment(
                n=n, level=-1, level_key="part", org=t.org, assigned_at=t.assigned_at, ack_due=t.report_due,
                resolve_due=t.resolve_due, reason="part", acknowledged_at=t.reported_at, resolved_at=t.resolved_at,
                ended_at=t.ended_at, ended_by="resolved" if t.ended_by == "resolved" else None)
            out.append(Turn(ticket.community, ticket.grid, ticket.channel, "part", as_assignment))
    return out


def is_grid_org(org: str) -> bool:
    return org.startswith("grid:") and org.count(":") >= 2


def keys_of(turn: Turn, dimension: str, workers: Callable[[str, datetime], list[str]]) -> list[str]:
    a = turn.a
    match dimension:
        case "grid":
            return [a.org] if turn.kind == "level" and is_grid_org(a.org) else []
        case "worker":
            return workers(a.org, a.assigned_at) if turn.kind == "level" and is_grid_org(a.org) else []
        case "department":
            return [a.org] if a.org.startswith("dept:") else []
        case "community":
            return [turn.community]
        case "org":
            return [a.org]
        case "level":
            return [a.level_key]
        case "channel":
            return [turn.channel]
    raise ValueError(f"unknown dimension {dimension!r}; one of {', '.join(DIMENSIONS)}")


@dataclass
class Appraisal:
    dimension: str
    start: datetime
    end: datetime
    as_of: datetime
    cells: dict[str, RateCell] = field(default_factory=dict)
    total: RateCell = field(default_factory=RateCell)


def appraise(tickets: Iterable[Ticket], dimension: str, start: datetime, end: datetime, as_of: datetime,
             workers: Callable[[str, datetime], list[str]] = lambda org, at: []) -> Appraisal:
    """The cells of ``dimension`` over the turns assigned in ``[start, end)``, judged as of ``as_of``; ``total``
    counts each turn once: for ``worker``, every grid turn (a turn of a grid two workers share is in both workers'
    cells, a turn of a grid no one served in neither)."""
    report = Appraisal(dimension, start, end, as_of)
    for ticket in tickets:
        for turn in turns_of(ticket):
            if not start <= turn.a.assigned_at < end:
                continue
            keys = keys_of(turn, dimension, workers)
            if keys_of(turn, "grid" if dimension == "worker" else dimension, workers):
                report.total.add(turn.a, as_of)
            for key in keys:
                report.cells.setdefault(key, RateCell()).add(turn.a, as_of)
    return report
