"""响应率、解决率、满意率 of escalation tickets, per level and per organisation, exact (``Fraction``).

The unit counted is an *assignment*: one organisation's turn with one ticket at one level (a ticket that
climbs two levels, or is reopened, counts once per turn). An assignment belongs to the period
``[start, end)`` when it was assigned in it.

For each deadline (acknowledge, resolve) an assignment is

* **met** — the act (acknowledgement, resolution) happened at or before the deadline;
* **missed** — the act happened after the deadline, or did not happen and the deadline passed while the
  assignment was still the organisation's (before it ended, or before ``as_of`` if it is current);
* **void** — otherwise: not acted on, and the turn ended before the deadline (escalated for a missed
  acknowledgement, transferred, cancelled) or the deadline is still ahead. Void turns are left out.

Then:

* response rate (响应率) = acknowledge met / (met + missed);
* resolution rate (解决率) = resolve met / (met + missed);
* satisfaction rate (满意率) = (satisfied + basically satisfied) / follow-up answers, where an answer is
  counted with the assignment whose resolution it rates.

A rate with an empty denominator is ``None`` (shown as "—"), never 0 or 100 %.

The appraisal (issue 19, domain/grid_appraisal.py) counts with the same cell, and adds per turn:

* **overdue** — the resolve deadline is *missed* (as above: resolved late, or not resolved while it passed);
* **reopened** — its resolution was rated "not satisfied" and the ticket reopened;
* **mean time to respond / resolve** — over the turns acknowledged (resolved), at any time, the mean of the time
  from assignment to the act, an exact ``Fraction`` of seconds.

A joint ticket's part (吹哨报到) is a turn like an assignment: its report-in deadline is the acknowledge deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal

from domain.escalation import Assignment, Ticket

Verdict = Literal["met", "missed", "void"]


def verdict(done_at: datetime | None, due: datetime, ended_at: datetime | None, as_of: datetime) -> Verdict:
    if done_at is not None:
        return "met" if done_at <= due else "missed"
    horizon = ended_at if ended_at is not None else as_of
    return "missed" if due <= horizon else "void"


@dataclass
class RateCell:
    assigned: int = 0
    ack_met: int = 0
    ack_missed: int = 0
    resolve_met: int = 0
    resolve_missed: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    not_satisfied: int = 0
    overdue: int = 0
    reopened: int = 0
    responded: int = 0
    respond_us: int = 0
    """Microseconds from assignment to acknowledgement, summed over the ``responded`` turns."""
    resolved: int = 0
    resolve_us: int = 0

    @property
    def answered(self) -> int:
        return self.satisfied + self.basically_satisfied + self.not_satisfied

    @property
    def response_rate(self) -> Fraction | None:
        return _ratio(self.ack_met, self.ack_met + self.ack_missed)

    @property
    def resolution_rate(self) -> Fraction | None:
        return _ratio(self.resolve_met, self.resolve_met + self.resolve_missed)

    @property
    def satisfaction_rate(self) -> Fraction | None:
        return _ratio(self.satisfied + self.basically_satisfied, self.answered)

    @property
    def mean_respond_s(self) -> Fraction | None:
        return _ratio(self.respond_us, self.responded * 1_000_000)

    @property
    def mean_resolve_s(self) -> Fraction | None:
        return _ratio(self.resolve_us, self.resolved * 1_000_000)

    def add(self, a: Assignment, as_of: datetime) -> None:
        self.assigned += 1
        ack = verdict(a.acknowledged_at, a.ack_due, a.ended_at, as_of)
        res = verdict(a.resolved_at, a.resolve_due, a.ended_at, as_of)
        self.ack_met += ack == "met"
        self.ack_missed += ack == "missed"
        self.resolve_met += res == "met"
        self.resolve_missed += res == "missed"
        self.overdue += res == "missed"
        self.reopened += a.reopened
        if a.acknowledged_at is not None:
            self.responded += 1
            self.respond_us += (a.acknowledged_at - a.assigned_at) // timedelta(microseconds=1)
        if a.resolved_at is not None:
            self.resolved += 1
            self.resolve_us += (a.resolved_at - a.assigned_at) // timedelta(microseconds=1)
        if a.follow_up is not None:
            setattr(self, a.follow_up, getattr(self, a.follow_up) + 1)

    def merge(self, other: RateCell) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _ratio(num: int, den: int) -> Fraction | None:
    return Fraction(num, den) if den else None


@dataclass
class RatesReport:
    start: datetime
    end: datetime
    as_of: datetime
    total: RateCell = field(default_factory=RateCell)
    by_level: dict[str, RateCell] = field(default_factory=dict)
    by_org: dict[str, RateCell] = field(default_factory=dict)


def rates(tickets: Iterable[Ticket], start: datetime, end: datetime, as_of: datetime) -> RatesReport:
    """The three rates over assignments made in ``[start, end)``, judged as of ``as_of``."""
    report = RatesReport(start=start, end=end, as_of=as_of)
    for ticket in tickets:
        for a in ticket.assignments:
            if not start <= a.assigned_at < end:
                continue
            for cell in (report.total, report.by_level.setdefault(a.level_key, RateCell()),
                         report.by_org.setdefault(a.org, RateCell())):
                cell.add(a, as_of)
    return report
