"""Deadlines for tickets built in tests (the workflow has them computed by the ``compute_deadlines`` activity)."""

from __future__ import annotations

from datetime import datetime

from domain.escalation import Dues, EscalationOpened, Level, start_index
from domain.procedures import parse_period


def level_dues(level: Level, at: datetime) -> Dues:
    """``level``'s deadlines from ``at`` on the calendar installed (as the activity computes them)."""
    return Dues.of(parse_period(level.ack).deadline(at), parse_period(level.resolve).deadline(at))


def first_dues(opened: EscalationOpened, start_level: str | None = None) -> Dues:
    return level_dues(opened.levels[start_index(opened.levels, start_level)], opened.at)
