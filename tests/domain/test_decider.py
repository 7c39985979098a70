"""Ballot box decider: given events, when a command, then events or an error that says what to do."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from domain.chain import canonical_json
from domain.commands import AuthoriseProxy, CastBallot, OpenBox, RevokeProxy, SealBox
from domain.decider import BoxState, decide, evolve, fold
from domain.errors import (
    BallotNotChangeableError,
    BoxAlreadyOpenError,
    BoxClosedError,
    BoxNotOpenError,
    BoxStillOpenError,
    IdempotencyConflictError,
    InvalidChoiceError,
    NotInScopeError,
    NotOnRollError,
    ProxyLimitError,
    ProxyNotAuthorisedError,
    RollDigestMismatchError,
    ScopeError,
    StaleStateError,
    UnknownEventError,
    UnknownQuestionError,
    VotingNotStartedError,
)
from domain.events import (
    BallotCast,
    BoxOpened,
    BoxSealed,
    ProxyAuthorised,
    ProxyRevoked,
    Question,
    ResultRecorded,
    event_from_dict,
)
from domain.roll import Room, Scope
from tests.texts import en, zh


@pytest.fixture
def roll(roll_of):
    base = roll_of([(f"o{i}", "10") for i in range(6)] + [("o6", ["20", "30"])])
    other = Room(room_id="2-001", building="2", entrance="1", floor="1", area_m2="50", owner_id="far", owner_name="x")
    return base.model_copy(update={"rooms": (*base.rooms, other)})


@pytest.fixture
def open_cmd(roll, t0):
    return OpenBox(
        deliberation_id="d-1",
        questions=(Question(text_zh="是否更换物业？", text_en="Replace the property company?"),),
        rule_id="cc278-ordinary",
        scope=Scope(building="1"),
        roll=roll,
        opens_at=t0,
        closes_at=t0 + timedelta(days=15),
    )


def run(state: BoxState, *commands) -> tuple[BoxState, list]:
    produced = []
    for command in commands:
        events = decide(state, command)
        produced.extend(events)
        state = fold(events, state)
    return state, produced


@pytest.fixture
def opened(open_cmd) -> BoxState:
    return run(BoxState(), open_cmd)[0]


def vote(owner: str, at, choice: str = "for", **extra) -> CastBallot:
    return CastBallot(owner_id=owner, choice=choice, cast_at=at, **extra)


def test_open_box_freezes_the_roll(open_cmd, roll) -> None:
    (event,) = decide(BoxState(), open_cmd)
    assert isinstance(event, BoxOpened)
    assert event.roll_digest == roll.digest()
    payload = event.model_dump(mode="json")
    assert "owner_name" not in str(payload) and "phone" not in str(payload)
    assert payload["roll"][0]["area_m2"] == "10"
    with pytest.raises(BoxAlreadyOpenError):
        decide(fold([event]), open_cmd)


def test_fold_refuses_a_roll_that_does_not_match_its_digest(open_cmd) -> None:
    (event,) = decide(BoxState(), open_cmd)
    rows = list(event.roll)
    rows[0] = rows[0].model_copy(update={"area_m2": rows[0].area_m2 + 1})
    with pytest.raises(RollDigestMismatchError):
        fold([event.model_copy(update={"roll": tuple(rows)})])


def test_open_box_refuses_bad_input(open_cmd) -> None:
    with pytest.raises(ScopeError):
        decide(BoxState(), open_cmd.model_copy(update={"scope": Scope(building="9")}))
    with pytest.raises(BoxNotOpenError, match="closes_at"):
        decide(BoxState(), open_cmd.model_copy(update={"closes_at": open_cmd.opens_at}))


def test_cast_and_tally(opened, t0) -> None:
    state, events = run(opened, *(vote(f"o{i}", t0 + timedelta(hours=i)) for i in range(5)))
    assert all(isinstance(e, BallotCast) for e in events)
    result = state.results()["main"]
    assert (result.eligible.owners, result.participating.owners, result.outcome) == (7, 5, "no_quorum")
    state, _ = run(state, vote("o6", t0 + timedelta(days=1), "against"))
    assert state.tally().result().outcome == "rejected"  # area for 50 of 100: not more than half
    state, _ = run(state, vote("o5", t0 + timedelta(days=1)))
    assert state.tally().result().outcome == "approved"


def test_voting_window(opened, t0) -> None:
    with pytest.raises(VotingNotStartedError):
        decide(opened, vote("o0", t0 - timedelta(seconds=1)))
    with pytest.raises(BoxClosedError) as info:
        decide(opened, vote("o0", t0 + timedelta(days=15)))
    assert "截止" in zh(info.value) and "voting closed at 2025-11-18 09:00" in en(info.value)


def test_voters_must_be_on_the_roll_and_in_scope(opened, t0) -> None:
    with pytest.raises(NotOnRollError, match="nobody"):
        decide(opened, vote("nobody", t0))
    with pytest.raises(NotInScopeError):
        decide(opened, vote("far", t0))


def test_question_and_choice_are_checked(opened, t0) -> None:
    with pytest.raises(UnknownQuestionError):
        decide(opened, vote("o0", t0, question_id="q9"))
    narrow = opened.opened.model_copy(
        update={"questions": (Question(text_zh="a", text_en="a", options=("for", "against")),)}
    )
    with pytest.raises(InvalidChoiceError):
        decide(fold([narrow]), vote("o0", t0, "abstain"))


def test_ballots_not_changeable(opened, t0) -> None:
    final = fold([opened.opened.model_copy(update={"ballots_changeable": False})])
    state, _ = run(final, vote("o0", t0))
    with pytest.raises(BallotNotChangeableError):
        decide(state, vote("o0", t0 + timedelta(hours=1), "against"))
    state, events = run(opened, vote("o0", t0), vote("o0", t0 + timedelta(hours=1), "against"))
    assert len(events) == 2 and state.tally().counted_choice("o0") == "against"


def test_idempotency_key(opened, t0) -> None:
    state, events = run(opened, vote("o0", t0, idempotency_key="k1"))
    assert decide(state, vote("o0", t0, idempotency_key="k1")) == []
    with pytest.raises(IdempotencyConflictError):
        decide(state, vote("o0", t0, "against", idempotency_key="k1"))


def test_proxy_flow(opened, t0) -> None:
    with pytest.raises(ProxyNotAuthorisedError):
        decide(opened, vote("o0", t0, cast_by="o1"))
    state, events = run(opened, AuthoriseProxy(owner_id="o0", proxy_owner_id="o1", at=t0))
    assert events == [ProxyAuthorised(owner_id="o0", proxy_owner_id="o1", at=t0)]
    assert decide(state, AuthoriseProxy(owner_id="o0", proxy_owner_id="o1", at=t0)) == []
    state, _ = run(state, vote("o0", t0 + timedelta(minutes=1), cast_by="o1"))
    assert state.tally().counted_choice("o0") == "for"
    later = t0 + timedelta(hours=1)
    state, events = run(state, RevokeProxy(owner_id="o0", proxy_owner_id="o1", at=later))
    assert events == [ProxyRevoked(owner_id="o0", proxy_owner_id="o1", at=later)]
    with pytest.raises(ProxyNotAuthorisedError):
        decide(state, vote("o0", later, "against", cast_by="o1"))
    with pytest.raises(ProxyNotAuthorisedError):
        decide(state, RevokeProxy(owner_id="o0", proxy_owner_id="o1", at=later))


def test_proxy_limit_and_replacement(opened, t0) -> None:
    grants = [AuthoriseProxy(owner_id=f"o{i}", proxy_owner_id="o5", at=t0) for i in range(3)]
    state, _ = run(opened, *grants)
    with pytest.raises(ProxyLimitError) as info:
        decide(state, AuthoriseProxy(owner_id="o3", proxy_owner_id="o5", at=t0))
    assert "limit 3" in en(info.value) and "上限" in zh(info.value)
    events = decide(state, AuthoriseProxy(owner_id="o0", proxy_owner_id="o4", at=t0 + timedelta(1)))
    assert [type(e) for e in events] == [ProxyRevoked, ProxyAuthorised]
    assert events[0].reason == "replaced"
    with pytest.raises(NotOnRollError):
        decide(state, AuthoriseProxy(owner_id="o0", proxy_owner_id="ghost", at=t0))


def test_seal_and_record_result(opened, t0) -> None:
    early = decide(opened, SealBox(at=t0 + timedelta(days=1), reason="withdrawn"))
    assert early[0].reason == "withdrawn"
    state, _ = run(opened, vote("o0", t0))
    with pytest.raises(BoxStillOpenError):
        decide(state, SealBox(at=t0 + timedelta(days=1)))
    close = t0 + timedelta(days=15)
    paper = vote("o1", t0 + timedelta(days=2), "against", channel="paper", paper_ref="P-7")
    state, _ = run(state, paper)  # paper ballots are entered after the close, before the seal
    state, events = run(state, SealBox(at=close + timedelta(hours=2)))
    assert [type(e) for e in events] == [BoxSealed, ResultRecorded]
    assert events[1].results["main"] == state.results()["main"]
    assert state.status == "sealed" and state.recorded is not None
    with pytest.raises(BoxClosedError, match="sealed"):
        decide(state, paper)


def test_commands_need_an_open_box(t0) -> None:
    with pytest.raises(BoxNotOpenError):
        decide(BoxState(), vote("o0", t0))


def test_stale_state_and_snapshot(opened, t0) -> None:
    keep = opened.snapshot()
    (event,) = decide(opened, vote("o0", t0))
    newer = evolve(opened, event)
    with pytest.raises(StaleStateError):
        opened.results()
    assert newer.results()["main"].participating.owners == 1
    assert keep.results()["main"].participating.owners == 0


def test_events_round_trip_through_json_without_floats(open_cmd, t0) -> None:
    state, events = run(
        BoxState(),
        open_cmd,
        AuthoriseProxy(owner_id="o0", proxy_owner_id="o1", at=t0),
        vote("o0", t0 + timedelta(minutes=1), cast_by="o1", idempotency_key="k"),
        vote("o2", t0, "abstain", channel="paper", paper_ref="P-1"),
        RevokeProxy(owner_id="o0", proxy_owner_id="o1", at=t0 + timedelta(hours=1)),
        SealBox(at=t0 + timedelta(days=15)),
    )
    stored = [(e.type, canonical_json(e.model_dump(mode="json"))) for e in events]  # refuses floats
    decoded = [event_from_dict(kind, json.loads(payload)) for kind, payload in stored]
    assert decoded == events
    replayed = fold(decoded)
    assert replayed.results() == state.results()
    assert replayed.recorded == state.recorded


def test_unknown_event_type() -> None:
    with pytest.raises(UnknownEventError, match="BoxOpened"):
        event_from_dict("BoxExploded", {})
    with pytest.raises(UnknownEventError):
        event_from_dict("BallotCast", {"owner_id": "o0"})
