"""Points and volunteers fixtures: a community of its own per test, an operator, and a second store on its own pool
(a second web process)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from activities.db import create_pool
from activities.eventstore import EventStore
from domain.operator import Operator

CLERK = Operator(name="李书记", role="committee", via="cli")
KEY = "points-test-key"


@pytest.fixture
def community() -> str:
    return f"c{uuid.uuid4().hex[:10]}"


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def other_store(database_url: str) -> AsyncIterator[EventStore]:
    """A store on a pool of its own: what another web process appending to the same streams would be."""
    pool: Any = await create_pool(database_url, max_size=5)
    yield EventStore(pool)
    await pool.close()


from tests.workflows.conftest import running_worker, task_queue, ts_env  # noqa: E402, F401 - fixtures used here
