"""The ballot box continued as new while open, on a real Temporal dev server of its own.

The module's server suggests continue-as-new after a few events (``limit.historyCount.suggestContinueAsNew``),
so a box checkpointing every second continues as new every second or two (the dev server fires timers on whole
seconds). One box stays open for seven seconds and is sealed at its deadline: ballots cast
(``yishi.services.voting.cast_ballot``) on both sides of two continue-as-new are all counted, the checkpoints each
run carries over are the last ones of the run before, and ``yishi audit verify`` finds and replays every run.

Another box is withdrawn while its ``record_checkpoint`` runs and continue-as-new is then suggested: a worker-side
gate holds that activity until the workflow has handled the ``withdraw`` signal. Before the patch
``box-seal-withdrawn-before-continue-as-new`` the box continued as new without the withdrawal (BoxParams does not
carry it) and stayed open; now it seals in that run. The history of that path recorded on the code before the
patch (``*_before_withdrawn_can_patch.json``) must keep replaying; the new ones are written with
``YISHI_REGEN_HISTORIES=1``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowHistory
from temporalio.service import RPCError
from temporalio.worker import Replayer, Worker

from activities.box import BoxActivities, Checkpoint, StreamRef
from activities.eventstore import EventStore
from activities.registry import build_activities
from domain.events import Question
from domain.roll import Scope
from tests.workflows.conftest import HISTORIES, REGEN, estate_roll, wait_box_open
from workflows.ballot_box import BoxParams, BoxResult
from workflows.registry import WORKFLOWS
from yishi.embedded import EmbeddedTemporal
from yishi.services.audit import verify
from yishi.services.audit_temporal import fetch_run, follow_runs
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.services.voting import Receipt, cast_ballot
from yishi.settings import Settings
from yishi.temporal_client import DATA_CONVERTER

SUGGEST_AFTER = 16
"""History events after which the server suggests continue-as-new: a run started by continue-as-new records
two checkpoints, then continues as new (the first run, which also opens the box, records one)."""
EVERY = timedelta(seconds=1)
WINDOW = timedelta(seconds=20)
"""How long the first box is open: enough for two continue-as-new with ballots around them on a machine loaded
well beyond CI's (7 s failed under a load average of 11); the test waits out the rest of it."""
WAIT = 20.0
PATCH_ID = "box-seal-withdrawn-before-continue-as-new"
WITHDRAWN = "业委会撤回表决（检查点进行中）"
RACE_NEW = "ballot_box_withdrawn_at_continue_as_new"
RACE_OLD = "ballot_box_withdrawn_at_continue_as_new_before_withdrawn_can_patch"
CONTINUED = "ballot_box_continued_as_new"
"""A run started by continue-as-new that continues as new again."""
LAST_RUN = "ballot_box_sealed_after_continue_as_new"
# Three batches, each cast once a new run is seen; O311 changes its ballot in the last one.
BATCHES = ([("O311", "against"), ("O312", "for"), ("O321", "for")],
           [("O322", "for"), ("O331", "for"), ("O332", "for")],
           [("O341", "for"), ("O342", "against"), ("O351", "for"), ("O311", "for")])


@pytest.fixture(scope="module")
def can_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = EmbeddedTemporal(data_dir=tmp_path_factory.mktemp("temporal-can"),
                              dynamic_config={"limit.historyCount.suggestContinueAsNew": SUGGEST_AFTER})
    server.start(0, headless=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def can_client(can_server: EmbeddedTemporal) -> Client:
    return await Client.connect(can_server.address, data_converter=DATA_CONVERTER)


@asynccontextmanager
async def box_worker(client: Client, store: EventStore, pool: Any, *replacing: Any) -> AsyncIterator[str]:
    """The real workflows and activities on a fresh task queue; ``replacing`` activities take the place of
    the real ones of the same name."""
    settings = Settings(task_queue=f"can-{uuid.uuid4().hex[:8]}")
    names = {activity._Definition.must_from_callable(fn).name for fn in replacing}
    real = [fn for fn in build_activities(store, pool, settings)
            if activity._Definition.must_from_callable(fn).name not in names]
    async with Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS, activities=[*real, *replacing]):
        yield settings.task_queue


def vote_spec(closes_in: timedelta) -> DeliberationSpec:
    now = datetime.now(UTC)
    return DeliberationSpec(procedure="elevator", title="3栋2单元加装电梯（续跑测试）", rule_id="cc278-special",
                            scope=Scope(building="3", entrance="2"),
                            question=Question(text_zh="是否同意加装电梯？", text_en="Install an elevator?"),
                            opens_at=now, closes_at=now + closes_in)


async def poll(check: Any, what: str, seconds: float = WAIT) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not (found := await check()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)
    return found


# ---- reading histories ---------------------------------------------------------------------------------


async def run_chain(client: Client, workflow_id: str, first_run_id: str) -> list[tuple[str, WorkflowHistory]]:
    """Every run of the workflow, following each ``ContinuedAsNew`` event to the next run (no visibility)."""
    chain, run_id = [], first_run_id
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        chain.append((run_id, history))
        last = history.events[-1]
        run_id = (last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                  if last.HasField("workflow_execution_continued_as_new_event_attributes") else "")
    return chain


def run_input(history: WorkflowHistory) -> BoxParams:
    payloads = history.events[0].workflow_execution_started_event_attributes.input.payloads
    return DATA_CONVERTER.payload_converter.from_payloads(list(payloads), [BoxParams])[0]


def witnessed(history: WorkflowHistory) -> list[tuple[str, Checkpoint]]:
    """``(activity, head)`` of every open_box / record_checkpoint / seal_box the run completed, in order."""
    names = {e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
             if e.HasField("activity_task_scheduled_event_attributes")}
    found = []
    for event in history.events:
        if event.HasField("activity_task_completed_event_attributes"):
            attrs = event.activity_task_completed_event_attributes
            name = names[attrs.scheduled_event_id]
            value = json.loads(attrs.result.payloads[0].data)
            found.append((name, Checkpoint(**(value["head"] if name == "seal_box" else value))))
    return found


def patches(history: WorkflowHistory) -> list[str]:
    found = []
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            for payload in event.marker_recorded_event_attributes.details["patch-data"].payloads:
                found.append(json.loads(payload.data)["id"])
    return found


def last_event_type(history: WorkflowHistory) -> int:
    return history.events[-1].event_type


async def save(history: WorkflowHistory, name: str) -> None:
    if REGEN:
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


# ---- a box continued as new twice while open, sealed at its deadline -----------------------------------


async def test_ballots_across_continue_as_new_are_counted_and_audited(can_client, store, pool) -> None:
    spec = vote_spec(WINDOW)
    stop_casting = spec.closes_at - timedelta(seconds=1)
    receipts: list[Receipt] = []
    async with box_worker(can_client, store, pool) as task_queue:
        did, started = await start_vote(can_client, pool, estate_roll(), spec, task_queue=task_queue,
                                        checkpoint_every=EVERY)
        latest = can_client.get_workflow_handle(did)  # the current run, whichever it is
        await wait_box_open(store, did)
        cast_in: list[str] = []  # the run current right after each batch was committed
        for n, batch in enumerate(BATCHES):
            if n:  # after the run the previous batch was committed in has continued as new

                async def moved_on(before: str = cast_in[-1]) -> bool:
                    return (await latest.describe()).run_id != before

                await poll(moved_on, f"the run after {cast_in[-1]} (batch {n + 1})")
            assert datetime.now(UTC) < stop_casting, "the box continued as new too slowly to cast every batch"
            for owner, choice in batch:
                receipts.append(await cast_ballot(store, did, owner, choice, idempotency_key=f"can-{did}-{n}-{owner}",
                                                  now=datetime.now(UTC)))
            cast_in.append((await latest.describe()).run_id)
        result: BoxResult = await started.result()  # follows the runs from the first
    chain = await run_chain(can_client, did, started.first_execution_run_id or "")
    run_ids = [run_id for run_id, _ in chain]

    # Two continue-as-new, each with ballots before (the batch committed in the run that continued) and after.
    assert len(set(cast_in)) == 3 and run_ids.index(cast_in[0]) < run_ids.index(cast_in[1]) < run_ids.index(
        cast_in[2]), (cast_in, run_ids)
    for _, history in chain[:-1]:
        assert last_event_type(history) == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        assert history.events[-1].event_time.ToDatetime(UTC) < spec.closes_at, "continued as new while open"
    assert last_event_type(chain[-1][1]) == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED

    # Every ballot counted, the changed one as changed; sealed at the deadline.
    main = result.outcome.results["main"]
    assert (result.outcome.outcome, main["participating"]["owners"], main["in_favour"]["owners"]) == (
        "approved", 9, 8), main
    events = await store.read(did)
    ballots = {e.seq for e in events if e.type == "BallotCast"}
    assert ballots == {r.seq for r in receipts} and len(ballots) == 10
    assert [e.type for e in events].count("BoxOpened") == 1, "a continued run does not open the box again"
    sealed = next(e for e in events if e.type == "BoxSealed")
    assert sealed.payload["reason"] == "deadline" and sealed.occurred_at >= spec.closes_at

    # Each run carries the last head the run before witnessed; the final result starts from it.
    heads_by_run = [witnessed(history) for _, history in chain]
    inputs = [run_input(history) for _, history in chain]
    assert (inputs[0].opened, inputs[0].last_checkpoint) == (False, None)
    assert [name for name, _ in heads_by_run[0]][:1] == ["open_box"]
    for n in range(1, len(chain)):
        assert inputs[n].opened and inputs[n].last_checkpoint == heads_by_run[n - 1][-1][1], f"run {n + 1}"
        assert "open_box" not in [name for name, _ in heads_by_run[n]]
    assert result.checkpoints == [inputs[-1].last_checkpoint, *(head for _, head in heads_by_run[-1])]
    by_seq = {e.seq: e.hash for e in events}
    heads = [head for run in heads_by_run for _, head in run]
    assert all(by_seq[h.seq] == h.hash for h in heads), "every witnessed head is in the stream"
    assert [h.seq for h in heads] == sorted(h.seq for h in heads), "checkpoints go forward across runs"
    assert result.outcome.head == heads[-1] and heads[-1].seq == events[-1].seq

    # The audit finds every run of the workflow id and replays each.
    report = await verify(did, pool=pool, client=can_client)
    assert report.ok, [c.detail for c in report.failures]
    assert sorted(r["run_id"] for r in report.runs) == sorted(run_ids)
    replayed = [c.detail for c in report.checks if c.name == "replay"]
    assert len(replayed) == len(chain) and all(any(r in d for d in replayed) for r in run_ids)
    assert [r["status"] for r in report.runs] == ["CONTINUED_AS_NEW"] * (len(chain) - 1) + ["COMPLETED"]
    # Without visibility: the first run's history leads to all the others.
    first = await fetch_run(can_client, did, run_ids[0])
    assert first is not None
    assert sorted(r.run_id for r in await follow_runs(can_client, [first])) == sorted(run_ids)
    await save(chain[1][1], CONTINUED)
    await save(chain[-1][1], LAST_RUN)


# ---- a withdrawal arriving while the checkpoint before a continue-as-new runs ---------------------------


class HeldCheckpoint:
    """``record_checkpoint`` whose first call waits for ``release`` (the real activity runs after)."""

    def __init__(self, box: BoxActivities) -> None:
        self._box = box
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.calls = 0

    @activity.defn(name="record_checkpoint")
    async def record_checkpoint(self, ref: StreamRef) -> Checkpoint:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            await self.release.wait()
        return await self._box.record_checkpoint(ref)


def signal_handled(history: WorkflowHistory) -> bool:
    kinds = [e.event_type for e in history.events]
    if EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED not in kinds:
        return False
    after = kinds[kinds.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED):]
    return EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in after


def suggested_after_checkpoint(history: WorkflowHistory) -> bool:
    """Whether the workflow task that followed the first record_checkpoint suggested continue-as-new."""
    names = {e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
             if e.HasField("activity_task_scheduled_event_attributes")}
    done = next(i for i, e in enumerate(history.events) if e.HasField("activity_task_completed_event_attributes")
                and names[e.activity_task_completed_event_attributes.scheduled_event_id] == "record_checkpoint")
    task = next(e for e in history.events[done:] if e.HasField("workflow_task_started_event_attributes"))
    return task.workflow_task_started_event_attributes.suggest_continue_as_new


async def test_withdrawal_while_checkpointing_is_not_lost_to_continue_as_new(can_client, store, pool) -> None:
    held = HeldCheckpoint(BoxActivities(store, pool))
    did = ""
    try:
        async with box_worker(can_client, store, pool, held.record_checkpoint) as task_queue:
            did, started = await start_vote(can_client, pool, estate_roll(), vote_spec(timedelta(minutes=30)),
                                            task_queue=task_queue, checkpoint_every=EVERY)
            first: WorkflowHandle = can_client.get_workflow_handle(did, run_id=started.first_execution_run_id,
                                                                  result_type=BoxResult)
            await wait_box_open(store, did)
            for owner, choice in (("O311", "for"), ("O312", "for"), ("O321", "against")):
                await cast_ballot(store, did, owner, choice, idempotency_key=f"race-{did}-{owner}",
                                  now=datetime.now(UTC))
            await asyncio.wait_for(held.entered.wait(), WAIT)
            await can_client.get_workflow_handle(did).signal("withdraw", WITHDRAWN)

            async def handled() -> bool:
                return signal_handled(await first.fetch_history())

            await poll(handled, "the workflow to handle the withdraw signal")
            held.release.set()

            async def closed() -> Any:
                status = (await first.describe()).status
                return status if status != WorkflowExecutionStatus.RUNNING else None

            status = await poll(closed, "the first run to close")
            history = await first.fetch_history()
            await save(history, RACE_NEW)
            assert suggested_after_checkpoint(history), "the race was set up: continue-as-new was suggested"
            assert status == WorkflowExecutionStatus.COMPLETED, f"the run ended {status.name}: the withdrawal was lost"
            result: BoxResult = await first.result(follow_runs=False)
    finally:
        if did:
            await terminate_if_running(can_client, did)
    assert patches(history)[-1] == PATCH_ID
    events = await store.read(did)
    sealed = next(e for e in events if e.type == "BoxSealed")
    assert sealed.payload["reason"] == WITHDRAWN
    assert [e.type for e in events][-2:] == ["BoxSealed", "ResultRecorded"]
    assert result.outcome.head.seq == events[-1].seq and result.outcome.results["main"]["participating"]["owners"] == 3


async def terminate_if_running(client: Client, workflow_id: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    try:
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test over")
    except RPCError:
        pass


async def test_withdrawn_at_continue_as_new_histories_replay() -> None:
    """The history recorded before the patch continues as new without the withdrawal (and keeps doing so on
    replay); the one recorded after seals in that run."""
    old = WorkflowHistory.from_json("old", (HISTORIES / f"{RACE_OLD}.json").read_text(encoding="utf-8"))
    new = WorkflowHistory.from_json("new", (HISTORIES / f"{RACE_NEW}.json").read_text(encoding="utf-8"))
    assert last_event_type(old) == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert last_event_type(new) == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert PATCH_ID not in patches(old) and PATCH_ID in patches(new)
    assert suggested_after_checkpoint(old) and suggested_after_checkpoint(new)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    for history in (old, new):
        outcome = await replayer.replay_workflow(history)
        assert outcome.replay_failure is None, history.workflow_id

