"""Scenarios on running processes: a worker killed mid-deliberation (1), the Temporal server restarted
mid-vote (2), and activities forced to run again after they completed (4)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.testing import ActivityEnvironment

from activities.notices import Delivery, NoticeActivities
from activities.stages import StageActivities, StageAppend
from domain.events import Question
from domain.roll import Scope
from domain.stage_events import EscalationPlaceholderOpened, NoticePublished
from workflows.common import ProcedureResult, TaskCompletion
from yishi.check.context import Run, estate, poll
from yishi.check.flood import Voters, cast_one
from yishi.check.report import duplicate_facts
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.services.procedures import StartRequest, complete_task, start_procedure

ELEVATOR_PERIODS = {"feasibility": "PT1H", "notice": "PT3S", "voting": "PT10S", "remind_before": "PT4S",
                    "checkpoint": "PT3S", "share_confirmation": "PT1H", "permit": "PT1H", "construction": "PT1H",
                    "acceptance": "PT1H", "publicity": "PT1H"}


async def use_gateway(run: Run) -> None:
    """Notices of the suite's community go to the print sheet and to the stand-in gateway's webhook."""
    async with run.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO notice_channels (community, channels, webhook_url) VALUES ($1, $2, $3)"
            " ON CONFLICT (community) DO UPDATE SET channels = $2, webhook_url = $3",
            run.community, ["print", "webhook"], run.gateway.url)


async def _types(run: Run, stream: str) -> list[str]:
    return [e.type for e in await run.store.read(stream)]


async def _stream_has(run: Run, stream: str, kind: str) -> bool:
    return kind in await _types(run, stream)


def _check_notices(run: Run, events: list, deliberation_id: str, label: str) -> None:
    published = {e.payload["notice_id"] for e in events if e.type == "NoticePublished"}
    delivered = {(e.payload["notice_id"], e.payload["channel"]) for e in events if e.type == "NoticeDelivered"}
    run.report.check(all((n, c) in delivered for n in published for c in ("print", "webhook")),
                     f"{label}: a published notice was not delivered on every channel")
    twice = duplicate_facts(events) + run.gateway.sent_twice(deliberation_id)
    run.report.duplicated += len(twice)
    run.report.check(not twice, f"{label}: facts or notices recorded/sent twice: {twice}")
    run.report.check(run.gateway.count(deliberation_id) == len(published),
                     f"{label}: the gateway got {run.gateway.count(deliberation_id)} notices for "
                     f"{len(published)} published")


async def worker_killed(run: Run) -> None:
    """1. SIGKILL the worker while the vote's timers are pending; a new worker carries the procedure on."""
    request = StartRequest(procedure="elevator", title="故障演练：3栋2单元加装电梯",
                           scope=Scope(building="3", entrance="2"), periods=ELEVATOR_PERIODS, community=run.community)
    did, handle = await start_procedure(run.client, run.pool, estate(8), request, task_queue=run.stack.task_queue)
    run.shared["elevator"] = (did, handle.result_run_id)
    task = await poll(lambda: _open_task(run, did), "the feasibility task", 60)
    await complete_task(run.client, did, TaskCompletion(task_id=task, role="committee", outcome="feasible"))
    await poll(lambda: _stream_has(run, did, "BoxOpened"), "the ballot box to open", 60)
    await asyncio.sleep(1.5)  # inside the vote: checkpoint, reminder and close timers are pending
    pid = run.stack.kill_worker()
    run.report.faults += 1
    run.log(f"  worker {pid} killed with SIGKILL during the vote of {did}")
    await asyncio.sleep(2)  # nobody runs the timers now
    run.stack.start_worker()
    result: ProcedureResult = await asyncio.wait_for(handle.result(), timeout=120)
    events = await run.store.read(did)
    types = [e.type for e in events]
    run.report.check("BoxSealed" in types and "VoteCounted" in types and "ProcedureClosed" in types,
                     f"scenario 1: the procedure did not go on after the kill: {types[-5:]}")
    run.report.check(types.count("DoorKnockListIssued") == 2, "scenario 1: the two reminder timers did not fire")
    _check_notices(run, events, did, "scenario 1")
    run.report.scenarios["worker_killed"] = {"deliberation": did, "outcome": result.outcome, "events": len(events),
                                             "notices": types.count("NoticePublished")}
    run.log(f"  procedure ended '{result.outcome}' after the kill; {types.count('NoticePublished')} notices, "
            f"each delivered once per channel")


async def _open_task(run: Run, did: str) -> str | None:
    events = await run.store.read(did)
    done = {e.payload["task_id"] for e in events if e.type == "TaskCompleted"}
    return next((e.payload["task_id"] for e in events if e.type == "TaskOpened" and e.payload["task_id"] not in done),
                None)


async def temporal_restarted(run: Run) -> None:
    """2. Stop the Temporal dev server mid-vote (SQLite file kept) and start it again on the same port;
    ballots keep coming through the web tier meanwhile; the box seals on time and counts them."""
    roll = estate(12, building="5", prefix="T")
    now = run.now()
    spec = DeliberationSpec(procedure="consultation", title="故障演练：Temporal 重启", rule_id="headcount-majority",
                            scope=Scope(), question=Question(text_zh="同意吗？", text_en="Agree?"), opens_at=now,
                            closes_at=now + timedelta(seconds=14))
    did, handle = await start_vote(run.client, run.pool, roll, spec, task_queue=run.stack.task_queue,
                                   checkpoint_every=timedelta(seconds=3))
    await poll(lambda: _stream_has(run, did, "BoxOpened"), "the ballot box to open", 60)
    voters = await Voters.issue(run, did, [r.owner_id for r in roll.rooms])
    run.shared["sealed_voters"] = voters
    outage = asyncio.create_task(asyncio.to_thread(run.stack.restart_temporal, 4.0))
    run.report.faults += 1
    await asyncio.sleep(0.5)
    receipts = [await cast_one(run, voters, owner, "for") for owner in voters.owners[:8]]
    await outage
    run.log(f"  Temporal restarted on port {run.stack.temporal.port}; {sum(1 for r in receipts if r)} ballots "  # type: ignore[union-attr]
            "taken by the web tier while it was down")
    result = await asyncio.wait_for(handle.result(), timeout=90)
    if run.stack.ensure_worker():
        run.report.check(False, "scenario 2: the worker exited while Temporal was down")
    events = await run.store.read(did)
    sealed = next(e for e in events if e.type == "BoxSealed")
    late = (sealed.recorded_at - spec.closes_at).total_seconds()
    run.report.check(sealed.occurred_at >= spec.closes_at, "scenario 2: sealed before its deadline")
    run.report.check(late < 30, f"scenario 2: sealed {late:.1f}s after the deadline")
    counted = result.outcome.results["main"]["participating"]["owners"]
    run.report.check(counted == sum(1 for r in receipts if r),
                     f"scenario 2: {counted} ballots counted, {sum(1 for r in receipts if r)} receipts given")
    await voters.verify(run, {o: r for o, r in zip(voters.owners, receipts, strict=False) if r})
    run.report.scenarios["temporal_restarted"] = {"deliberation": did, "sealed_late_s": round(late, 1),
                                                  "counted": counted}
    run.log(f"  box sealed {late:.1f}s after its deadline and counted {counted} ballots")


async def activities_rerun(run: Run) -> None:
    """4. Reset the elevator workflow of scenario 1 to just after its vote, so every activity after it (stage
    appends, the result notice and its deliveries, the close) runs again; then call two activities twice."""
    did, first_run = run.shared["elevator"]
    before = await run.store.read(did)
    sent_before = run.gateway.count(did)
    handle = run.client.get_workflow_handle(did)
    history = await handle.fetch_history()
    child_done = next(e.event_id for e in history.events
                      if e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
    reset_to = next(e.event_id for e in history.events
                    if e.event_id > child_done and e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    reply = await run.client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
        namespace=run.client.namespace, workflow_execution=WorkflowExecution(workflow_id=did),
        reason="fault suite: run the post-vote activities again", workflow_task_finish_event_id=reset_to,
        request_id=str(uuid.uuid4())))
    run.report.faults += 1
    rerun = run.client.get_workflow_handle(did, run_id=reply.run_id, result_type=ProcedureResult)
    await asyncio.wait_for(rerun.result(), timeout=90)
    rerun_history = await rerun.fetch_history()
    activities = sum(1 for e in rerun_history.events
                     if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED and e.event_id > reset_to)
    after = await run.store.read(did)
    run.report.check(activities >= 5, f"scenario 4: only {activities} activities ran again after the reset")
    run.report.check([e.hash for e in after] == [e.hash for e in before],
                     f"scenario 4: the stream changed when activities ran again ({len(before)} -> {len(after)})")
    run.report.check(run.gateway.count(did) == sent_before, "scenario 4: a notice was sent again after the reset")
    _check_notices(run, after, did, "scenario 4")
    direct = await _twice_directly(run, did)
    run.report.scenarios["activities_rerun"] = {"deliberation": did, "reset_to_event": reset_to,
                                                "activities_rerun": activities, "direct_reruns": direct}
    run.log(f"  reset to event {reset_to}: {activities} activities ran again, stream unchanged "
            f"({len(after)} events), no notice re-sent; {direct} activities called twice directly")


async def _twice_directly(run: Run, did: str) -> int:
    """The stage-append activity (an escalation) and the notice delivery (webhook), each run twice."""
    env = ActivityEnvironment()
    stages, notices = StageActivities(run.store, run.pool), NoticeActivities(run.store, run.pool)
    at = run.now()
    escalation = StageAppend(deliberation_id=did, key="escalation:fault-drill", events=(EscalationPlaceholderOpened(
        at=at, task_id="escalation-drill", subject="fault-drill", to=("street_office",), reason="fault drill"),))
    notice = NoticePublished(at=at, notice_id="drill-1", kind="drill", title_zh="演练", title_en="Drill",
                             body_zh="故障演练通知", body_en="Fault drill notice")
    await env.run(stages.append_stage_events, StageAppend(deliberation_id=did, key="notice:drill-1", events=(notice,)))
    async with run.pool.acquire() as conn:
        digest = await conn.fetchval("SELECT roll_digest FROM deliberations WHERE id = $1", did)
    delivery = Delivery(deliberation_id=did, community=run.community, roll_digest=digest,
                        scope=Scope(building="3", entrance="2"), channel="webhook", notice=notice)
    first = (await env.run(stages.append_stage_events, escalation), await env.run(notices.deliver_notice, delivery))
    second = (await env.run(stages.append_stage_events, escalation), await env.run(notices.deliver_notice, delivery))
    run.report.faults += 2
    run.report.check(first[0] == second[0], "scenario 4: the escalation append answered differently the second time")
    run.report.check(first[1] == second[1], "scenario 4: the notice delivery answered differently the second time")
    twice = duplicate_facts(await run.store.read(did)) + run.gateway.sent_twice(did)
    run.report.duplicated += len(twice)
    run.report.check(not twice and run.gateway.received[f"{did}:drill-1"] == 1,
                     f"scenario 4: an activity run twice recorded or sent twice: {twice}")
    return 2
