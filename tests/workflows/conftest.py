"""Fixtures and helpers for the procedure workflows: a time-skipping server of their own per test (its clock runs
months ahead, and one test's workflow left waiting on a stopped worker would hold the clock for the next), the real
activities and the real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.box import load_box
from activities.eventstore import EventStore, NewEvent
from activities.registry import build_activities
from domain.commands import CastBallot
from domain.decider import decide
from domain.roll import Roll, Room
from tests.clock import start_clock
from workflows.common import ProcedureState, TaskCompletion, TaskReceipt
from workflows.registry import WORKFLOWS
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
REGEN = os.environ.get("YISHI_REGEN_HISTORIES") == "1"


@pytest.fixture
async def ts_env(clock_sweep: int | None) -> AsyncIterator[WorkflowEnvironment]:
    binary = Path(sys.executable).parent / "temporal-test-server"
    path = str(binary) if binary.exists() else shutil.which("temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path, data_converter=DATA_CONVERTER)
    await start_clock(env, clock_sweep)
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def running_worker(env: WorkflowEnvironment, store: EventStore, pool: Any, task_queue: str,
                         **options: Any) -> AsyncIterator[Worker]:
    settings = Settings(task_queue=task_queue)
    async with Worker(env.client, task_queue=task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings), **options) as worker:
        yield worker


def estate_roll(buildings: int = 1, floors: int = 6, entrance: str = "2") -> Roll:
    """Owners O<b><floor><unit>, two flats a floor, one entrance per building."""
    rooms = [Room(room_id=f"{b}-{entrance}-{f}0{u}", building=str(b), entrance=entrance, floor=str(f),
                  area_m2=Decimal("88.50"), owner_id=f"O{b}{f}{u}", owner_name=f"业主{b}{f}{u}",
                  phone=f"1380000{b}{f}{u}")
             for b in range(3, 3 + buildings) for f in range(1, floors + 1) for u in (1, 2)]
    return Roll(rooms=tuple(rooms), source="test")


async def status(handle: WorkflowHandle) -> ProcedureState:
    # A query racing a continue-as-new can be lost by the test server: ask again rather than wait 30 s.
    for _ in range(5):
        try:
            return await handle.query("status", result_type=ProcedureState, rpc_timeout=timedelta(seconds=4))
        except RPCError as exc:
            last = exc
    raise last


async def wait_for(handle: WorkflowHandle, check: Callable[[ProcedureState], bool], what: str,
                   timeout: float = 20) -> ProcedureState:  # noqa: ASYNC109 - polls, time stands still
    """Poll the workflow's state (time stands still meanwhile) until ``check`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        state = await status(handle)
        if check(state):
            return state
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; stage={state.stage} next={state.next}")
        await asyncio.sleep(0.05)


async def advance_until(env: WorkflowEnvironment, handle: WorkflowHandle, check: Callable[[ProcedureState], bool],
                        what: str, step: timedelta = timedelta(days=1), steps: int = 80) -> ProcedureState:
    """Let virtual time pass in steps until ``check`` holds (months pass in seconds)."""
    for _ in range(steps):
        await asyncio.sleep(0.05)
        state = await status(handle)
        if check(state):
            return state
        try:
            # Bounded: the test server's sleep can wait on a task that a stopped worker never finishes.
            await asyncio.wait_for(env.sleep(step), timeout=15)
        except (RPCError, TimeoutError):
            # A workflow task handed to a worker that was just stopped holds the clock until the task times
            # out (10 s) and is handed to the new worker; ask again.
            await asyncio.sleep(0.5)
    raise AssertionError(f"{what} not reached; stage={(await status(handle)).stage}")


def stage_is(stage: str, kind: str | None = None) -> Callable[[ProcedureState], bool]:
    def check(state: ProcedureState) -> bool:
        if state.stage != stage:
            return False
        return kind is None or any(t.kind == kind and t.status == "open" for t in state.tasks.values())

    return check


async def complete(handle: WorkflowHandle, kind: str, role: str, outcome: str, within: float = 20,
                   **extra: Any) -> TaskReceipt:
    state = await wait_for(handle, lambda s: any(t.kind == kind and t.status == "open" for t in s.tasks.values()),
                           f"an open {kind} task", timeout=within)
    task = next(t for t in state.tasks.values() if t.kind == kind and t.status == "open")
    return await handle.execute_update("complete_task", TaskCompletion(task_id=task.task_id, role=role,
                                                                       outcome=outcome, **extra),
                                       result_type=TaskReceipt)


async def wait_box_open(store: EventStore, box_stream: str, patience: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while loop.time() < deadline:
        state, _ = await load_box(store, box_stream)
        if state.status == "open":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"box {box_stream} did not open")


async def cast(store: EventStore, box_stream: str, owner: str, choice: str, at: datetime,
               question: str = "main") -> None:
    state, _ = await load_box(store, box_stream)
    events = decide(state, CastBallot(owner_id=owner, choice=choice, cast_at=at, question_id=question))
    await store.append(box_stream, [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=at)
                                    for e in events])


async def save_history(handle: WorkflowHandle, name: str) -> None:
    """With YISHI_REGEN_HISTORIES=1, write the workflow's history for the replay test."""
    if REGEN:
        history = await handle.fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


async def stream_types(store: EventStore, stream: str) -> list[str]:
    return [e.type for e in await store.read(stream)]
