"""The ballot box seals without a checkpoint right before the seal (patch ``box-seal-without-final-checkpoint``).

``seal_box`` returns the sealed head, so a ``record_checkpoint`` between the last wait (deadline timer or the
``withdraw`` signal) and ``seal_box`` witnesses nothing new. Two boxes run on the time-skipping server with the
real activities: one sealed at its deadline after two periodic checkpoints, one withdrawn after one. Their
histories are kept for the replay test (``YISHI_REGEN_HISTORIES=1``); the ``*_before_final_checkpoint_patch``
histories were recorded on the code before the patch and must keep replaying.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.eventstore import EventStore
from domain.events import Question
from domain.roll import Scope
from tests.workflows.conftest import HISTORIES, cast, estate_roll, running_worker, save_history, wait_box_open
from workflows.ballot_box import BoxResult
from workflows.registry import WORKFLOWS
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.temporal_client import DATA_CONVERTER

PATCH_ID = "box-seal-without-final-checkpoint"
OLD = {"deadline": "ballot_box_deadline_before_final_checkpoint_patch",
       "withdrawn": "ballot_box_withdrawn_before_final_checkpoint_patch"}
NEW = {"deadline": "ballot_box_deadline", "withdrawn": "ballot_box_withdrawn"}
OWNERS = [f"O3{f}{u}" for f in range(1, 7) for u in (1, 2)]


def activities_after_last_wait(events: list[dict[str, Any]]) -> list[str]:
    """Activities scheduled after the last fired timer or received signal, up to and including ``seal_box``."""
    names = [(e["eventType"], e.get("activityTaskScheduledEventAttributes", {}).get("activityType", {}).get("name"))
             for e in events]
    seal = next(i for i, (_, name) in enumerate(names) if name == "seal_box")
    waits = [i for i, (kind, _) in enumerate(names[:seal])
             if kind in ("EVENT_TYPE_TIMER_FIRED", "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED")]
    assert waits, "the box waited on a timer or a signal before its seal"
    return [name for kind, name in names[waits[-1]:seal + 1] if kind == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"]


def patches(events: list[dict[str, Any]]) -> list[str]:
    """Ids of the ``workflow.patched`` markers in a history (``core_patch`` markers, JSON payloads)."""
    found = []
    for event in events:
        marker = event.get("markerRecordedEventAttributes", {})
        for payload in marker.get("details", {}).get("patch-data", {}).get("payloads", []):
            found.append(json.loads(base64.b64decode(payload["data"]))["id"])
    return found


def scheduled(events: list[dict[str, Any]], activity: str) -> int:
    return sum(e.get("activityTaskScheduledEventAttributes", {}).get("activityType", {}).get("name") == activity
               for e in events)


def spec(env_now: Any, hours: int) -> DeliberationSpec:
    return DeliberationSpec(procedure="elevator", title="3栋2单元加装电梯（封箱测试）", rule_id="cc278-special",
                            scope=Scope(building="3", entrance="2"),
                            question=Question(text_zh="是否同意加装电梯？", text_en="Install an elevator?"),
                            opens_at=env_now, closes_at=env_now + timedelta(hours=hours))


async def checkpoints_reach(handle: WorkflowHandle, count: int, patience: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while len(await handle.query("checkpoints")) < count:
        assert loop.time() < deadline, f"timed out waiting for {count} witnessed heads"
        await asyncio.sleep(0.05)


async def run_box(env: WorkflowEnvironment, store: EventStore, pool: Any, task_queue: str,
                  withdraw: bool) -> tuple[str, BoxResult, dict[str, Any]]:
    """A box with hourly checkpoints: closed by its 3 h deadline, or withdrawn after its first checkpoint."""
    now = await env.get_current_time()
    async with running_worker(env, store, pool, task_queue):
        did, handle = await start_vote(env.client, pool, estate_roll(), spec(now, 3), task_queue=task_queue,
                                       checkpoint_every=timedelta(hours=1))
        await wait_box_open(store, did)
        for owner in OWNERS[:4]:
            await cast(store, did, owner, "for", now)
        if withdraw:
            await env.sleep(timedelta(minutes=90))  # past the first hourly checkpoint, before the deadline
            await checkpoints_reach(handle, 2)
            await cast(store, did, OWNERS[4], "against", now + timedelta(minutes=90))
            await handle.signal("withdraw", "业委会撤回表决")
        result = await handle.result()
        await save_history(handle, NEW["withdrawn" if withdraw else "deadline"])
        history = json.loads((await handle.fetch_history()).to_json())
    return did, result, history


async def sealed(store: EventStore, did: str) -> tuple[str, int, list[str]]:
    """The seal's reason, the stream head and the last two event types."""
    events = await store.read(did)
    reason = next(e.payload["reason"] for e in events if e.type == "BoxSealed")
    return reason, events[-1].seq, [e.type for e in events[-2:]]


async def test_deadline_seal_has_no_checkpoint_after_the_last_timer(ts_env, store, pool, task_queue) -> None:
    did, result, history = await run_box(ts_env, store, pool, task_queue, withdraw=False)
    events = history["events"]
    assert activities_after_last_wait(events) == ["seal_box"], "no record_checkpoint between the deadline and seal"
    assert scheduled(events, "record_checkpoint") == 2, "the hourly checkpoints while open are kept (1 h, 2 h)"
    reason, head, last = await sealed(store, did)
    assert (reason, last) == ("deadline", ["BoxSealed", "ResultRecorded"])
    assert result.checkpoints[-1] == result.outcome.head and result.outcome.head.seq == head
    assert len(result.checkpoints) == 4, "open_box, two hourly checkpoints, seal_box"


async def test_withdrawn_seal_has_no_checkpoint_after_the_signal(ts_env, store, pool, task_queue) -> None:
    did, result, history = await run_box(ts_env, store, pool, task_queue, withdraw=True)
    events = history["events"]
    assert activities_after_last_wait(events) == ["seal_box"], "no record_checkpoint between withdraw and seal"
    assert scheduled(events, "record_checkpoint") == 1, "the hourly checkpoint before the withdrawal is kept"
    reason, head, last = await sealed(store, did)
    assert (reason, last) == ("业委会撤回表决", ["BoxSealed", "ResultRecorded"])
    assert result.checkpoints[-1] == result.outcome.head and result.outcome.head.seq == head
    assert len(result.checkpoints) == 3, "open_box, one hourly checkpoint, seal_box"


async def test_old_and_new_histories_replay() -> None:
    """Histories from before the patch take the old path (a checkpoint before the seal); new ones the new path."""
    replayer = Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)
    for case in ("deadline", "withdrawn"):
        old, new = ((HISTORIES / f"{names[case]}.json").read_text(encoding="utf-8") for names in (OLD, NEW))
        old_events, new_events = json.loads(old)["events"], json.loads(new)["events"]
        assert activities_after_last_wait(old_events) == ["record_checkpoint", "seal_box"], case
        assert activities_after_last_wait(new_events) == ["seal_box"], case
        assert (patches(old_events), patches(new_events)) == ([], [PATCH_ID]), case
        for name, text in ((f"{case}-old", old), (f"{case}-new", new)):
            outcome = await replayer.replay_workflow(WorkflowHistory.from_json(name, text))
            assert outcome.replay_failure is None, name
