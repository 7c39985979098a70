"""The history keeper: every closed run's Temporal history is kept outside PostgreSQL before retention deletes it.

Two ways in, one path (:meth:`HistoryKeeper.keep_run`):

- the activity ``keep_histories``: a procedure runs it as soon as its ballot box (a child workflow) has closed, before
  it posts the result notice, and publishes the returned hashes in that notice (``NoticePublished.histories``);
- the sweep (:meth:`HistoryKeeper.sweep`, run by the worker every ``YISHI_HISTORY_SWEEP_SECONDS``, and by
  ``yishi audit keep``): every run of the task queue that visibility lists as closed since the last sweep, the
  procedures' own closing histories and escalation tickets included.

Keeping a run publishes its hash first, as a ``HistoryKept`` event in ``<deliberation>/histories`` (one per run:
the idempotency key is the run's), then writes the file (activities/history_store.py). So a crash between the two
leaves an event without its file, which the next sweep writes; a run that has a file has its event, and is skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.client import Client, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.eventstore import EventStore, NewEvent
from activities.history_store import (
    HistoryStore,
    KeptFile,
    continued_as,
    history_bytes,
    parse_history,
    sha256_hex,
    status_of,
    workflow_type_of,
)
from domain.kept import HistoryKept, KeptHistory, deliberation_of_workflow, histories_stream, keep_key

log = structlog.get_logger(__name__)

OVERLAP = timedelta(minutes=10)
"""Each sweep looks again this far behind the newest close it saw: visibility may index a close late."""
CURSOR = ".sweep.json"


class KeepInput(BaseModel):
    """The first run of a workflow whose runs (continue-as-new included) are all closed."""

    model_config = ConfigDict(frozen=True)
    workflow_id: str
    run_id: str


class NotClosedError(Exception):
    """The run is still open: nothing to keep yet."""


@dataclass(frozen=True)
class Kept:
    ref: KeptHistory
    next_run: str | None
    """The run this one continued as, if any."""
    new: bool
    """Written now (False: it was kept before)."""


class HistoryKeeper:
    def __init__(self, store: EventStore, histories: HistoryStore) -> None:
        self._store = store
        self.histories = histories

    async def keep_run(self, client: Client, workflow_id: str, run_id: str) -> Kept:
        """Keep one closed run (a run kept before is only read back). Raises :class:`NotClosedError`, and
        RPCError NOT_FOUND when the server no longer has a run that was never kept."""
        existing = await asyncio.to_thread(self.histories.files, workflow_id, run_id)
        if existing:
            ref = KeptHistory(workflow_id=workflow_id, run_id=run_id, sha256=existing[0].sha256)
            return Kept(ref, await asyncio.to_thread(_continued_in_file, existing[0]), new=False)
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        status = status_of(history)
        if status in ("RUNNING", "UNKNOWN"):
            raise NotClosedError(f"{workflow_id} run {run_id} is still open")
        data = history_bytes(history)
        ref = KeptHistory(workflow_id=workflow_id, run_id=run_id, sha256=sha256_hex(data))
        await self._publish(ref, history, status, len(data))
        await asyncio.to_thread(self.histories.write, workflow_id, run_id, data)
        log.info("history.kept", workflow_id=workflow_id, run_id=run_id, sha256=ref.sha256, bytes=len(data),
                 status=status)
        return Kept(ref, continued_as(history), new=True)

    async def _publish(self, ref: KeptHistory, history: WorkflowHistory, status: str, size: int) -> None:
        event = HistoryKept(at=datetime.now(UTC), workflow_id=ref.workflow_id, run_id=ref.run_id,
                            workflow_type=workflow_type_of(history), status=status, sha256=ref.sha256, bytes=size,
                            events=len(history.events))
        stream = histories_stream(deliberation_of_workflow(ref.workflow_id))
        await self._store.append(stream, [NewEvent(type=event.type, payload=event.model_dump(mode="json"),
                                                   occurred_at=event.at)],
                                 idempotency_key=keep_key(ref.workflow_id, ref.run_id))

    async def keep_chain(self, client: Client, workflow_id: str, run_id: str) -> list[KeptHistory]:
        """Keep a run and every run it continued as."""
        kept: list[KeptHistory] = []
        next_run: str | None = run_id
        while next_run is not None:
            found = await self.keep_run(client, workflow_id, next_run)
            kept.append(found.ref)
            next_run = found.next_run
        return kept

    @activity.defn(name="keep_histories")
    async def keep_histories(self, params: KeepInput) -> list[KeptHistory]:
        """Keep a closed child's histories (a ballot box's, for its result notice); return what was kept."""
        try:
            return await self.keep_chain(activity.client(), params.workflow_id, params.run_id)
        except NotClosedError as exc:
            raise ApplicationError(str(exc), type="NotClosed") from None  # retried: it is closing
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise ApplicationError(f"{params.workflow_id} run {params.run_id}: the server has no history",
                                       type="HistoryNotFound", non_retryable=True) from None
            raise

    # ---- the sweep -----------------------------------------------------------------------------------------

    async def sweep(self, client: Client, task_queue: str) -> list[KeptHistory]:
        """Keep every closed run of ``task_queue`` that closed since the last sweep (all, the first time);
        return those written now."""
        cursor = await asyncio.to_thread(self._read_cursor)
        query = f'TaskQueue = "{task_queue}" AND ExecutionStatus != "Running"'
        if cursor is not None:
            query += f' AND CloseTime >= "{_rfc3339(cursor - OVERLAP)}"'
        newest, written = cursor, []
        async for execution in client.list_workflows(query):
            try:
                found = await self.keep_run(client, execution.id, execution.run_id)
            except NotClosedError:
                continue  # visibility ahead of the history: the next sweep keeps it
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                log.warning("history.lost", workflow_id=execution.id, run_id=execution.run_id,
                            reason="closed and gone from the server before it was kept")
                continue
            if found.new:
                written.append(found.ref)
            closed = execution.close_time
            if closed is not None and (newest is None or closed > newest):
                newest = closed
        if newest is not None and newest != cursor:
            await asyncio.to_thread(self._write_cursor, newest)
        return written

    async def sweep_forever(self, client: Client, task_queue: str, interval: float, stop: asyncio.Event) -> None:
        """Sweep every ``interval`` seconds until ``stop`` is set; a failed sweep is logged and tried again."""
        while not stop.is_set():
            try:
                written = await self.sweep(client, task_queue)
                if written:
                    log.info("history.swept", kept=len(written), task_queue=task_queue)
            except Exception as exc:  # the database or Temporal away: the next sweep starts from the same cursor
                log.warning("history.sweep_failed", error=f"{type(exc).__name__}: {exc}")
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass

    def _read_cursor(self) -> datetime | None:
        try:
            text = json.loads((self.histories.root / CURSOR).read_text(encoding="utf-8"))["close_time"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return datetime.fromisoformat(text)

    def _write_cursor(self, close_time: datetime) -> None:
        self.histories.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.histories.root / CURSOR
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps({"close_time": close_time.isoformat()}))
        temporary.replace(path)


def _continued_in_file(kept: KeptFile) -> str | None:
    try:
        return continued_as(parse_history(kept.workflow_id, kept.read()))
    except (OSError, ValueError):
        return None


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
