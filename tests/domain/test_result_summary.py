"""The published figures (domain/result_summary.py): exact counts, shares as fractions and percentages that never
cross the threshold they are compared with, wherever they appear, the deemed tally, ballots by channel, the head."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from domain.ballots import Ballot
from domain.result_summary import AUDIT_NOTE, summarize, summary_lines
from domain.rules import RULES
from domain.tally import Tally, TallySettings, tally


def test_a_share_just_short_of_three_quarters_reads_short_of_it_in_the_figures_and_the_condition(
        electorate_of) -> None:
    # 4,000 owners of 1 m² each; all take part; 2,999 for: 74.975 % — rounded half up it would read 75.0 %
    electorate = electorate_of(["1"] * 4000)
    ballots = [Ballot(owner_id=f"o{i}", choice="for" if i < 2999 else "against") for i in range(4000)]
    rule = RULES["cc278-special"]
    result = tally(electorate, rule, ballots)
    s = summarize(result, rule, sealed=True, head=(4003, "ab" * 32))
    assert s.cast.in_favour.owners_ratio == Fraction(2999, 4000)
    assert s.cast.in_favour.owners_percent == s.cast.in_favour.area_percent == "74.9%"
    approval = {c.id: c for c in s.cast.conditions}["approval-owners"]
    assert (approval.percent, approval.threshold, approval.met) == ("74.9%", "≥ 3/4", False)
    assert s.cast.participating.owners_percent == "100.0%" and s.outcome == "rejected"
    assert s.cast.against.owners_percent == "25.0%"  # no threshold: plain rounding (1001/4000 = 25.025 %)
    assert (s.source_zh, s.decided_by) == (rule.source_zh, "cast")
    lines = summary_lines(s, "zh")
    assert "同意：2999 户（占参与 2999/4000 ≈ 74.9%），2999 ㎡（占参与 2999/4000 ≈ 74.9%）" in lines
    assert f"记录链终点：seq=4003 hash={'ab' * 32}" in lines and lines[-2:] == [n[0] for n in AUDIT_NOTE]
    assert "Result: rejected" in summary_lines(s, "en")


def test_deemed_figures_beside_the_ballots_cast_and_which_decides(electorate_of) -> None:
    electorate = electorate_of(["100", "100", "100", "100", "100", "100"])
    ballots = [Ballot(owner_id="o0", choice="for"), Ballot(owner_id="o1", choice="for"),
               Ballot(owner_id="o2", choice="against")]
    rule = RULES["headcount-majority"]
    result = tally(electorate, rule, ballots, settings=TallySettings(deem_silent=True))
    s = summarize(result, rule, sealed=False)
    assert s.decided_by == "deemed" and s.deeming is not None and s.deeming.applied
    assert s.deeming.figures is not None and s.deeming.figures.in_favour.owners == 5
    assert s.deeming.silent_owners == 3 and s.head is None
    assert s.cast.in_favour.owners == 2 and s.cast.participating.owners_percent == "50.0%"
    text = summary_lines(s, "zh")
    assert "以视为随多数后的计票为准" in text and text[-1].endswith("（目前计票，尚未封箱）")


def test_ballots_by_channel_count_an_owner_with_both_once_online(electorate_of, t0) -> None:
    electorate = electorate_of(["50", "60.5", "70"])
    rule = RULES["cc278-ordinary"]
    running = Tally(electorate, rule)
    for ballot in (Ballot(owner_id="o0", choice="for", channel="paper", cast_at=t0),
                   Ballot(owner_id="o0", choice="against", channel="online", cast_at=t0),
                   Ballot(owner_id="o1", choice="for", channel="paper", cast_at=t0),
                   Ballot(owner_id="o2", choice="abstain", channel="online", cast_at=t0)):
        running.add(ballot)
    s = summarize(running.result(), rule, sealed=True, by_channel=running.by_channel())
    assert s.by_channel is not None
    assert (s.by_channel.online_owners, s.by_channel.online_area) == (2, Decimal("120"))
    assert (s.by_channel.paper_owners, s.by_channel.paper_area) == (1, Decimal("60.5"))
    assert s.to_json()["cast"]["participating"]["area"] == "180.5"  # exact on the wire, no floats
    assert "计入的选票：线上 2 户，纸质 1 户" in summary_lines(s, "zh")


def test_no_ballots_shows_no_percentage_rather_than_zero(electorate_of) -> None:
    rule = RULES["cc278-ordinary"]
    s = summarize(tally(electorate_of(["80"]), rule, []), rule, sealed=True)
    assert s.cast.in_favour.owners_percent == "—" and s.cast.participating.owners_percent == "0.0%"
    assert s.outcome == "no_quorum"
