"""Volunteer teams and activities: given events, when a command, then events or an error; exact minutes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest

from domain.operator import Operator
from domain.volunteer_decide import (
    CoordinatorCheck,
    FormTeam,
    JoinTeam,
    OpenVolunteers,
    RecordHours,
    Scan,
    ScheduleActivity,
    SignUp,
    WithdrawSignUp,
    decide,
)
from domain.volunteer_events import CheckedIn, CheckedOut, SignedUp, VolunteerEvent
from domain.volunteers import Roster, VolunteerError, fold, hours, roster_problem

BJ = timezone(timedelta(hours=8))
START = datetime(2025, 11, 8, 9, 0, tzinfo=BJ)
END = START + timedelta(hours=2)
COORD = Operator(name="王队长", role="grid_worker", via="cli")
ME = Operator(name="p1", role="person", via="link")


def given(*commands: object, capacity: int = 2) -> tuple[Roster, list[VolunteerEvent]]:
    setup = (OpenVolunteers(at=START - timedelta(days=3), by=COORD, community="xfl"),
             FormTeam(at=START - timedelta(days=3), by=COORD, team_id="green", name="绿色家园志愿服务队"),
             JoinTeam(at=START - timedelta(days=3), by=COORD, team_id="green", person_id="p1"),
             ScheduleActivity(at=START - timedelta(days=2), by=COORD, activity_id="a1", team_id="green",
                              title="清理楼道杂物", place="3号楼", starts_at=START, ends_at=END, capacity=capacity))
    events: list[VolunteerEvent] = []
    for command in (*setup, *commands):
        events += decide(fold(events), command)  # type: ignore[arg-type]
    assert roster_problem(events) is None
    return fold(events), events


def scan(person: str, at: datetime) -> Scan:
    return Scan(at=at, by=Operator(name=person, role="person", via="link"), activity_id="a1", person_id=person)


def test_the_first_scan_checks_in_and_signs_up_the_next_checks_out_with_exact_minutes() -> None:
    roster, events = given()
    made = decide(roster, scan("p1", START - timedelta(minutes=10)))
    assert [type(e) for e in made] == [SignedUp, CheckedIn]
    roster = fold(made, roster)
    [out] = decide(roster, scan("p1", END - timedelta(minutes=29, seconds=59)))
    assert isinstance(out, CheckedOut) and out.minutes == 90  # from the start, whole minutes: 90 min 1 s → 90
    roster = fold([out], roster)
    assert roster.minutes_of("p1") == 90 and hours(90) == Fraction(3, 2)
    with pytest.raises(VolunteerError, match="checked out already"):
        decide(roster, scan("p1", END))
    assert roster_problem([*events, *made, out]) is None


def test_scan_outside_the_window_is_refused_with_what_to_do() -> None:
    roster, _ = given()
    with pytest.raises(VolunteerError, match="ask the coordinator"):
        decide(roster, scan("p1", START - timedelta(minutes=31)))
    roster = fold(decide(roster, scan("p1", START)), roster)
    with pytest.raises(VolunteerError, match="within 2 hours of the end"):
        decide(roster, scan("p1", END + timedelta(hours=2, minutes=1)))


def test_capacity_is_kept() -> None:
    roster, _ = given(SignUp(at=START - timedelta(days=1), by=ME, activity_id="a1", person_id="p1"),
                      SignUp(at=START - timedelta(days=1), by=ME, activity_id="a1", person_id="p2"))
    with pytest.raises(VolunteerError, match="is full"):
        decide(roster, SignUp(at=START - timedelta(days=1), by=ME, activity_id="a1", person_id="p3"))
    with pytest.raises(VolunteerError, match="is full"):
        decide(roster, scan("p3", START))
    freed = fold(decide(roster, WithdrawSignUp(at=START, by=ME, activity_id="a1", person_id="p2")), roster)
    assert [e.type for e in decide(freed, scan("p3", START))] == ["SignedUp", "CheckedIn"]


def test_the_coordinator_records_arrival_and_departure_and_corrects_hours() -> None:
    roster, events = given()
    checked = decide(roster, CoordinatorCheck(at=START + timedelta(minutes=40), by=COORD, activity_id="a1",
                                              person_id="p2", direction="in", time=START + timedelta(minutes=5)))
    roster = fold(checked, roster)
    with pytest.raises(VolunteerError, match="future"):
        decide(roster, CoordinatorCheck(at=END, by=COORD, activity_id="a1", person_id="p2", direction="out",
                                        time=END + timedelta(minutes=1)))
    [out] = decide(roster, CoordinatorCheck(at=END + timedelta(hours=5), by=COORD, activity_id="a1",
                                            person_id="p2", direction="out", time=END + timedelta(minutes=30)))
    assert isinstance(out, CheckedOut) and out.minutes == 115  # the late stay does not count by itself
    roster = fold([out], roster)
    [fixed] = decide(roster, RecordHours(at=END + timedelta(hours=5), by=COORD, activity_id="a1", person_id="p2",
                                         minutes=145, reason="收尾多留半小时"))
    assert fold([fixed], roster).minutes_of("p2") == 145
    assert roster_problem([*events, *checked, out, fixed]) is None


def test_the_audit_finds_forged_minutes() -> None:
    roster, events = given()
    made = decide(roster, scan("p1", START))
    roster = fold(made, roster)
    [out] = decide(roster, scan("p1", END))
    forged = out.model_copy(update={"minutes": out.minutes + 60})  # type: ignore[union-attr]
    found = roster_problem([*events, *made, forged])
    assert found is not None and "counts 120 minutes, the check-out records 180" in found[1]
