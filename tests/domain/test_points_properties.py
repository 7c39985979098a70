"""Property: under any interleaving of awards, hours, deductions, redemptions, cancellations, hand-overs and restocks,
no balance, 先锋指数 or stock goes below zero, every balance is earned - deducted - spent, and the auditor's replay
accepts every accepted event (and the decider refuses exactly what would break it)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.operator import Operator
from domain.points import fold, negative
from domain.points_audit import ledger_problem
from domain.points_decide import (
    Award,
    CancelRedemption,
    CreditHours,
    Deduct,
    HandOver,
    ListItem,
    OpenLedger,
    PointsError,
    Redeem,
    RegisterPerson,
    Restock,
    SetRule,
    decide,
)
from domain.points_events import Item, PointsEvent, Rule, SourceRef

T0 = datetime(2025, 11, 3, 9, 0, tzinfo=timezone(timedelta(hours=8)))
BY = Operator(name="clerk", role="committee", via="cli")
PEOPLE = ("p1", "p2", "p3")
ITEMS = {"soap": 30, "rice": 70}

SETUP = [
    OpenLedger(at=T0, by=BY, community="c"),
    SetRule(at=T0, by=BY, rule=Rule(rule_id="duty", name_zh="值守", basis="party_duty", points=20, pioneer=3)),
    SetRule(at=T0, by=BY, rule=Rule(rule_id="hours", name_zh="志愿时长", basis="volunteer_hours", per="hour",
                                    points=12, pioneer=2)),
    RegisterPerson(at=T0, by=BY, person_id="p1", person_kind="resident"),
    RegisterPerson(at=T0, by=BY, person_id="p2", person_kind="party_member"),
    RegisterPerson(at=T0, by=BY, person_id="p3", person_kind="dual_report", unit="区医院"),
    *(ListItem(at=T0, by=BY, item=Item(item_id=i, name_zh=i, cost=c), stock=1) for i, c in ITEMS.items()),
]

person = st.sampled_from(PEOPLE)
step = st.one_of(
    st.tuples(st.just("award"), person, st.integers(1, 3)),
    st.tuples(st.just("hours"), person, st.integers(0, 400)),
    st.tuples(st.just("deduct"), person, st.integers(1, 80)),
    st.tuples(st.just("reverse"), person, st.integers(0, 30)),
    st.tuples(st.just("redeem"), person, st.sampled_from(sorted(ITEMS))),
    st.tuples(st.just("cancel"), person, st.integers(0, 30)),
    st.tuples(st.just("hand_over"), person, st.integers(0, 30)),
    st.tuples(st.just("restock"), person, st.sampled_from(sorted(ITEMS))),
)


def command(n: int, kind: str, who: str, arg: object) -> object:
    match kind:
        case "award":
            return Award(at=T0, by=BY, award_id=f"a{n}", person_id=who, rule_id="duty", quantity=arg)
        case "hours":
            return CreditHours(at=T0, by=BY, entry_id=f"h{n}", person_id=who, total_minutes=arg,
                               source=SourceRef(kind="volunteer_activity", ref=f"act{n % 3}"))
        case "deduct":
            return Deduct(at=T0, by=BY, deduction_id=f"d{n}", person_id=who, points=arg, reason="核减")
        case "reverse":
            return Deduct(at=T0, by=BY, deduction_id=f"d{n}", person_id=who, reverses=f"a{arg}", reason="撤销")
        case "redeem":
            return Redeem(at=T0, by=BY, redemption_id=f"r{n}", person_id=who, item_id=arg,
                          code_sha256=f"{n:064x}")
        case "cancel":
            return CancelRedemption(at=T0, by=BY, redemption_id=f"r{arg}", reason="取消")
        case "hand_over":
            return HandOver(at=T0, by=BY, redemption_id=f"r{arg}")
    return Restock(at=T0, by=BY, item_id=arg, quantity=1)


@settings(max_examples=300, deadline=None)
@given(st.lists(step, min_size=10, max_size=80))
def test_no_interleaving_takes_a_balance_or_a_stock_below_zero(steps: list[tuple[str, str, object]]) -> None:
    events: list[PointsEvent] = []
    ledger = fold([])
    for c in SETUP:
        made = decide(ledger, c)  # type: ignore[arg-type]
        events += made
        ledger = fold(made, ledger)
    for n, (kind, who, arg) in enumerate(steps):
        try:
            made = decide(ledger, command(n, kind, who, arg))  # type: ignore[arg-type]
        except PointsError:
            continue
        events += made
        ledger = fold(made, ledger)
        assert negative(ledger) is None
    for pid, account in ledger.people.items():
        assert account.points == account.earned - account.deducted - account.spent, pid
        assert account.pioneer == 0 or account.kind != "resident"
    assert ledger_problem(events) is None
    assert fold(events).people == ledger.people  # folding at once equals folding step by step
