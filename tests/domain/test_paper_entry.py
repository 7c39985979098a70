"""Paper ballots between the close and the seal: the entry window (``paper_entry``, 24:00 of the closing day by
default), the box's ``paper_entry_until``, when it may seal, and the fill-in time a paper ballot carries."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from domain.chain import canonical_json
from domain.commands import CastBallot, OpenBox, SealBox
from domain.decider import BoxState, decide, fold
from domain.errors import BoxClosedError, BoxNotOpenError, BoxStillOpenError, PaperBallotDateError
from domain.events import BoxOpened, BoxSealed, Question, event_from_dict
from domain.legal_calendar import BEIJING
from domain.procedures import PeriodError, paper_entry_until, parse_period, resolve_periods
from domain.roll import Scope
from tests.texts import en, zh


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


@pytest.mark.parametrize(("closes", "window", "until"), [
    ("2025-11-18 17:00", None, "2025-11-19 00:00"),  # default eod: 24:00 of the closing day
    ("2025-11-18 17:00", "eod", "2025-11-19 00:00"),
    ("2025-11-18 23:59", "EOD", "2025-11-19 00:00"),
    ("2025-11-19 00:00", "eod", "2025-11-20 00:00"),  # closes at 24:00 (00:00 of the 19th): that whole day
    ("2025-11-18 17:00", "PT0S", "2025-11-18 17:00"),  # zero: the box seals at the close
    ("2025-11-18 17:00", "P0D", "2025-11-18 17:00"),
    ("2025-11-18 17:00", "PT12H", "2025-11-19 05:00"),
    ("2025-11-18 17:00", "P1DT2H", "2025-11-19 19:00"),
])
def test_paper_entry_until(closes, window, until) -> None:
    assert paper_entry_until(at(closes), window) == at(until)


def test_eod_is_beijing_time_whatever_the_offset_given() -> None:
    closes = datetime.fromisoformat("2025-11-18T16:30:00+00:00")  # 00:30 on the 19th in Beijing
    assert paper_entry_until(closes, "eod") == at("2025-11-20 00:00")


@pytest.mark.parametrize("window", ["P1D", "2wd", "P2W"])
def test_a_calendar_window_is_refused(window) -> None:
    with pytest.raises(PeriodError) as refused:
        paper_entry_until(at("2025-11-18 17:00"), window)
    assert "eod" in zh(refused.value) and "exact duration" in en(refused.value)
    with pytest.raises(PeriodError):
        resolve_periods("elevator", {"paper_entry": window})


def test_every_procedure_has_the_window_eod_by_default() -> None:
    for procedure in ("elevator", "property", "consultation"):
        assert resolve_periods(procedure)["paper_entry"].kind == "end_of_day"
    assert resolve_periods("property", {"paper_entry": "PT2H"})["paper_entry"].text == "PT2H"
    with pytest.raises(PeriodError, match="fixed duration"):
        parse_period("eod").span()


@pytest.fixture
def opener(roll_of, t0):
    roll = roll_of([(f"o{i}", "10") for i in range(4)])

    def open_box(**extra) -> tuple[OpenBox, BoxState]:
        cmd = OpenBox(deliberation_id="d-1", questions=(Question(text_zh="是否同意？", text_en="Agree?"),),
                      rule_id="cc278-ordinary", scope=Scope(), roll=roll, opens_at=t0,
                      closes_at=t0 + timedelta(days=15), **extra)
        return cmd, fold(decide(BoxState(), cmd))

    return open_box


def test_box_opened_records_the_window_only_when_there_is_one(opener, t0) -> None:
    close = t0 + timedelta(days=15)
    cmd, plain = opener()
    payload = plain.opened.model_dump(mode="json")
    assert "paper_entry_until" not in payload, "boxes without a window keep the payload (and hash) they had"
    assert plain.opened.seals_at == close
    _, windowed = opener(paper_entry_until=close + timedelta(hours=15))
    payload = windowed.opened.model_dump(mode="json")
    assert payload["paper_entry_until"] == (close + timedelta(hours=15)).isoformat()
    assert event_from_dict("BoxOpened", json.loads(canonical_json(payload))) == windowed.opened
    with pytest.raises(BoxNotOpenError, match="paper_entry_until"):
        decide(BoxState(), cmd.model_copy(update={"paper_entry_until": close - timedelta(seconds=1)}))


def test_paper_ballots_between_the_close_and_the_seal(opener, t0) -> None:
    close = t0 + timedelta(days=15)
    _, state = opener(paper_entry_until=close + timedelta(hours=15))
    # Filled in the second before the close; the clerk types it in after the close (the decider has no clock).
    (ballot,) = decide(state, CastBallot(owner_id="o0", choice="for", cast_at=close - timedelta(seconds=1),
                                         channel="paper", paper_ref="P-1"))
    state = fold([ballot], state)
    assert state.tally().counted_choice("o0") == "for"
    with pytest.raises(BoxStillOpenError) as early:
        decide(state, SealBox(at=close + timedelta(hours=1)))
    assert "纸质选票录入至" in zh(early.value) and "paper ballots are entered until" in en(early.value)
    events = decide(state, SealBox(at=close + timedelta(hours=15)))
    assert isinstance(events[0], BoxSealed) and events[1].results["main"].participating.owners == 1
    sealed = fold(events, state)
    with pytest.raises(BoxClosedError, match="sealed"):
        decide(sealed, CastBallot(owner_id="o1", choice="for", cast_at=t0, channel="paper", paper_ref="P-2"))


def test_a_box_without_a_window_seals_at_the_close(opener, t0) -> None:
    close = t0 + timedelta(days=15)
    _, state = opener()
    with pytest.raises(BoxStillOpenError, match="voting runs until"):
        decide(state, SealBox(at=close - timedelta(seconds=1)))
    assert [e.type for e in decide(state, SealBox(at=close))] == ["BoxSealed", "ResultRecorded"]


@pytest.mark.parametrize("offset", [timedelta(seconds=-1), timedelta(days=15), timedelta(days=15, hours=3)])
def test_a_paper_ballot_filled_in_outside_the_vote_is_refused(opener, t0, offset) -> None:
    _, state = opener(paper_entry_until=t0 + timedelta(days=16))
    with pytest.raises(PaperBallotDateError) as refused:
        decide(state, CastBallot(owner_id="o0", choice="for", cast_at=t0 + offset, channel="paper", paper_ref="P"))
    assert "不在投票期间" in zh(refused.value) and "check the date on the sheet" in en(refused.value)


def test_online_ballots_keep_their_errors(opener, t0) -> None:
    _, state = opener(paper_entry_until=t0 + timedelta(days=16))
    with pytest.raises(BoxClosedError, match="voting closed"):
        decide(state, CastBallot(owner_id="o0", choice="for", cast_at=t0 + timedelta(days=15)))


def test_round_trip_of_a_sealed_box_with_a_window(opener, t0) -> None:
    close = t0 + timedelta(days=15)
    _, state = opener(paper_entry_until=close + timedelta(hours=2))
    events = [state.opened, *decide(state, SealBox(at=close + timedelta(hours=2)))]
    stored = [(e.type, canonical_json(e.model_dump(mode="json"))) for e in events]
    decoded = [event_from_dict(kind, json.loads(text)) for kind, text in stored]
    assert decoded == events and isinstance(decoded[0], BoxOpened)
