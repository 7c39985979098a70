"""Points ledger decider: given events, when a command, then events or an error that says what to do."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.operator import Operator
from domain.points import Ledger, fold
from domain.points_audit import ledger_problem
from domain.points_decide import (
    Award,
    CancelRedemption,
    CreditHours,
    Deduct,
    HandOver,
    InsufficientPointsError,
    ListItem,
    OpenLedger,
    OutOfStockError,
    PointsError,
    Redeem,
    RegisterPerson,
    Restock,
    SetOptIn,
    SetRule,
    SetVoteParticipation,
    decide,
)
from domain.points_events import Item, PointsAwarded, PointsDeducted, PointsEvent, Redeemed, Rule, SourceRef

T0 = datetime(2025, 11, 3, 9, 0, tzinfo=timezone(timedelta(hours=8)))
CLERK = Operator(name="李书记", role="committee", via="cli")
HOURS = Rule(rule_id="hours", name_zh="志愿服务每小时", basis="volunteer_hours", per="hour", points=10, pioneer=3)
MEETING = Rule(rule_id="meeting", name_zh="参加议事会", basis="meeting_attended", points=5, pioneer=2,
               conditions={"meeting_kind": "议事会"})
SOAP = Item(item_id="soap", name_zh="洗衣皂", cost=30)


def given(*commands: object) -> Ledger:
    """The ledger after deciding and folding ``commands`` in turn (each must be accepted)."""
    ledger = Ledger()
    events: list[PointsEvent] = []
    for command in (OpenLedger(at=T0, by=CLERK, community="xfl"), *commands):
        made = decide(ledger, command)  # type: ignore[arg-type]
        events += made
        ledger = fold(made, ledger)
    assert ledger_problem(events) is None
    return ledger


def person(pid: str, kind: str = "resident", **extra: object) -> RegisterPerson:
    return RegisterPerson(at=T0, by=CLERK, person_id=pid, person_kind=kind, **extra)  # type: ignore[arg-type]


def award(pid: str, rule: str = "meeting", award_id: str | None = None, **extra: object) -> Award:
    extra.setdefault("facts", {"meeting_kind": "议事会"})
    return Award(at=T0, by=CLERK, award_id=award_id or f"a-{pid}-{rule}", person_id=pid, rule_id=rule,
                 **extra)  # type: ignore[arg-type]


def hours(pid: str, minutes: int, entry: str = "e1") -> CreditHours:
    return CreditHours(at=T0, by=CLERK, entry_id=entry, person_id=pid, total_minutes=minutes,
                       source=SourceRef(kind="volunteer_activity", ref="act-1"))


def test_an_award_is_worth_its_rule_and_pioneer_only_for_party_members() -> None:
    ledger = given(SetRule(at=T0, by=CLERK, rule=MEETING), person("p1"), person("p2", "party_member"))
    [resident] = decide(ledger, award("p1"))
    [member] = decide(ledger, award("p2"))
    assert isinstance(resident, PointsAwarded) and (resident.points, resident.pioneer) == (5, 0)
    assert isinstance(member, PointsAwarded) and (member.points, member.pioneer) == (5, 2)
    assert member.rule_version == 1


def test_an_award_must_state_its_rules_conditions() -> None:
    ledger = given(SetRule(at=T0, by=CLERK, rule=MEETING), person("p1"))
    with pytest.raises(PointsError, match="meeting_kind=议事会"):
        decide(ledger, award("p1", facts={"meeting_kind": "楼门会"}))


def test_one_award_per_source_and_rule() -> None:
    src = SourceRef(kind="meeting", ref="m-1")
    ledger = given(SetRule(at=T0, by=CLERK, rule=MEETING), person("p1"), award("p1", source=src))
    with pytest.raises(PointsError, match="already"):
        decide(ledger, award("p1", award_id="again", source=src))


def test_hours_give_whole_points_of_the_total_and_corrections_follow_the_total() -> None:
    ledger = given(SetRule(at=T0, by=CLERK, rule=HOURS), person("p1", "dual_report", unit="区税务局"))
    [first] = decide(ledger, hours("p1", 50))
    assert isinstance(first, PointsAwarded) and (first.quantity, first.points, first.pioneer) == (50, 8, 2)
    ledger = fold([first], ledger)
    [more] = decide(ledger, hours("p1", 95, "e2"))  # 95 min: 15 points in all, 先锋 4
    assert isinstance(more, PointsAwarded) and (more.quantity, more.points, more.pioneer) == (45, 7, 2)
    ledger = fold([more], ledger)
    [less] = decide(ledger, hours("p1", 60, "e3"))
    assert isinstance(less, PointsDeducted) and (less.quantity, less.points, less.pioneer) == (35, 5, 1)
    assert decide(fold([less], ledger), hours("p1", 60, "e4")) == []
    assert ledger_problem([*_setup_hours(), first, more, less]) is None


def _opened() -> list[PointsEvent]:
    return decide(Ledger(), OpenLedger(at=T0, by=CLERK, community="xfl"))


def _setup_hours() -> list[PointsEvent]:
    """The events of :func:`given` with the hours rule and one 双报到 party member."""
    events = _opened()
    for command in (SetRule(at=T0, by=CLERK, rule=HOURS), person("p1", "dual_report", unit="区税务局")):
        events += decide(fold(events), command)
    return events


def test_no_hours_rule_no_points() -> None:
    assert decide(given(person("p1")), hours("p1", 120)) == []


def test_a_dual_report_member_needs_the_unit() -> None:
    with pytest.raises(PointsError, match="unit"):
        given(person("p1", "dual_report"))


def test_redemption_takes_stock_and_points_together_and_never_below_zero() -> None:
    ledger = given(SetRule(at=T0, by=CLERK, rule=Rule(rule_id="duty", name_zh="党员中心户值守", basis="party_duty",
                                                        points=40)),
                   person("p1"), Award(at=T0, by=CLERK, award_id="a1", person_id="p1", rule_id="duty"),
                   ListItem(at=T0, by=CLERK, item=SOAP, stock=1))
    [redeemed] = decide(ledger, Redeem(at=T0, by=CLERK, redemption_id="r1", person_id="p1", item_id="soap",
                                       code_sha256="a" * 64))
    assert isinstance(redeemed, Redeemed) and redeemed.cost == 30
    after = fold([redeemed], ledger)
    assert after.people["p1"].points == 10 and after.items["soap"].stock == 0
    with pytest.raises(OutOfStockError, match="restock"):
        decide(after, Redeem(at=T0, by=CLERK, redemption_id="r2", person_id="p1", item_id="soap",
                             code_sha256="b" * 64))
    restocked = fold(decide(after, Restock(at=T0, by=CLERK, item_id="soap", quantity=5)), after)
    with pytest.raises(InsufficientPointsError, match="costs 30, the balance is 10"):
        decide(restocked, Redeem(at=T0, by=CLERK, redemption_id="r2", person_id="p1", item_id="soap",
                                 code_sha256="b" * 64))


def test_cancelling_gives_points_and_item_back_hand_over_only_once() -> None:
    ledger = given(SetRule(at=T0, by=CLERK, rule=Rule(rule_id="duty", name_zh="值守", basis="party_duty", points=40)),
                   person("p1"), Award(at=T0, by=CLERK, award_id="a1", person_id="p1", rule_id="duty"),
                   ListItem(at=T0, by=CLERK, item=SOAP, stock=1),
                   Redeem(at=T0, by=CLERK, redemption_id="r1", person_id="p1", item_id="soap", code_sha256="a" * 64))
    cancelled = fold(decide(ledger, CancelRedemption(at=T0, by=CLERK, redemption_id="r1", reason="不要了")), ledger)
    assert cancelled.people["p1"].points == 40 and cancelled.items["soap"].stock == 1
    handed = fold(decide(ledger, HandOver(at=T0, by=CLERK, redemption_id="r1")), ledger)
    with pytest.raises(PointsError, match="handed over already"):
        decide(handed, HandOver(at=T0, by=CLERK, redemption_id="r1"))
    with pytest.raises(PointsError, match="handed over already"):
        decide(handed, CancelRedemption(at=T0, by=CLERK, redemption_id="r1", reason="x"))


def test_a_reversal_never_takes_a_balance_below_zero() -> None:
    ledger = given(SetRule(at=T0, by=CLERK, rule=Rule(rule_id="duty", name_zh="值守", basis="party_duty", points=40)),
                   person("p1"), Award(at=T0, by=CLERK, award_id="a1", person_id="p1", rule_id="duty"),
                   ListItem(at=T0, by=CLERK, item=SOAP, stock=1),
                   Redeem(at=T0, by=CLERK, redemption_id="r1", person_id="p1", item_id="soap", code_sha256="a" * 64))
    with pytest.raises(InsufficientPointsError, match="10 points left, 40 cannot be taken back"):
        decide(ledger, Deduct(at=T0, by=CLERK, deduction_id="d1", person_id="p1", reverses="a1", reason="记错了"))


def test_opting_in_is_recorded_once() -> None:
    ledger = given(person("p1"), SetOptIn(at=T0, by=CLERK, person_id="p1", opted_in=True))
    assert ledger.people["p1"].opted_in
    assert decide(ledger, SetOptIn(at=T0, by=CLERK, person_id="p1", opted_in=True)) == []


def test_a_forged_point_is_found_by_the_audit_replay() -> None:
    events = _setup_hours()
    ledger = fold(events)
    [credit] = decide(ledger, hours("p1", 60))
    assert isinstance(credit, PointsAwarded)
    forged = credit.model_copy(update={"points": credit.points + 1})
    found = ledger_problem([*events, forged])
    assert found is not None and found[0] == len(events) and "worth 10 points" in found[1]


def test_vote_participation_setting_is_off_by_default() -> None:
    assert given().vote_participation is False
    assert given(SetVoteParticipation(at=T0, by=CLERK, enabled=True)).vote_participation is True
