"""Appraisal activities: witness the opening, remind, close and record the result (each returns the stream head it
left, which the workflow's history keeps: the auditor holds the stream against it, as for a ballot box).

Idempotent: the reminder and the close are appended under keys of their own, and are decided on the fold under
the stream's lock (a rating racing the close is decided before it or refused after it, never lost in between). A
retried close finds its events and returns the same head and result.
"""

from __future__ import annotations

from typing import Any, Literal

import asyncpg
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.eventstore import EventStore
from domain.appraisal import Close, Remind, decide_close, decide_remind
from domain.operator import SYSTEM, Operator
from yishi.services.appraisal_rows import project_appraisal
from yishi.services.folds import append_decided, new_events

log = structlog.get_logger(__name__)


class AppraisalStep(BaseModel):
    model_config = ConfigDict(frozen=True)
    appraisal_id: str
    at: AwareDatetime
    roll_digest: str = ""
    by: Operator | None = None
    """Who closes it: the committee member of an early close (else the system, at the deadline)."""
    reason: Literal["deadline", "committee"] = "deadline"


class AppraisalHead(BaseModel):
    """The stream's head after the step; ``results`` (the recorded result) only for the close."""

    seq: int
    hash: str
    results: dict[str, Any] | None = None
    pending: int | None = None


class AppraisalActivities:
    def __init__(self, store: EventStore, pool: asyncpg.Pool) -> None:
        self._store = store
        self._pool = pool

    async def _row(self, appraisal_id: str, kind: str) -> Any:
        found = [e for e in await self._store.read_types(appraisal_id, (kind,))]
        return found[0] if found else None

    @activity.defn
    async def witness_appraisal_open(self, step: AppraisalStep) -> AppraisalHead:
        """The ``AppraisalOpened`` the service recorded, as it stands: checked against the roll the workflow was
        started with."""
        opened = await self._row(step.appraisal_id, "AppraisalOpened")
        if opened is None or opened.payload.get("roll_digest") != step.roll_digest:
            raise ApplicationError(f"appraisal {step.appraisal_id} has no AppraisalOpened with roll "
                                   f"{step.roll_digest[:12]}", non_retryable=True)
        return AppraisalHead(seq=opened.seq, hash=opened.hash)

    @activity.defn
    async def remind_appraisal(self, step: AppraisalStep) -> AppraisalHead:
        from yishi.services.appraisals import APPRAISAL

        stored = await append_decided(self._store, step.appraisal_id, APPRAISAL, lambda state: new_events(
            decide_remind(state, Remind(at=step.at, by=SYSTEM))), idempotency_key="reminded")
        await project_appraisal(self._store, self._pool, step.appraisal_id)
        seq, digest = await self._store.head(step.appraisal_id)
        pending = stored[0].payload.get("pending") if stored else None
        log.info("appraisal.reminded", appraisal_id=step.appraisal_id, pending=pending)
        return AppraisalHead(seq=stored[0].seq if stored else seq, hash=stored[0].hash if stored else digest,
                             pending=pending)

    @activity.defn
    async def close_appraisal(self, step: AppraisalStep) -> AppraisalHead:
        from yishi.services.appraisals import APPRAISAL

        await append_decided(self._store, step.appraisal_id, APPRAISAL, lambda state: new_events(
            decide_close(state, Close(at=step.at, by=step.by or SYSTEM, reason=step.reason))), idempotency_key="closed")
        await project_appraisal(self._store, self._pool, step.appraisal_id)
        recorded = await self._row(step.appraisal_id, "AppraisalResultRecorded")
        if recorded is None:
            raise ApplicationError(f"appraisal {step.appraisal_id} closed without a result", non_retryable=True)
        log.info("appraisal.closed", appraisal_id=step.appraisal_id, seq=recorded.seq,
                 score=recorded.payload["result"].get("score"))
        return AppraisalHead(seq=recorded.seq, hash=recorded.hash, results=recorded.payload["result"])

