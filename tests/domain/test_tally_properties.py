"""Hypothesis properties of the tally."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.ballots import Ballot
from domain.roll import Electorate, Roll, Room, Scope
from domain.rules import RULES, get_rule
from domain.tally import Tally, tally

T0 = datetime(2025, 11, 3, 9, 0, tzinfo=timezone(timedelta(hours=8)))
FAST = settings(max_examples=150, deadline=None)

areas = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("300"), places=2)


@st.composite
def electorates(draw) -> Electorate:
    owner_areas = draw(st.lists(st.lists(areas, min_size=1, max_size=3), min_size=1, max_size=8))
    rooms = [
        Room(room_id=f"r{o}-{k}", building="1", entrance="1", floor="1", area_m2=a, owner_id=f"o{o}", owner_name="x")
        for o, owned in enumerate(owner_areas)
        for k, a in enumerate(owned)
    ]
    return Roll(rooms=tuple(rooms)).select(Scope())


def ballots_for(electorate: Electorate, timed: bool = True):
    owners = [*electorate.owner_areas, "stranger"]
    cast_at = st.integers(0, 10_000).map(lambda m: T0 + timedelta(minutes=m))
    return st.builds(
        Ballot,
        owner_id=st.sampled_from(owners),
        choice=st.sampled_from(["for", "against", "abstain"]),
        channel=st.sampled_from(["online", "paper"]),
        cast_at=cast_at if timed else st.none() | cast_at,
    )


def reference_choices(ballots: list[Ballot], electorate: Electorate) -> dict[str, str]:
    """Independent statement of the counting rule: sort, then take the last online, else the last paper."""
    chosen: dict[str, str] = {}
    order = sorted(
        enumerate(ballots),
        key=lambda p: (p[1].cast_at is not None, p[1].cast_at or T0, p[0]),
    )
    for channel in ("paper", "online"):  # online written last so it overrides paper
        for _, ballot in order:
            if ballot.channel == channel and ballot.owner_id in electorate.owner_areas:
                chosen[ballot.owner_id] = ballot.choice
    return chosen


@FAST
@given(data=st.data(), rule_id=st.sampled_from(sorted(RULES)))
def test_incremental_equals_batch_equals_reference(data, rule_id) -> None:
    electorate = data.draw(electorates())
    ballots = data.draw(st.lists(ballots_for(electorate, timed=False), max_size=25))
    rule = get_rule(rule_id)
    running = Tally(electorate, rule)
    for i, ballot in enumerate(ballots):
        running.add(ballot)
        assert running.result() == tally(electorate, rule, ballots[: i + 1])
    chosen = reference_choices(ballots, electorate)
    votes = running.votes()
    for choice in ("for", "against", "abstain"):
        owners = [o for o, c in chosen.items() if c == choice]
        assert votes[choice].owners == len(owners)
        assert votes[choice].area == sum((electorate.owner_areas[o] for o in owners), Decimal(0))


@FAST
@given(data=st.data(), rule_id=st.sampled_from(sorted(RULES)))
def test_outcome_independent_of_arrival_order_when_cast_times_differ(data, rule_id) -> None:
    electorate = data.draw(electorates())
    ballots = data.draw(st.lists(ballots_for(electorate), max_size=25, unique_by=lambda b: b.cast_at))
    shuffled = data.draw(st.permutations(ballots))
    rule = get_rule(rule_id)
    first, second = tally(electorate, rule, ballots), tally(electorate, rule, shuffled)
    assert first.model_copy(update={"ignored": ()}) == second.model_copy(update={"ignored": ()})
    assert Counter(i.model_dump_json() for i in first.ignored) == Counter(i.model_dump_json() for i in second.ignored)


@FAST
@given(data=st.data(), rule_id=st.sampled_from(sorted(RULES)))
def test_a_for_ballot_never_turns_approval_into_rejection(data, rule_id) -> None:
    electorate = data.draw(electorates())
    ballots = data.draw(st.lists(ballots_for(electorate), max_size=25))
    owner = data.draw(st.sampled_from(sorted(electorate.owner_areas)))
    rule = get_rule(rule_id)
    before = tally(electorate, rule, ballots)
    latest = T0 + timedelta(days=30)
    after = tally(electorate, rule, [*ballots, Ballot(owner_id=owner, choice="for", cast_at=latest)])
    if before.quorum_met is not False and before.approved:
        assert after.approved
    assert after.in_favour.owners >= before.in_favour.owners
    assert after.participating.area >= before.participating.area


@FAST
@given(data=st.data())
def test_totals_are_consistent(data) -> None:
    electorate = data.draw(electorates())
    ballots = data.draw(st.lists(ballots_for(electorate, timed=False), max_size=25))
    result = tally(electorate, get_rule("cc278-special"), ballots)
    assert result.participating == result.in_favour + result.against + result.abstain
    assert result.participating.owners <= result.eligible.owners
    assert result.participating.area <= result.eligible.area
    assert result.eligible.area == sum(electorate.owner_areas.values(), Decimal(0))
