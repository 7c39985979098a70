"""Ballot-box activities: the workflow's only way to touch the deliberation's stream.

Every activity is idempotent: it may run more than once (a retry, a worker killed after the commit but
before Temporal heard of it), so each append carries an idempotency key derived from its input.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from temporalio import activity

from activities.eventstore import EventStore


class StreamRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    deliberation_id: str


class Checkpoint(BaseModel):
    """The stream head as the workflow saw it; kept in the Temporal history as a witness."""

    model_config = ConfigDict(frozen=True)
    seq: int
    hash: str


class BoxActivities:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name="record_checkpoint")
    async def record_checkpoint(self, ref: StreamRef) -> Checkpoint:
        """Read the stream head; the result lands in the workflow's history."""
        seq, digest = await self._store.head(ref.deliberation_id)
        return Checkpoint(seq=seq, hash=digest)
