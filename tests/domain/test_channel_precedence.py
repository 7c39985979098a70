"""Online and paper ballots of one owner, in both orders, with ballots changeable or not (RULES.md: "A paper
ballot counts only when the same owner has no online ballot; an owner's last online ballot counts", after
Shenzhen 深建规〔2020〕14号)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.commands import CastBallot, OpenBox
from domain.decider import BoxState, decide, fold
from domain.errors import BallotNotChangeableError
from domain.events import BallotCast, Question
from domain.roll import Scope
from tests.texts import en, zh


@pytest.fixture
def opener(roll_of, t0):
    roll = roll_of([(f"o{i}", "10") for i in range(4)])

    def open_box(changeable: bool) -> BoxState:
        cmd = OpenBox(deliberation_id="d-1", questions=(Question(text_zh="是否同意？", text_en="Agree?"),),
                      rule_id="cc278-ordinary", scope=Scope(), roll=roll, opens_at=t0,
                      closes_at=t0 + timedelta(days=15), ballots_changeable=changeable)
        return fold(decide(BoxState(), cmd))

    return open_box


def online(owner: str, at, choice: str) -> CastBallot:
    return CastBallot(owner_id=owner, choice=choice, cast_at=at)


def paper(owner: str, at, choice: str, ref: str = "P-1") -> CastBallot:
    return CastBallot(owner_id=owner, choice=choice, cast_at=at, channel="paper", paper_ref=ref, entered_by=7)


def cast(state: BoxState, command: CastBallot) -> BoxState:
    events = decide(state, command)
    assert [type(e) for e in events] == [BallotCast], "recorded"
    return fold(events, state)


@pytest.mark.parametrize("changeable", [False, True], ids=["final", "changeable"])
def test_online_after_paper_is_accepted_and_counts(opener, t0, changeable) -> None:
    state = cast(opener(changeable), paper("o0", t0 + timedelta(hours=1), "against"))
    assert state.tally().counted_choice("o0") == "against"
    state = cast(state, online("o0", t0 + timedelta(hours=2), "for"))
    assert state.tally().counted_choice("o0") == "for", "the online ballot counts"
    assert state.tally().precedence("o0", "online") == "online_over_paper"
    result = state.results()["main"]
    assert (result.in_favour.owners, result.against.owners, result.participating.owners) == (1, 0, 1)


@pytest.mark.parametrize("changeable", [False, True], ids=["final", "changeable"])
def test_paper_after_online_is_recorded_and_not_counted(opener, t0, changeable) -> None:
    state = cast(opener(changeable), online("o0", t0 + timedelta(hours=2), "for"))
    # Filled in later than the online ballot, and entered after it: still not counted.
    state = cast(state, paper("o0", t0 + timedelta(hours=3), "against"))
    assert state.tally().counted_choice("o0") == "for"
    assert state.tally().precedence("o0", "paper") == "paper_not_counted"
    # A second paper sheet changes nothing either: recorded, not counted.
    state = cast(state, paper("o0", t0 + timedelta(hours=4), "abstain", ref="P-2"))
    assert state.tally().counted_choice("o0") == "for"
    assert state.results()["main"].participating.owners == 1


def test_a_second_online_ballot_is_refused_when_final(opener, t0) -> None:
    state = cast(opener(False), online("o0", t0, "for"))
    with pytest.raises(BallotNotChangeableError) as refused:
        decide(state, online("o0", t0 + timedelta(hours=1), "against"))
    assert "不允许改票" in zh(refused.value) and "ballots are final" in en(refused.value)
    # Also after a paper ballot made the online one count.
    state = cast(cast(opener(False), paper("o1", t0, "against")), online("o1", t0 + timedelta(hours=1), "for"))
    with pytest.raises(BallotNotChangeableError):
        decide(state, online("o1", t0 + timedelta(hours=2), "against"))


def test_a_second_online_ballot_replaces_the_first_when_changeable(opener, t0) -> None:
    state = cast(cast(opener(True), online("o0", t0, "for")), online("o0", t0 + timedelta(hours=1), "against"))
    assert state.tally().counted_choice("o0") == "against"
    assert state.tally().precedence("o0", "online") is None


def test_a_second_paper_sheet_is_refused_when_final_and_the_later_counts_when_changeable(opener, t0) -> None:
    state = cast(opener(False), paper("o0", t0, "for"))
    with pytest.raises(BallotNotChangeableError) as refused:
        decide(state, paper("o0", t0 + timedelta(hours=1), "against", ref="P-2"))
    assert "纸质选票已录入" in zh(refused.value) and "paper ballot of owner o0" in en(refused.value)
    state = cast(cast(opener(True), paper("o0", t0 + timedelta(hours=1), "for")),
                 paper("o0", t0, "against", ref="P-2"))
    assert state.tally().counted_choice("o0") == "for", "of two paper sheets, the one filled in last counts"
    assert state.tally().precedence("o0", "paper") is None


def test_other_owners_are_not_affected(opener, t0) -> None:
    state = cast(opener(False), paper("o0", t0, "against"))
    state = cast(state, online("o1", t0, "for"))
    assert state.tally().precedence("o1", "online") is None
    assert (state.tally().counted_choice("o0"), state.tally().counted_choice("o1")) == ("against", "for")
