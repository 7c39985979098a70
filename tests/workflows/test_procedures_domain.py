"""Procedure definitions, periods, cost shares and candidate selection (pure domain)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ballots import Ballot
from domain.legal_calendar import BEIJING
from domain.procedures import (
    CostShareError,
    PeriodError,
    ProcedureError,
    check_initiation,
    check_rule,
    cost_shares,
    deliberation_of,
    parse_period,
    resolve_periods,
    round_stream,
    select_candidate,
)
from domain.roll import RoomEntry, Scope
from domain.rules import get_rule
from domain.tally import tally
from tests.workflows.conftest import estate_roll


def test_periods_iso_days_exact_and_working_days() -> None:
    start = datetime(2026, 9, 28, 10, 0, tzinfo=BEIJING)  # Monday before the National Day holidays
    assert parse_period("PT30S").end(start) == start + timedelta(seconds=30)
    assert parse_period("P1DT2H").end(start) == start + timedelta(hours=26)
    # 民法典 第201–203条: 3 days from 9-28 end on 10-01, a holiday, so on the next working day, at 24:00.
    end = parse_period("P3D").end(start)
    assert end.astimezone(BEIJING).date() > date(2026, 10, 1) and end.astimezone(BEIJING).hour == 0
    assert parse_period("P2W").count == 14 and parse_period("P0D").end(start) == start
    assert parse_period("10wd").kind == "working_days"
    assert parse_period("10wd").end(start) > parse_period("P10D").end(start)


@pytest.mark.parametrize("text", ["15", "P", "PT", "P1Y", "P2M", "10 days", "wd"])
def test_bad_periods_say_how_to_write_them(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text)


def test_defaults_and_overrides() -> None:
    periods = resolve_periods("elevator", {"voting": "PT30S"})
    assert periods["publicity"].text == "P15D" and periods["mediation"].text == "10wd"
    assert periods["voting"].seconds == 30
    with pytest.raises(PeriodError, match="settable"):
        resolve_periods("elevator", {"votign": "P1D"})
    assert check_rule("elevator", None) == "cc278-special" and check_rule("elevator", "consent-2of3")
    with pytest.raises(ProcedureError):
        check_rule("property", "consent-2of3")
    with pytest.raises(PeriodError):
        parse_period("10wd").span()


def test_cost_shares_by_floor_ground_zero_and_settable() -> None:
    rooms = estate_roll().entries()
    shares = {s.owner_id: s.amount for s in cost_shares(Decimal("100000.00"), rooms)}
    assert shares["O311"] == 0 and shares["O361"] > shares["O351"] > shares["O321"] > 0
    assert sum(shares.values()) == Decimal("100000.00")
    custom = {s.owner_id: s.amount for s in cost_shares(Decimal("1000"), rooms, ground_coefficient=Decimal("0.5"),
                                                        coefficients={"6": Decimal(10)}, by_area=False)}
    assert custom["O311"] > 0 and custom["O361"] > custom["O351"]
    with pytest.raises(CostShareError):
        cost_shares(Decimal("10.001"), rooms)


@given(total=st.integers(min_value=0, max_value=10**9),
       areas=st.lists(st.decimals(min_value=Decimal("1"), max_value=Decimal("300"), places=4), min_size=1, max_size=30))
def test_shares_always_sum_exactly_to_the_total(total: int, areas: list[Decimal]) -> None:
    rooms = [RoomEntry(room_id=f"r{i:02d}", building="1", entrance="1", floor=str(2 + i % 7), area_m2=a,
                       owner_id=f"o{i % 5}") for i, a in enumerate(areas)]
    amount = Decimal(total) / 100
    shares = cost_shares(amount, rooms)
    assert sum(s.amount for s in shares) == amount
    assert all(s.amount >= 0 for s in shares)


def _results(votes: dict[str, int]) -> dict:
    electorate = estate_roll().select(Scope())
    owners = sorted(electorate.owner_areas)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return {q: tally(electorate, get_rule("cc278-ordinary"),
                     [Ballot(owner_id=o, choice="for" if i < n else "against", cast_at=at)
                      for i, o in enumerate(owners)])
            for q, n in votes.items()}


def test_candidate_selection_double_majority_most_approvals_tie_none() -> None:
    win = select_candidate(_results({"candidate:A": 9, "candidate:B": 7, "candidate:C": 3}))
    assert (win.winner, win.reason, win.qualified) == ("A", "winner", ("A", "B"))
    tie = select_candidate(_results({"candidate:A": 8, "candidate:B": 8}))
    assert (tie.winner, tie.reason, tie.tied) == (None, "tie", ("A", "B"))
    none = select_candidate(_results({"candidate:A": 6, "candidate:B": 2}))
    assert (none.winner, none.reason) == (None, "none"), "6 of 12 is not more than half"


def test_who_may_start() -> None:
    owners = frozenset(f"o{i}" for i in range(10))
    check_initiation("elevator", "owner", "o1", owners)
    check_initiation("elevator", "committee", "居委会", owners)
    with pytest.raises(ProcedureError, match="owns no room"):
        check_initiation("elevator", "owner", "x9", owners)
    with pytest.raises(ProcedureError, match="allowed"):
        check_initiation("property", "resident", "o1", owners)
    check_initiation("property", "petition", "o1", owners, ["o1", "o2"])  # 2 of 10 = 20%: enough
    with pytest.raises(ProcedureError, match="20%"):
        check_initiation("property", "petition", "o1", owners, ["o1", "x2"])


@pytest.mark.parametrize("deliberation_id", ["elevator-0123456789ab", "a~r", "x~rr2", "web~r1x", "~r2"])
def test_a_round_stream_leads_back_to_its_deliberation(deliberation_id: str) -> None:
    assert round_stream(deliberation_id, 1) == deliberation_id
    for rnd in (2, 3, 12):
        assert deliberation_of(round_stream(deliberation_id, rnd)) == deliberation_id
    assert deliberation_of(deliberation_id) == deliberation_id  # not a round's stream: itself
    assert deliberation_of(f"{deliberation_id}~r1") == f"{deliberation_id}~r1"  # round 1 has no suffix
