"""Decoding and folding a stream again in the same process (the auditor's tally, then its verify) reuses the
roll's validation, digest and selection (domain.roll, "recorded rolls"); the results are those of doing it
afresh, and a roll that differs in any value, even changed in place, takes the full path and is refused as
before. Also: events decode through their own validator with the union's verdicts and wording, and the
roll's fast document and selection equal the plain ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

import domain.roll
from domain.box_state import fold
from domain.commands import OpenBox
from domain.decider import BoxState, decide
from domain.errors import RollDigestMismatchError, UnknownEventError
from domain.events import _ADAPTER, Question, event_from_dict
from domain.numbers import decimal_str
from domain.roll import (
    DIGEST_FORMAT,
    Electorate,
    Roll,
    Room,
    RoomEntry,
    Scope,
    entries_canonical_bytes,
    select_entries,
)
from tests.texts import en

T0 = datetime(2026, 11, 30, 8, tzinfo=UTC)


@pytest.fixture(autouse=True)
def forget_rolls() -> Iterator[None]:
    domain.roll._CHECKED.clear()
    yield
    domain.roll._CHECKED.clear()


def opened_payload(owners: int = 24) -> dict[str, Any]:
    rooms = tuple(Room(room_id=f"{b}-1-{n:03d}", building=str(b), entrance="1", floor=str(n // 4 + 1),
                       area_m2=Decimal("55.50") + n, owner_id=f"O{b}-{n % 20}")  # some owners hold two rooms
                  for b in (1, 2) for n in range(owners // 2))
    (event,) = decide(BoxState(), OpenBox(deliberation_id="d", questions=(Question(text_zh="是否", text_en="q"),),
                                          rule_id="cc278-ordinary", scope=Scope(building="1"), roll=Roll(rooms=rooms),
                                          opens_at=T0, closes_at=T0 + timedelta(days=1)))
    return json.loads(json.dumps(event.model_dump(mode="json"), ensure_ascii=False))


def afresh(payload: dict[str, Any]) -> Any:
    domain.roll._CHECKED.clear()
    return event_from_dict("BoxOpened", payload)


def test_a_second_decode_and_fold_reuse_the_first_and_equal_a_fresh_one() -> None:
    payload = opened_payload()
    first = event_from_dict("BoxOpened", payload)
    again = event_from_dict("BoxOpened", json.loads(json.dumps(payload)))  # other objects, equal values
    assert again.roll is first.roll
    state, state_again = fold([first]), fold([again])
    assert state_again.electorate is state.electorate
    fresh = afresh(payload)
    assert fresh.roll is not first.roll
    assert again == fresh and again.model_dump() == fresh.model_dump()
    assert again.model_fields_set == fresh.model_fields_set
    assert fold([fresh]).electorate == state.electorate and fold([fresh]).results() == state.results()


def test_a_roll_changed_in_place_after_its_decode_is_validated_again_and_refused() -> None:
    payload = opened_payload()
    first = event_from_dict("BoxOpened", payload)
    fold([first])
    payload["roll"][0]["area_m2"] = "999.99"  # the very list the first decode was given
    forged = event_from_dict("BoxOpened", payload)
    assert forged.roll is not first.roll and forged.roll[0].area_m2 == Decimal("999.99")
    with pytest.raises(RollDigestMismatchError):
        fold([forged])
    payload["roll"][0]["area_m2"] = first.roll[0].area_m2.__str__()
    del payload["roll"][-1]  # a room left out: not the remembered rows either
    with pytest.raises(RollDigestMismatchError):
        fold([event_from_dict("BoxOpened", payload)])


def test_values_that_are_not_text_are_never_taken_for_remembered_ones() -> None:
    payload = opened_payload()
    payload["roll"][0]["area_m2"] = 88  # a JSON integer: a valid area, but not remembered
    event_from_dict("BoxOpened", payload)
    as_float = {**payload, "roll": [{**payload["roll"][0], "area_m2": 88.0}, *payload["roll"][1:]]}
    assert as_float["roll"] == payload["roll"]  # 88 == 88.0: why only text is remembered
    with pytest.raises(UnknownEventError) as refused:
        event_from_dict("BoxOpened", as_float)
    with pytest.raises(UnknownEventError) as refused_afresh:
        afresh(as_float)
    assert en(refused.value) == en(refused_afresh.value) and "floats are not accepted" in en(refused.value)


BALLOT = {"type": "BallotCast", "owner_id": "O1", "question_id": "main", "choice": "for", "channel": "online",
          "cast_at": "2026-11-30T08:00:00.000001Z", "cast_by": None, "paper_ref": None, "idempotency_key": "k"}
BAD: list[tuple[str, dict[str, Any]]] = [
    ("BallotCast", {**BALLOT, "choice": "maybe"}),
    ("BallotCast", {**BALLOT, "cast_at": "2026-11-30T08:00:00"}),  # no offset
    ("BallotCast", {**BALLOT, "extra": 1}),
    ("BallotCast", {k: v for k, v in BALLOT.items() if k != "owner_id"}),
    ("BoxSealed", {"type": "BoxSealed", "at": "2026-11-30T08:00:00Z", "reason": 3}),
    ("BoxOpened", {**opened_payload(), "roll": [{"room_id": "1"}]}),
]


@pytest.mark.parametrize(("kind", "payload"), BAD)
def test_refusals_are_the_unions_word_for_word(kind: str, payload: dict[str, Any]) -> None:
    with pytest.raises(UnknownEventError) as refused:
        event_from_dict(kind, payload)
    with pytest.raises(Exception) as union:  # noqa: PT011 - the union's own ValidationError
        _ADAPTER.validate_python({**payload, "type": kind})
    assert en(refused.value) == f"invalid {kind} payload: {union.value}"


@pytest.mark.parametrize("payload", [BALLOT, {**BALLOT, "type": "BoxSealed"}, {k: v for k, v in BALLOT.items()
                                                                               if k != "type"}])
def test_decoded_events_are_the_unions(payload: dict[str, Any]) -> None:
    # A payload stating another type, or none, is decoded as the column's type, as always.
    mine = event_from_dict("BallotCast", payload)
    theirs = _ADAPTER.validate_python({**payload, "type": "BallotCast"})
    assert mine == theirs and mine.model_fields_set == theirs.model_fields_set


def plain_document(rooms: list[RoomEntry]) -> bytes:
    listed = sorted(({k: decimal_str(v) if k == "area_m2" else v for k, v in room.model_dump().items()}
                     for room in rooms), key=lambda r: r["room_id"])
    return json.dumps({"format": DIGEST_FORMAT, "rooms": listed}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


@pytest.mark.parametrize("owner", ["O1", 'O"1', "O\\1", "O\x01", "O\x1f", "业主\u2028", "O%s", "O\x7f"])
def test_the_roll_document_is_the_encoders(owner: str) -> None:
    rooms = [RoomEntry(room_id="b", building="1", entrance="1", floor="1", area_m2=Decimal("88.50"), owner_id=owner),
             RoomEntry(room_id="a", building="1", entrance="2", floor="1", area_m2=Decimal("100"), owner_id="O2")]
    assert entries_canonical_bytes(rooms) == plain_document(rooms)


@pytest.mark.parametrize("scope", [Scope(), Scope(building="1"), Scope(building="2", entrance="1"),
                                   Scope(rooms=("1-1-003", "2-1-000"))])
def test_selection_equals_a_validated_electorate(scope: Scope) -> None:
    rooms = [RoomEntry.model_validate(r) for r in opened_payload()["roll"]]
    electorate = select_entries(rooms, scope, "digest")
    areas: dict[str, Decimal] = {}
    for room in rooms:
        if scope.contains(room):
            areas[room.owner_id] = areas.get(room.owner_id, Decimal(0)) + room.area_m2
    expected = Electorate(scope=scope, roll_digest="digest", owner_areas=areas,
                          roll_owner_ids=frozenset(r.owner_id for r in rooms))
    assert electorate == expected and electorate.total_area == expected.total_area
    assert [str(a) for a in electorate.owner_areas.values()] == [str(a) for a in expected.owner_areas.values()]
