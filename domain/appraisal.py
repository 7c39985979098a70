"""One property appraisal folded from its stream, its decider and its exact result (pure).

One rating per owner, as the roll counts owners (an owner of several rooms is one, co-owners of a room are one):
a second rating by the same owner is refused, not counted over the first. Each rating scores every item 1–5.
An item's mean is ``Σ w·score / Σ w`` over the owners who rated, ``w`` being 1 (headcount, the default) or the
owner's area in scope (area weighting, when the street office so decides); its score out of 100 is ``mean × 20``;
the appraisal's score is ``Σ weight × item score / Σ weight`` with the street's item weights. Everything is a
:class:`~fractions.Fraction`; pages round only for display.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.appraisal_events import (
    SCALE,
    AppraisalClosed,
    AppraisalEvent,
    AppraisalOpened,
    AppraisalReminded,
    AppraisalResult,
    AppraisalResultRecorded,
    ItemResult,
    RatingGiven,
)
from domain.errors import N_, Bilingual, DomainError, Items
from domain.operator import Operator
from domain.roll import entries_digest, select_entries


class AppraisalError(DomainError):
    """An appraisal command is refused; the message says why and what to do."""


class AlreadyRatedError(AppraisalError):
    pass


@dataclass
class Appraisal:
    opened: AppraisalOpened | None = None
    areas: dict[str, Decimal] = field(default_factory=dict)
    """Owners in scope and their areas (the electorate)."""
    ratings: dict[str, dict[str, int]] = field(default_factory=dict)
    rated_at: dict[str, datetime] = field(default_factory=dict)
    reminders: int = 0
    closed: AppraisalClosed | None = None
    recorded: AppraisalResultRecorded | None = None

    @property
    def status(self) -> str:
        return "new" if self.opened is None else "closed" if self.closed is not None else "open"

    def copy(self) -> Appraisal:
        return Appraisal(self.opened, self.areas, {k: dict(v) for k, v in self.ratings.items()},
                         dict(self.rated_at), self.reminders, self.closed, self.recorded)

    def apply(self, event: AppraisalEvent) -> None:
        match event:
            case AppraisalOpened():
                self.opened = event
                self.areas = dict(select_entries(event.roll, event.scope, event.roll_digest).owner_areas)
            case RatingGiven():
                self.ratings[event.owner_id] = dict(event.scores)
                self.rated_at[event.owner_id] = event.at
            case AppraisalReminded():
                self.reminders += 1
            case AppraisalClosed():
                self.closed = event
            case AppraisalResultRecorded():
                self.recorded = event

    def result(self) -> AppraisalResult:
        assert self.opened is not None
        return compute_result(self.opened, self.areas, self.ratings)


def fold(events: Iterable[AppraisalEvent]) -> Appraisal:
    state = Appraisal()
    for event in events:
        state.apply(event)
    return state


def check_roll(opened: AppraisalOpened) -> None:
    """The recorded roll hashes to its digest (else the stream was altered)."""
    if entries_digest(opened.roll) != opened.roll_digest:
        raise AppraisalError(N_("the appraisal's roll does not match its digest; the stream may have been altered: "
                                "stop and have it audited"))


def compute_result(opened: AppraisalOpened, areas: dict[str, Decimal],
                   ratings: dict[str, dict[str, int]]) -> AppraisalResult:
    weights = {o: (Fraction(areas[o]) if opened.owner_weight == "area" else Fraction(1)) for o in ratings}
    items = []
    for item in opened.items:
        total = sum((weights[o] for o in ratings), Fraction(0))
        weighted = sum((weights[o] * r[item.item_id] for o, r in ratings.items()), Fraction(0))
        mean = weighted / total if total else None
        items.append(ItemResult(item_id=item.item_id, weight=item.weight, ratings=len(ratings), weight_total=total,
                                weighted_sum=weighted, mean=mean, score=None if mean is None else mean * 20))
    scored = [(i.weight, i.score) for i in items if i.score is not None]
    score = (sum(w * s for w, s in scored) / sum(w for w, _ in scored)) if scored else None
    eligible_area = sum(areas.values(), Decimal(0))
    rated_area = sum((areas[o] for o in ratings), Decimal(0))
    return AppraisalResult(owner_weight=opened.owner_weight, eligible=len(areas), raters=len(ratings),
                           eligible_area=eligible_area, rated_area=rated_area,
                           participation=Fraction(len(ratings), len(areas)) if areas else None,
                           items=tuple(items), score=score)


class Rate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime
    by: Operator
    owner_id: str
    scores: dict[str, int]
    link_generation: int | None = None


class Remind(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime
    by: Operator


class Close(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime
    by: Operator
    reason: str = "deadline"


def rating_problem(state: Appraisal, owner_id: str, scores: dict[str, int], at: datetime) -> AppraisalError | None:
    """Why this rating cannot count (the decider raises it, the auditor names it), or None."""
    opened = state.opened
    if opened is None:
        return AppraisalError(N_("the appraisal has not opened yet"))
    if state.closed is not None or at >= opened.closes_at:
        return AppraisalError(N_("the appraisal has closed; nothing was recorded"))
    if at < opened.opens_at:
        return AppraisalError(N_("the appraisal has not opened yet"))
    if owner_id not in state.areas:
        return AppraisalError(N_("owner %(owner_id)s is not on this appraisal's roll"), owner_id=owner_id)
    if owner_id in state.ratings:
        when = state.rated_at[owner_id].isoformat(timespec="minutes")
        return AlreadyRatedError(N_("you rated at %(when)s already; each owner rates once (several rooms or "
                                    "co-owners count as one owner)"), when=when)
    wanted = [i.item_id for i in opened.items]
    if sorted(scores) != sorted(wanted):
        names = {i.item_id: Bilingual(i.name_zh, i.name_en or i.name_zh) for i in opened.items}
        missing = Items(names.get(k, k) for k in sorted(set(wanted) - set(scores))) or "—"
        return AppraisalError(N_("rate every item (missing: %(missing)s)"), missing=missing)
    bad = [k for k, v in scores.items() if v not in SCALE]
    if bad:
        return AppraisalError(N_("each item is rated 1 to 5 (%(items)s)"), items=Items(bad))
    return None


def decide_rate(state: Appraisal, c: Rate) -> list[AppraisalEvent]:
    problem = rating_problem(state, c.owner_id, c.scores, c.at)
    if problem is not None:
        raise problem
    return [RatingGiven(at=c.at, by=c.by, owner_id=c.owner_id, scores=c.scores, link_generation=c.link_generation)]


def decide_remind(state: Appraisal, c: Remind) -> list[AppraisalEvent]:
    if state.status != "open":
        return []
    return [AppraisalReminded(at=c.at, by=c.by, pending=len(state.areas) - len(state.ratings))]


def decide_close(state: Appraisal, c: Close) -> list[AppraisalEvent]:
    """Close and record the result (nothing when closed already: the recorded result stands)."""
    if state.opened is None:
        raise AppraisalError(N_("the appraisal has not opened yet"))
    if state.closed is not None:
        return []
    return [AppraisalClosed(at=c.at, by=c.by, reason=c.reason),  # type: ignore[arg-type]
            AppraisalResultRecorded(at=c.at, by=c.by, result=state.result())]


def appraisal_problem(events: Sequence[AppraisalEvent]) -> tuple[int, str] | None:
    """The auditor's replay: ``(index, what)`` of the first event that does not follow, or None."""
    state = Appraisal()
    for index, event in enumerate(events):
        if index == 0 and not isinstance(event, AppraisalOpened):
            return index, "the stream does not start with AppraisalOpened"
        match event:
            case AppraisalOpened() if index > 0:
                return index, "a second AppraisalOpened"
            case AppraisalOpened():
                try:
                    check_roll(event)
                except AppraisalError as exc:
                    return index, str(exc)
            case RatingGiven():
                problem = rating_problem(state, event.owner_id, event.scores, event.at)
                if problem is not None:
                    return index, f"rating of owner {event.owner_id}: {problem}"
            case AppraisalResultRecorded():
                if state.closed is None or state.recorded is not None:
                    return index, "a result recorded before the close, or twice"
                if event.result != state.result():
                    return index, "the recorded result differs from the recount"
        state.apply(event)
    return None
