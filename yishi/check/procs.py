"""Scenarios on running processes: a worker killed mid-deliberation and again while an escalation ticket's
deadline is pending (1), the Temporal server restarted mid-vote (2), and activities forced to run again after
they completed, the escalation's included (4)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import WorkflowHandle
from temporalio.testing import ActivityEnvironment

from activities.escalation import EscalationActivities, EscalationSettings, TicketNotice, WebhookDispatch
from activities.notices import Delivery, NoticeActivities
from activities.stages import StageActivities, StageAppend
from domain.escalation import CLOSING_NOTICE_KIND, Ticket
from domain.events import Question
from domain.roll import Scope
from domain.stage_events import NoticePublished
from workflows.common import ObjectionInput, ProcedureResult, TaskCompletion
from workflows.escalation import TicketAction
from yishi.check.context import Run, estate, poll
from yishi.check.flood import Voters, cast_one
from yishi.check.report import duplicate_facts
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.services.escalations import act, register_org
from yishi.services.procedures import StartRequest, complete_task, file_objection, start_procedure

ELEVATOR_PERIODS = {"feasibility": "PT1H", "notice": "PT2S", "voting": "PT10S", "remind_before": "PT4S",
                    "checkpoint": "PT3S", "share_confirmation": "PT1S", "publicity": "PT15S", "mediation": "PT1H",
                    "permit": "PT1H", "construction": "PT1H", "acceptance": "PT1H", "paper_entry": "PT0S"}
# The suite's community climbs a two-rung ladder with deadlines in seconds: the street office must acknowledge
# a ticket within ACK, else it moves up to the district department (whose deadlines do not run out in a run).
ACK = "PT10S"
DEPARTMENT = "dept:housing"
LADDER = {"levels": [
    {"key": "street", "org": "street", "name_zh": "街道办事处", "name_en": "Street office",
     "roles": ["street_office"], "ack": ACK, "resolve": "PT1H"},
    {"key": "department", "org": "", "name_zh": "区职能部门", "name_en": "District department",
     "roles": ["department"], "ack": "PT1H", "resolve": "PT1H"}]}


async def use_gateway(run: Run) -> None:
    """Notices of the suite's community go to the print sheet and to the stand-in gateway's webhook; its
    escalation ladder has short deadlines, and both organisations on it have a webhook at the gateway."""
    async with run.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO notice_channels (community, channels, webhook_url) VALUES ($1, $2, $3)"
            " ON CONFLICT (community) DO UPDATE SET channels = $2, webhook_url = $3",
            run.community, ["print", "webhook"], run.gateway.url)
        await conn.execute(
            "INSERT INTO escalation_ladders (community, ladder) VALUES ($1, $2)"
            " ON CONFLICT (community) DO UPDATE SET ladder = $2", run.community, LADDER)
    await register_org(run.pool, "street", role="street_office", name_zh="街道办事处", webhook_url=run.gateway.org_url)
    await register_org(run.pool, DEPARTMENT, role="department", name_zh="区住建委", webhook_url=run.gateway.org_url)


def _async(fn: Any) -> Any:
    async def check() -> Any:
        return fn()

    return check


async def _types(run: Run, stream: str) -> list[str]:
    return [e.type for e in await run.store.read(stream)]


async def _stream_has(run: Run, stream: str, kind: str) -> bool:
    return kind in await _types(run, stream)


def _delivered(events: list) -> set[tuple[str, str]]:
    """(notice, channel) pairs that went out: delivered, or (the printed sheet) queued to be posted."""
    sent = {(e.payload["notice_id"], e.payload["channel"]) for e in events if e.type == "NoticeDelivered"}
    return sent | {(e.payload["notice_id"], "print") for e in events
                   if e.type == "NoticeQueued" and e.payload["channel"] == "print"}


async def _all_sent(run: Run, stream: str) -> list:
    """The stream once every published notice went out on both channels: a deliberation's notices are queued and
    sent by the worker's dispatcher a moment after the procedure moved on (activities/dispatcher.py)."""

    async def done() -> list | None:
        events = await run.store.read(stream)
        published = {e.payload["notice_id"] for e in events if e.type == "NoticePublished"}
        sent = _delivered(events)
        return events if all((n, c) in sent for n in published for c in ("print", "webhook")) else None

    try:
        return await poll(done, f"the notices of {stream} to be sent", 60)
    except TimeoutError:
        return await run.store.read(stream)  # _check_notices names what is missing


def _check_notices(run: Run, events: list, stream: str, label: str) -> None:
    """Every notice published in ``stream`` went out once per channel and reached the gateway once; no fact is
    recorded twice; an escalation ticket's organisation webhooks each reached the gateway once."""
    published = {e.payload["notice_id"] for e in events if e.type == "NoticePublished"}
    delivered = _delivered(events)
    run.report.check(all((n, c) in delivered for n in published for c in ("print", "webhook")),
                     f"{label}: a published notice of {stream} was not delivered on every channel")
    twice = duplicate_facts(events) + run.gateway.sent_twice(stream)
    run.report.duplicated += len(twice)
    run.report.check(not twice, f"{label}: facts or notices of {stream} recorded/sent twice: {twice}")
    run.report.check(run.gateway.count(stream) == len(published),
                     f"{label}: the gateway got {run.gateway.count(stream)} notices of {stream} for "
                     f"{len(published)} published")
    posted = sum(1 for e in events if e.type == "NoticeDelivered" and e.payload["channel"] == "org-webhook")
    run.report.check(run.gateway.org_count(stream) == posted,
                     f"{label}: the organisations got {run.gateway.org_count(stream)} webhooks of {stream} for "
                     f"{posted} recorded")
    run.report.check(not run.gateway.bad_signatures,
                     f"{label}: webhooks with a bad signature: {run.gateway.bad_signatures}")


async def worker_killed(run: Run) -> None:
    """1. SIGKILL the worker while the vote's timers are pending, and again while an escalation ticket's
    acknowledge deadline is pending; new workers carry the procedure and the ticket on."""
    request = StartRequest(procedure="elevator", title="故障演练：3栋2单元加装电梯",
                           scope=Scope(building="3", entrance="2"), periods=ELEVATOR_PERIODS, community=run.community)
    roll = estate(8)
    did, handle = await start_procedure(run.client, run.pool, roll, request, task_queue=run.stack.task_queue)
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
    # Every owner votes for the elevator (through the web tier), so the procedure goes on to its publicity.
    voters = await Voters.issue(run, did, [r.owner_id for r in roll.rooms])
    receipts = {owner: await cast_one(run, voters, owner, "for") for owner in voters.owners}
    await voters.verify(run, {o: r for o, r in receipts.items() if r})
    ticket_id, kill = await _escalate_and_kill(run, did)
    await _settle_ticket(run, ticket_id, "upheld")
    result: ProcedureResult = await asyncio.wait_for(handle.result(), timeout=120)
    events = await _all_sent(run, did)
    types = [e.type for e in events]
    run.report.check("BoxSealed" in types and "VoteCounted" in types and "ProcedureClosed" in types,
                     f"scenario 1: the procedure did not go on after the kills: {types[-5:]}")
    run.report.check(types.count("DoorKnockListIssued") == 2, "scenario 1: the two reminder timers did not fire")
    run.report.check(result.outcome == "objection_upheld",
                     f"scenario 1: the procedure ended '{result.outcome}', not 'objection_upheld' "
                     "(the ticket's answer)")
    run.report.check(types.count("EscalationStarted") == 1 and types.count("EscalationResolved") == 1,
                     "scenario 1: the escalation was not started and resolved exactly once")
    _check_notices(run, events, did, "scenario 1")
    ticket = await run.store.read(ticket_id)
    _check_notices(run, ticket, ticket_id, "scenario 1 (ticket)")
    run.report.scenarios["worker_killed"] = {
        "deliberation": did, "outcome": result.outcome, "events": len(events),
        "notices": types.count("NoticePublished"), "ticket": ticket_id, "ticket_events": len(ticket),
        "ticket_notices": sum(1 for e in ticket if e.type == "NoticePublished"),
        "org_webhooks": run.gateway.org_count(ticket_id), **kill}
    run.log(f"  procedure ended '{result.outcome}' after two kills; {types.count('NoticePublished')} notices "
            f"and, for ticket {ticket_id}, {kill['ticket_notices']} notices and "
            f"{run.gateway.org_count(ticket_id)} organisation webhooks, each sent once")


async def _escalate_and_kill(run: Run, did: str) -> tuple[str, dict[str, object]]:
    """File an objection in the publicity, leave its mediation unresolved so an Escalation child starts, SIGKILL
    the worker while the street office's acknowledge timer is pending, restart it after the deadline passed;
    the ticket must still move up to the department."""
    await poll(lambda: _published(run, did, "publicity"), "the publicity notice", 60)
    objection = await file_objection(run.client, did, ObjectionInput(owner_id="F00001", text="挡住二楼采光"))
    await complete_task(run.client, did, TaskCompletion(task_id=objection.mediation_task, role="committee",
                                                        outcome="unresolved", note="调解未果"))
    ticket_id = f"{did}/esc-{objection.objection_id}"
    # Opened and announced (notice on both channels, the street office's webhook): only the timer is pending.
    await poll(lambda: _announced(run, ticket_id, 1), "the ticket to be announced to the street office", 60)
    assigned = next(e for e in await run.store.read(ticket_id) if e.type == "LevelAssigned")
    ack_due = datetime.fromisoformat(assigned.payload["ack_due"])
    pending = (ack_due - run.now()).total_seconds()
    run.report.check(pending > 0,
                     f"scenario 1: the ticket's acknowledge deadline passed before the kill ({pending:.1f}s)")
    pid = run.stack.kill_worker()
    run.report.faults += 1
    run.log(f"  worker {pid} killed with SIGKILL {pending:.1f}s before the street office's acknowledge deadline "
            f"of {ticket_id}")
    await asyncio.sleep(max(pending, 0) + 1)  # the deadline passes while no worker runs
    run.stack.start_worker()
    await poll(lambda: _announced(run, ticket_id, 2), "the ticket to escalate to the department", 60)
    events = await run.store.read(ticket_id)
    missed = next(e for e in events if e.type == "DeadlineMissed")
    late = (missed.recorded_at - ack_due).total_seconds()
    levels = [(e.payload["n"], e.payload["org"]) for e in events if e.type == "LevelAssigned"]
    run.report.check(levels == [(1, "street"), (2, DEPARTMENT)] and missed.payload["deadline"] == "acknowledge",
                     f"scenario 1: the ticket did not move from the street office to {DEPARTMENT}: {levels}")
    run.log(f"  the missed deadline was recorded {late:.1f}s after it passed; the ticket is with {DEPARTMENT}")
    return ticket_id, {"kill_before_deadline_s": round(pending, 1), "deadline_recorded_late_s": round(late, 1),
                       "ticket_notices": sum(1 for e in events if e.type == "NoticePublished")}


async def _published(run: Run, stream: str, kind: str) -> bool:
    return any(e.type == "NoticePublished" and e.payload["kind"] == kind for e in await run.store.read(stream))


async def _announced(run: Run, ticket_id: str, n: int) -> bool:
    """Assignment ``n`` is recorded, its notice delivered on both channels and its organisation's webhook sent."""
    events = await run.store.read(ticket_id)
    if sum(1 for e in events if e.type == "LevelAssigned") < n:
        return False
    delivered = {(e.payload["notice_id"], e.payload["channel"]) for e in events if e.type == "NoticeDelivered"}
    notices = [e.payload["notice_id"] for e in events if e.type == "NoticePublished"]
    return (f"assigned-{n}", "org-webhook") in delivered and len(notices) >= n and all(
        (notice, channel) in delivered for notice in notices for channel in ("print", "webhook"))


async def _settle_ticket(run: Run, ticket_id: str, outcome: str) -> int:
    """The department acknowledges and resolves; the committee (the initiator) is satisfied: the ticket closes.
    An action the ticket already holds (re-applied by the server after a reset) is not sent again; returns
    the number of actions sent."""
    handle = run.client.get_workflow_handle(ticket_id)
    department = {"role": "department", "actor": "房管科王工", "org": DEPARTMENT}
    steps = [("acknowledge", TicketAction(**department), lambda t: t.current.acknowledged_at is not None),
             ("resolve", TicketAction(**department, outcome=outcome, text="异议成立：须调整井道位置后重新公示"),
              lambda t: t.status in ("resolved", "closed")),
             ("follow_up", TicketAction(role="committee", actor="居委会", org=f"committee:{run.community}",
                                       outcome="satisfied"),
              lambda t: t.status == "closed")]
    sent = 0
    for name, action, done in steps:
        state = await _ticket(handle)
        if state is None or state.finished:
            break
        if not done(state):
            await act(run.client, ticket_id, name, action)
            sent += 1
    return sent


async def _ticket(handle: WorkflowHandle) -> Ticket | None:
    try:
        return await handle.query("ticket", result_type=Ticket, rpc_timeout=timedelta(seconds=5))
    except Exception:  # a closed run answers queries too; anything else: the caller decides
        return None


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
    """4. Make the activities of scenario 1 run again after they completed, by resetting its workflows
    (``ResetWorkflowExecution``): first the Escalation ticket, to the workflow task that handled its missed
    deadline (the escalation appends, its notices and deliveries, the department's webhook, the actions'
    appends and notices run again); then the elevator, to the workflow task right after the ticket ended (the
    escalation's resolution, the close and its notices run again). Then call the activities twice directly."""
    did, _ = run.shared["elevator"]
    ticket_id = f"{did}/esc-objection-1"
    before = {stream: await _all_sent(run, stream) for stream in (did, ticket_id)}
    sent_before = {stream: (run.gateway.count(stream), run.gateway.org_count(stream)) for stream in before}
    child = await _reset_ticket(run, ticket_id)
    parent = await _reset_procedure(run, did)
    for stream, old in before.items():
        after = await run.store.read(stream)
        run.report.check([e.hash for e in after] == [e.hash for e in old],
                         f"scenario 4: {stream} changed when activities ran again ({len(old)} -> {len(after)})")
        run.report.check((run.gateway.count(stream), run.gateway.org_count(stream)) == sent_before[stream],
                         f"scenario 4: a notice or webhook of {stream} was sent again after the reset")
        _check_notices(run, after, stream, "scenario 4")
    # One escalation: one start in the elevator's history, one EscalationStarted, one ticket (workflow id).
    history = await run.client.get_workflow_handle(did).fetch_history()
    starts = sum(1 for e in history.events
                 if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
                 and e.start_child_workflow_execution_initiated_event_attributes.workflow_type.name == "Escalation")
    tickets = {w.id async for w in run.client.list_workflows("WorkflowType = 'Escalation'") if w.id.startswith(did)}
    started = [e for e in await run.store.read(did) if e.type == "EscalationStarted"]
    run.report.check(starts == 1 and len(started) == 1 and tickets == {ticket_id},
                     f"scenario 4: escalation started {starts} times, {len(started)} EscalationStarted, "
                     f"tickets {sorted(tickets)}")
    run.report.duplicated += max(starts - 1, 0) + max(len(started) - 1, 0) + max(len(tickets) - 1, 0)
    direct = await _twice_directly(run, did, ticket_id)
    run.report.scenarios["activities_rerun"] = {"deliberation": did, "ticket": ticket_id, **child, **parent,
                                                "direct_reruns": direct}
    run.log(f"  ticket reset to event {child['ticket_reset_to_event']}: {child['ticket_activities_rerun']} "
            f"activities ran again ({child['ticket_actions_resent']} of its 3 actions sent again by the suite, "
            "the rest re-applied by the server)")
    run.log(f"  elevator reset to event {parent['reset_to_event']}: {parent['activities_rerun']} activities ran "
            f"again; both streams unchanged, no notice or webhook re-sent, one escalation; {direct} activities "
            "called twice directly")


async def _reset(run: Run, workflow_id: str, event_id: int, reason: str) -> str:
    reply = await run.client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
        namespace=run.client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id),
        reason=reason, workflow_task_finish_event_id=event_id, request_id=str(uuid.uuid4())))
    run.report.faults += 1
    return reply.run_id


_CHILD_CLOSED = {
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: "child_workflow_execution_completed_event_attributes",
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: "child_workflow_execution_failed_event_attributes",
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: "child_workflow_execution_canceled_event_attributes",
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: "child_workflow_execution_terminated_event_attributes",
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: "child_workflow_execution_timed_out_event_attributes",
}


def _escalation_child_closed(event: Any) -> bool:
    """The parent learnt that its Escalation child ended: completed, or (a ticket still running when the
    suite reset it) terminated by that reset."""
    attributes = _CHILD_CLOSED.get(event.event_type)
    return attributes is not None and getattr(event, attributes).workflow_type.name == "Escalation"


def _task_after(events: list, event_id: int) -> int:
    found = next((e.event_id for e in events
                  if e.event_id > event_id and e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED), None)
    if found is None:
        raise AssertionError(f"no workflow task completed after event {event_id}")
    return found


def _task_that_recorded(events: list, event_type: bytes, workflow_id: str) -> int:
    """The workflow task (its completed event) that scheduled the append of an ``event_type`` event, found in the
    activity's input: the last task completed before that activity was scheduled."""
    completed = None
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            completed = e.event_id
        elif (e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and completed is not None
                and e.activity_task_scheduled_event_attributes.activity_type.name == "append_escalation_events"
                and any(event_type in p.data for p in e.activity_task_scheduled_event_attributes.input.payloads)):
            return completed
    raise AssertionError(f"scenario 4: neither a fired timer nor a {event_type.decode()} append in {workflow_id}'s "
                         "history")


def _rerun(events: list, after: int) -> int:
    return sum(1 for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED and e.event_id > after)


async def _reset_ticket(run: Run, ticket_id: str) -> dict[str, object]:
    """Reset the (closed) ticket to the workflow task that handled its missed acknowledge deadline; the actions
    that followed are re-applied by the server or, if not, sent again as the organisations would."""
    history = await run.client.get_workflow_handle(ticket_id).fetch_history()
    fired = next((e.event_id for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED), None)
    if fired is not None:
        reset_to = _task_after(history.events, fired)  # the task its acknowledge timer woke
    else:
        # The worker was killed before the task that would have started the timer completed, and the task that
        # ran after the restart found the deadline already past: no timer, the miss recorded at once.
        reset_to = _task_that_recorded(history.events, b"DeadlineMissed", ticket_id)
    run_id = await _reset(run, ticket_id, reset_to, "fault suite: run the escalation's activities again")
    rerun = run.client.get_workflow_handle(ticket_id, run_id=run_id)
    await poll(lambda: _idle_or_done(rerun), "the reset ticket to settle", 60)
    resent = await _settle_ticket(run, ticket_id, "upheld")
    await asyncio.wait_for(rerun.result(), timeout=60)
    events = (await rerun.fetch_history()).events
    activities = _rerun(events, reset_to)
    kinds = {e.activity_task_scheduled_event_attributes.activity_type.name for e in events
             if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and e.event_id > reset_to}
    wanted = {"append_escalation_events", "notify_escalation", "dispatch_escalation_webhook"}
    run.report.check(wanted <= kinds, f"scenario 4: the ticket's reset did not run {sorted(wanted - kinds)} again")
    return {"ticket_reset_to_event": reset_to, "ticket_activities_rerun": activities, "ticket_actions_resent": resent}


async def _idle_or_done(handle: WorkflowHandle) -> bool:
    """The run has ended, or it waits for a person (no activity or workflow task pending)."""
    raw = (await handle.describe()).raw_description
    if raw.workflow_execution_info.HasField("close_time"):
        return True
    return not raw.pending_activities and not raw.HasField("pending_workflow_task")


async def _reset_procedure(run: Run, did: str) -> dict[str, object]:
    """Reset the (closed) elevator to the workflow task right after its Escalation child ended."""
    history = await run.client.get_workflow_handle(did).fetch_history()
    ended = next((e.event_id for e in reversed(history.events) if _escalation_child_closed(e)), None)
    if ended is None:
        raise AssertionError(f"scenario 4: no Escalation child ended in {did}'s history")
    reset_to = _task_after(history.events, ended)
    run_id = await _reset(run, did, reset_to, "fault suite: run the activities after the escalation again")
    rerun = run.client.get_workflow_handle(did, run_id=run_id, result_type=ProcedureResult)
    await asyncio.wait_for(rerun.result(), timeout=90)
    activities = _rerun((await rerun.fetch_history()).events, reset_to)
    run.report.check(activities >= 3, f"scenario 4: only {activities} activities ran again after the reset")
    return {"reset_to_event": reset_to, "activities_rerun": activities}


async def _twice_directly(run: Run, did: str, ticket_id: str) -> int:
    """A stage append and a notice delivery (webhook) of the deliberation, a ticket notice and an organisation
    webhook of the escalation: each run twice with the same input."""
    env = ActivityEnvironment()
    stages, notices = StageActivities(run.store, run.pool), NoticeActivities(run.store, run.pool)
    escalations = EscalationActivities(run.store, run.pool, EscalationSettings(
        webhook_secret=SecretStr(run.stack.webhook_secret)))
    at = run.now()
    notice = NoticePublished(at=at, notice_id="drill-1", kind="drill", title_zh="演练", title_en="Drill",
                             body_zh="故障演练通知", body_en="Fault drill notice")
    append = StageAppend(deliberation_id=did, key="notice:drill-1", events=(notice,))
    async with run.pool.acquire() as conn:
        digest = await conn.fetchval("SELECT roll_digest FROM deliberations WHERE id = $1", did)
    delivery = Delivery(deliberation_id=did, community=run.community, roll_digest=digest,
                        scope=Scope(building="3", entrance="2"), channel="webhook", notice=notice)
    # The ticket has closed by now, and a closed ticket's stream takes only a closing notice (docs/escalation.md).
    ticket_notice = TicketNotice(ticket_id=ticket_id, community=run.community,
                                 notice=notice.model_copy(update={"kind": CLOSING_NOTICE_KIND}))
    webhook = WebhookDispatch(ticket_id=ticket_id, n=2, org=DEPARTMENT, at=at)
    calls = [(stages.append_stage_events, append), (notices.deliver_notice, delivery),
             (escalations.notify_escalation, ticket_notice), (escalations.dispatch_escalation_webhook, webhook)]
    for fn, arg in calls:
        first = await env.run(fn, arg)
        second = await env.run(fn, arg)
        run.report.faults += 1
        run.report.check(first == second, f"scenario 4: {fn.__name__} answered differently the second time")
    await poll(_async(lambda: run.gateway.received[f"{did}:drill-1"]), "the drill notice to reach the gateway", 60)
    twice = []
    for stream in (did, ticket_id):
        twice += duplicate_facts(await run.store.read(stream)) + run.gateway.sent_twice(stream)
    run.report.duplicated += len(twice)
    run.report.check(not twice and run.gateway.received[f"{did}:drill-1"] == 1
                     and run.gateway.received[f"{ticket_id}:drill-1"] == 1
                     and run.gateway.org_received[f"{ticket_id}:webhook:2:{DEPARTMENT}"] == 1,
                     f"scenario 4: an activity run twice recorded or sent twice: {twice}")
    return len(calls)
