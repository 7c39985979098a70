"""Builders shared by the domain tests (exposed as fixtures: test modules here are not a package)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.roll import Electorate, Roll, Room, Scope

BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2025, 11, 3, 9, 0, tzinfo=BEIJING)


def make_roll(owners: Sequence[tuple[str, str | Sequence[str]]], building: str = "1") -> Roll:
    """A roll where each (owner_id, area or areas) holds one room per area, all in one entrance."""
    rooms = []
    for owner_id, areas in owners:
        for area in [areas] if isinstance(areas, str) else areas:
            rooms.append(
                Room(
                    room_id=f"{building}-{len(rooms) + 1:03d}",
                    building=building,
                    entrance="1",
                    floor=str(len(rooms) // 4 + 1),
                    area_m2=Decimal(area),
                    owner_id=owner_id,
                    owner_name=f"业主{owner_id}",
                )
            )
    return Roll(rooms=tuple(rooms))


def make_electorate(areas: Sequence[str]) -> Electorate:
    """Owners o0, o1, … with the given areas, one room each."""
    return make_roll([(f"o{i}", area) for i, area in enumerate(areas)]).select(Scope())


@pytest.fixture
def electorate_of() -> Callable[[Sequence[str]], Electorate]:
    return make_electorate


@pytest.fixture
def roll_of() -> Callable[..., Roll]:
    return make_roll


@pytest.fixture
def t0() -> datetime:
    return T0
