"""Which ballot counts (online/paper, last wins), proxies, ignored ballots, silent-owner deeming, JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from domain.ballots import Ballot, ProxyBook, ProxyRecord
from domain.errors import ProxyLimitError, ProxyNotAuthorisedError
from domain.roll import Scope
from domain.rules import get_rule
from domain.tally import Tally, TallySettings, tally
from tests.texts import en

ORDINARY = get_rule("cc278-ordinary")


def minutes(t0, n: int):
    return t0 + timedelta(minutes=n)


def test_last_online_ballot_wins_by_cast_time_not_arrival(electorate_of, t0) -> None:
    electorate = electorate_of(["10", "10"])
    ballots = [
        Ballot(owner_id="o0", choice="against", cast_at=minutes(t0, 5)),
        Ballot(owner_id="o0", choice="for", cast_at=minutes(t0, 1)),  # arrives later, cast earlier
    ]
    result = tally(electorate, ORDINARY, ballots)
    assert (result.in_favour.owners, result.against.owners) == (0, 1)


def test_ties_in_cast_time_go_to_the_later_in_order(electorate_of, t0) -> None:
    electorate = electorate_of(["10"])
    same = [Ballot(owner_id="o0", choice=c, cast_at=t0) for c in ("for", "against", "abstain")]
    assert tally(electorate, ORDINARY, same).abstain.owners == 1


def test_without_cast_times_file_order_decides(electorate_of) -> None:
    electorate = electorate_of(["10"])
    result = tally(electorate, ORDINARY, [Ballot(owner_id="o0", choice="for"), Ballot(owner_id="o0", choice="against")])
    assert result.against.owners == 1


def test_online_beats_paper_whatever_the_times(electorate_of, t0) -> None:
    electorate = electorate_of(["10", "20"])
    ballots = [
        Ballot(owner_id="o0", choice="for", channel="online", cast_at=minutes(t0, 1)),
        Ballot(owner_id="o0", choice="against", channel="paper", cast_at=minutes(t0, 9), paper_ref="P-1"),
        Ballot(owner_id="o1", choice="against", channel="paper", cast_at=minutes(t0, 1)),
        Ballot(owner_id="o1", choice="for", channel="paper", cast_at=minutes(t0, 2)),
    ]
    result = tally(electorate, ORDINARY, ballots)
    assert (result.in_favour.owners, result.in_favour.area) == (2, Decimal(30))
    assert result.against.owners == 0


def test_paper_then_online_switches_to_online(electorate_of, t0) -> None:
    running = Tally(electorate_of(["10"]), ORDINARY)
    running.add(Ballot(owner_id="o0", choice="for", channel="paper", cast_at=minutes(t0, 9)))
    assert running.counted_choice("o0") == "for"
    running.add(Ballot(owner_id="o0", choice="against", channel="online", cast_at=minutes(t0, 1)))
    assert running.counted_choice("o0") == "against"
    assert running.result().participating.owners == 1


def test_ballots_outside_scope_or_roll_are_ignored_with_reason(roll_of, t0) -> None:
    roll = roll_of([("a", "10"), ("b", "20")])
    roll = roll.model_copy(update={"rooms": (*roll.rooms, roll.rooms[0].model_copy(update={
        "room_id": "9-001", "building": "9", "owner_id": "c"}))})  # fmt: skip
    electorate = roll.select(Scope(building="1"))
    result = tally(electorate, ORDINARY, [
        Ballot(owner_id="a", choice="for"),
        Ballot(owner_id="c", choice="for"),
        Ballot(owner_id="zz", choice="for"),
    ])  # fmt: skip
    assert [(i.owner_id, i.reason) for i in result.ignored] == [("c", "not-in-scope"), ("zz", "not-on-roll")]
    assert result.participating.owners == 1
    assert all(i.zh and i.en for i in result.ignored)


def proxy_ballot(owner: str, proxy: str, at, choice: str = "for") -> Ballot:
    return Ballot(owner_id=owner, choice=choice, cast_by=proxy, cast_at=at)


def test_proxy_ballot_counts_only_while_authorised(electorate_of, t0) -> None:
    electorate = electorate_of(["10", "20", "30"])
    records = [
        ProxyRecord(kind="authorise", owner_id="o0", proxy_owner_id="o2", at=minutes(t0, 10)),
        ProxyRecord(kind="revoke", owner_id="o0", proxy_owner_id="o2", at=minutes(t0, 20)),
    ]
    cases = {5: "proxy-unauthorised", 10: None, 15: None, 20: "proxy-revoked", 30: "proxy-revoked"}
    for minute, reason in cases.items():
        result = tally(electorate, ORDINARY, [proxy_ballot("o0", "o2", minutes(t0, minute))], proxies=records)
        assert [i.reason for i in result.ignored] == ([reason] if reason else []), minute
        assert result.in_favour.owners == (0 if reason else 1)


def test_unauthorised_proxy_and_proxy_without_time(electorate_of, t0) -> None:
    electorate = electorate_of(["10", "20", "30"])
    result = tally(electorate, ORDINARY, [
        proxy_ballot("o0", "o1", t0),
        Ballot(owner_id="o1", choice="for", cast_by="o2"),
        Ballot(owner_id="o2", choice="for", cast_by="o2"),  # cast by the owner themself
    ])  # fmt: skip
    assert [i.reason for i in result.ignored] == ["proxy-unauthorised", "proxy-no-time"]
    assert result.in_favour.owners == 1


def test_proxy_limit_default_three(electorate_of, t0) -> None:
    electorate = electorate_of(["10"] * 6)
    records = [ProxyRecord(kind="authorise", owner_id=f"o{i}", proxy_owner_id="o5", at=t0) for i in range(4)]
    ballots = [proxy_ballot(f"o{i}", "o5", minutes(t0, 1)) for i in range(4)]
    result = tally(electorate, ORDINARY, ballots, proxies=records)
    assert result.in_favour.owners == 3
    assert [(i.owner_id, i.reason) for i in result.ignored] == [("o3", "proxy-limit")]
    wider = tally(electorate, ORDINARY, ballots, proxies=records, settings=TallySettings(proxy_limit=4))
    assert wider.in_favour.owners == 4


def test_proxy_book_checks(t0) -> None:
    book = ProxyBook(limit=1)
    at = t0
    book.authorise("a", "p", at)
    with pytest.raises(ProxyLimitError) as info:
        book.check_authorise("b", "p", at)
    assert "limit 1" in en(info.value)
    with pytest.raises(ProxyNotAuthorisedError):
        book.check_authorise("a", "a", at)
    book.authorise("a", "q", at + timedelta(1))  # a new proxy ends the previous authorisation
    assert book.active_proxy("a", at + timedelta(2)) == "q"
    assert book.represented_by("p", at + timedelta(2)) == []
    book.check_authorise("b", "p", at + timedelta(2))


def test_silent_deeming_off_by_default_and_reported_when_on(electorate_of) -> None:
    electorate = electorate_of(["10"] * 10)
    ballots = [Ballot(owner_id=f"o{i}", choice="for") for i in range(4)] + [Ballot(owner_id="o4", choice="against")]
    plain = tally(electorate, ORDINARY, ballots)
    assert plain.deeming is None and plain.outcome == "no_quorum" == plain.effective_outcome
    deemed = tally(electorate, ORDINARY, ballots, settings=TallySettings(deem_silent=True))
    assert deemed.outcome == "no_quorum"  # the votes actually cast stay the main figures
    assert deemed.deeming is not None and deemed.deeming.applied and deemed.deeming.direction == "for"
    assert deemed.deeming.silent.owners == 5
    assert deemed.deeming.result is not None and deemed.deeming.result.in_favour.owners == 9
    assert deemed.effective_outcome == "approved"


def test_deeming_does_not_apply_when_majorities_disagree(electorate_of) -> None:
    electorate = electorate_of(["10", "10", "100", "10", "10", "10"])
    ballots = [
        Ballot(owner_id="o0", choice="for"),
        Ballot(owner_id="o1", choice="for"),
        Ballot(owner_id="o2", choice="against"),  # fewer heads, more area
    ]
    result = tally(electorate, ORDINARY, ballots, settings=TallySettings(deem_silent=True))
    assert result.deeming is not None and not result.deeming.applied
    assert result.deeming.result is None
    assert "不一致" in result.deeming.zh and "differ" in result.deeming.en
    assert result.effective_outcome == result.outcome


def test_to_json_has_strings_for_areas_and_fractions_for_ratios(electorate_of) -> None:
    result = tally(electorate_of(["89.50", "100.25", "10"]), ORDINARY, [
        Ballot(owner_id="o0", choice="for"), Ballot(owner_id="o1", choice="abstain")])  # fmt: skip
    data = result.to_json()
    assert data["eligible"] == {"owners": 3, "area": "199.75"}
    assert data["participating"] == {"owners": 2, "area": "189.75"}
    assert data["in_favour"] == {"owners": 1, "area": "89.5"}
    assert data["ratios"]["participation_owners"] == "2/3"
    assert data["ratios"]["in_favour_area"] == "358/759"
    assert data["thresholds"]["approval-area"] == {"fraction": "1/2", "inclusive": False}
    assert data["quorum_met"] is True and data["outcome"] == "rejected"
    assert "float" not in json.dumps(data) and all(not isinstance(v, float) for v in _leaves(data))


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value
