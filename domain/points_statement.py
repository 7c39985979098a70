"""A community's monthly points statement (月度积分台账), computed from the ledger's events (pure, exact).

For a month (``2025-11``, Beijing time) and each person with an account: the balance at the start of the month, the
points earned, deducted and spent on redemptions during it (a cancelled redemption gives its points back in the
month it is cancelled), the balance at the end, and the 先锋指数 at the end for party members; the shop's movements
of the month per item (listed or restocked, redeemed, cancelled, handed over) and the stock at the end.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.errors import N_, DomainError
from domain.points import Ledger
from domain.points_events import (
    ItemListed,
    PointsAwarded,
    PointsDeducted,
    PointsEvent,
    Redeemed,
    RedemptionCancelled,
    RedemptionHandedOver,
    StockAdded,
)

BEIJING = dt.timezone(dt.timedelta(hours=8))


@dataclass
class PersonLine:
    person_id: str
    kind: str
    opening: int = 0
    earned: int = 0
    deducted: int = 0
    spent: int = 0
    refunded: int = 0
    closing: int = 0
    pioneer: int | None = None


@dataclass
class ItemLine:
    item_id: str
    name: str
    cost: int
    added: int = 0
    redeemed: int = 0
    cancelled: int = 0
    handed_over: int = 0
    stock: int = 0


@dataclass
class Statement:
    month: str
    people: list[PersonLine] = field(default_factory=list)
    items: list[ItemLine] = field(default_factory=list)


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    match = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", month)
    if match is None:
        raise DomainError(N_("write the month as 2025-11, not '%(month)s'"), month=month)
    year, number = int(match.group(1)), int(match.group(2))
    start = dt.datetime(year, number, 1, tzinfo=BEIJING)
    end = dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=BEIJING)
    return start, end


def statement(events: Iterable[PointsEvent], month: str) -> Statement:
    start, end = month_bounds(month)
    ledger = Ledger()
    lines: dict[str, PersonLine] = {}
    items: dict[str, ItemLine] = {}
    opened = False
    for event in events:
        if event.at >= end:
            break
        if not opened and event.at >= start:
            opened = True
            lines = {pid: PersonLine(pid, a.kind, opening=a.points) for pid, a in ledger.people.items()}
            items = {iid: ItemLine(iid, s.item.name_zh, s.item.cost) for iid, s in ledger.items.items()}
        ledger.apply(event)
        if opened:
            _count(event, ledger, lines, items)
    if not opened:
        lines = {pid: PersonLine(pid, a.kind, opening=a.points) for pid, a in ledger.people.items()}
        items = {iid: ItemLine(iid, s.item.name_zh, s.item.cost) for iid, s in ledger.items.items()}
    for pid, line in lines.items():
        account = ledger.people[pid]
        line.closing = account.points
        line.pioneer = account.pioneer if account.party_member else None
    for iid, item in items.items():
        item.stock = ledger.items[iid].stock
    return Statement(month, sorted(lines.values(), key=lambda line: line.person_id),
                     sorted(items.values(), key=lambda line: line.item_id))


def _count(event: PointsEvent, ledger: Ledger, lines: dict[str, PersonLine], items: dict[str, ItemLine]) -> None:
    person = getattr(event, "person_id", None)
    if person is not None and person not in lines and person in ledger.people:
        lines[person] = PersonLine(person, ledger.people[person].kind)
    match event:
        case PointsAwarded():
            lines[event.person_id].earned += event.points
        case PointsDeducted():
            lines[event.person_id].deducted += event.points
        case Redeemed():
            lines[event.person_id].spent += event.cost
            items[event.item_id].redeemed += 1
        case RedemptionCancelled():
            redemption = ledger.redemptions[event.redemption_id]
            lines.setdefault(redemption.person_id, PersonLine(redemption.person_id, "")).refunded += redemption.cost
            items[redemption.item_id].cancelled += 1
        case RedemptionHandedOver():
            items[ledger.redemptions[event.redemption_id].item_id].handed_over += 1
        case ItemListed():
            items[event.item.item_id] = ItemLine(event.item.item_id, event.item.name_zh, event.item.cost,
                                                 added=event.stock)
        case StockAdded():
            items[event.item_id].added += event.quantity
