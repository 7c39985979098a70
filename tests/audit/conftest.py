"""Audit fixtures: real votes on the embedded Temporal dev server (histories listable and fetchable), one
deliberation per tamper case, all run at once and each withdrawn as soon as its ballots are in."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from audit_helpers import TAMPER_CASES, Vote, run_escalated_vote, run_vote
from audit_workflows import EscalatingProcedure
from temporalio.client import Client
from temporalio.worker import Worker

from activities.eventstore import EventStore
from activities.registry import build_activities
from workflows.registry import WORKFLOWS
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER


@pytest.fixture(scope="session")
async def temporal_client(temporal_server: Any) -> Client:
    return await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)


@pytest.fixture(scope="session")
async def votes(temporal_client: Client, pool: Any, store: EventStore) -> AsyncIterator[dict[str, Vote]]:
    """One finished vote per tamper case, all run concurrently on one worker."""
    settings = Settings(task_queue=f"audit-{uuid.uuid4().hex[:8]}")
    worker = Worker(temporal_client, task_queue=settings.task_queue, workflows=[*WORKFLOWS, EscalatingProcedure],
                    activities=build_activities(store, pool, settings))  # the real wiring plus a test parent
    async with worker:
        done = await asyncio.gather(
            *(run_vote(temporal_client, pool, store, settings.task_queue, deem_silent=(case == "clean"))
              for case in TAMPER_CASES),
            run_escalated_vote(temporal_client, pool, store, settings.task_queue))
    yield dict(zip([*TAMPER_CASES, "escalated"], done, strict=True))


