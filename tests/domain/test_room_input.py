"""A room as people type it (domain/room_input.py): the usual forms are read, and matched against the roll by
building, entrance and number; an ambiguous or unknown room says what to type instead."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.roll import RoomEntry
from domain.room_input import (
    RoomAmbiguousError,
    RoomInput,
    RoomInputError,
    RoomNotFoundError,
    find_room,
    find_rooms,
    parse_room,
)
from tests.texts import en, zh


def room(room_id: str, building: str, entrance: str, owner: str) -> RoomEntry:
    return RoomEntry(room_id=room_id, building=building, entrance=entrance, floor="1", area_m2=Decimal("80.5"),
                     owner_id=owner)


ESTATE = [room("3-1-101", "3", "1", "a"), room("3-2-101", "3", "2", "b"), room("3-2-1101", "3", "2", "c"),
          room("5-1-101", "5", "1", "d")]
ONE_ENTRANCE = [room("3-2-101", "3", "2", "b"), room("3-2-102", "3", "2", "e"), room("3-2-1101", "3", "2", "c")]


@pytest.mark.parametrize(("typed", "parsed"), [
    ("101", RoomInput(number="101")),
    (" 101室 ", RoomInput(number="101")),
    ("3-2-101", RoomInput(building="3", entrance="2", number="101")),
    ("３－２－１０１", RoomInput(building="3", entrance="2", number="101")),
    ("3/2/101", RoomInput(building="3", entrance="2", number="101")),
    ("3 - 2 - 101", RoomInput(building="3", entrance="2", number="101")),
    ("3栋2单元101", RoomInput(building="3", entrance="2", number="101")),
    ("3栋2单元101室", RoomInput(building="3", entrance="2", number="101")),
    ("3号楼2单元101", RoomInput(building="3", entrance="2", number="101")),
    ("三栋二单元101", RoomInput(building="3", entrance="2", number="101")),
    ("十二幢1单元1101", RoomInput(building="12", entrance="1", number="1101")),
    ("3#101", RoomInput(building="3", number="101")),
    ("3-101", RoomInput(building="3", number="101")),
    ("a座1单元201", RoomInput(building="A", entrance="1", number="201")),
])
def test_usual_forms_are_read(typed: str, parsed: RoomInput) -> None:
    assert parse_room(typed) == parsed


@pytest.mark.parametrize("typed", ["", "   ", "张三", "3-2-1-101", "101?", "x" * 41])
def test_what_is_no_room_says_the_forms_that_are(typed: str) -> None:
    with pytest.raises(RoomInputError) as caught:
        parse_room(typed)
    assert "3栋2单元101" in zh(caught.value) and "3-2-101" in en(caught.value)


@pytest.mark.parametrize(("typed", "owner"), [
    ("3-2-101", "b"), ("3栋2单元101室", "b"), ("３－２－１０１", "b"), ("3-2-0101", "b"), ("3-1-101", "a"),
    ("5-101", "d"), ("1101", "c"),
])
def test_a_room_is_found_by_its_parts(typed: str, owner: str) -> None:
    assert find_room(typed, ESTATE).owner_id == owner


def test_the_number_alone_is_enough_within_one_entrance() -> None:
    assert find_room("101", ONE_ENTRANCE).owner_id == "b"
    assert find_room("102室", ONE_ENTRANCE).owner_id == "e"


def test_a_room_id_written_the_roll_s_own_way_is_found_as_it_is() -> None:
    rolls_own = [room("3栋2单元101", "3栋", "2单元", "x"), room("3栋2单元102", "3栋", "2单元", "y")]
    assert find_room("3栋2单元101", rolls_own).owner_id == "x"
    assert find_room("3-2-102", rolls_own).owner_id == "y"
    assert find_room("101", rolls_own).owner_id == "x"


def test_an_ambiguous_number_names_the_rooms_and_asks_for_building_and_entrance() -> None:
    assert [r.owner_id for r in find_rooms("101", ESTATE)] == ["a", "b", "d"]
    with pytest.raises(RoomAmbiguousError) as caught:
        find_room("101", ESTATE)
    assert zh(caught.value) == "“101”对应 3 户（3-1-101、3-2-101、5-1-101），请加上楼栋和单元，例如 3-2-101"
    assert "fits 3 rooms (3-1-101, 3-2-101, 5-1-101)" in en(caught.value)


def test_an_unknown_room_says_so() -> None:
    with pytest.raises(RoomNotFoundError) as caught:
        find_room("3-2-909", ESTATE)
    assert "3-2-909" in zh(caught.value) and "名册" in zh(caught.value)
