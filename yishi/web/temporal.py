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


class TemporalUnavailableError(Exception):
    """Temporal cannot be reached (or is not configured) from the web tier."""


TEMPORAL_UNAVAILABLE = (RPCError, TemporalUnavailableError, OSError, asyncio.TimeoutError)


async def temporal_client(request: Request) -> Client:
    state = request.app.state
    if getattr(state, "temporal", None) is not None:
        return state.temporal
    lock = state.__dict__.setdefault("_temporal_lock", asyncio.Lock())
    async with lock:
        if getattr(state, "temporal", None) is None:
            try:
                state.temporal = await asyncio.wait_for(connect(state.settings), timeout=10)
            except RuntimeError as exc:  # no YISHI_TEMPORAL_ADDRESS, or the connection failed
                raise TemporalUnavailableError(str(exc)) from exc
    return state.temporal
