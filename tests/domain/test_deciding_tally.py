"""The tally that decides (docs/rules.md, *Silent owners*): the deemed one when deeming is on and applies, else the
ballots cast; a result in words gives both tallies and says which decides, and why."""

from __future__ import annotations

from domain.ballots import Ballot
from domain.result_text import describe
from domain.rules import get_rule
from domain.tally import TallySettings, tally

SPECIAL = get_rule("cc278-special")
DEEM = TallySettings(deem_silent=True)


def test_deeming_applied_the_deemed_tally_decides(electorate_of) -> None:
    electorate = electorate_of(["10"] * 12)
    result = tally(electorate, SPECIAL, [Ballot(owner_id=f"o{i}", choice="for") for i in range(5)], settings=DEEM)
    assert (result.outcome, result.approved, result.effective_outcome) == ("no_quorum", False, "approved")
    decided = result.decided()
    assert result.deemed and decided is result.deeming.result
    assert (decided.outcome, decided.approved, decided.in_favour.owners) == ("approved", True, 12)
    zh, en = describe(result, "zh"), describe(result, "en")
    assert "实际投票：参与 5/12 户、50/120 ㎡；同意 5 户、50 ㎡" in zh and "结果：参与表决未达法定比例" in zh
    assert "视为随多数后：参与 12/12 户、120/120 ㎡；同意 12 户、120 ㎡" in zh
    assert "以视为随多数后的计票为准（沉默业主规则），最终结果：通过" in zh
    assert "ballots cast: 5 of 12 owners" in en and "with silent owners deemed: 12 of 12 owners" in en
    assert en.endswith("the deemed tally decides (silent-owner rule); result: approved")


def test_deeming_not_applied_the_ballots_cast_decide_and_say_why(electorate_of) -> None:
    electorate = electorate_of(["10", "10", "100", "10", "10", "10"])
    ballots = [Ballot(owner_id="o0", choice="for"), Ballot(owner_id="o1", choice="for"),
               Ballot(owner_id="o2", choice="against")]  # more heads for, more area against
    result = tally(electorate, SPECIAL, ballots, settings=DEEM)
    assert not result.deemed and result.decided() is result
    zh = describe(result, "zh")
    assert "按人数和按面积的多数意见不一致" in zh and "沉默业主规则不适用：以实际投票为准，最终结果：" in zh
    assert "视为随多数后" not in zh
    assert "deeming does not apply: the ballots cast decide" in describe(result, "en")


def test_deem_over_half_condition_fails_the_ballots_cast_decide(electorate_of) -> None:
    electorate = electorate_of(["10"] * 12)
    ballots = [Ballot(owner_id=f"o{i}", choice="for") for i in range(5)]
    result = tally(electorate, SPECIAL, ballots, settings=TallySettings(deem_silent=True, deem_over_half=True))
    assert not result.deemed and result.decided().outcome == result.outcome == "no_quorum"
    assert "须户数和面积都过半" in describe(result, "zh") and "以实际投票为准" in describe(result, "zh")


def test_deeming_off_only_the_ballots_cast(electorate_of) -> None:
    result = tally(electorate_of(["10"] * 4), SPECIAL, [Ballot(owner_id="o0", choice="for")])
    assert result.deeming is None and result.decided() is result
    assert describe(result, "zh") == ("实际投票：参与 1/4 户、10/40 ㎡；同意 1 户、10 ㎡，反对 0 户、0 ㎡，"
                                      "弃权 0 户、0 ㎡，结果：参与表决未达法定比例，表决无效")
