"""The figures the seeds report, per month (pure, exact): topics raised, taken up, decided, resolved, closed,
meetings held and satisfaction (满意率 = (满意 + 基本满意) / answers, as for tickets in domain/escalation_rates.py).
Months are Beijing calendar months.

A meeting counts as held in the month of its ``MeetingHeld`` event: the clerk closed the session, which the meeting
allows only once, with every agenda item decided (or deferred) and the attendance counted (domain/meetings.py
``hold``). Signed attendance or recorded minutes alone do not prove it: a meeting with both may still be cancelled,
and minutes are corrected after the session."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from domain.legal_calendar import BEIJING

TOPIC_COUNTED = {"TopicRaised": "raised", "TopicTaken": "taken", "TopicDecided": "decided",
                 "TopicResolved": "resolved", "TopicClosed": "closed", "TopicDeclined": "declined"}
FIGURE_TYPES = (*TOPIC_COUNTED, "FeedbackGiven")
"""Read from the topic streams."""
MEETING_TYPES = ("MeetingHeld",)
"""Read from the meeting streams."""
COUNTED = {**TOPIC_COUNTED, "MeetingHeld": "held"}


@dataclass
class MonthFigures:
    month: str
    raised: int = 0
    taken: int = 0
    decided: int = 0
    resolved: int = 0
    closed: int = 0
    declined: int = 0
    held: int = 0
    """Meetings held (议事会, 周末议事厅, 民声七点办)."""
    answers: dict[str, int] = field(default_factory=lambda: {"satisfied": 0, "basically_satisfied": 0,
                                                             "not_satisfied": 0})

    @property
    def satisfaction_rate(self) -> Fraction | None:
        total = sum(self.answers.values())
        if not total:
            return None
        return Fraction(self.answers["satisfied"] + self.answers["basically_satisfied"], total)


def month_of(instant: datetime) -> str:
    return instant.astimezone(BEIJING).strftime("%Y-%m")


def monthly(events: Iterable[tuple[str, datetime, str | None] | tuple[str, datetime, str | None, str]]
            ) -> list[MonthFigures]:
    """``(type, occurred_at, answer[, stream_id])`` of topic and meeting events → one row per month with any, oldest
    first.

    The counts are of topics and meetings: with its id, a topic decided twice in a month (its vote, then who carries
    it out) or resolved twice (reopened once) counts once in that month; the answers count each respondent's."""
    months: dict[str, MonthFigures] = {}
    seen: set[tuple[str, str, str]] = set()
    for kind, at, answer, *topic in events:
        month = month_of(at)
        row = months.setdefault(month, MonthFigures(month))
        if kind in COUNTED:
            if topic:
                if (month, kind, topic[0]) in seen:
                    continue
                seen.add((month, kind, topic[0]))
            setattr(row, COUNTED[kind], getattr(row, COUNTED[kind]) + 1)
        elif kind == "FeedbackGiven" and answer in row.answers:
            row.answers[answer] += 1
    return [months[m] for m in sorted(months)]
