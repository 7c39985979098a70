"""The street's register of property companies, folded, and its red/black list (红黑榜) rule (pure, exact).

The rule, for a period (``2025Q2``, ``2025H1``, ``2025-05``, ``2025``; Beijing dates, the end excluded):

- **Score**: the mean of the scores (out of 100) of the company's appraisals *of that period* that closed with a
  result and whose participation (raters / owners) is at least ``min_participation``; an appraisal below it is
  listed as excluded, not counted. Every estate counts once, whatever its size. No counted appraisal: no score.
- **Tickets**: escalation tickets the street attributed to the company, opened within the period, not cancelled.
- **Black list**: score below ``black_below_score`` (default 60), or at least ``black_min_tickets`` tickets
  (default 5).
- **Red list**: a score of at least ``red_min_score`` (default 90) and at most ``red_max_tickets`` tickets
  (default 0). A company without a score is never on the red list.
- Otherwise on neither. The thresholds are settings (``YISHI_APPRAISAL_*``), recorded in each published list.

A company on the latest black list published by any street is flagged when it appears as a candidate in a
property-replacement vote (shown, never refused: the owners decide).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

from domain.appraisal_events import AppraisalItem, CompanyRef, OwnerWeight
from domain.company_events import (
    AppraisalScheduled,
    CompanyEvent,
    CompanyRegistered,
    EstateAssigned,
    ItemsSet,
    ListEntry,
    ListPublished,
    ListThresholds,
    RegisterOpened,
    TicketAttributed,
)
from domain.errors import N_, DomainError

_PERIOD = re.compile(r"^(\d{4})(?:Q([1-4])|H([12])|-(0[1-9]|1[0-2]))?$")


class RegisterError(DomainError):
    """A register command is refused; the message says why."""


def period_dates(period: str) -> tuple[dt.date, dt.date]:
    """``[start, end)`` of a period label: ``2025``, ``2025H1``, ``2025Q2``, ``2025-05``."""
    match = _PERIOD.match(period)
    if match is None:
        raise RegisterError(N_("cannot read period '%(period)s'; write 2025Q2, 2025H1, 2025-05 or 2025"),
                            period=period)
    year, quarter, half, month = match.groups()
    first, months = ((int(quarter) - 1) * 3 + 1, 3) if quarter else ((int(half) - 1) * 6 + 1, 6) if half else (
        (int(month), 1) if month else (1, 12))
    start = dt.date(int(year), first, 1)
    end_month = first + months
    end = dt.date(int(year) + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return start, end


@dataclass
class Register:
    street: str | None = None
    companies: dict[str, CompanyRef] = field(default_factory=dict)
    estates: dict[str, EstateAssigned] = field(default_factory=dict)
    items: tuple[AppraisalItem, ...] = ()
    owner_weight: OwnerWeight = "headcount"
    appraisals: dict[str, AppraisalScheduled] = field(default_factory=dict)
    attributions: dict[str, TicketAttributed] = field(default_factory=dict)
    lists: list[ListPublished] = field(default_factory=list)

    def apply(self, event: CompanyEvent) -> None:
        match event:
            case RegisterOpened():
                self.street = event.street
            case CompanyRegistered():
                self.companies[event.company.credit_code] = event.company
            case EstateAssigned():
                self.estates[event.estate] = event
            case ItemsSet():
                self.items, self.owner_weight = event.items, event.owner_weight
            case AppraisalScheduled():
                self.appraisals[event.appraisal_id] = event
            case TicketAttributed():
                self.attributions[event.ticket_id] = event
            case ListPublished():
                self.lists.append(event)

    def company(self, credit_code: str) -> CompanyRef:
        found = self.companies.get(credit_code)
        if found is None:
            raise RegisterError(N_("no property company with credit code %(code)s is registered; register it "
                                   "first"), code=credit_code)
        return found


def fold(events: Iterable[CompanyEvent]) -> Register:
    register = Register()
    for event in events:
        register.apply(event)
    return register


class AppraisalSummary(BaseModel):
    """What the list needs of one appraisal: its company and period, and its recorded result."""

    model_config = ConfigDict(frozen=True)
    appraisal_id: str
    credit_code: str
    period: str
    closed: bool
    score: Fraction | None
    participation: Fraction | None


class TicketSummary(BaseModel):
    model_config = ConfigDict(frozen=True)
    ticket_id: str
    opened_at: dt.datetime | None
    """None when the ticket's stream has no EscalationOpened (it was never opened, or is missing)."""
    cancelled: bool = False


BEIJING = dt.timezone(dt.timedelta(hours=8))


def compute_list(register: Register, period: str, thresholds: ListThresholds,
                 appraisals: Sequence[AppraisalSummary], tickets: Sequence[TicketSummary]) -> tuple[ListEntry, ...]:
    """Every registered company's entry for ``period`` under ``thresholds``, in credit-code order."""
    start, end = period_dates(period)
    by_ticket = {t.ticket_id: t for t in tickets}
    entries = []
    for code, company in sorted(register.companies.items()):
        mine = [a for a in appraisals if a.credit_code == code and a.period == period and a.closed
                and a.score is not None]
        counted = [a for a in mine if (a.participation or 0) >= thresholds.min_participation]
        excluded = tuple(a.appraisal_id for a in mine if a not in counted)
        score = sum((a.score for a in counted), Fraction(0)) / len(counted) if counted else None  # type: ignore[misc]
        filed = tuple(sorted(
            t for t, a in register.attributions.items() if a.credit_code == code and (found := by_ticket.get(t))
            and not found.cancelled and found.opened_at is not None
            and start <= found.opened_at.astimezone(BEIJING).date() < end))
        name, reasons = _classify(score, len(filed), thresholds)
        entries.append(ListEntry(credit_code=code, name=company.name, list=name, score=score,
                                 appraisals=tuple(a.appraisal_id for a in counted), excluded=excluded, tickets=filed,
                                 reasons=reasons))
    return tuple(entries)


def _classify(score: Fraction | None, tickets: int, t: ListThresholds) -> tuple[str, tuple[str, ...]]:
    black = []
    if score is not None and score < t.black_below_score:
        black.append(f"score below {t.black_below_score}")
    if tickets >= t.black_min_tickets:
        black.append(f"{tickets} tickets (at least {t.black_min_tickets})")
    if black:
        return "black", tuple(black)
    if score is not None and score >= t.red_min_score and tickets <= t.red_max_tickets:
        return "red", (f"score at least {t.red_min_score}", f"{tickets} tickets (at most {t.red_max_tickets})")
    return "none", ()


def black_listed(lists: Iterable[tuple[str, ListPublished]], credit_code: str) -> list[tuple[str, ListPublished,
                                                                                                ListEntry]]:
    """``(street, list, entry)`` for each street whose latest published list has ``credit_code`` on its black list."""
    latest: dict[str, ListPublished] = {}
    for street, published in lists:
        latest[street] = published  # in stream order: the last one stands
    found = []
    for street, published in sorted(latest.items()):
        for entry in published.entries:
            if entry.credit_code == credit_code and entry.list == "black":
                found.append((street, published, entry))
    return found
