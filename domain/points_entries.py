"""One person's points statement: every entry of their account, with its reason and who recorded it (pure).

What the person's own page (``/me/<token>``) lists: awards (the rule and its version, the reason, the source),
deductions (the reason, the award reversed), redemptions and their refunds, each with the signed change of the
balance and of the 先锋指数, the balance after it, and the operator recorded in the event (``by``). Read from the
ledger's events in stream order, so the last balance is the ledger's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.operator import Operator
from domain.points_events import (
    ItemListed,
    PointsAwarded,
    PointsDeducted,
    PointsEvent,
    Redeemed,
    RedemptionCancelled,
    RuleSet,
    SourceRef,
)


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    """``award``, ``deduction``, ``redemption`` or ``refund`` (a cancelled redemption's points back)."""
    points: int
    """The signed change of the balance."""
    pioneer: int
    balance: int
    by: Operator
    reason: str = ""
    rule_zh: str = ""
    rule_en: str = ""
    rule_version: int | None = None
    item_zh: str = ""
    source: SourceRef | None = None


def person_entries(events: Iterable[PointsEvent], person_id: str) -> list[Entry]:
    """The entries of ``person_id``'s account, oldest first."""
    rules: dict[tuple[str, int], tuple[str, str]] = {}
    items: dict[str, str] = {}
    mine: dict[str, Redeemed] = {}
    entries: list[Entry] = []
    balance = 0

    def add(event: PointsEvent, kind: str, points: int, pioneer: int = 0, **fields: object) -> None:
        nonlocal balance
        balance += points
        entries.append(Entry(event.at, kind, points, pioneer, balance, event.by, **fields))  # type: ignore[arg-type]

    for event in events:
        match event:
            case RuleSet():
                rules[(event.rule.rule_id, event.version)] = (event.rule.name_zh, event.rule.name_en)
            case ItemListed():
                items[event.item.item_id] = event.item.name_zh
            case PointsAwarded() if event.person_id == person_id:
                zh, en = rules.get((event.rule_id, event.rule_version), (event.rule_id, ""))
                add(event, "award", event.points, event.pioneer, reason=event.reason, rule_zh=zh, rule_en=en,
                    rule_version=event.rule_version, source=event.source)
            case PointsDeducted() if event.person_id == person_id:
                add(event, "deduction", -event.points, -event.pioneer, reason=event.reason, source=event.source)
            case Redeemed() if event.person_id == person_id:
                mine[event.redemption_id] = event
                add(event, "redemption", -event.cost, item_zh=items.get(event.item_id, event.item_id))
            case RedemptionCancelled() if event.redemption_id in mine:
                redeemed = mine[event.redemption_id]
                add(event, "refund", redeemed.cost, reason=event.reason,
                    item_zh=items.get(redeemed.item_id, redeemed.item_id))
    return entries
