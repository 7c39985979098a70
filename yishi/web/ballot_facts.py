"""What the ballot decides, for the resident (issue 21, item 1): the notice in plain words, the documents (the cost
table), the owner's own figures (area, estimated share) and the rule in one plain sentence, its details folded.

Built from the registry row (``deliberations.details``, written when the procedure started), the frozen roll and
the stream (the feasibility check); pure apart from the translator, so the page costs no extra query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from domain.errors import DomainError
from domain.procedures import cost_shares, floor_coefficient
from domain.roll import RoomEntry
from domain.rules import get_rule
from domain.stage_events import DocumentAttached
from yishi import i18n
from yishi.i18n import N_
from yishi.services.plan_documents import documents
from yishi.services.voting import Box

# One plain sentence per rule (RULES.md; domain.rules has the exact conditions, shown folded under it).
RULE_SENTENCES = {
    "cc278-special": N_("It passes if owners holding at least two thirds of the floor area and at least two thirds of "
                        "the owners take part, and at least three quarters of those taking part agree, both by area "
                        "and by headcount."),
    "cc278-ordinary": N_("It passes if owners holding at least two thirds of the floor area and at least two thirds of "
                         "the owners take part, and more than half of those taking part agree, both by area and by "
                         "headcount."),
    "consent-2of3": N_("It passes if at least two thirds of all owners here agree and they hold at least two thirds "
                       "of the floor area; an owner who does not vote is not counted as agreeing."),
    "unanimous": N_("It passes only if every owner here agrees."),
    "headcount-majority": N_("It passes if more than half of the owners who vote agree; floor area is not counted."),
}


@dataclass
class FloorRow:
    floor: str
    coefficient: Decimal
    rooms: int
    amount: Decimal
    """The floor's part of the total, to the yuan (an estimate)."""


@dataclass
class Facts:
    """What the ballot page shows of the matter decided."""

    notice: list[str] = field(default_factory=list)
    """Paragraphs in plain words."""
    rule_sentence: str = ""
    rule_name: str = ""
    rule_details: str = ""
    feasibility: str | None = None
    cost_total: Decimal | None = None
    by_area: bool = True
    floors: list[FloorRow] = field(default_factory=list)
    my_share: Decimal | None = None
    documents: list[DocumentAttached] = field(default_factory=list)
    """The plan and the cost table the committee attached before voting opened (yishi/services/plan_documents.py)."""


def _yuan(value: Fraction | Decimal) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction)
            else value).quantize(Decimal(1), ROUND_HALF_UP)


def _in_scope(box: Box) -> list[RoomEntry]:
    opened = box.opened
    return [r for r in opened.roll if opened.scope.contains(r)]


def _costs(facts: Facts, box: Box, owner_id: str, details: dict[str, Any]) -> None:
    """The cost table by floor and the owner's estimated share (domain.procedures.cost_shares, exact to the fen)."""
    rooms = _in_scope(box)
    total = Decimal(str(details["cost_total"]))
    coefficients = {k: Decimal(str(v)) for k, v in (details.get("coefficients") or {}).items()}
    ground, ground_coefficient = str(details.get("ground_floor", "1")), Decimal(str(details.get("ground_coefficient",
                                                                                               0)))
    by_area = bool(details.get("by_area", True))
    try:
        shares = cost_shares(total, rooms, coefficients, ground_floor=ground, ground_coefficient=ground_coefficient,
                             by_area=by_area)
        weights = {r.room_id: floor_coefficient(r.floor, coefficients, ground, ground_coefficient)
                   * (r.area_m2 if by_area else 1) for r in rooms}
    except DomainError:
        return  # figures the committee must correct: the console says so; the ballot shows the total only
    whole = sum(weights.values(), Decimal(0))
    floors: dict[str, list[RoomEntry]] = {}
    for room in rooms:
        floors.setdefault(room.floor, []).append(room)
    for floor in sorted(floors, key=lambda f: (not f.lstrip("-").isdigit(), int(f) if f.lstrip("-").isdigit() else 0,
                                               f)):
        weight = sum((weights[r.room_id] for r in floors[floor]), Decimal(0))
        facts.floors.append(FloorRow(floor, floor_coefficient(floor, coefficients, ground, ground_coefficient),
                                     len(floors[floor]), _yuan(Fraction(total) * Fraction(weight) / Fraction(whole))))
    facts.my_share = next((s.amount for s in shares if s.owner_id == owner_id), None)
    facts.cost_total, facts.by_area = total, by_area


def _feasibility(box: Box, tr: i18n.Translator) -> str | None:
    """The feasibility check's outcome as the stream records it (elevator: 可行性论证), or None before it."""
    opened = {e.payload["task_id"] for e in box.events
              if e.type == "TaskOpened" and e.payload.get("kind") == "feasibility"}
    done = [e for e in box.events if e.type == "TaskCompleted" and e.payload.get("task_id") in opened]
    if not done:
        return None
    last = done[-1]
    outcome = tr.label(last.payload["outcome"], "outcome")
    return tr.gettext("Feasibility check: %(outcome)s (%(when)s).", outcome=outcome, when=tr.when(last.occurred_at))


def ballot_facts(box: Box, info: dict[str, Any] | None, owner_id: str, lang: str, notice: str) -> Facts:
    tr = i18n.translator(lang)
    info = info or {}
    details: dict[str, Any] = info.get("details") or {}
    facts = Facts(documents=documents(box.matter_events))  # a re-vote's: its deliberation's
    procedure = info.get("procedure")
    if procedure == "elevator":
        facts.notice.append(tr.gettext(
            "The committee proposes to install an elevator: %(title)s. You are asked whether you agree.",
            title=info.get("title") or ""))
        if "cost_total" in details:
            _costs(facts, box, owner_id, details)
            if facts.cost_total is not None:
                total = tr.number(facts.cost_total)
                facts.notice.append(tr.gettext(
                    "The estimated total cost is %(total)s yuan, shared among the owners of this entrance: the higher "
                    "the floor, the larger the share (the ground floor pays least).", total=total))
        facts.feasibility = _feasibility(box, tr)
    elif procedure == "consultation" and details.get("issue"):
        facts.notice.append(str(details["issue"]))
    if notice:
        facts.notice.extend(p for p in notice.splitlines() if p.strip())
    rule = get_rule(box.opened.rule_id)
    sentence = RULE_SENTENCES.get(rule.id)
    facts.rule_sentence = tr.gettext(sentence) if sentence else ""
    facts.rule_name = rule.name_en if lang == "en" else rule.name_zh
    facts.rule_details = rule.description_en if lang == "en" else rule.description_zh
    return facts
