"""The web tier's Temporal client: connected on first use, shared by every request of the process.

Ballots never go through Temporal (docs/architecture.md); the acts that do — an owner confirming a share or
objecting, a committee member completing a task — answer 503 "please try again" when Temporal is away.
"""

from __future__ import annotations

import asyncio

from fastapi import Request
from temporalio.client import Client
from temporalio.service import RPCError

from yishi.temporal_client import connect

TEMPORAL_UNAVAILABLE = (RPCError, RuntimeError, OSError, asyncio.TimeoutError)


async def temporal_client(request: Request) -> Client:
    state = request.app.state
    if getattr(state, "temporal", None) is not None:
        return state.temporal
    lock = state.__dict__.setdefault("_temporal_lock", asyncio.Lock())
    async with lock:
        if getattr(state, "temporal", None) is None:
            state.temporal = await asyncio.wait_for(connect(state.settings), timeout=10)
    return state.temporal
