"""The Temporal side of an audit: find every run of a deliberation, replay it, read its witnesses.

Runs: the workflow whose id is the deliberation id (every run of it, continue-as-new included), every
workflow whose id starts with ``<id>/`` (escalations and other children), and every workflow whose root is
the deliberation's workflow (children with other ids, on servers that index ``RootWorkflowId``).

When the server no longer has a run (deleted after the namespace's retention), its kept copy is read instead
(``yishi/services/audit_kept.py``): the keeper wrote it when the run closed (activities/keeper.py).

Each history is replayed with :class:`temporalio.worker.Replayer` against the workflow code of this
checkout, with the one data converter, so a code change that is not replay-compatible is caught before it
meets a live workflow.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecution, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from activities.history_store import HistoryStore, status_of, workflow_type_of
from yishi.services.audit_checks import Check, Witness
from yishi.temporal_client import DATA_CONVERTER

if TYPE_CHECKING:
    from yishi.services.audit_kept import KeptCopy

WITNESS_ACTIVITIES = ("open_box", "record_checkpoint", "seal_box")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")


class AuditInputError(ValueError):
    """The deliberation id cannot be audited as given."""


@dataclass(frozen=True)
class Run:
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    start_time: datetime | None
    history: WorkflowHistory
    source: str = "temporal"
    """Where the history was read: ``temporal`` (the server) or ``kept`` (the kept copy: the server has none)."""
    kept: KeptCopy | None = None
    """The run's kept copy, when there is one (the history itself, for a run read from it)."""

    @property
    def label(self) -> str:
        copy = " (kept copy)" if self.source == "kept" else ""
        return f"{self.workflow_type} {self.workflow_id} run {self.run_id}{copy}"


def runs_query(deliberation_id: str, *, with_root: bool = True) -> str:
    """Visibility query for the deliberation's runs: its id, ``<id>/…`` ids, and (servers ≥ 1.27) every
    workflow whose root is the deliberation's workflow, whatever its id."""
    if not _SAFE_ID.match(deliberation_id):
        raise AuditInputError(f"'{deliberation_id}' is not a deliberation id (letters, digits, . _ : / - only)")
    query = f'WorkflowId = "{deliberation_id}" OR WorkflowId STARTS_WITH "{deliberation_id}/"'
    return query + f' OR RootWorkflowId = "{deliberation_id}"' if with_root else query


async def _listed(client: Client, workflow_id: str) -> list[WorkflowExecution]:
    try:
        return [e async for e in client.list_workflows(runs_query(workflow_id))]
    except RPCError as exc:
        if exc.status != RPCStatusCode.INVALID_ARGUMENT:
            raise
        # An older server without RootWorkflowId: children are found by the "<id>/" prefix only.
        return [e async for e in client.list_workflows(runs_query(workflow_id, with_root=False))]


async def list_runs(client: Client, workflow_ids: Sequence[str], kept: HistoryStore | None = None) -> list[Run]:
    """Every run of these workflows and their children, oldest first, each with its full history.

    Visibility lists them; the histories then name the rest: the run each one continued as and the children
    it started. So a run that visibility has not indexed yet (just started, or on a server whose visibility
    lags) is still audited, and each status is the one its history ends with. With ``kept``, every run kept
    under these workflow ids is audited too, from the server if it still has it, else from its kept copy.
    """
    seen: dict[tuple[str, str], Run] = {}
    for workflow_id in workflow_ids:
        for execution in await _listed(client, workflow_id):
            run = await fetch_run(client, execution.id, execution.run_id, kept)  # deleted since it was listed?
            if run is not None:
                seen[(run.workflow_id, run.run_id)] = run
        if not any(listed == workflow_id for listed, _ in seen):
            run = await fetch_run(client, workflow_id)  # visibility may lag behind a run just started
            if run is not None:
                seen[(run.workflow_id, run.run_id)] = run
        for key in _kept_under(kept, workflow_id):
            if key not in seen and (run := await fetch_run(client, *key, kept=kept)) is not None:
                seen[key] = run
    found = await follow_runs(client, list(seen.values()), kept)
    if kept is not None:
        from yishi.services.audit_kept import with_kept_copies

        found = await with_kept_copies(kept, found)
    return sorted(found, key=lambda r: (r.start_time is None, r.start_time, r.workflow_id))


def _kept_under(kept: HistoryStore | None, workflow_id: str) -> list[tuple[str, str]]:
    if kept is None:
        return []
    return [(w, r) for w in kept.workflows(workflow_id) for r in kept.runs(w)]


def linked_runs(history: WorkflowHistory) -> list[tuple[str, str]]:
    """``(workflow id, run id)`` of the runs a history names: the children it started and the run it continued
    as."""
    linked = []
    for event in history.events:
        if event.HasField("child_workflow_execution_started_event_attributes"):
            child = event.child_workflow_execution_started_event_attributes.workflow_execution
            linked.append((child.workflow_id, child.run_id))
        elif event.HasField("workflow_execution_continued_as_new_event_attributes"):
            linked.append((history.workflow_id,
                           event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id))
    return linked


async def follow_runs(client: Client, runs: Sequence[Run], kept: HistoryStore | None = None) -> list[Run]:
    """``runs`` and every run their histories lead to (:func:`linked_runs`), transitively."""
    seen = {(run.workflow_id, run.run_id): run for run in runs}
    pending = list(runs)
    while pending:
        for workflow_id, run_id in linked_runs(pending.pop().history):
            if (workflow_id, run_id) not in seen and (found := await fetch_run(client, workflow_id, run_id, kept)):
                seen[(workflow_id, run_id)] = found
                pending.append(found)
    return list(seen.values())


async def fetch_run(client: Client, workflow_id: str, run_id: str | None = None,
                    kept: HistoryStore | None = None) -> Run | None:
    """One run (the latest without ``run_id``) with its history, or None when neither the server nor ``kept``
    has it. A run the server no longer describes is asked for its history once more (a server with Temporal's
    own archival may still serve it from there), then read from its kept copy."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    try:
        info = await handle.describe()
    except RPCError as exc:
        if run_id is None:
            return None
        found = await _archived_run(client, workflow_id, run_id) if exc.status == RPCStatusCode.NOT_FOUND else None
        return found or _kept_run(kept, workflow_id, run_id)
    try:
        history = await client.get_workflow_handle(workflow_id, run_id=info.run_id).fetch_history()
    except RPCError as exc:  # deleted between the two calls
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return _kept_run(kept, workflow_id, info.run_id)
    return Run(workflow_id, info.run_id, info.workflow_type, status_of(history), info.start_time, history)


async def _archived_run(client: Client, workflow_id: str, run_id: str) -> Run | None:
    try:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return None
    if not history.events:
        return None
    started = history.events[0].event_time.ToDatetime().replace(tzinfo=UTC)
    return Run(workflow_id, run_id, workflow_type_of(history), status_of(history), started, history)


def _kept_run(kept: HistoryStore | None, workflow_id: str, run_id: str) -> Run | None:
    if kept is None:
        return None
    from yishi.services.audit_kept import run_from_kept

    return run_from_kept(kept, workflow_id, run_id)


def _classes_for(runs: Sequence[Run], workflows: Sequence[type]) -> list[type]:
    """The workflow classes of the types among ``runs``, or all of them when none matches.

    A replayer validates every class it is given in a fresh sandbox (a module import each) before it
    replays a history; a deliberation's runs use one to three of the registered types. A run whose type
    no class has still finds none, and fails to replay.
    """
    # The name a class registers, as the SDK itself reads it. ``_Definition`` is not public API: should a
    # later SDK move it, every class is given (slower, never wrong).
    from_class = getattr(getattr(workflow, "_Definition", None), "from_class", None)
    if from_class is None:
        return list(workflows)
    types = {run.workflow_type for run in runs}
    needed = []
    for cls in workflows:
        defn = from_class(cls)
        if defn is None or defn.name is None or defn.name in types:
            needed.append(cls)
    return needed or list(workflows)


async def replay_checks(runs: Sequence[Run], workflows: Sequence[type]) -> list[Check]:
    """Replay every history against ``workflows``, all with one replayer; one check per run."""
    if not runs:
        return []
    # A fixed build id: otherwise the Replayer hashes the code of every loaded module to make one.
    replayer = Replayer(workflows=_classes_for(runs, workflows), data_converter=DATA_CONVERTER,
                        build_id="yishi-audit-replay")

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for run in runs:
            yield run.history

    failures: dict[tuple[str, str], Exception | None] = {}
    async with replayer.workflow_replay_iterator(histories()) as replayed:
        async for result in replayed:
            failures[(result.history.workflow_id, result.history.run_id)] = result.replay_failure
    checks = []
    for run in runs:
        key = (run.workflow_id, run.run_id)
        if key in failures and failures[key] is None:
            detail = f"{run.label}: {len(run.history.events)} history events replay on the current code"
            checks.append(Check("replay", True, detail, run.workflow_id))
        else:
            failure = failures.get(key) or RuntimeError("the replayer returned no result for this run")
            detail = f"{run.label} does not replay on the current code: {type(failure).__name__}: {failure}"
            checks.append(Check("replay", False, detail, run.workflow_id))
    return checks


def _decode(payloads: Any) -> Any:
    values = DATA_CONVERTER.payload_converter.from_payloads(list(payloads))
    return values[0] if values else None


def witnesses_of(run: Run) -> list[Witness]:
    """The stream heads recorded by the witness activities in one history."""
    scheduled: dict[int, HistoryEvent] = {}
    found: list[Witness] = []
    for event in run.history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled[event.event_id] = event
        elif event.HasField("activity_task_completed_event_attributes"):
            attrs = event.activity_task_completed_event_attributes
            origin = scheduled.get(attrs.scheduled_event_id)
            if origin is None:
                continue
            witness = _witness(run, origin, event)
            if witness is not None:
                found.append(witness)
    return found


def _witness(run: Run, origin: HistoryEvent, completed: HistoryEvent) -> Witness | None:
    name = origin.activity_task_scheduled_event_attributes.activity_type.name
    if name not in WITNESS_ACTIVITIES:
        return None
    params = _decode(origin.activity_task_scheduled_event_attributes.input.payloads)
    result = _decode(completed.activity_task_completed_event_attributes.result.payloads)
    if not isinstance(params, dict) or not isinstance(result, dict):
        return None
    head = result.get("head") if name == "seal_box" else result
    if not isinstance(head, dict) or "seq" not in head or "hash" not in head:
        return None
    stream_id = params.get("deliberation_id") or params.get("open", {}).get("deliberation_id") or run.workflow_id
    return Witness(stream_id=str(stream_id), seq=int(head["seq"]), hash=str(head["hash"]), activity=name,
                   where=f"{run.label} event {completed.event_id}", results=result.get("results"),
                   outcome=result.get("outcome"), approved=result.get("approved"))


def runs_check(deliberation_id: str, runs: Sequence[Run]) -> Check:
    if not runs:
        return Check("temporal_runs", False, f"no Temporal workflow has id {deliberation_id} or starts with "
                     f"{deliberation_id}/ (wrong id, or the histories are past retention)", deliberation_id)
    listed = ", ".join(f"{r.workflow_type} {r.workflow_id} ({r.status.lower()}"
                       f"{', kept copy' if r.source == 'kept' else ''})" for r in runs)
    return Check("temporal_runs", True, f"{len(runs)} runs: {listed}", deliberation_id)
