"""One way to connect to Temporal: the pydantic data converter and the tracing interceptor everywhere
(client, worker, tests, Replayer), so histories decode the same in every process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter

from yishi.settings import Settings

DATA_CONVERTER = pydantic_data_converter


def interceptors() -> list[TracingInterceptor]:
    return [TracingInterceptor()]


async def connect(settings: Settings) -> Client:
    if not settings.temporal_address:
        raise RuntimeError("YISHI_TEMPORAL_ADDRESS is not set; run `yishi up` or set it to host:port")
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        interceptors=interceptors(),
    )


# A worker's idle long poll returns after about a minute and is renewed at once; the server keeps listing a poller
# for five minutes after its last poll, so an older one is a worker that stopped.
POLLER_FRESH = timedelta(minutes=2)


async def live_pollers(client: Client, namespace: str, task_queue: str) -> dict[str, int]:
    """Workers that polled ``task_queue`` in the last two minutes, for workflow tasks and for activity tasks."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    now = datetime.now(UTC)
    counts: dict[str, int] = {}
    for kind, queue_type in (("workflow", TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
                             ("activity", TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)):
        answer = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=queue_type))
        counts[kind] = sum(1 for poller in answer.pollers
                           if now - poller.last_access_time.ToDatetime(tzinfo=UTC) < POLLER_FRESH)
    return counts
