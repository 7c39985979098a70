"""Every threshold on both sides of its bound, by area and by headcount independently."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import pytest

from domain.ballots import Ballot
from domain.errors import RuleNotFoundError
from domain.rules import RULES, get_rule
from domain.tally import tally
from domain.tally_result import TallyResult
from tests.texts import en, zh


def run(electorate_of, rule_id: str, areas: Sequence[str], votes: str) -> TallyResult:
    """``votes``: one letter per owner, F(or) A(gainst) B (abstain) or . (silent)."""
    electorate = electorate_of(areas)
    choice = {"F": "for", "A": "against", "B": "abstain"}
    ballots = [Ballot(owner_id=f"o{i}", choice=choice[v]) for i, v in enumerate(votes) if v != "."]
    return tally(electorate, get_rule(rule_id), ballots)


def failed(result: TallyResult) -> set[str]:
    return {f.id for f in result.failed_conditions}


# (areas, votes, outcome, failed condition ids)
QUORUM_CASES = [
    pytest.param(["50"] * 6, "FFFF..", "approved", set(), id="exactly-2/3-area-and-headcount"),
    pytest.param(["49.99", "50", "50", "50", "50.01", "50"], "FFFF..", "no_quorum", {"quorum-area"}, id="area-below"),
    pytest.param(["100", "60", "40", "40", "30", "30"], "FFF...", "no_quorum", {"quorum-owners"}, id="owners-below"),
    pytest.param(["50.01", "50", "50", "50", "49.99", "50"], "FFFF..", "approved", set(), id="area-just-above"),
    pytest.param(["10"] * 9, "FFFFFF...", "approved", set(), id="owners-exactly-6/9"),
    pytest.param(["10"] * 9, "FFFFF....", "no_quorum", {"quorum-owners", "quorum-area"}, id="owners-5/9"),
    pytest.param(["1"] * 5 + ["100"] * 4, "FFFF..FFF", "approved", set(), id="area-heavy-passes"),
]


@pytest.mark.parametrize("rule_id", ["cc278-special", "cc278-ordinary"])
@pytest.mark.parametrize(("areas", "votes", "outcome", "fails"), QUORUM_CASES)
def test_quorum_boundaries(electorate_of, rule_id, areas, votes, outcome, fails) -> None:
    result = run(electorate_of, rule_id, areas, votes)
    assert result.outcome == outcome
    assert failed(result) == fails
    assert result.quorum_met is (outcome != "no_quorum")
    assert result.approved is (outcome == "approved")


SPECIAL_CASES = [
    pytest.param(["25"] * 4, "FFFA", "approved", set(), id="exactly-3/4-both"),
    pytest.param(["24.99", "25", "25", "25.01"], "FFFA", "rejected", {"approval-area"}, id="area-below-3/4"),
    pytest.param(["25.01", "25", "25", "24.99"], "FFFA", "approved", set(), id="area-above-3/4"),
    pytest.param(["30"] * 5 + ["1"] * 3, "FFFFFAAA", "rejected", {"approval-owners"}, id="owners-5/8"),
    pytest.param(["10"] * 8, "FFFFFFAA", "approved", set(), id="owners-exactly-6/8"),
    pytest.param(["25"] * 4, "FFFB", "approved", set(), id="abstain-participates"),
    pytest.param(["25"] * 4, "FFBB", "rejected", {"approval-area", "approval-owners"}, id="abstain-not-for"),
]


@pytest.mark.parametrize(("areas", "votes", "outcome", "fails"), SPECIAL_CASES)
def test_special_majority_boundaries(electorate_of, areas, votes, outcome, fails) -> None:
    result = run(electorate_of, "cc278-special", areas, votes)
    assert (result.outcome, failed(result)) == (outcome, fails)


ORDINARY_CASES = [
    pytest.param(["25"] * 4, "FFAA", "rejected", {"approval-area", "approval-owners"}, id="exactly-half-fails"),
    pytest.param(["25.01", "25", "25", "24.99"], "FFAA", "rejected", {"approval-owners"}, id="area-above-heads-half"),
    pytest.param(["10", "10", "30", "25", "25"], "FFFAA", "rejected", {"approval-area"}, id="heads-above-area-half"),
    pytest.param(["10", "10", "30.01", "25", "25"], "FFFAA", "approved", set(), id="both-just-above"),
    pytest.param(["25"] * 4, "FFFA", "approved", set(), id="three-of-four"),
]


@pytest.mark.parametrize(("areas", "votes", "outcome", "fails"), ORDINARY_CASES)
def test_ordinary_majority_boundaries(electorate_of, areas, votes, outcome, fails) -> None:
    result = run(electorate_of, "cc278-ordinary", areas, votes)
    assert (result.outcome, failed(result)) == (outcome, fails)


CONSENT_CASES = [
    pytest.param(["10"] * 3, "FF.", "approved", set(), id="exactly-2/3-of-all"),
    pytest.param(["33.33", "33.33", "33.34"], "FF.", "rejected", {"approval-area"}, id="area-just-below"),
    pytest.param(["33.34", "33.33", "33.33"], "FFA", "approved", set(), id="area-just-above"),
    pytest.param(["30", "30", "30", "1", "1", "1"], "FFF...", "rejected", {"approval-owners"}, id="heads-half"),
    pytest.param(["10"] * 3, "FA.", "rejected", {"approval-area", "approval-owners"}, id="one-third"),
    pytest.param(["10"] * 3, "...", "rejected", {"approval-area", "approval-owners"}, id="nobody-votes"),
]


@pytest.mark.parametrize(("areas", "votes", "outcome", "fails"), CONSENT_CASES)
def test_consent_two_thirds_counts_all_owners(electorate_of, areas, votes, outcome, fails) -> None:
    result = run(electorate_of, "consent-2of3", areas, votes)
    assert (result.outcome, failed(result)) == (outcome, fails)
    assert result.quorum_met is None


@pytest.mark.parametrize(
    ("votes", "outcome"),
    [("FFF", "approved"), ("FFB", "rejected"), ("FF.", "rejected"), ("FFA", "rejected")],
)
def test_unanimous(electorate_of, votes, outcome) -> None:
    result = run(electorate_of, "unanimous", ["10", "20", "30"], votes)
    assert result.outcome == outcome
    assert result.quorum_met is None


@pytest.mark.parametrize(
    ("areas", "votes", "outcome"),
    [
        (["10"] * 4, "FFAA", "rejected"),
        (["10"] * 5, "FFFAA", "approved"),
        (["1", "1", "1", "100", "100"], "FFFAA", "approved"),  # area is not counted
        (["10"] * 4, "FFAB", "rejected"),  # abstention participates: 2/4 is not more than half
        (["10"] * 100, "F" + "." * 99, "approved"),  # no quorum
        (["10"] * 3, "...", "rejected"),
    ],
)
def test_headcount_majority(electorate_of, areas, votes, outcome) -> None:
    result = run(electorate_of, "headcount-majority", areas, votes)
    assert result.outcome == outcome
    assert result.quorum_met is None


def test_no_quorum_reports_only_quorum_conditions(electorate_of) -> None:
    result = run(electorate_of, "cc278-ordinary", ["10"] * 3, "F..")
    assert result.outcome == "no_quorum"
    assert failed(result) == {"quorum-area", "quorum-owners"}
    assert all("未达到" in f.zh and "not met" in f.en for f in result.failed_conditions)


def test_ratios_are_exact_fractions(electorate_of) -> None:
    result = run(electorate_of, "cc278-ordinary", ["10", "20", "30"], "FA.")
    assert result.ratios.participation_area == Fraction(1, 2)
    assert result.ratios.participation_owners == Fraction(2, 3)
    assert result.ratios.in_favour_area == Fraction(1, 3)
    assert result.ratios.in_favour_owners == Fraction(1, 2)


def test_undefined_ratio_when_nobody_participates(electorate_of) -> None:
    result = run(electorate_of, "headcount-majority", ["10"], ".")
    assert result.ratios.in_favour_owners is None
    assert result.to_json()["ratios"]["in_favour_owners"] is None


# Exact decimal results on a bound that binary floats misjudge (found by search, kept as regressions).
def test_three_quarters_exact_where_floats_say_below(electorate_of) -> None:
    for_areas, against_areas = ["245.71", "154.73"], ["58.59", "74.89"]
    f = sum(float(a) for a in for_areas)
    a = sum(float(x) for x in against_areas)
    assert not f / (f + a) >= 0.75  # a float implementation would reject
    result = run(electorate_of, "cc278-special", for_areas + against_areas, "FFAA")
    assert result.ratios.in_favour_area == Fraction(3, 4)
    assert "approval-area" not in failed(result)


def test_exact_half_where_floats_say_above(electorate_of) -> None:
    for_areas, against_areas = ["156.49", "9.08"], ["79.34", "86.23"]
    f = sum(float(x) for x in for_areas)
    a = sum(float(x) for x in against_areas)
    assert f / (f + a) > 0.5  # a float implementation would approve by area
    result = run(electorate_of, "cc278-ordinary", for_areas + against_areas, "FFAA")
    assert result.ratios.in_favour_area == Fraction(1, 2)
    assert "approval-area" in failed(result)


def test_registry_and_unknown_rule() -> None:
    assert set(RULES) == {"cc278-special", "cc278-ordinary", "consent-2of3", "unanimous", "headcount-majority"}
    with pytest.raises(RuleNotFoundError) as info:
        get_rule("cc278")
    assert "cc278-special" in zh(info.value) and "cc278-special" in en(info.value)


def test_thresholds_encode_yishang_and_guobanshu() -> None:
    special = get_rule("cc278-special")
    ordinary = get_rule("cc278-ordinary")
    assert all(c.threshold.inclusive for c in special.quorum + special.approval)
    assert all(not c.threshold.inclusive for c in ordinary.approval)
    assert {c.threshold.fraction for c in ordinary.quorum} == {Fraction(2, 3)}
