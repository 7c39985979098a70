"""Topics on a meeting's agenda through the contract with topics (schedule_topic, record_decision, topic_summary): a
consensus with an owner, a deadline and milestones opens the topic's follow-up; a deferred topic goes back to
"taken"; an escalated one gets a ticket (a child of the meeting) that the topic follows. Every party confirms, so
the minutes are published before the window ends."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta

import pytest

from domain.legal_calendar import BEIJING
from domain.meeting_events import MeetingDecision, ticket_id
from domain.topic_events import Milestone
from tests.meetings.conftest import CLERK, PARTIES, advance, links, meeting_until, scheduled
from tests.texts import zh
from tests.topics.conftest import raised, topic_until
from tests.workflows.conftest import running_worker, stream_types
from workflows.meeting_parts import TicketSpec
from yishi.services.meeting_links import confirm_by_link
from yishi.services.meetings import MeetingRefusedError, add_topic, decide_item, hold, publish, record_minutes
from yishi.services.topics import take, topic_summary


async def test_decisions_reach_the_topics(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        topics = []
        for title in ("3号楼电梯经常停运", "楼道堆物", "餐馆油烟扰民"):
            topic_id, handle, _ = await raised(env, pool, settings, title=title)
            topics.append((topic_id, handle))
        meeting_id, handle, starts = await scheduled(env, pool, settings, items=(), parties=PARTIES[:2])
        with pytest.raises(MeetingRefusedError) as refused:
            await add_topic(env.client, pool, meeting_id, topics[0][0], by=CLERK)
        assert "须先领题" in zh(refused.value), "a topic not yet taken is not put on an agenda"
        for topic_id, _ in topics:
            await take(env.client, topic_id, by=CLERK)
            receipt = await add_topic(env.client, pool, meeting_id, topic_id, by=CLERK)
            again = await add_topic(env.client, pool, meeting_id, topic_id, by=CLERK)  # a retried step
            assert again.item_id == receipt.item_id
            assert (await topic_summary(pool, topic_id)).status == "scheduled"
        meeting = await meeting_until(handle, lambda m: len(m.items) == 3, "three items")
        assert [i.topic_id for i in meeting.items.values()] == [t for t, _ in topics]

        now = (await env.get_current_time()).astimezone(UTC)
        await env.sleep(starts - now)
        today = starts.astimezone(BEIJING).date()
        consensus = MeetingDecision(kind="consensus", summary="物业一周内更换电梯主板", owner="安居物业",
                                    due=today + timedelta(days=7),
                                    milestones=(Milestone(name="采购主板", due=today + timedelta(days=3)),
                                                Milestone(name="更换并验收", due=today + timedelta(days=7))))
        await decide_item(env.client, pool, meeting_id, "1", consensus, by=CLERK)
        await decide_item(env.client, pool, meeting_id, "2", MeetingDecision(kind="deferred", summary="资料不全"),
                          by=CLERK)
        await decide_item(env.client, pool, meeting_id, "3", MeetingDecision(kind="escalated", summary="报城管执法"),
                          by=CLERK, ticket=TicketSpec(category="urban_management"))

        followed = await topic_until(topics[0][1], lambda t: t.status == "following_up", "the follow-up")
        (follow_up,) = followed.follow_ups
        assert (follow_up.owner, follow_up.names) == ("安居物业", ("采购主板", "更换并验收"))
        await topic_until(topics[1][1], lambda t: t.status == "taken", "deferred: back to taken")
        ticket = ticket_id(meeting_id, "3")
        escalated = await topic_until(topics[2][1], lambda t: t.awaiting is not None, "the ticket followed")
        assert escalated.awaiting is not None and escalated.awaiting.stream == ticket
        for _ in range(200):  # the ticket's child appends its first events on its own time
            if "EscalationOpened" in await stream_types(store, ticket):
                break
            await asyncio.sleep(0.05)
        assert "EscalationOpened" in await stream_types(store, ticket)

        await hold(env.client, pool, meeting_id, by=CLERK)
        version = (await meeting_until(handle, lambda m: m.status == "held", "held")).minutes_version
        tokens = await links(pool, store, meeting_id, now)
        await confirm_by_link(env.client, pool, tokens["p1"], meeting_id, minutes_version=version)
        # a correction after the session: a new version, p1's confirmation no longer counts, the window restarts
        corrected = await record_minutes(env.client, meeting_id, "1", "更正：物业负责更换，社区监督", by=CLERK)
        assert corrected.minutes_version == version + 1
        with pytest.raises(MeetingRefusedError) as refused:
            await confirm_by_link(env.client, pool, tokens["p2"], meeting_id, minutes_version=version)
        assert f"第 {version + 1} 版" in zh(refused.value)
        for party in ("p1", "p2"):
            await confirm_by_link(env.client, pool, tokens[party], meeting_id, minutes_version=version + 1)
        await advance(env, handle, lambda m: m.status == "published", "published", step=timedelta(minutes=1))
        with pytest.raises(MeetingRefusedError):
            await publish(env.client, meeting_id, by=CLERK)
        result = await handle.result()
        for _, topic_handle in topics:
            await topic_handle.terminate("test done")
        await env.client.get_workflow_handle(ticket).terminate("test done")
    assert (result.status, result.unconfirmed) == ("published", ())
    published = next(e for e in await store.read(meeting_id) if e.type == "MinutesPublished")
    assert published.payload["reason"] == "all_confirmed"
    events = await store.read(meeting_id)
    reopened = next(e for e in events if e.type == "ConfirmationReopened")
    held = next(e for e in events if e.type == "MeetingHeld")
    assert reopened.payload["minutes_version"] == version + 1
    # counted again from the correction (P3D ends at 24:00 of the third day: the same day's correction ends alike)
    assert reopened.payload["confirm_until"] >= held.payload["confirm_until"]
    assert [e.payload["minutes_version"] for e in events if e.type == "MinutesConfirmed"] == [version, version + 1,
                                                                                               version + 1]
    assert [e.payload["kind"] for e in events if e.type == "NoticePublished"].count("minutes") == 2
    decided = [e for e in await store.read(topics[0][0]) if e.type == "TopicDecided"]
    assert decided[0].payload["decision"]["meeting_id"] == meeting_id
