"""Escalation fixtures: the time-skipping server and worker helpers of tests/workflows, shared here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from domain.escalation import Ticket
from tests.web.conftest import app, client, settings, sign_in  # noqa: F401 - fixtures used by these tests
from tests.workflows.conftest import task_queue, ts_env  # noqa: F401


async def ticket(handle: WorkflowHandle) -> Ticket:
    return await handle.query("ticket", result_type=Ticket, rpc_timeout=timedelta(seconds=4))


async def ticket_until(handle: WorkflowHandle, check: Callable[[Ticket], bool], what: str,
                       timeout: float = 20) -> Ticket:  # noqa: ASYNC109 - polls with a deadline
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    status = "not started"
    while True:
        try:
            state = await ticket(handle)
        except RPCError:  # the workflow (a child) may not exist yet, or its first task is not done
            state = None
        if state is not None:
            if check(state):
                return state
            status = state.status
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; status={status}")
        await asyncio.sleep(0.05)
