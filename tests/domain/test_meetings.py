"""The meeting decider, given / when / then: scheduling, agenda, invitations, positions, attendance, minutes and their
versions, decisions of each kind, the session's close, confirmation and publication; and a series' dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.legal_calendar import BEIJING
from domain.meeting_commands import (
    AddItem,
    Cancel,
    Confirm,
    Decide,
    Hold,
    Invite,
    MeetingError,
    Publish,
    RecordMinutes,
    Schedule,
    SignAttendance,
    StatePosition,
)
from domain.meeting_events import MeetingDecision, MeetingScheduled, Option, PartySpec, ticket_id, vote_id
from domain.meeting_series import SeriesPlanned, check_plan, due_occurrences, occurrence_id
from domain.meeting_state import Meeting, fold
from domain.meetings import decide
from domain.topic_events import Actor, Milestone
from tests.texts import en, zh

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)  # a Monday
START = datetime(2026, 5, 8, 19, 0, tzinfo=BEIJING)  # the Friday after, 19:00 Beijing time
CLERK = Actor(kind="committee", name="李书记", account="li", community="xfl")
MID = "meeting-0123456789ab"
SITES = (Option(id="A", text="东门车棚"), Option(id="B", text="3号楼北侧"), Option(id="C", text="地下车库入口"))
PARTIES = (PartySpec(party_id="p1", kind="party_member", name="党员代表王"),
           PartySpec(party_id="p2", kind="property_company", name="安居物业"))


def party(pid: str) -> Actor:
    return Actor(kind="party", name=pid, community="xfl")


def given(*commands: object, start: Meeting | None = None) -> Meeting:
    m = start or Meeting()
    for c in commands:
        m = fold(decide(m, c), m)  # type: ignore[arg-type]
    return m


def scheduled(**extra: object) -> Schedule:
    event = MeetingScheduled(at=T0, meeting_id=MID, community="xfl", title="周末议事厅", kind="weekend_hall",
                             starts_at=START, place="社区议事厅", by=CLERK, **extra)  # type: ignore[arg-type]
    return Schedule(at=T0, event=event)


def agenda() -> Meeting:
    return given(scheduled(), AddItem(at=T0, by=CLERK, title="充电桩选址", options=SITES),
                 AddItem(at=T0, by=CLERK, title="楼道堆物", topic_id="topic-aaaaaaaaaaaa"),
                 *(Invite(at=T0, by=CLERK, party=p, link_subject=MID) for p in PARTIES))


def refused(m: Meeting, command: object, *words: str) -> None:
    with pytest.raises(MeetingError) as caught:
        decide(m, command)  # type: ignore[arg-type]
    for word in words:
        assert word in zh(caught.value) + en(caught.value), caught.value


AT_MEETING = START + timedelta(minutes=5)


def decided() -> Meeting:
    m = agenda()
    return given(Decide(at=AT_MEETING, by=CLERK, item_id="1", decision=MeetingDecision(
        kind="vote", summary="三处选址付诸业主表决", question="充电桩建在哪里", options=("A", "B", "C"),
        deliberation_id=vote_id(MID, "1"))),
        Decide(at=AT_MEETING, by=CLERK, item_id="2", decision=MeetingDecision(
            kind="consensus", summary="两周内清理楼道", owner="物业", due=date(2026, 5, 22),
            milestones=(Milestone(name="通知住户", due=date(2026, 5, 12)),))), start=m)


def test_schedule_then_refuse_a_start_in_the_past_or_a_resident_scheduling() -> None:
    m = given(scheduled())
    assert (m.status, m.starts_at, m.kind) == ("scheduled", START, "weekend_hall")
    assert decide(m, scheduled()) == [], "the same schedule again (a retried step) changes nothing"
    late = MeetingScheduled(at=T0, meeting_id=MID, community="xfl", title="x", kind="council",
                            starts_at=T0 - timedelta(hours=1), place="p", by=CLERK)
    refused(Meeting(), Schedule(at=T0, event=late), "已过", "has passed")
    resident = scheduled().event.model_copy(update={"by": Actor(kind="resident", name="r", community="xfl")})
    refused(Meeting(), Schedule(at=T0, event=resident), "resident")


def test_agenda_items_and_invitations() -> None:
    m = agenda()
    assert list(m.items) == ["1", "2"] and m.items["1"].option_ids() == ("A", "B", "C")
    assert decide(m, AddItem(at=T0, by=CLERK, title="楼道堆物", topic_id="topic-aaaaaaaaaaaa")) == []
    refused(m, AddItem(at=T0, by=CLERK, title="x", options=(Option(id="A", text="a"), Option(id="A", text="b"))),
            "重复", "repeat")
    assert decide(m, Invite(at=T0, by=CLERK, party=PARTIES[0], link_subject=MID)) == []
    other = PartySpec(party_id="p1", kind="owner_rep", name="业主代表赵")
    refused(m, Invite(at=T0, by=CLERK, party=other, link_subject=MID), "p1", "taken")
    refused(m, Invite(at=T0, by=CLERK, party=other.model_copy(update={"party_id": "door"}), link_subject=MID), "door")


def test_positions_through_links_before_the_meeting() -> None:
    m = agenda()
    stated = given(StatePosition(at=T0, by=party("p1"), party_id="p1", item_id="1", option="A", text="离住户远",
                                 via="link", link_sha256="a" * 64), start=m)
    assert stated.items["1"].positions["p1"].option == "A"
    again = StatePosition(at=T0, by=party("p1"), party_id="p1", item_id="1", option="A", text="离住户远", via="link",
                          link_sha256="a" * 64)
    assert decide(stated, again) == []
    refused(m, again.model_copy(update={"option": "Z"}), "Z")
    refused(m, again.model_copy(update={"party_id": "p9"}), "p9", "not a party invited")
    refused(m, again.model_copy(update={"link_sha256": None}), "link")
    refused(m, again.model_copy(update={"option": None, "text": " "}), "意见", "empty")
    refused(decided(), again.model_copy(update={"at": AT_MEETING}), "已作出决定", "decided")


def test_attendance_opens_two_hours_before_the_start() -> None:
    m = agenda()
    early = SignAttendance(at=START - timedelta(hours=3), by=CLERK, party_id="p1", via="clerk")
    refused(m, early, "两小时", "two hours")
    signed = given(early.model_copy(update={"at": START - timedelta(hours=1)}), start=m)
    assert signed.attendees["p1"].name == "党员代表王"
    assert decide(signed, early.model_copy(update={"at": START})) == [], "signed once"
    guest = given(SignAttendance(at=START, by=Actor(kind="resident", name="张", community="xfl"), name="居民张",
                                 via="door", link_sha256="d" * 64), start=signed)
    assert guest.attendees["guest-1"].party_id is None
    refused(signed, SignAttendance(at=START, by=party("p2"), via="link", link_sha256="b" * 64), "own")


def test_minutes_versions_and_decisions() -> None:
    m = agenda()
    refused(m, RecordMinutes(at=T0, by=CLERK, item_id="1", text="讨论了三处选址"), "两小时")
    m = given(RecordMinutes(at=AT_MEETING, by=CLERK, item_id="1", text="讨论了三处选址"),
              RecordMinutes(at=AT_MEETING, by=CLERK, item_id="1", text="讨论了三处选址，物业说明了电容"), start=m)
    assert m.items["1"].minutes == ("讨论了三处选址", "讨论了三处选址，物业说明了电容") and m.minutes_version == 2
    vote = MeetingDecision(kind="vote", summary="表决", question="建在哪里", options=("A", "B", "C"),
                           deliberation_id="vote-000000000000")
    refused(m, Decide(at=AT_MEETING, by=CLERK, item_id="1", decision=vote), vote_id(MID, "1"))
    refused(m, Decide(at=AT_MEETING, by=CLERK, item_id="1", decision=vote.model_copy(
        update={"deliberation_id": vote_id(MID, "1"), "options": ("A", "Z")})), "Z")
    consensus = MeetingDecision(kind="consensus", summary="建在东门")
    refused(m, Decide(at=AT_MEETING, by=CLERK, item_id="1", decision=consensus), "方案", "option agreed")
    refused(m, Decide(at=AT_MEETING, by=CLERK, item_id="2", decision=MeetingDecision(
        kind="consensus", summary="清理", due=date(2026, 5, 22))), "负责人", "owner")
    refused(m, Decide(at=AT_MEETING, by=CLERK, item_id="2", decision=MeetingDecision(
        kind="consensus", summary="清理", owner="物业", milestones=(Milestone(name="通知", due=date(2026, 5, 1)),))),
        "早于", "before the meeting")
    refused(m, Decide(at=AT_MEETING, by=CLERK, item_id="2", decision=MeetingDecision(
        kind="escalated", summary="上报城管", ticket_id="esc-x")), ticket_id(MID, "2"))
    d = decided()
    assert d.items["1"].decision is not None and d.minutes_version == 2
    again = Decide(at=AT_MEETING, by=CLERK, item_id="2", decision=d.items["2"].decision)  # type: ignore[arg-type]
    assert decide(d, again) == []
    refused(d, again.model_copy(update={"decision": MeetingDecision(kind="deferred", summary="下次")}), "不能改写",
            "not rewritten")
    refused(d, Cancel(at=AT_MEETING, by=CLERK, reason="下雨"), "decisions are recorded")


def test_hold_needs_every_item_decided() -> None:
    m = given(Decide(at=AT_MEETING, by=CLERK, item_id="2", decision=MeetingDecision(kind="deferred", summary="未及")),
              start=agenda())
    refused(m, Hold(at=AT_MEETING, by=CLERK, confirm_until=AT_MEETING + timedelta(days=3)), "第 1 项", "items 1")
    held = given(Hold(at=AT_MEETING, by=CLERK, confirm_until=AT_MEETING + timedelta(days=3)), start=decided())
    assert held.status == "held" and held.unconfirmed() == ("p1", "p2")


def test_confirmation_and_publication() -> None:
    until = AT_MEETING + timedelta(days=3)
    held = given(Hold(at=AT_MEETING, by=CLERK, confirm_until=until), start=decided())
    v = held.minutes_version
    refused(held, Confirm(at=AT_MEETING, by=party("p1"), party_id="p1", minutes_version=v - 1, via="link",
                          link_sha256="a" * 64), f"第 {v} 版", "read them again")
    one = given(Confirm(at=AT_MEETING, by=party("p1"), party_id="p1", minutes_version=v, via="link",
                        link_sha256="a" * 64), start=held)
    refused(one, Publish(at=AT_MEETING), "安居物业", "p2")
    (published,) = decide(one, Publish(at=until))
    assert (published.reason, published.confirmed, published.unconfirmed) == ("window_ended", ("p1",), ("p2",))
    both = given(Confirm(at=AT_MEETING, by=CLERK, party_id="p2", minutes_version=v, via="clerk"), start=one)
    (early,) = decide(both, Publish(at=AT_MEETING))
    assert (early.reason, early.unconfirmed) == ("all_confirmed", ())


def test_a_correction_after_the_session_needs_confirming_again() -> None:
    until = AT_MEETING + timedelta(days=3)
    held = given(Hold(at=AT_MEETING, by=CLERK, confirm_until=until), start=decided())
    confirmed = given(*(Confirm(at=AT_MEETING, by=party(p), party_id=p, minutes_version=held.minutes_version,
                                via="link", link_sha256="a" * 64) for p in ("p1", "p2")), start=held)
    assert confirmed.unconfirmed() == ()
    later = AT_MEETING + timedelta(days=1)
    refused(confirmed, RecordMinutes(at=later, by=CLERK, item_id="2", text="更正：负责人为物业经理"), "确认截止")
    events = decide(confirmed, RecordMinutes(at=later, by=CLERK, item_id="2", text="更正：负责人为物业经理",
                                             confirm_until=later + timedelta(days=3)))
    assert [e.type for e in events] == ["MinutesRecorded", "ConfirmationReopened"]
    corrected = fold(events, confirmed)
    assert corrected.unconfirmed() == ("p1", "p2") and corrected.confirm_until == later + timedelta(days=3)
    assert corrected.items["2"].minutes == ("更正：负责人为物业经理",)


def test_a_series_meets_every_friday_at_seven_beijing_time() -> None:
    plan = SeriesPlanned(at=T0, series_id="series-0123456789ab", community="xfl", title="周末议事厅",
                         kind="weekend_hall", weekday=4, time_of_day="19:00", place="社区议事厅",
                         first=date(2026, 5, 1), until=date(2026, 5, 29), ahead_weeks=4, by=CLERK)
    check_plan(plan)
    friday_late = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)  # 20:00 Beijing: the 8th's meeting has started
    assert due_occurrences(plan, T0) == [date(2026, 5, 8), date(2026, 5, 15), date(2026, 5, 22), date(2026, 5, 29)]
    assert due_occurrences(plan, friday_late) == [date(2026, 5, 15), date(2026, 5, 22), date(2026, 5, 29)]
    assert occurrence_id(plan.series_id, date(2026, 5, 8)) == occurrence_id(plan.series_id, date(2026, 5, 8))
    with pytest.raises(MeetingError, match="HH:MM"):
        check_plan(plan.model_copy(update={"time_of_day": "7pm"}))
