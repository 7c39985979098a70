"""The monthly figures as a bar chart drawn on the server: inline SVG geometry (no JavaScript, no style attribute,
so the page's CSP ``style-src 'self'`` holds; colours come from classes in yishi.css). The chart is ``aria-hidden``
decoration beside the table that carries the same numbers for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.topic_figures import MonthFigures

SERIES = ("raised", "taken", "decided", "resolved", "held")
"""The counts drawn, one bar each per month (satisfaction is a rate: in the table only)."""
MONTHS = 12
"""The latest months drawn; the table has them all."""
MIN_MONTHS = 6
"""The chart is at least this many months wide (fewer months are drawn from the left), so that one or two months do
not make a tall picture on a phone."""
BAR, GAP, PLOT, LABEL = 8, 12, 120, 18


@dataclass(frozen=True)
class Bar:
    series: str
    x: int
    y: int
    height: int
    value: int


@dataclass(frozen=True)
class Group:
    month: str
    x: int
    """The middle of the month's group (its label)."""
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: int
    top: int
    """The largest count (the height of the plot)."""
    groups: tuple[Group, ...]


def chart(figures: Sequence[MonthFigures]) -> Chart | None:
    """The latest :data:`MONTHS` months as groups of bars scaled to the largest count; None when nothing to draw."""
    months = list(figures)[-MONTHS:]
    top = max((getattr(m, s) for m in months for s in SERIES), default=0)
    if not top:
        return None
    step = len(SERIES) * BAR + GAP
    groups = []
    for i, m in enumerate(months):
        x0 = GAP // 2 + i * step
        bars = []
        for j, s in enumerate(SERIES):
            value = getattr(m, s)
            height = (value * PLOT + top - 1) // top  # rounded up: a count of 1 is still a visible bar
            bars.append(Bar(s, x0 + j * BAR, PLOT - height, height, value))
        groups.append(Group(m.month, x0 + len(SERIES) * BAR // 2, tuple(bars)))
    return Chart(width=max(len(months), MIN_MONTHS) * step, height=PLOT + LABEL, baseline=PLOT, top=top,
                 groups=tuple(groups))
