"""Topic fixtures: the time-skipping server and worker of tests/workflows, a raised topic, polling its state."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from domain.topic_events import Actor
from domain.topic_state import Topic
from tests.workflows.conftest import running_worker, task_queue, ts_env  # noqa: F401 - fixtures used here
from workflows.topic_inputs import TopicResult
from yishi.services.topic_intake import Proposer, TopicForm, raise_topic
from yishi.settings import Settings

COMMUNITY = "xfl"
CLERK = Actor(kind="committee", name="李书记", account="li", community=COMMUNITY)


@pytest.fixture
def settings(task_queue: str) -> Settings:  # noqa: F811 - the fixture of tests/workflows
    return Settings(task_queue=task_queue, secret_key=SecretStr("topics-test-key"))


def form(title: str = "3号楼电梯经常停运", description: str = "这周停了三次，老人上下楼困难",
         **extra: Any) -> TopicForm:
    return TopicForm(community=COMMUNITY, title=title, description=description, **extra)


RESIDENT = Proposer(source="intake", kind="resident")


async def raised(env: Any, pool: Any, settings: Settings, **extra: Any) -> tuple[str, WorkflowHandle, Any]:
    """A topic raised through the intake by a resident; waits until its workflow assigned the take-up."""
    now = await env.get_current_time()
    result = await raise_topic(env.client, pool, form(**extra), RESIDENT, settings=settings,
                               now=now.astimezone(UTC), topic_id=f"topic-{uuid.uuid4().hex[:12]}")
    handle = env.client.get_workflow_handle(result.topic_id, result_type=TopicResult)
    await topic_until(handle, lambda t: t.take_up is not None, "the take-up deadline")
    return result.topic_id, handle, result


async def topic_until(handle: WorkflowHandle, check: Callable[[Topic], bool], what: str,
                      timeout: float = 20) -> Topic:  # noqa: ASYNC109 - polls with a deadline
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    status = "not started"
    while True:
        try:
            state = await handle.query("topic", result_type=Topic, rpc_timeout=timedelta(seconds=4))
        except RPCError:
            state = None
        if state is not None:
            if check(state):
                return state
            status = state.status
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; status={status}")
        await asyncio.sleep(0.05)

