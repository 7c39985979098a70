"""The monthly figures (raised, taken, decided, resolved, closed, satisfaction) from topic streams in PostgreSQL, per
community, months in Beijing time (00:30 on 1 April in Beijing, 16:30 UTC on 31 March, counts in April); the
proposer's 不满意 reopens (not closed), the other's 满意 closes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from fractions import Fraction

from activities import meetings as meeting_store
from activities.topics import apply_command, project_topic
from domain import meeting_commands as mc
from domain import topic_commands as cmd
from domain.legal_calendar import BEIJING
from domain.meeting_events import MeetingDecision, MeetingScheduled
from domain.topic_events import Actor, Raiser, TopicRaised
from domain.topic_figures import monthly
from yishi.services.figures import figures_by_community
from yishi.services.topics import topic_figures

MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=BEIJING)


async def topic(store, pool, community: str, at: datetime, proposer: str) -> str:
    topic_id = f"topic-{uuid.uuid4().hex[:12]}"
    raised = TopicRaised(at=at, topic_id=topic_id, community=community, title="路灯", description="不亮",
                         source="intake", raised_by=Raiser(id=proposer, kind="resident"))
    await apply_command(store, topic_id, cmd.Raise(at=at, event=raised), "1:raised")
    await project_topic(store, pool, topic_id)
    return topic_id


async def test_monthly_figures_per_community(store, pool) -> None:
    community = f"fig{uuid.uuid4().hex[:6]}"
    clerk = Actor(kind="committee", name="李", community=community)
    a = await topic(store, pool, community, MARCH, "p:a")
    b = await topic(store, pool, community, MARCH + timedelta(days=1), "p:b")
    await topic(store, pool, f"0only{community}", MARCH, "p:c")
    april = datetime(2026, 3, 31, 23, 30, tzinfo=BEIJING) + timedelta(hours=1)  # 00:30 on 1 April, Beijing
    for topic_id in (a, b):
        await apply_command(store, topic_id, cmd.Take(at=MARCH + timedelta(days=2), by=clerk), None)
        await apply_command(store, topic_id, cmd.Resolve(at=april, source="committee", resolution="修好了", by=clerk,
                                                         feedback_due=april + timedelta(days=7)), None)
    await apply_command(store, a, cmd.GiveFeedback(at=april, respondent="p:a", answer="satisfied"), None)
    await apply_command(store, b, cmd.GiveFeedback(at=april, respondent="p:b", answer="not_satisfied"), None)
    march, april_row = await topic_figures(pool, [community])
    assert (march.month, march.raised, march.taken, march.resolved) == ("2026-03", 2, 2, 0)
    assert march.satisfaction_rate is None, "no answers: no rate (not zero)"
    assert (april_row.month, april_row.resolved, april_row.closed) == ("2026-04", 2, 1)
    assert april_row.satisfaction_rate == Fraction(1, 2)
    assert sum(m.raised for m in await topic_figures(pool, None)) >= 3


def test_a_topic_decided_twice_in_a_month_is_one_topic_decided() -> None:
    """The loop's topic: its vote decided it, the next meeting decided who carries it out; reopened once, resolved
    twice. The figures count topics, so one each; the answers count each respondent's."""
    at = MARCH
    events = [("TopicRaised", at, None, "topic-a"), ("TopicDecided", at, None, "topic-a"),
              ("TopicDecided", at + timedelta(days=3), None, "topic-a"), ("TopicDecided", at, None, "topic-b"),
              ("TopicResolved", at, None, "topic-a"), ("TopicResolved", at + timedelta(days=5), None, "topic-a"),
              ("FeedbackGiven", at, "satisfied", "topic-a"), ("FeedbackGiven", at, "not_satisfied", "topic-a"),
              ("TopicDecided", at + timedelta(days=30), None, "topic-a")]
    march, april = monthly(events)
    assert (march.raised, march.decided, march.resolved) == (1, 2, 1)
    assert march.answers == {"satisfied": 1, "basically_satisfied": 0, "not_satisfied": 1}
    assert (april.month, april.decided) == ("2026-04", 1), "decided again in another month: counted there"


async def meeting(store, pool, community: str, starts: datetime, *, held: bool, cancelled: bool = False) -> str:
    """A meeting with one item and a guest signed in; held (session closed) or not, or cancelled after the guest
    signed."""
    meeting_id = f"meeting-{uuid.uuid4().hex[:12]}"
    clerk = Actor(kind="committee", name="李", community=community)
    commands: list[object] = [
        mc.Schedule(at=starts - timedelta(days=5), event=MeetingScheduled(
            at=starts - timedelta(days=5), meeting_id=meeting_id, community=community, title="议事会", kind="council",
            starts_at=starts, place="议事厅", by=clerk)),
        mc.AddItem(at=starts - timedelta(days=5), by=clerk, title="楼道堆物"),
        mc.SignAttendance(at=starts, by=clerk, name="王阿姨", via="clerk")]
    if held:
        commands += [mc.RecordMinutes(at=starts, by=clerk, item_id="1", text="讨论"),
                     mc.Decide(at=starts, by=clerk, item_id="1", decision=MeetingDecision(kind="deferred",
                                                                                          summary="下次")),
                     mc.Hold(at=starts + timedelta(hours=2), by=clerk, confirm_until=starts + timedelta(days=3))]
    if cancelled:
        commands.append(mc.RecordMinutes(at=starts, by=clerk, item_id="1", text="讨论了一半"))
        commands.append(mc.Cancel(at=starts + timedelta(hours=1), by=clerk, reason="停电"))
    for command in commands:
        state, written = await meeting_store.apply_command(store, meeting_id, command, None)  # type: ignore[arg-type]
        await meeting_store.project_meeting(pool, state, written[-1].seq)
    return meeting_id


async def test_meetings_held_per_month_by_hand_count(store, pool) -> None:
    """Hand count: March — two meetings held (one closed at 23:00 on 31 March in Beijing, 15:00 UTC) and one where
    a guest signed in and minutes were recorded but the meeting was cancelled (not held); April — one held, one
    scheduled and signed in but not closed yet (not held). With the two March topics: March raised 2, held 2; April
    raised 0, held 1. Another community's held meeting (it has no topic) counts there only."""
    community = f"meet{uuid.uuid4().hex[:6]}"
    await topic(store, pool, community, MARCH, "p:a")
    await topic(store, pool, community, MARCH, "p:b")
    await meeting(store, pool, community, MARCH, held=True)
    await meeting(store, pool, community, datetime(2026, 3, 31, 21, 0, tzinfo=BEIJING), held=True)
    await meeting(store, pool, community, MARCH + timedelta(days=3), held=False, cancelled=True)
    await meeting(store, pool, community, datetime(2026, 4, 2, 19, 0, tzinfo=BEIJING), held=True)
    await meeting(store, pool, community, datetime(2026, 4, 9, 19, 0, tzinfo=BEIJING), held=False)
    await meeting(store, pool, f"0only{community}", MARCH, held=True)
    march, april = await topic_figures(pool, [community])
    assert (march.month, march.raised, march.held) == ("2026-03", 2, 2)
    assert (april.month, april.raised, april.held) == ("2026-04", 0, 1)
    both = await figures_by_community(pool, [community, f"0only{community}"])
    assert [(m.month, m.held) for m in both[f"0only{community}"]] == [("2026-03", 1)]
    assert [(m.month, m.raised, m.held) for m in both[community]] == [("2026-03", 2, 2), ("2026-04", 0, 1)]
    everyone = await figures_by_community(pool, None)
    assert community in everyone and f"0only{community}" in everyone, "a community with meetings only is listed"
