"""Never points for how anyone voted: no rule may refer to a ballot's content, participation is off by default and,
when on, counts taking part only (one award per deliberation, no facts); the audit replay refuses a forged rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.operator import Operator
from domain.points import Ledger, fold
from domain.points_audit import ledger_problem
from domain.points_decide import Award, OpenLedger, RegisterPerson, SetRule, SetVoteParticipation, decide
from domain.points_events import PointsEvent, Rule, RuleSet, SourceRef
from domain.points_rules import PointsError, RuleError, check_rule

T0 = datetime(2025, 11, 3, 9, 0, tzinfo=timezone(timedelta(hours=8)))
CLERK = Operator(name="李书记", role="committee", via="cli")
TAKING_PART = Rule(rule_id="voted", name_zh="参与业主投票", basis="vote_participation", points=5)
VOTE = SourceRef(kind="deliberation", ref="property-abc123")


def ledger_with(*commands: object) -> tuple[Ledger, list[PointsEvent]]:
    events: list[PointsEvent] = []
    for command in (OpenLedger(at=T0, by=CLERK, community="xfl"),
                    RegisterPerson(at=T0, by=CLERK, person_id="p1", person_kind="resident", owner_id="O311"),
                    *commands):
        events += decide(fold(events), command)  # type: ignore[arg-type]
    return fold(events), events


@pytest.mark.parametrize("conditions", [
    {"choice": "for"}, {"ballot_choice": "x"}, {"voteChoice": "1"}, {"candidate": "A"}, {"question_id": "dismiss"},
    {"投票选择": "1"}, {"表决结果": "通过"}, {"stance": "赞成"}, {"stance": "against"}, {"x": "弃权"},
    {"outcome": "approved"}, {"options": "2"},
])
def test_a_rule_condition_about_ballot_content_is_refused(conditions: dict[str, str]) -> None:
    rule = Rule(rule_id="r", name_zh="参加活动", basis="other", points=5, conditions=conditions)
    with pytest.raises(RuleError, match="never depend on how anyone voted"):
        check_rule(rule)


@pytest.mark.parametrize("name, description", [
    ("投赞成票奖励", ""), ("参加议事", "对方案投了赞成的加分"),
    ("Yes-voters", "5 points for those who voted for the plan"), ("参加议事", "in favour of the motion"),
    ("弃权票扣分", ""),
])
def test_a_rule_speaking_of_voting_one_way_is_refused(name: str, description: str) -> None:
    rule = Rule(rule_id="r", name_zh=name, basis="other", points=5, description=description)
    with pytest.raises(RuleError, match="taking part may earn points, the choice never"):
        check_rule(rule)


def test_ordinary_conditions_pass() -> None:
    check_rule(Rule(rule_id="r", name_zh="参加议事会", basis="meeting_attended", points=5,
                    conditions={"meeting_kind": "议事会", "building": "3"}))


def test_participation_points_are_off_by_default() -> None:
    ledger, _ = ledger_with()
    assert ledger.vote_participation is False
    with pytest.raises(PointsError, match="are off"):
        decide(ledger, SetRule(at=T0, by=CLERK, rule=TAKING_PART))


def test_participation_counts_taking_part_once_and_nothing_else() -> None:
    ledger, _ = ledger_with(SetVoteParticipation(at=T0, by=CLERK, enabled=True),
                            SetRule(at=T0, by=CLERK, rule=TAKING_PART))
    [given] = decide(ledger, Award(at=T0, by=CLERK, award_id="v1", person_id="p1", rule_id="voted", source=VOTE))
    assert given.points == 5 and given.facts == {}  # type: ignore[union-attr]
    with pytest.raises(RuleError, match="what a ballot said"):
        decide(ledger, Award(at=T0, by=CLERK, award_id="v2", person_id="p1", rule_id="voted", source=VOTE,
                             facts={"choice": "for"}))
    with pytest.raises(RuleError, match="state no facts"):
        decide(ledger, Award(at=T0, by=CLERK, award_id="v2", person_id="p1", rule_id="voted", source=VOTE,
                             facts={"building": "3"}))
    with pytest.raises(PointsError, match="name the deliberation"):
        decide(ledger, Award(at=T0, by=CLERK, award_id="v2", person_id="p1", rule_id="voted"))
    after = fold([given], ledger)
    with pytest.raises(PointsError, match="already"):
        decide(after, Award(at=T0, by=CLERK, award_id="v3", person_id="p1", rule_id="voted", source=VOTE))


@pytest.mark.parametrize("change", [{"conditions": {"building": "3"}}, {"per": "hour"}])
def test_a_participation_rule_takes_no_conditions_and_is_not_per_hour(change: dict[str, object]) -> None:
    with pytest.raises(RuleError, match="count taking part"):
        check_rule(TAKING_PART.model_copy(update=change))


def test_turning_participation_off_retires_its_rule() -> None:
    ledger, _ = ledger_with(SetVoteParticipation(at=T0, by=CLERK, enabled=True),
                            SetRule(at=T0, by=CLERK, rule=TAKING_PART),
                            SetVoteParticipation(at=T0, by=CLERK, enabled=False))
    assert ledger.rules["voted"].retired
    with pytest.raises(PointsError, match="no rule 'voted' in force"):
        decide(ledger, Award(at=T0, by=CLERK, award_id="v1", person_id="p1", rule_id="voted", source=VOTE))


def test_the_audit_refuses_a_forged_rule_about_ballot_content() -> None:
    _, events = ledger_with()
    forged = RuleSet.model_construct(at=T0, by=CLERK, type="RuleSet", version=1, rule=Rule.model_construct(
        rule_id="r", name_zh="赞成者加分", name_en="", basis="other", per="occasion", points=5, pioneer=0,
        conditions={"choice": "for"}, description=""))
    found = ledger_problem([*events, forged])
    assert found is not None and "refers to what a ballot said" in found[1]


def test_the_audit_refuses_participation_points_while_off() -> None:
    _, events = ledger_with(SetVoteParticipation(at=T0, by=CLERK, enabled=True),
                            SetRule(at=T0, by=CLERK, rule=TAKING_PART))
    ledger = fold(events)
    award = decide(ledger, Award(at=T0, by=CLERK, award_id="v1", person_id="p1", rule_id="voted", source=VOTE))
    off = decide(ledger, SetVoteParticipation(at=T0, by=CLERK, enabled=False))
    assert ledger_problem([*events, *award]) is None
    found = ledger_problem([*events, off[0], *award])  # the award written after turning it off, rule kept
    assert found is not None and "while it is off" in found[1]
