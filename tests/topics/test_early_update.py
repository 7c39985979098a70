"""A staff update sent right after ``raise`` (before the workflow has applied the raise): it waits for the raise and
is then decided as usual — taken, or refused with the clear reason of the domain — instead of being refused with
"no such topic". The worker is started only after the update is sent, so the update reaches the workflow in its
very first task, before its first activity: the race of ``yishi topic raise`` then ``yishi topic take``, made
certain. The history of the first case is kept for the replay test (tests/topics/test_replay.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC

import pytest

from tests.texts import zh
from tests.topics.conftest import CLERK, RESIDENT, form, topic_until
from tests.workflows.conftest import running_worker, save_history, stream_types
from workflows.topic_inputs import TopicResult
from yishi.services.topic_intake import raise_topic
from yishi.services.topics import TopicRefusedError, decline, take


async def _raised_without_worker(env, pool, settings) -> str:
    now = (await env.get_current_time()).astimezone(UTC)
    result = await raise_topic(env.client, pool, form(), RESIDENT, settings=settings, now=now,
                               topic_id=f"topic-{uuid.uuid4().hex[:12]}")
    return result.topic_id


async def _sent(coro) -> asyncio.Task:
    """The update on its way to the server before any worker polls the task queue."""
    task = asyncio.ensure_future(coro)
    await asyncio.sleep(0.5)
    assert not task.done(), "no worker yet: the update cannot have been decided"
    return task


async def test_take_sent_before_the_raise_is_applied_waits_for_it(ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    topic_id = await _raised_without_worker(env, pool, settings)
    taking = await _sent(take(env.client, topic_id, by=CLERK, note="马上领题"))
    async with running_worker(env, store, pool, task_queue):
        receipt = await asyncio.wait_for(taking, 30)
        assert receipt.status == "taken"
        handle = env.client.get_workflow_handle(topic_id, result_type=TopicResult)
        state = await topic_until(handle, lambda t: t.status == "taken", "taken")
        assert state.take_up is not None, "the take-up deadline was assigned first, then the topic taken"
        types = await stream_types(store, topic_id)
        assert types[0] == "TopicRaised" and types.count("TopicTaken") == 1
        assert types.index("TakeUpAssigned") < types.index("TopicTaken")
        await handle.terminate("test done")
        await save_history(handle, "topic_update_before_raise")


async def test_refused_update_sent_before_the_raise_gives_the_domain_reason(
        ts_env, store, pool, task_queue, settings) -> None:
    env = ts_env
    topic_id = await _raised_without_worker(env, pool, settings)
    declining = await _sent(decline(env.client, topic_id, by=CLERK, reason=""))
    async with running_worker(env, store, pool, task_queue):
        with pytest.raises(TopicRefusedError) as refused:
            await asyncio.wait_for(declining, 30)
        text = zh(refused.value)
        assert "提出人会看到" in text and "没有这个议题" not in text, text
        receipt = await take(env.client, topic_id, by=CLERK)
        assert receipt.status == "taken", "the refused update left the topic as it was"
        assert (await stream_types(store, topic_id)).count("TopicDeclined") == 0
        await env.client.get_workflow_handle(topic_id).terminate("test done")
