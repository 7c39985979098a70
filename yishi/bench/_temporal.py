"""The ``temporal_update_per_s`` baseline: ballots sent as Temporal updates to one workflow.

``BenchBallotSink`` is registered only on the bench's own worker (a child process on its own task queue),
never on Yishi's: it exists to measure what docs/architecture.md says about updates to one workflow.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from dataclasses import dataclass

from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

# Temporal allows 10 updates in flight per workflow; more are refused and retried by the SDK with backoff.
MAX_IN_FLIGHT = 10
# And 2,000 updates per run; the bench stays well under it instead of continuing as new.
MAX_UPDATES = 1500


class BenchBallot(BaseModel):
    owner_id: str
    choice: str
    idempotency_key: str


@workflow.defn(name="BenchBallotSink")
class BallotSink:
    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._done)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return len(self._seen)

    @workflow.update
    def cast(self, ballot: BenchBallot) -> int:
        """The receipt is the ballot's position, deduplicated by idempotency key like the stream's."""
        return self._seen.setdefault(ballot.idempotency_key, len(self._seen) + 1)

    @workflow.signal
    def finish(self) -> None:
        self._done = True


async def _serve(address: str, task_queue: str, stop: multiprocessing.synchronize.Event) -> None:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    async with Worker(client, task_queue=task_queue, workflows=[BallotSink]):
        await asyncio.to_thread(stop.wait)  # a multiprocessing event, set by the parent


def _worker_main(address: str, task_queue: str, stop: multiprocessing.synchronize.Event) -> None:
    asyncio.run(_serve(address, task_queue, stop))


@dataclass
class UpdateResult:
    sent: int
    received: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


async def _send(address: str, task_queue: str, count: int, concurrency: int) -> UpdateResult:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    handle = await client.start_workflow(BallotSink.run, id=f"bench-sink-{uuid.uuid4().hex[:8]}",
                                         task_queue=task_queue)
    await handle.execute_update(BallotSink.cast, BenchBallot(owner_id="warm", choice="yes", idempotency_key="w"))
    cursor = iter(range(count))

    async def sender() -> None:
        for n in cursor:
            ballot = BenchBallot(owner_id=f"o{n}", choice="yes", idempotency_key=f"k{n}")
            await handle.execute_update(BallotSink.cast, ballot)

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    await handle.signal(BallotSink.finish)
    received = await handle.result() - 1  # minus the warm-up update
    return UpdateResult(count, received, seconds)


def measure_updates(address: str, count: int, concurrency: int) -> UpdateResult:
    """Start the bench worker in a child process, send ``count`` updates, stop the worker."""
    task_queue = f"bench-{uuid.uuid4().hex[:8]}"
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    worker = ctx.Process(target=_worker_main, args=(address, task_queue, stop), daemon=True)
    worker.start()
    try:
        return asyncio.run(_send(address, task_queue, min(count, MAX_UPDATES), min(concurrency, MAX_IN_FLIGHT)))
    finally:
        stop.set()
        worker.join(20)
        if worker.is_alive():
            worker.terminate()
