"""The owner's own ballot prevails over her proxy's whatever their order (RULES.md, proxies), for every box opened
since the rule is recorded on ``BoxOpened``; a box opened before keeps the count it was recorded with (the last
ballot counted, whoever cast it), so its recorded result stays verifiable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.ballots import Ballot, ProxyRecord
from domain.commands import AuthoriseProxy, CastBallot, OpenBox
from domain.decider import BoxState, decide, fold
from domain.errors import BallotNotChangeableError, ProxyNotAuthorisedError
from domain.events import BallotCast, BoxOpened, Question, event_from_json
from domain.roll import Scope
from domain.rules import get_rule
from domain.tally import TallySettings, tally

ORDINARY = get_rule("cc278-ordinary")


@pytest.fixture
def opener(roll_of, t0):
    roll = roll_of([(f"o{i}", "10") for i in range(4)])

    def open_box(changeable: bool = True, **rule: bool) -> BoxState:
        cmd = OpenBox(deliberation_id="d-1", questions=(Question(text_zh="是否同意？", text_en="Agree?"),),
                      rule_id="cc278-ordinary", scope=Scope(), roll=roll, opens_at=t0,
                      closes_at=t0 + timedelta(days=15), ballots_changeable=changeable, **rule)
        state = fold(decide(BoxState(), cmd))
        # o0 authorises o1 at once
        return fold(decide(state, AuthoriseProxy(owner_id="o0", proxy_owner_id="o1", at=t0)), state)

    return open_box


def own(at, choice: str, channel: str = "online") -> CastBallot:
    return CastBallot(owner_id="o0", choice=choice, cast_at=at, channel=channel,
                      paper_ref="P-1" if channel == "paper" else None)


def by_proxy(at, choice: str) -> CastBallot:
    return CastBallot(owner_id="o0", choice=choice, cast_at=at, cast_by="o1")


def cast(state: BoxState, command: CastBallot) -> BoxState:
    events = decide(state, command)
    assert [type(e) for e in events] == [BallotCast], "recorded"
    return fold(events, state)


@pytest.mark.parametrize("changeable", [True, False], ids=["changeable", "final"])
def test_owner_first_then_proxy_the_owner_counts(opener, t0, changeable) -> None:
    state = cast(opener(changeable), own(t0 + timedelta(hours=1), "for"))
    state = cast(state, by_proxy(t0 + timedelta(hours=2), "against"))
    running = state.tally()
    assert running.counted_choice("o0") == "for", "the proxy's later ballot does not replace hers"
    assert running.counted_ballot("o0") == ("online", False)
    assert running.precedence("o0", "online", by_proxy=True) == "proxy_not_counted"
    result = state.results()["main"]
    assert (result.in_favour.owners, result.against.owners, result.participating.owners) == (1, 0, 1)


@pytest.mark.parametrize("changeable", [True, False], ids=["changeable", "final"])
def test_proxy_first_then_owner_the_owner_counts(opener, t0, changeable) -> None:
    state = cast(opener(changeable), by_proxy(t0 + timedelta(hours=1), "against"))
    assert state.tally().counted_ballot("o0") == ("online", True)
    state = cast(state, own(t0 + timedelta(hours=2), "for"))
    running = state.tally()
    assert running.counted_choice("o0") == "for"
    assert running.precedence("o0", "online") == "owner_over_proxy"
    assert state.results()["main"].against.owners == 0


def test_her_own_paper_ballot_prevails_over_the_proxys_online_one(opener, t0) -> None:
    state = cast(opener(), own(t0 + timedelta(hours=1), "abstain", channel="paper"))
    state = cast(state, by_proxy(t0 + timedelta(hours=2), "for"))
    assert state.tally().counted_choice("o0") == "abstain"
    assert state.tally().counted_ballot("o0") == ("paper", False)


def test_with_ballots_final_a_second_ballot_of_the_same_standing_is_refused(opener, t0) -> None:
    state = cast(opener(False), by_proxy(t0 + timedelta(hours=1), "for"))
    with pytest.raises(BallotNotChangeableError):
        decide(state, by_proxy(t0 + timedelta(hours=2), "against"))
    state = cast(state, own(t0 + timedelta(hours=3), "against"))  # hers still counts over the proxy's
    with pytest.raises(BallotNotChangeableError):
        decide(state, own(t0 + timedelta(hours=4), "for"))
    assert state.tally().counted_choice("o0") == "against"


def test_a_box_opened_before_the_rule_keeps_its_count(opener, t0) -> None:
    """No ``owner_prevails`` on BoxOpened: the last ballot counted, whoever cast it (as it was recorded)."""
    state = cast(opener(owner_prevails=False), own(t0 + timedelta(hours=1), "for"))
    state = cast(state, by_proxy(t0 + timedelta(hours=2), "against"))
    assert state.tally().counted_choice("o0") == "against"
    assert state.opened is not None and not state.opened.owner_prevails


def test_the_rule_is_recorded_on_box_opened_and_absent_means_before_it(roll_of, t0) -> None:
    roll = roll_of([("o0", "10"), ("o1", "10")])
    cmd = OpenBox(deliberation_id="d", questions=(Question(text_zh="问", text_en="q"),), rule_id=ORDINARY.id,
                  scope=Scope(), roll=roll, opens_at=t0, closes_at=t0 + timedelta(days=1))
    (opened,) = decide(BoxState(), cmd)
    payload = opened.model_dump(mode="json")
    assert payload["owner_prevails"] is True, "every box opened now records the rule"
    assert event_from_json("BoxOpened", opened.model_dump_json()) == opened
    old = {k: v for k, v in payload.items() if k != "owner_prevails"}  # a payload written before the rule
    decoded = event_from_json("BoxOpened", BoxOpened.model_validate(old).model_dump_json())
    assert decoded.owner_prevails is False
    assert "owner_prevails" not in decoded.model_dump(mode="json"), "an old box keeps its bytes (and hash)"


def test_batch_tally_applies_the_rule_unless_told_otherwise(electorate_of, t0) -> None:
    electorate = electorate_of(["10", "10", "10"])
    records = [ProxyRecord(kind="authorise", owner_id="o0", proxy_owner_id="o1", at=t0)]
    ballots = [Ballot(owner_id="o0", choice="for", cast_at=t0 + timedelta(minutes=1)),
               Ballot(owner_id="o0", choice="against", cast_at=t0 + timedelta(minutes=2), cast_by="o1")]
    assert tally(electorate, ORDINARY, ballots, proxies=records).in_favour.owners == 1
    old = tally(electorate, ORDINARY, ballots, proxies=records, settings=TallySettings(owner_prevails=False))
    assert old.against.owners == 1 and old.in_favour.owners == 0


def test_a_proxy_cannot_delegate_further(opener, t0) -> None:
    """o0 authorised o1; o1 authorises o2 for o1's own vote: o2 may not vote for o0."""
    state = opener()
    state = fold(decide(state, AuthoriseProxy(owner_id="o1", proxy_owner_id="o2", at=t0 + timedelta(minutes=1))),
                 state)
    with pytest.raises(ProxyNotAuthorisedError):
        decide(state, CastBallot(owner_id="o0", choice="for", cast_at=t0 + timedelta(hours=1), cast_by="o2"))
    assert state.tally().proxies.represented_by("o2", t0 + timedelta(hours=1)) == ["o1"]
