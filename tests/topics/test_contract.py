"""The contract with meetings (issue16.md): schedule_topic, record_decision, topic_summary on a real topic workflow,
the time-skipping server and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.legal_calendar import BEIJING
from domain.topic_events import Milestone, TopicDecision, TopicSummary
from tests.texts import en, zh
from tests.topics.conftest import CLERK, raised, topic_until
from tests.workflows.conftest import running_worker, stream_types
from yishi.services.topics import TopicRefusedError, record_decision, schedule_topic, take, topic_summary


async def test_schedule_and_decide_open_a_follow_up(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        topic_id, handle, _ = await raised(env, pool, settings, building="3号楼", room="3-2-602")
        assert await topic_summary(pool, topic_id) == TopicSummary(
            topic_id=topic_id, community="xfl", title="3号楼电梯经常停运", status="raised", building="3号楼")
        with pytest.raises(TopicRefusedError) as refused:
            await schedule_topic(env.client, topic_id, meeting_id="meeting-aaaaaaaaaaaa", item_id="1", by=CLERK)
        assert "须先领题" in zh(refused.value) and "take it up first" in en(refused.value)
        await take(env.client, topic_id, by=CLERK, note="周五议事会讨论")
        await schedule_topic(env.client, topic_id, meeting_id="meeting-aaaaaaaaaaaa", item_id="1", by=CLERK)
        await schedule_topic(env.client, topic_id, meeting_id="meeting-aaaaaaaaaaaa", item_id="1", by=CLERK)
        assert (await topic_summary(pool, topic_id)).status == "scheduled"
        today = (await env.get_current_time()).astimezone(BEIJING).date()
        decision = TopicDecision(meeting_id="meeting-aaaaaaaaaaaa", item_id="1", kind="consensus",
                                 summary="物业一周内更换电梯主板", owner="物业公司", due=today + timedelta(days=7),
                                 milestones=(Milestone(name="采购主板", due=today + timedelta(days=3)),
                                             Milestone(name="更换并验收", due=today + timedelta(days=7))))
        wrong = decision.model_copy(update={"item_id": "2"})
        with pytest.raises(TopicRefusedError) as refused:
            await record_decision(env.client, topic_id, wrong, by=CLERK)
        assert "not item 2" in en(refused.value)
        await record_decision(env.client, topic_id, decision, by=CLERK)
        await record_decision(env.client, topic_id, decision, by=CLERK)  # a retry changes nothing
        state = await topic_until(handle, lambda t: t.status == "following_up", "the follow-up")
        (follow_up,) = state.follow_ups
        assert follow_up.names == ("采购主板", "更换并验收") and follow_up.owner == "物业公司"
        types = await stream_types(store, topic_id)
        assert types.count("TopicScheduled") == 1 and types.count("TopicDecided") == 1
        assert types.count("FollowUpOpened") == 1
        assert "3-2-602" not in (await topic_summary(pool, topic_id)).model_dump_json(), "no room on an agenda"
        await handle.terminate("test done")


async def test_deferred_goes_back_to_taken(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        topic_id, handle, _ = await raised(env, pool, settings)
        await take(env.client, topic_id, by=CLERK)
        await schedule_topic(env.client, topic_id, meeting_id="meeting-bbbbbbbbbbbb", item_id="3", by=CLERK)
        await record_decision(env.client, topic_id, TopicDecision(
            meeting_id="meeting-bbbbbbbbbbbb", item_id="3", kind="deferred", summary="资料不全，下次再议"), by=CLERK)
        await topic_until(handle, lambda t: t.status == "taken", "back to taken")
        await schedule_topic(env.client, topic_id, meeting_id="meeting-cccccccccccc", item_id="1", by=CLERK)
        assert (await topic_summary(pool, topic_id)).status == "scheduled"
        await handle.terminate("test done")
