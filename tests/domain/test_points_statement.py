"""Monthly statement: per person the opening balance plus what the month earned, deducted, spent and refunded is the
closing balance; per item what came in and went out; events of other months stay out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.errors import DomainError
from domain.operator import Operator
from domain.points import fold
from domain.points_decide import (
    Award,
    CancelRedemption,
    Deduct,
    HandOver,
    ListItem,
    OpenLedger,
    Redeem,
    RegisterPerson,
    Restock,
    SetRule,
    decide,
)
from domain.points_events import Item, PointsEvent, Rule
from domain.points_statement import month_bounds, statement

BJ = timezone(timedelta(hours=8))
BY = Operator(name="clerk", role="committee", via="cli")
OCT = datetime(2025, 10, 31, 23, 59, tzinfo=BJ)
NOV = datetime(2025, 11, 1, 0, 0, tzinfo=BJ)
DEC = datetime(2025, 12, 1, 0, 0, tzinfo=BJ)


def run(*steps: tuple[datetime, object]) -> list[PointsEvent]:
    events: list[PointsEvent] = []
    for at, command in steps:
        events += decide(fold(events), command.model_copy(update={"at": at}))  # type: ignore[attr-defined]
    return events


def test_opening_plus_movements_is_closing() -> None:
    events = run(
        (OCT, OpenLedger(at=OCT, by=BY, community="c")),
        (OCT, SetRule(at=OCT, by=BY, rule=Rule(rule_id="duty", name_zh="值守", basis="party_duty", points=40,
                                                pioneer=5))),
        (OCT, RegisterPerson(at=OCT, by=BY, person_id="p1", person_kind="party_member")),
        (OCT, Award(at=OCT, by=BY, award_id="a0", person_id="p1", rule_id="duty")),
        (OCT, ListItem(at=OCT, by=BY, item=Item(item_id="soap", name_zh="洗衣皂", cost=30), stock=2)),
        (NOV, Award(at=NOV, by=BY, award_id="a1", person_id="p1", rule_id="duty")),
        (NOV, Redeem(at=NOV, by=BY, redemption_id="r1", person_id="p1", item_id="soap", code_sha256="a" * 64)),
        (NOV, Redeem(at=NOV, by=BY, redemption_id="r2", person_id="p1", item_id="soap", code_sha256="b" * 64)),
        (NOV, HandOver(at=NOV, by=BY, redemption_id="r1")),
        (NOV, CancelRedemption(at=NOV, by=BY, redemption_id="r2", reason="不要了")),
        (NOV, Deduct(at=NOV, by=BY, deduction_id="d1", person_id="p1", points=5, reason="重复记录")),
        (NOV, Restock(at=NOV, by=BY, item_id="soap", quantity=3)),
        (NOV, RegisterPerson(at=NOV, by=BY, person_id="p2", person_kind="resident")),
        (DEC, Award(at=DEC, by=BY, award_id="a2", person_id="p1", rule_id="duty")),
    )
    result = statement(events, "2025-11")
    p1, p2 = result.people
    assert (p1.opening, p1.earned, p1.spent, p1.refunded, p1.deducted, p1.closing) == (40, 40, 60, 30, 5, 45)
    assert p1.opening + p1.earned - p1.deducted - p1.spent + p1.refunded == p1.closing
    assert p1.pioneer == 10 and (p2.opening, p2.closing, p2.pioneer) == (0, 0, None)
    [soap] = result.items
    assert (soap.added, soap.redeemed, soap.cancelled, soap.handed_over, soap.stock) == (3, 2, 1, 1, 4)
    october = statement(events, "2025-10")
    assert [(p.opening, p.earned, p.closing) for p in october.people] == [(0, 40, 40)]


def test_month_bounds_are_beijing_months() -> None:
    assert month_bounds("2025-12") == (datetime(2025, 12, 1, tzinfo=BJ), datetime(2026, 1, 1, tzinfo=BJ))
    with pytest.raises(DomainError, match="2025-11"):
        month_bounds("2025/11")
