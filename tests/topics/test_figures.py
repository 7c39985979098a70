"""The monthly figures (raised, taken, decided, resolved, closed, satisfaction) from topic streams in PostgreSQL, per
community, months in Beijing time (00:30 on 1 April in Beijing, 16:30 UTC on 31 March, counts in April); the
proposer's 不满意 reopens (not closed), the other's 满意 closes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from fractions import Fraction

from activities.topics import apply_command, project_topic
from domain import topic_commands as cmd
from domain.legal_calendar import BEIJING
from domain.topic_events import Actor, Raiser, TopicRaised
from domain.topic_figures import monthly
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
    await topic(store, pool, f"other{community}", MARCH, "p:c")
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
