"""A task completed the moment its TaskOpened is in the stream (what the console shows), before the workflow has
seen its own append finish: the completion waits for the task instead of being refused, and the stream keeps
TaskOpened before TaskCompleted."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from domain.roll import Scope
from tests.workflows.conftest import estate_roll, running_worker, stream_types
from workflows.common import TaskCompletion, TaskReceipt
from yishi.services.procedures import StartRequest, start_procedure


class HoldOpenedAppend(Interceptor):
    """Holds the result of the first append of a TaskOpened until the test releases it."""

    def __init__(self) -> None:
        self.appended = asyncio.Event()
        self.release = asyncio.Event()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:  # noqa: A002
        outer = self

        class Inbound(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:  # noqa: A002
                result = await super().execute_activity(input)
                key = getattr(input.args[0], "key", "") if input.args else ""
                if activity.info().activity_type == "append_stage_events" and key.endswith(":opened") \
                        and not outer.appended.is_set():
                    outer.appended.set()
                    await outer.release.wait()
                return result

        return Inbound(next)


async def test_completion_racing_the_task_opened_append_waits(ts_env, store, pool, task_queue) -> None:
    hold = HoldOpenedAppend()
    request = StartRequest(procedure="elevator", title="加装电梯", scope=Scope(building="3", entrance="2"))
    async with running_worker(ts_env, store, pool, task_queue, interceptors=[hold]):
        did, handle = await start_procedure(ts_env.client, pool, estate_roll(), request, task_queue=task_queue)
        await asyncio.wait_for(hold.appended.wait(), 20)
        opened = [e for e in await store.read(did) if e.type == "TaskOpened"]
        assert opened, "the stream shows the task"
        task_id = opened[0].payload["task_id"]
        completing = asyncio.create_task(handle.execute_update(
            "complete_task", TaskCompletion(task_id=task_id, role="committee", outcome="feasible"),
            result_type=TaskReceipt))
        await asyncio.sleep(1.0)  # the update reaches the workflow while the append is held
        assert not completing.done(), "accepted and waiting, not refused"
        hold.release.set()
        receipt = await asyncio.wait_for(completing, 20)
        types = await stream_types(store, did)
        await handle.terminate("test done")
    assert receipt.task_id == task_id
    assert types.index("TaskOpened") < types.index("TaskCompleted")
